import BerthLinux
import BerthModel
import Foundation
import Synchronization

/// Formats a loop volume's backing file while its provisioning intent commits, so that the commit
/// (a durable SQLite transaction and the hops around it: about 1 ms on a quiet day, 2–13 ms on a
/// noisy one, docs/performance.md) is off the path from claim to mounted volume.
///
/// The file is made under `<pool>/.berth-staging/`, named after the PV and the filesystem UUID it
/// records, and gets its real name (`<pool>/<pv>.img`) only when `provision` takes it, after the
/// intent has committed — by `linkat`, which never replaces an existing file. So nothing outside
/// the staging directory exists before the intent does (DESIGN §4: intent before any disk work),
/// and no volume depends on a name in the staging directory: what a crash leaves there is removed
/// at the next start, what a pass made but did not use (its intent rolled back, or its claim gone)
/// at the end of that pass, and anything else at each full resync.
///
/// The steps are those of a fresh volume: a new sparse file, the safe probe (it must be empty),
/// mkfs with the PV's UUID, the probe that checks TYPE and UUID, and an fsync.
///
/// At most `limit` stagings run at once: mkfs is CPU work, and a burst of thousands of claims would
/// otherwise queue thousands of them ahead of every other job of the blocking pool. A volume that
/// finds the limit reached is made after its commit, as without staging.
final class LoopStaging: Sendable {
    static let directoryName = ".berth-staging"
    static let limit = 4

    struct Staged: Sendable {
        let uuid: String
        let fileName: String
        let pool: StoragePool
        /// True when the file is formatted and checked.
        let ready: Task<Bool, Never>
    }

    private let started = Mutex<[String: Staged]>([:])
    /// Staged files whose staging name must go at the end of the pass: those no `provision` can
    /// take any more (their intent was written again by a chunk that ran a second time, or their
    /// UUID or pool differs), and those taken (normally gone already; not when a crash-free
    /// failure left the name after the link).
    private let finished = Mutex<[Staged]>([])
    private let running = Atomic<Int>(0)

    static func fileName(_ volume: String, uuid: String) -> String { "\(volume)-\(uuid).img" }

    func start(_ volume: PersistentVolume, in pool: StoragePool) {
        guard volume.volumeMode != "Block", let uuid = volume.metadata.annotation(Keys.fsUUID),
              volume.metadata.annotation(Keys.provisioning) != nil else { return }
        guard running.add(1, ordering: .relaxed).newValue <= Self.limit else {
            running.subtract(1, ordering: .relaxed)
            return
        }
        let fileName = Self.fileName(volume.name, uuid: uuid)
        let ready = Task.detached { [self] in
            defer { running.subtract(1, ordering: .relaxed) }
            // when this fails, provision takes the usual path, and that reports what fails there
            return (try? await Blocking.run { try Self.stage(volume, as: fileName, in: pool) }) != nil
        }
        let earlier = started.withLock { $0.updateValue(Staged(uuid: uuid, fileName: fileName, pool: pool, ready: ready), forKey: volume.name) }
        if let earlier { finished.withLock { $0.append(earlier) } }
    }

    /// The staged file for `volume` in `pool`, formatted with the UUID the PV records, once ready;
    /// nil when there is none (the caller then makes the file itself).
    func take(_ volume: PersistentVolume, in pool: StoragePool) async -> String? {
        guard let staged = started.withLock({ $0.removeValue(forKey: volume.name) }) else { return nil }
        finished.withLock { $0.append(staged) }
        guard await staged.ready.value, staged.uuid == volume.metadata.annotation(Keys.fsUUID), staged.pool == pool else { return nil }
        return staged.fileName
    }

    /// Gives the staged file `staged` the backing file's name `image` in the pool's root (durably)
    /// and drops its staging name. False when `image` exists already (an earlier attempt's file,
    /// which stays and is checked as after a crash); the staged file is dropped either way.
    static func adopt(_ staged: String, as image: String, in root: SafeDirectory) throws -> Bool {
        let staging = try root.openChild(directoryName)
        let linked = try staging.link(staged, to: root, as: image)
        if linked {
            try root.sync()
            Failpoint.hit("loop-after-staged-link")
        }
        try staging.removeShallow(staged)
        return linked
    }

    static func stage(_ volume: PersistentVolume, as fileName: String, in pool: StoragePool) throws {
        let root = try PoolMarker.openRoot(pool)
        try root.makeChild(directoryName, mode: 0o700)
        let staging = try root.openChild(directoryName)
        // a file of that name (a UUID collision) is not this call's: left alone, and not used
        guard try staging.createSparseFile(fileName, bytes: LoopProvisioner.fileBytes(for: volume.capacityBytes)) else {
            throw BerthError.conflict("PV \(volume.name): \(staging.path)/\(fileName) exists already")
        }
        do {
            let file = try staging.openRegularFile(fileName)
            defer { close(file) }
            guard BlockProbe.probe("/proc/self/fd/\(file)") == .empty else {
                throw BerthError.conflict("PV \(volume.name): the new file \(staging.path)/\(fileName) is not empty")
            }
            try LoopProvisioner.checkOrFormat(volume, at: "\(staging.path)/\(fileName)", file: file, formatIfEmpty: true, probedEmpty: true)
            // what mkfs wrote is on disk before the file can get its real name (mkfs flushes as it
            // closes; this does not rely on it)
            guard fsync(file) == 0 else { throw SystemError("fsync", path: "\(staging.path)/\(fileName)", errno: errno) }
            Failpoint.hit("loop-after-staging")
        } catch {
            try? staging.removeShallow(fileName)
            throw error
        }
    }

    /// Removes staged files: those this process started whose staging name may remain (waiting for
    /// any still running); with `pools`, everything in their staging directories — at start, before
    /// any staging begins, and at the end of a full resync's pass, when no staging runs. A pool
    /// whose disk is missing is skipped (its leftovers go once it is back). Returns what could not
    /// be removed (tried again at the next full resync).
    func discard(pools: [StoragePool]?) async -> [String] {
        var problems: [String] = []
        let left = started.withLock { s in defer { s.removeAll() }; return Array(s.values) } + finished.withLock { u in defer { u.removeAll() }; return u }
        for staged in left {
            _ = await staged.ready.value
            do {
                try await Blocking.run {
                    let root = try PoolMarker.openRoot(staged.pool)
                    guard root.kind(of: Self.directoryName) == .directory else { return }
                    try root.openChild(Self.directoryName).removeShallow(staged.fileName)
                }
            } catch {
                problems.append("cannot remove the staged file \(staged.pool.path)/\(Self.directoryName)/\(staged.fileName): \(error)")
            }
        }
        for pool in pools ?? [] {
            do {
                try await Blocking.run {
                    // a pool whose disk is missing holds nothing to remove (the agent says so already)
                    guard let root = try? PoolMarker.openRoot(pool), root.kind(of: Self.directoryName) == .directory else { return }
                    let staging = try root.openChild(Self.directoryName)
                    for name in try staging.entries() { try staging.removeShallow(name) }
                }
            } catch {
                problems.append("cannot empty \(pool.path)/\(Self.directoryName): \(error)")
            }
        }
        return problems
    }
}
