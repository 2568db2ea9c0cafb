import BerthLinux
import BerthModel
import BerthStorage
import BerthTestSupport
import Foundation
import Testing

@Suite struct SafeDirectoryTests {
    let dir = TemporaryDirectory()

    @Test func removeTreeUnlinksSymlinksWithoutFollowingThem() throws {
        let fm = FileManager.default
        let outside = dir.sub("outside")
        try fm.createDirectory(atPath: outside + "/deep", withIntermediateDirectories: true)
        try Data("keep".utf8).write(to: URL(fileURLWithPath: outside + "/deep/file"))
        let root = try SafeDirectory.makeRoot(path: dir.sub("root"))
        try root.makeChild("vol")
        try fm.createDirectory(atPath: dir.sub("root/vol/a/b"), withIntermediateDirectories: true)
        try fm.createSymbolicLink(atPath: dir.sub("root/vol/a/b/dir-link"), withDestinationPath: outside)
        try fm.createSymbolicLink(atPath: dir.sub("root/vol/file-link"), withDestinationPath: outside + "/deep/file")
        try fm.createSymbolicLink(atPath: dir.sub("root/vol/dangling"), withDestinationPath: "/nonexistent")
        #expect(try root.removeTree("vol"))
        #expect(!fm.fileExists(atPath: dir.sub("root/vol")))
        #expect(try String(contentsOfFile: outside + "/deep/file", encoding: .utf8) == "keep")
    }

    @Test func openChildRefusesASymlink() throws {
        let root = try SafeDirectory.makeRoot(path: dir.sub("root"))
        try FileManager.default.createSymbolicLink(atPath: dir.sub("root/vol"), withDestinationPath: "/etc")
        #expect(throws: SystemError.self) { _ = try root.openChild("vol") }
        #expect(throws: SystemError.self) { try root.makeChild("vol") }
    }

    @Test func namesThatLeaveTheDirectoryAreRefused() throws {
        let root = try SafeDirectory.makeRoot(path: dir.sub("root"))
        for name in ["..", ".", "a/b", ""] {
            #expect(throws: SystemError.self) { try root.makeChild(name) }
            #expect(throws: SystemError.self) { try root.removeTree(name) }
        }
    }
}

@Suite struct HostPathProvisionerTests {
    let dir = TemporaryDirectory()

    func volume(_ name: String, uid: String) -> PersistentVolume {
        var pv = PersistentVolume(name: name)
        pv.metadata.uid = uid
        pv.spec.hostPath = .init(path: dir.sub("pool/\(name)"))
        return pv
    }

    var pool: StoragePool { StoragePool(node: "n", name: "default", path: dir.sub("pool"), capacity: Quantity(bytes: 1 << 30)) }

    init() throws {
        #expect(try PoolMarker.prepare(pool, stateDir: dir.sub("state")) == .initialized)
    }

