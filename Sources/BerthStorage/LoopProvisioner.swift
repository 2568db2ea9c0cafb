import BerthLinux
import BerthModel
import Foundation

/// Loop-device volumes: a sparse backing file `<pool>/<pv>.img` attached to a loop device, either
/// formatted (ext4 or xfs) and mounted at `<pool>/<pv>/` (Filesystem mode), or handed over raw
/// through the link `<pool>/<pv>.dev`, which berth re-points at every attach because loop numbers
/// change (Block mode). The capacity is a hard limit: the filesystem cannot outgrow its file.
///
/// A device is formatted only when libblkid finds nothing on it and the PV is still a provisioning
/// intent; anything else with a signature that differs from what the PV records is never
/// formatted and never mounted.
public struct LoopProvisioner: VolumeProvisioner {
    public let name = Keys.loopProvisioner

    public init() {}

    public static func imageName(_ volume: String) -> String { volume + ".img" }
    public static func deviceLinkName(_ volume: String) -> String { volume + ".dev" }

    /// Whether a Block volume's link points at the loop device its backing file is attached to now
    /// (false when the file is attached nowhere: detached behind berth's back, say, after which the
    /// link's loop number may come to serve another file).
    public static func linkIsCurrent(_ volume: PersistentVolume, in pool: StoragePool) -> Bool {
        guard let device = LoopDevice.find(backing: pool.volumePath(imageName(volume.name))),
              let target = try? FileManager.default.destinationOfSymbolicLink(atPath: pool.volumePath(deviceLinkName(volume.name)))
        else { return false }
        return target == device.path
    }

    /// The size of the backing file for a request: rounded up to whole MiB.
    public static func fileBytes(for request: Int64) -> Int64 {
        let mib: Int64 = 1 << 20
        return (max(request, mib) + mib - 1) / mib * mib
    }

    public func provision(_ volume: PersistentVolume, in pool: StoragePool) async throws {
        _ = try await Blocking.run { try Self.materialise(volume, in: pool, creating: true) }
    }

    /// Brings an existing volume back after an agent restart or a reboot: adopts or re-attaches
    /// its device, checks TYPE and UUID against the PV, mounts it. Never creates or formats.
    /// Returns the device now backing it.
    public func restore(_ volume: PersistentVolume, in pool: StoragePool) async throws -> LoopDevice {
        try await Blocking.run { try Self.materialise(volume, in: pool, creating: false) }
    }

    static func materialise(_ volume: PersistentVolume, in pool: StoragePool, creating: Bool) throws -> LoopDevice {
        let root = try PoolMarker.openRoot(pool)
        let image = imageName(volume.name)
        let imagePath = pool.volumePath(image)
        do {
            let bytes = fileBytes(for: volume.capacityBytes)
            var fresh = false
            if creating {
                fresh = try root.createSparseFile(image, bytes: bytes)
                // a file left by a crash inside createSparseFile may be short: it is ours (the PV is
                // still an intent), so bring it to size
                if !fresh { try root.growFile(image, to: bytes) }
            } else if root.fileSize(image) == nil {
                throw BerthError.notFound("PV \(volume.name): its backing file \(imagePath) is missing (is the pool's disk mounted?); berth will not create it again empty — restore the file, or delete the PV")
            }
            // the safe probe before mkfs (DESIGN §4.4): of the file itself when this call created it
            // (the device will show exactly its bytes, and a sparse file probes faster than a cold
            // device), else of the device below. The file is opened without following a symlink, and
            // libblkid and mkfs reach it through that descriptor, never through its path (DESIGN §4.5)
            var knownEmpty = false
            let formatIfEmpty = creating && volume.metadata.annotation(Keys.provisioning) != nil
            if fresh {
                let file = try root.openRegularFile(image)
                defer { close(file) }
                knownEmpty = BlockProbe.probe("/proc/self/fd/\(file)") == .empty
                if knownEmpty, volume.volumeMode != "Block" {
                    // a file this call created is formatted before any device shows it: mkfs then
                    // writes through the page cache rather than through the loop device (faster, see
                    // docs/performance.md), and the device attached below shows the same bytes
                    try checkOrFormat(volume, at: imagePath, file: file, formatIfEmpty: formatIfEmpty, probedEmpty: true)
                }
            }
            let (device, adopted) = try LoopDevice.attach(backing: imagePath, tag: "berth:\(volume.name)", adopt: !fresh)
            if adopted, creating, try device.size() < bytes { try device.refreshCapacity() }
            if volume.volumeMode == "Block" {
                try root.setSymlink(deviceLinkName(volume.name), to: device.path)
                return device
            }
            if !knownEmpty {
                try checkOrFormat(volume, at: device.path, formatIfEmpty: formatIfEmpty)
            }
            try mount(volume, device: device, root: root, pool: pool)
            return device
        } catch let e as SystemError {
            throw BerthError.internalError("PV \(volume.name): \(e); check the pool \(pool.path) and that this host can do loop devices (berth doctor)", underlying: e.description)
        } catch let e as ToolError {
            throw BerthError.internalError("PV \(volume.name): \(e)", underlying: e.description)
        }
    }

