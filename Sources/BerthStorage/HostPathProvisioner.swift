import BerthLinux
import BerthModel
import Foundation

/// Host-path volumes: one directory per PV under a pool root, made and removed through file
/// descriptors so that no symlink is ever followed and nothing outside the pool is touched.
public struct HostPathProvisioner: VolumeProvisioner {
    public let name = Keys.hostPathProvisioner

    public init() {}

    public func provision(_ volume: PersistentVolume, in pool: StoragePool) async throws {
        let identity = Self.identity(of: volume)
        try await Blocking.run {
            do {
                let root = try PoolMarker.openRoot(pool)
                let created = try root.makeChild(volume.name, mode: 0o777)
                let dir = try root.openChild(volume.name)
                if !created {
                    // a crash while the identity was being written leaves only its temporary file, or
                    // (after a power loss) an identity file that is empty or torn: none of these is
                    // someone else's content, so long as the directory holds nothing else
                    let found = try Self.storedIdentity(in: dir)
                    if case .of(let other) = found, other.uid != volume.uid {
                        throw BerthError.conflict("directory \(pool.volumePath(volume.name)) belongs to another volume (\(other.volume) uid \(other.uid)); berth will not reuse it — move it away or delete PV \(volume.name)")
                    }
                    if case .of = found {} else if try !Self.holdsOnlyIdentity(dir) {
                        throw found == .torn
                            ? BerthError.conflict("directory \(pool.volumePath(volume.name)) belongs to another volume (unreadable identity file, beside other content); berth will not reuse it — move it away or delete PV \(volume.name)")
                            : BerthError.conflict("directory \(pool.volumePath(volume.name)) already exists with content that berth did not create; move it away so that PV \(volume.name) can be provisioned")
                    }
                }
                _ = fchmod(dir.fd, 0o777)
                // The directory must survive a power loss before the PV says it exists: its own entries
                // (fsync of the directory) and its entry in the pool root. The identity file's data is
                // not flushed by itself (a third fsync per volume; without it, alternating runs gave
                // 1,111 against 994 volumes/s, docs/performance.md): it is for recovery's checks, and
                // one that a power loss left empty reads as "no identity" (and is written again if the
                // volume is provisioned again).
                try dir.writeFile(VolumeIdentity.fileName, contents: Array(try JSON.encode(identity)), durable: false)
                try dir.sync()
                try root.sync()
            } catch let e as SystemError {
                throw BerthError.internalError("cannot create directory \(pool.volumePath(volume.name)) for PV \(volume.name) in pool \(pool.name): \(e); check the pool's path and permissions",
                                               underlying: e.description)
            }
        }
    }

    /// A host-path volume has no size of its own: growing it is the pool reserving more.
    public func expand(_ volume: PersistentVolume, in pool: StoragePool, to bytes: Int64) async throws -> String {
        "host-path capacity is accounting: pool \"\(pool.name)\" now reserves the new size"
    }

    public func delete(_ volume: PersistentVolume, pools: [StoragePool]) async throws {
        guard let path = volume.path else { return }
        guard let (pool, relative) = Self.locate(path, in: pools) else {
            throw BerthError(.permissionDenied, "PV \(volume.name): \(path) is outside every berth storage pool; berth deletes volume content only inside its pools — remove it by hand, or set the reclaim policy to Retain")
        }
        try await Blocking.run {
            do {
                // a missing root or marker is an unmounted disk, not an already deleted volume
                let root = try PoolMarker.openRoot(pool)
                var components = relative.split(separator: "/").map(String.init)
                let last = components.removeLast()
                let parent: SafeDirectory
                do { parent = try root.openDescendant(components.joined(separator: "/")) } catch let e as SystemError where e.errno == ENOENT { return }
                if parent.kind(of: last) == .directory {
                    let dir = try parent.openChild(last)
                    if case .of(let found) = try Self.storedIdentity(in: dir), found.uid != volume.uid {
                        throw BerthError.conflict("PV \(volume.name): directory \(path) belongs to PV \(found.volume) (uid \(found.uid)); berth will not delete it")
                    }
                }
                try parent.removeTree(last)
                try parent.sync()
            } catch let e as SystemError {
                throw BerthError.internalError("cannot delete \(path) of PV \(volume.name): \(e)", underlying: e.description)
            }
        }
    }

    public func verify(_ volume: PersistentVolume, pools: [StoragePool]) async throws -> VolumeHealth {
        guard let path = volume.path else { return .missing("PV \(volume.name) has no path") }
        return try await Blocking.run {
            guard let (pool, relative) = Self.locate(path, in: pools) else {
                return FileManager.default.fileExists(atPath: path) ? .healthy : .missing("\(path) does not exist")
            }
            do {
                let root: SafeDirectory
                do { root = try PoolMarker.openRoot(pool) } catch let e as BerthError { return .missing(e.message) }
                let dir = try root.openDescendant(relative)
                switch try Self.storedIdentity(in: dir) {
                case .none:
                    return .healthy
                case .of(let found):
                    return found.uid == volume.uid ? .healthy : .mismatched("\(path) carries the identity of \(found.volume), not PV \(volume.name)")
                case .torn:
                    // a torn identity in a directory that holds nothing else is what a power loss leaves
                    // right after provisioning: it is written again, whole and flushed, before any data
                    // joins it (beside other content, a torn identity could be anyone's)
                    guard try Self.holdsOnlyIdentity(dir) else {
                        return .mismatched("\(path) carries the identity of an unreadable file, not PV \(volume.name)")
                    }
                    try dir.writeFile(VolumeIdentity.fileName, contents: Array(try JSON.encode(Self.identity(of: volume))), durable: true)
                    return .healthy
                }
            } catch let e as SystemError {
                return .missing("\(path): \(e)")
            }
        }
    }

    static func identity(of volume: PersistentVolume) -> VolumeIdentity {
        VolumeIdentity(volume: volume.name, uid: volume.uid, claim: volume.spec.claimRef.map { "\($0.namespace ?? "")/\($0.name ?? "")" },
                       provisioner: Keys.hostPathProvisioner)
    }

    /// What a volume directory's identity file holds: nothing (absent, or emptied by a power loss),
    /// a volume's identity, or bytes that do not parse (torn by a power loss, or not berth's).
    enum StoredIdentity: Equatable {
        case none, torn
        case of(VolumeIdentity)
    }

    static func storedIdentity(in dir: SafeDirectory) throws -> StoredIdentity {
        guard let bytes = try dir.readFile(VolumeIdentity.fileName), !bytes.isEmpty else { return .none }
        return (try? JSONDecoder().decode(VolumeIdentity.self, from: Data(bytes))).map { .of($0) } ?? .torn
    }

    /// Whether a volume directory holds nothing but berth's identity file and its temporary file.
    static func holdsOnlyIdentity(_ dir: SafeDirectory) throws -> Bool {
        let partialIdentity = SafeDirectory.temporaryName(of: VolumeIdentity.fileName)
        return try dir.entries().allSatisfy { $0 == VolumeIdentity.fileName || $0 == partialIdentity }
    }

    static func locate(_ path: String, in pools: [StoragePool]) -> (StoragePool, String)? {
        for pool in pools {
            if let rel = pool.relativePath(of: path) { return (pool, rel) }
        }
        return nil
    }
}