    @Test func aPoolWhoseDiskIsNotMountedIsNeitherUsedNorCleaned() async throws {
        let p = HostPathProvisioner()
        let pv = volume("pv-a", uid: "u1")
        try await p.provision(pv, in: pool)
        // the disk goes away: the mount point is an empty directory again
        try FileManager.default.moveItem(atPath: dir.sub("pool"), toPath: dir.sub("unmounted"))
        try FileManager.default.createDirectory(atPath: dir.sub("pool"), withIntermediateDirectories: false)
        if case .missing = try PoolMarker.prepare(pool, stateDir: dir.sub("state")) {} else { Issue.record("pool should be missing") }
        await #expect { try await p.provision(self.volume("pv-b", uid: "u2"), in: self.pool) } throws: { ($0 as? BerthError)?.code == .unavailable }
        await #expect { try await p.delete(pv, pools: [self.pool]) } throws: { ($0 as? BerthError)?.code == .unavailable }
        if case .missing = try await p.verify(pv, pools: [pool]) {} else { Issue.record("volume should be missing") }
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.sub("pool")).isEmpty)
        // mounted again: everything is back
        try FileManager.default.removeItem(atPath: dir.sub("pool"))
        try FileManager.default.moveItem(atPath: dir.sub("unmounted"), toPath: dir.sub("pool"))
        #expect(try PoolMarker.prepare(pool, stateDir: dir.sub("state")) == .ready)
        #expect(try await p.verify(pv, pools: [pool]) == .healthy)
    }

    /// Two pools' disks mounted the other way round (device names that changed at a reboot, say):
    /// each root holds a marker, but not its own, and is neither used nor cleaned.
    @Test func anotherPoolsDiskMountedInItsPlaceIsNeitherUsedNorCleaned() async throws {
        let p = HostPathProvisioner()
        var known = pool
        known.marker = PoolMarker.recorded(pool, stateDir: dir.sub("state"))
        #expect(known.marker != nil)
        let pv = volume("pv-a", uid: "u1")
        try await p.provision(pv, in: known)
        // the other disk: a pool root with a marker of its own, and a volume of the same name
        try FileManager.default.moveItem(atPath: dir.sub("pool"), toPath: dir.sub("ours"))
        let other = StoragePool(node: "n", name: "other", path: dir.sub("pool"), capacity: Quantity(bytes: 1 << 30))
        #expect(try PoolMarker.prepare(other, stateDir: dir.sub("other-state")) == .initialized)
        try FileManager.default.createDirectory(atPath: dir.sub("pool/pv-a"), withIntermediateDirectories: false)
        if case .missing = try PoolMarker.prepare(pool, stateDir: dir.sub("state")) {} else { Issue.record("pool should be missing") }
        await #expect { try await p.provision(self.volume("pv-b", uid: "u2"), in: known) } throws: { ($0 as? BerthError)?.code == .unavailable }
        await #expect { try await p.delete(pv, pools: [known]) } throws: { ($0 as? BerthError)?.code == .unavailable }
        if case .missing = try await p.verify(pv, pools: [known]) {} else { Issue.record("volume should be missing") }
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.sub("pool")).sorted() == [PoolMarker.fileName, "pv-a"])
        // the right disk back: the volume is there
        try FileManager.default.removeItem(atPath: dir.sub("pool"))
        try FileManager.default.moveItem(atPath: dir.sub("ours"), toPath: dir.sub("pool"))
        #expect(try await p.verify(pv, pools: [known]) == .healthy)
    }

    @Test func provisionIsIdempotentAndRecordsIdentity() async throws {
        let p = HostPathProvisioner()
        let pv = volume("pv-a", uid: "u1")
        try await p.provision(pv, in: pool)
        try await p.provision(pv, in: pool)
        #expect(try await p.verify(pv, pools: [pool]) == .healthy)
        #expect(FileManager.default.fileExists(atPath: dir.sub("pool/pv-a/.berth-volume.json")))
    }

    @Test func refusesADirectoryThatBelongsToAnotherVolume() async throws {
        let p = HostPathProvisioner()
        try await p.provision(volume("pv-a", uid: "u1"), in: pool)
        await #expect(throws: BerthError.self) { try await p.provision(self.volume("pv-a", uid: "u2"), in: self.pool) }
        await #expect(throws: BerthError.self) { try await p.delete(self.volume("pv-a", uid: "u2"), pools: [self.pool]) }
        #expect(FileManager.default.fileExists(atPath: dir.sub("pool/pv-a")))
    }

    /// A torn identity alone in its directory is written again by the check (as at start), so that
    /// data written into the volume afterwards does not make it look like someone else's.
    @Test func aTornIdentityAloneIsWrittenAgainByTheCheck() async throws {
        try FileManager.default.createDirectory(atPath: dir.sub("pool/pv-a"), withIntermediateDirectories: true)
        try Data("{\"volume\":\"pv-a\",\"u\0\0".utf8).write(to: URL(fileURLWithPath: dir.sub("pool/pv-a/" + VolumeIdentity.fileName)))
        let pv = volume("pv-a", uid: "u1")
        #expect(try await HostPathProvisioner().verify(pv, pools: [pool]) == .healthy)
        try Data("ours".utf8).write(to: URL(fileURLWithPath: dir.sub("pool/pv-a/data")))
        #expect(try await HostPathProvisioner().verify(pv, pools: [pool]) == .healthy)
        let identity = try JSONDecoder().decode(VolumeIdentity.self, from: Data(contentsOf: URL(fileURLWithPath: dir.sub("pool/pv-a/" + VolumeIdentity.fileName))))
        #expect(identity.uid == "u1")
    }

    /// A torn identity file beside other content could be anyone's: neither provisioned over nor
    /// reported healthy.
    @Test func aTornIdentityBesideOtherContentIsNotAdopted() async throws {
        try FileManager.default.createDirectory(atPath: dir.sub("pool/pv-a"), withIntermediateDirectories: true)
        try Data("{\"volume\":\"pv-a\",\"u\0\0".utf8).write(to: URL(fileURLWithPath: dir.sub("pool/pv-a/" + VolumeIdentity.fileName)))
        try Data("theirs".utf8).write(to: URL(fileURLWithPath: dir.sub("pool/pv-a/data")))
        let pv = volume("pv-a", uid: "u1")
        await #expect(throws: BerthError.self) { try await HostPathProvisioner().provision(pv, in: self.pool) }
        guard case .mismatched = try await HostPathProvisioner().verify(pv, pools: [pool]) else {
            Issue.record("a torn identity beside other content was reported healthy")
            return
        }
        #expect(try String(contentsOfFile: dir.sub("pool/pv-a/data"), encoding: .utf8) == "theirs")
    }

    @Test func refusesToAdoptForeignContent() async throws {
        try FileManager.default.createDirectory(atPath: dir.sub("pool/pv-a"), withIntermediateDirectories: true)
        try Data("theirs".utf8).write(to: URL(fileURLWithPath: dir.sub("pool/pv-a/data")))
        await #expect(throws: BerthError.self) { try await HostPathProvisioner().provision(self.volume("pv-a", uid: "u1"), in: self.pool) }
    }

    /// What a crash can leave of the identity file: its temporary file, cut short (kill -9 between
    /// the write and the rename), or the file itself empty or torn (a power loss: it is not flushed).
    @Test(arguments: [(SafeDirectory.temporaryName(of: VolumeIdentity.fileName), "{\"volume\":\"pv-a\",\"u"),
                      (VolumeIdentity.fileName, ""),
                      (VolumeIdentity.fileName, "{\"volume\":\"pv-a\",\"u\0\0\0\0")])
    func aCrashWhileWritingTheIdentityDoesNotBlockTheVolume(leftover: String, content: String) async throws {
        try FileManager.default.createDirectory(atPath: dir.sub("pool/pv-a"), withIntermediateDirectories: true)
        try Data(content.utf8).write(to: URL(fileURLWithPath: dir.sub("pool/pv-a/" + leftover)))
        let pv = volume("pv-a", uid: "u1")
        #expect(try await HostPathProvisioner().verify(pv, pools: [pool]) == .healthy)
        try await HostPathProvisioner().provision(pv, in: pool)
        #expect(try await HostPathProvisioner().verify(pv, pools: [pool]) == .healthy)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.sub("pool/pv-a")) == [VolumeIdentity.fileName])
        let identity = try JSONDecoder().decode(VolumeIdentity.self, from: Data(contentsOf: URL(fileURLWithPath: dir.sub("pool/pv-a/" + VolumeIdentity.fileName))))
        #expect(identity.uid == "u1")
    }

    @Test func deleteRefusesPathsOutsideEveryPool() async throws {
        var pv = volume("pv-a", uid: "u1")
        pv.spec.hostPath = .init(path: dir.sub("elsewhere/pv-a"))
        try FileManager.default.createDirectory(atPath: dir.sub("elsewhere/pv-a"), withIntermediateDirectories: true)
        await #expect { try await HostPathProvisioner().delete(pv, pools: [self.pool]) } throws: {
            ($0 as? BerthError)?.code == .permissionDenied
        }
        #expect(FileManager.default.fileExists(atPath: dir.sub("elsewhere/pv-a")))
    }

    @Test func deleteOfAMissingDirectoryIsSuccess() async throws {
        try await HostPathProvisioner().delete(volume("gone", uid: "u"), pools: [pool])
    }

    @Test func poolPathsNeverEscape() {
        #expect(pool.relativePath(of: dir.sub("pool/a/b")) == "a/b")
        #expect(pool.relativePath(of: dir.sub("pool/../x")) == nil)
        #expect(pool.relativePath(of: dir.sub("poolx/a")) == nil)
        #expect(pool.relativePath(of: dir.sub("pool")) == nil)
    }
}

@Suite(.timeLimit(.minutes(1))) struct PlantedFileTests {
    let dir = TemporaryDirectory()

    @Test func aFIFOPlantedAsTheIdentityFileDoesNotHangDeletion() async throws {
        let pool = StoragePool(node: "n", name: "default", path: dir.sub("pool"), capacity: Quantity(bytes: 1 << 30))
        _ = try PoolMarker.prepare(pool, stateDir: dir.sub("state"))
        var pv = PersistentVolume(name: "pv-a")
        pv.metadata.uid = "u1"
        pv.spec.hostPath = .init(path: dir.sub("pool/pv-a"))
        try await HostPathProvisioner().provision(pv, in: pool)
        try FileManager.default.removeItem(atPath: dir.sub("pool/pv-a/.berth-volume.json"))
        #expect(mkfifo(dir.sub("pool/pv-a/.berth-volume.json"), 0o666) == 0)
        await #expect(throws: BerthError.self) { try await HostPathProvisioner().delete(pv, pools: [pool]) }
        #expect(try await HostPathProvisioner().verify(pv, pools: [pool]) != .healthy)
    }
}