    /// The probe of `path` (the volume's device, or its backing file before any device shows it)
    /// must show exactly the filesystem the PV records; an empty one is formatted only while the
    /// PV is still being provisioned.
    /// - Parameters:
    ///   - file: `path` opened by the caller: probed and formatted through this descriptor.
    ///   - probedEmpty: `path`, a backing file created by the caller, was probed empty just now.
    static func checkOrFormat(_ volume: PersistentVolume, at path: String, file: Int32? = nil, formatIfEmpty: Bool,
                              probedEmpty: Bool = false) throws {
        let type = volume.metadata.annotation(Keys.fsType) ?? "ext4"
        guard let uuid = volume.metadata.annotation(Keys.fsUUID) else {
            throw BerthError.invalid("PV \(volume.name) has no \(Keys.fsUUID) annotation; berth cannot verify what its device holds and will not mount it")
        }
        let probed = file.map { "/proc/self/fd/\($0)" } ?? path
        var probe = probedEmpty ? .empty : BlockProbe.probe(probed)
        if probe == .empty, formatIfEmpty {
            try Filesystem.make(type, on: path, uuid: uuid, file: file)
            probe = BlockProbe.probe(probed, onlyType: type)
        }
        guard case .found(let values) = probe, values["TYPE"] == type, values["UUID"]?.lowercased() == uuid.lowercased() else {
            throw BerthError.conflict("PV \(volume.name): \(path) holds \(probe.summary), but the PV records \(type) with UUID \(uuid); berth will not format or mount it — inspect the backing file \(imageName(volume.name))")
        }
    }

    static func mount(_ volume: PersistentVolume, device: LoopDevice, root: SafeDirectory, pool: StoragePool) throws {
        let target = pool.volumePath(volume.name)
        // a mount point this call made has nothing mounted on it: the mount table (one read of
        // /proc/self/mountinfo, longer the more mounts the host has) is read only for one that was there
        let made = try root.makeChild(volume.name, mode: 0o755)
        if !made, let mounted = Mount.entry(at: target) {
            guard mounted.major == 7, mounted.minor == UInt32(device.number) else {
                throw BerthError.conflict("PV \(volume.name): \(target) already has another filesystem mounted on it (device \(mounted.major):\(mounted.minor)); unmount it")
            }
        } else {
            try Mount.mount(device: device.path, at: target, type: volume.metadata.annotation(Keys.fsType) ?? "ext4",
                            options: volume.spec.mountOptions ?? [])
        }
        let top = try root.openChild(volume.name)
        // the filesystem UUID (checked above) is what identifies a loop volume; the identity file
        // is for people and tools, so it is written without fsync and rewritten when unreadable
        let found = (try top.readFile(VolumeIdentity.fileName)).flatMap { try? JSON.decode(VolumeIdentity.self, from: Data($0)) }
        if let found {
            guard found.uid == volume.uid else {
                throw BerthError.conflict("PV \(volume.name): the filesystem on \(device.path) belongs to PV \(found.volume) (uid \(found.uid)); berth will not serve it as this volume")
            }
        } else {
            let identity = VolumeIdentity(volume: volume.name, uid: volume.uid,
                                          claim: volume.spec.claimRef.map { "\($0.namespace ?? "")/\($0.name ?? "")" },
                                          provisioner: Keys.loopProvisioner)
            try top.writeFile(VolumeIdentity.fileName, contents: Array(try JSON.encode(identity)), durable: false)
            _ = fchmod(top.fd, 0o777)
        }
    }

    /// Grows the backing file, makes the loop device re-read its size, then grows the filesystem:
    /// online where the kernel allows it (xfs always; ext4 needs CAP_SYS_RESOURCE), else ext4
    /// offline — unmounted, checked, resized, mounted again — which works only while nothing uses it.
    public func expand(_ volume: PersistentVolume, in pool: StoragePool, to bytes: Int64) async throws -> String {
        try await Blocking.run {
            let device = try Self.materialise(volume, in: pool, creating: false)
            let fileBytes = Self.fileBytes(for: bytes)
            do {
                let root = try PoolMarker.openRoot(pool)
                try root.growFile(Self.imageName(volume.name), to: fileBytes)
                if try device.size() < fileBytes { try device.refreshCapacity() }
                if volume.volumeMode == "Block" { return "the block device \(device.path) now has \(try device.size()) bytes" }
                let target = pool.volumePath(volume.name)
                if volume.metadata.annotation(Keys.fsType) == "xfs" {
                    try Filesystem.run(["xfs_growfs", target])
                    return "xfs grew online"
                }
                do {
                    try Filesystem.run(["resize2fs", device.path])
                    return "ext4 grew online"
                } catch let online as ToolError {
                    return try Self.growExt4Offline(volume, device: device, target: target, because: online)
                }
            } catch let e as SystemError {
                throw BerthError.internalError("PV \(volume.name): cannot expand: \(e)", underlying: e.description)
            } catch let e as ToolError {
                throw BerthError.internalError("PV \(volume.name): cannot expand: \(e)", underlying: e.description)
            }
        }
    }

