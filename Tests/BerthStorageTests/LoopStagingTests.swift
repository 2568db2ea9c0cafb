import BerthLinux
import BerthModel
@testable import BerthStorage
import BerthTestSupport
import Foundation
import Testing

/// Formatting a loop volume's file ahead, while its intent commits: the staged file is made with
/// the PV's UUID, taken at most once, given the backing file's name without replacing one, and
/// whatever nothing takes is removed. Real files, real mkfs.ext4 and libblkid; no device is attached.
@Suite(.enabled(if: Privileged.shouldRun, "needs mkfs.ext4"))
struct LoopStagingTests {
    let dir = TemporaryDirectory(prefix: "berth-staging")
    var pool: StoragePool { StoragePool(node: "n", name: "default", path: dir.sub("pool"), capacity: Quantity(bytes: 1 << 30)) }
    var staging: String { dir.sub("pool/\(LoopStaging.directoryName)") }

    func intent(_ name: String, uuid: String = UUID().lowercaseString) -> PersistentVolume {
        var pv = PersistentVolume(name: name)
        pv.spec.capacity = ["storage": Quantity(bytes: 16 << 20)]
        pv.metadata.setAnnotation(Keys.fsType, "ext4")
        pv.metadata.setAnnotation(Keys.fsUUID, uuid)
        pv.metadata.setAnnotation(Keys.provisioning, "true")
        return pv
    }

    func staged() -> [String] { ((try? FileManager.default.contentsOfDirectory(atPath: staging)) ?? []).sorted() }

    @Test func aFileFormattedAheadIsTakenOnceAndBecomesTheBackingFile() async throws {
        _ = try PoolMarker.prepare(pool, stateDir: dir.sub("state"))
        let stager = LoopStaging()
        let pv = intent("pvc-a")
        stager.start(pv, in: pool)
        let name = try #require(await stager.take(pv, in: pool))
        #expect(await stager.take(pv, in: pool) == nil, "a staged file is taken once")
        let probed = shell("blkid -p -o export '\(staging)/\(name)'").output
        #expect(probed.contains("TYPE=ext4") && probed.contains("UUID=\(pv.metadata.annotation(Keys.fsUUID)!)"), "\(probed)")
        let root = try PoolMarker.openRoot(pool)
        #expect(try LoopStaging.adopt(name, as: "pvc-a.img", in: root))
        #expect(staged().isEmpty)
        #expect(shell("blkid -p -o export '\(pool.path)/pvc-a.img'").output.contains("TYPE=ext4"))
        #expect(await stager.discard(pools: nil).isEmpty)
    }

    @Test func anExistingBackingFileIsNeverReplaced() async throws {
        _ = try PoolMarker.prepare(pool, stateDir: dir.sub("state"))
        let stager = LoopStaging()
        let pv = intent("pvc-b")
        try Data("an earlier attempt's file".utf8).write(to: URL(fileURLWithPath: "\(pool.path)/pvc-b.img"))
        stager.start(pv, in: pool)
        let name = try #require(await stager.take(pv, in: pool))
        #expect(try !LoopStaging.adopt(name, as: "pvc-b.img", in: try PoolMarker.openRoot(pool)))
        #expect(try String(contentsOfFile: "\(pool.path)/pvc-b.img", encoding: .utf8) == "an earlier attempt's file")
        #expect(staged().isEmpty)
    }

    /// A burst of claims does not queue an mkfs per claim: past the limit, volumes are made after
    /// their commit as without staging.
    @Test func atMostALimitedNumberRunAtOnce() async throws {
        _ = try PoolMarker.prepare(pool, stateDir: dir.sub("state"))
        let stager = LoopStaging()
        let burst = (0..<(LoopStaging.limit + 2)).map { intent("pvc-burst-\($0)") }
        for pv in burst { stager.start(pv, in: pool) }
        var taken = 0
        for pv in burst where await stager.take(pv, in: pool) != nil { taken += 1 }
        #expect(taken == LoopStaging.limit)
        #expect(await stager.discard(pools: nil).isEmpty)
        #expect(staged().isEmpty)
        // and once they are done, staging starts again
        let later = intent("pvc-later")
        stager.start(later, in: pool)
        #expect(await stager.take(later, in: pool) != nil)
        _ = await stager.discard(pools: nil)
    }

    @Test func whatNoProvisioningTakesIsRemoved() async throws {
        _ = try PoolMarker.prepare(pool, stateDir: dir.sub("state"))
        let stager = LoopStaging()
        // an intent rolled back (never taken), one written twice (a retried chunk: the first file is
        // unwanted), and one whose PV records another UUID than the staged file has
        stager.start(intent("pvc-rolled-back"), in: pool)
        stager.start(intent("pvc-twice"), in: pool)
        stager.start(intent("pvc-twice"), in: pool)
        stager.start(intent("pvc-other", uuid: "0b7e5a58-4c42-4a8e-9a4e-0f6f2d6b9a01"), in: pool)
        #expect(await stager.take(intent("pvc-other", uuid: "5d0a77a4-3f7c-4c1e-8a1e-2a5cde0c7b02"), in: pool) == nil)
        #expect(await stager.discard(pools: nil).isEmpty)
        #expect(staged().isEmpty, "left: \(staged())")
        // what a crash left is removed at the next start, and only in the staging directory
        try Data("half-made".utf8).write(to: URL(fileURLWithPath: "\(staging)/pvc-crashed-0b7e5a58.img"))
        try Data("a volume".utf8).write(to: URL(fileURLWithPath: "\(pool.path)/pvc-kept.img"))
        #expect(await LoopStaging().discard(pools: [pool]).isEmpty)
        #expect(staged().isEmpty)
        #expect(FileManager.default.fileExists(atPath: "\(pool.path)/pvc-kept.img"))
    }
}