    static func growExt4Offline(_ volume: PersistentVolume, device: LoopDevice, target: String, because online: ToolError) throws -> String {
        let why = online.stderr.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: "\n").last.map(String.init) ?? "\(online)"
        do {
            try Mount.unmount(target)
        } catch {
            guard error.errno == EBUSY else { throw error }
            throw BerthError(.unavailable, "PV \(volume.name): online ext4 resize failed (\(why); it needs CAP_SYS_RESOURCE), and offline resize needs the volume unused, but \(target) is busy; it is retried at every resync")
        }
        do {
            // e2fsck -p exits 1 when it fixed something, which is fine before a resize
            do { try Filesystem.run(["e2fsck", "-f", "-p", device.path]) } catch let e as ToolError where e.status == 1 {}
            try Filesystem.run(["resize2fs", device.path])
        } catch {
            try? Mount.mount(device: device.path, at: target, type: "ext4", options: volume.spec.mountOptions ?? [])
            throw error
        }
        try Mount.mount(device: device.path, at: target, type: "ext4", options: volume.spec.mountOptions ?? [])
        return "ext4 grew offline (unmounted briefly), because online resize failed: \(why)"
    }

    public func delete(_ volume: PersistentVolume, pools: [StoragePool]) async throws {
        guard let pool = Self.pool(of: volume, in: pools) else {
            throw BerthError(.permissionDenied, "PV \(volume.name): its pool (\(volume.metadata.annotation(Keys.node) ?? "?")/\(volume.metadata.annotation(Keys.pool) ?? "?")) is not in this agent's config; berth deletes loop volumes only in its pools")
        }
        try await Blocking.run {
            do {
                let root = try PoolMarker.openRoot(pool)
                let target = pool.volumePath(volume.name)
                let imagePath = pool.volumePath(Self.imageName(volume.name))
                // each step is idempotent: after a crash the next attempt picks up where this one stopped
                try Mount.unmount(target)
                Failpoint.hit("loop-after-unmount")
                if let device = LoopDevice.find(backing: imagePath) { try device.detach() }
                Failpoint.hit("loop-after-detach")
                // the file must be the one berth made for this volume: a filesystem of another UUID,
                // or any other signature, is someone's data put at this path (a file an admin
                // restored there, say) and is not deleted. A Block volume's file has nothing to check.
                if volume.volumeMode != "Block", let uuid = volume.metadata.annotation(Keys.fsUUID),
                   root.fileSize(Self.imageName(volume.name)) != nil {
                    let file = try root.openRegularFile(Self.imageName(volume.name))
                    let probe = BlockProbe.probe("/proc/self/fd/\(file)")
                    close(file)
                    switch probe {
                    case .empty: break
                    case .found(let v) where v["UUID"]?.lowercased() == uuid.lowercased() && v["PTTYPE"] == nil: break
                    default:
                        throw BerthError.conflict("PV \(volume.name): its backing file \(imagePath) holds \(probe.summary), not the filesystem berth made for this volume (UUID \(uuid)); berth will not delete it — move the file away, then delete the PV")
                    }
                }
                if root.kind(of: volume.name) == .directory {
                    let leftover = try root.openChild(volume.name).entries()
                    guard leftover.isEmpty else {
                        throw BerthError.conflict("PV \(volume.name): \(target) is not mounted but holds files; berth will not delete them — move them away")
                    }
                    try root.removeTree(volume.name)
                }
                try root.removeTree(Self.deviceLinkName(volume.name))
                try root.removeTree(Self.imageName(volume.name))
                try root.sync()
            } catch let e as SystemError {
                throw BerthError.internalError("PV \(volume.name): \(e)", underlying: e.description)
            }
        }
    }

    public func verify(_ volume: PersistentVolume, pools: [StoragePool]) async throws -> VolumeHealth {
        guard let pool = Self.pool(of: volume, in: pools) else { return .missing("its pool is not in this agent's config") }
        let root = try PoolMarker.openRoot(pool)
        return root.fileSize(Self.imageName(volume.name)) == nil ? .missing("backing file \(pool.volumePath(Self.imageName(volume.name))) is missing") : .healthy
    }

    static func pool(of volume: PersistentVolume, in pools: [StoragePool]) -> StoragePool? {
        let node = volume.metadata.annotation(Keys.node), name = volume.metadata.annotation(Keys.pool)
        return pools.first { $0.node == node && $0.name == name }
    }
}
