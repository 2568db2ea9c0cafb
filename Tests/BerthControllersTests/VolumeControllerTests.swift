import BerthCatalog
@testable import BerthControllers
import BerthModel
import BerthStorage
import BerthTestSupport
import Foundation
import Logging
import Synchronization
import Testing

/// The PV controller against a real SQLite catalog and real directories, one pass at a time.
final class Harness: @unchecked Sendable {
    let dir = TemporaryDirectory()
    let catalog: SQLiteCatalog
    let controller: VolumeController
    let pool: StoragePool

    init(poolCapacity: String = "10Gi") throws {
        catalog = try SQLiteCatalog(path: dir.sub("catalog.sqlite"))
        pool = StoragePool(node: "node-a", name: "default", path: dir.sub("pool"), capacity: try Quantity(parsing: poolCapacity))
        _ = try PoolMarker.prepare(pool, stateDir: dir.sub("state"))
        let topology = Topology(nodes: [.init(name: "node-a", labels: [:], pools: [pool])], hostName: "test")
        controller = VolumeController(catalog: catalog, topology: topology, provisioners: [HostPathProvisioner()],
                                      logger: Logger(label: "test"))
    }

    /// Runs passes until nothing is left to do.
    func settle() async {
        for _ in 0..<4 {
            controller.work.markAll()
            await controller.pass()
        }
    }

    func apply(_ yaml: String) async throws {
        for doc in try Manifest.documents(from: yaml, source: "test") {
            let info = try Manifest.kindInfo(of: doc, source: "test")
            try await create(doc, type: ObjectTypes.type(for: info))
        }
    }

    func create<T: KubeObject>(_ doc: JSONValue, type: T.Type) async throws {
        var obj = try T.decode(doc)
        if T.info.isNamespaced, obj.metadata.namespace == nil { obj.metadata.namespace = "default" }
        obj.applyDefaults()
        obj.keepStatus(from: nil)
        try obj.validate().throwIfAny(kind: T.info.kind, name: obj.name)
        let o = obj
        try await catalog.write { tx in try tx.create(o) }
    }

    func claim(_ name: String) async throws -> PersistentVolumeClaim? {
        try await catalog.read { tx in try tx.get(PersistentVolumeClaim.self, namespace: "default", name: name) }
    }

    func volume(_ name: String) async throws -> PersistentVolume? {
        try await catalog.read { tx in try tx.get(PersistentVolume.self, name: name) }
    }

    func events(about name: String) async throws -> [Event] {
        try await catalog.read { tx in try tx.list(Event.self).filter { $0.involvedObject.name == name } }
    }

    func deleteClaim(_ name: String) async throws {
        try await catalog.write { tx in try tx.delete(PersistentVolumeClaim.self, namespace: "default", name: name, uid: nil) }
    }
}

func pvYAML(_ name: String, _ size: String, modes: String = "[ReadWriteOnce]", cls: String = "\"\"", labels: String = "{}",
            extra: String = "") -> String {
    ManifestText.pv(name, size, modes: modes, cls: cls, labels: labels, extra: extra)
}

func pvcYAML(_ name: String, _ size: String, modes: String = "[ReadWriteOnce]", cls: String? = "\"\"", extra: String = "") -> String {
    ManifestText.pvc(name, size, modes: modes, cls: cls, extra: extra)
}

@Suite struct StaticBindingTests {
    @Test func bindsSmallestVolumeThatSatisfiesClaim() async throws {
        let h = try Harness()
        try await h.apply(pvYAML("v10", "10Gi") + pvYAML("v5", "5Gi") + pvYAML("v4", "4Gi") + pvcYAML("c", "5Gi"))
        await h.settle()
        #expect(try await h.claim("c")?.volumeName == "v5")
        #expect(try await h.volume("v5")?.phase == "Bound")
        #expect(try await h.volume("v10")?.phase == "Available")
        #expect(try await h.claim("c")?.status?.capacity?["storage"]?.description == "5Gi")
    }

    @Test func emptyStringClassBindsOnlyClasslessVolumes() async throws {
        let h = try Harness()
        try await h.apply(pvYAML("classy", "1Gi", cls: "fast") + pvcYAML("c", "1Gi", cls: "\"\""))
        await h.settle()
        #expect(try await h.claim("c")?.phase == "Pending")
        #expect(try await h.events(about: "c").contains { $0.reason == "FailedBinding" })
        #expect(try await h.volume("classy")?.phase == "Available")
    }

    @Test func accessModesMustBeASuperset() async throws {
        let h = try Harness()
        try await h.apply(pvYAML("rwo", "1Gi") + pvYAML("rwx", "5Gi", modes: "[ReadWriteOnce, ReadWriteMany]")
                          + pvcYAML("c", "1Gi", modes: "[ReadWriteMany]"))
        await h.settle()
        #expect(try await h.claim("c")?.volumeName == "rwx")
    }

    @Test func selectorExpressionsChooseAmongVolumes() async throws {
        let h = try Harness()
        try await h.apply(pvYAML("slow", "1Gi", labels: "{tier: slow}") + pvYAML("fast", "2Gi", labels: "{tier: fast, zone: a}")
                          + pvcYAML("c", "1Gi", extra: "  selector: {matchExpressions: [{key: tier, operator: NotIn, values: [slow]}, {key: zone, operator: Exists}]}"))
        await h.settle()
        #expect(try await h.claim("c")?.volumeName == "fast")
    }

    @Test func preboundClaimBindsToItsNamedVolumeOnly() async throws {
        let h = try Harness()
        try await h.apply(pvYAML("small", "1Gi") + pvYAML("chosen", "8Gi") + pvcYAML("c", "1Gi", extra: "  volumeName: chosen"))
        await h.settle()
        #expect(try await h.claim("c")?.volumeName == "chosen")
        #expect(try await h.volume("chosen")?.spec.claimRef?.uid == (try await h.claim("c"))?.uid)
    }

    @Test func preboundClaimToTooSmallVolumeStaysPendingWithMismatchEvent() async throws {
        let h = try Harness()
        try await h.apply(pvYAML("tiny", "1Gi") + pvcYAML("c", "5Gi", extra: "  volumeName: tiny"))
        await h.settle()
        #expect(try await h.claim("c")?.phase == "Pending")
        #expect(try await h.events(about: "c").contains { $0.reason == "VolumeMismatch" && ($0.message ?? "").contains("too small") })
    }

    @Test func preboundVolumeIsReservedForItsClaim() async throws {
        let h = try Harness()
        try await h.apply(pvYAML("reserved", "1Gi", extra: "  claimRef: {namespace: default, name: mine}")
                          + pvcYAML("other", "1Gi") + pvcYAML("mine", "1Gi"))
        await h.settle()
        #expect(try await h.claim("other")?.phase == "Pending")
        #expect(try await h.claim("mine")?.volumeName == "reserved")
    }

    @Test func releasedVolumeIsNotReboundToANewClaim() async throws {
        let h = try Harness()
        try await h.apply(pvYAML("v", "1Gi") + pvcYAML("c", "1Gi"))
        await h.settle()
        try await h.deleteClaim("c")
        await h.settle()
        #expect(try await h.volume("v")?.phase == "Released")
        try await h.apply(pvcYAML("c", "1Gi"))
        await h.settle()
        #expect(try await h.claim("c")?.phase == "Pending")
        #expect(try await h.volume("v")?.phase == "Released")
    }

    @Test func adminClearingClaimRefMakesAReleasedVolumeAvailable() async throws {
        let h = try Harness()
        try await h.apply(pvYAML("v", "1Gi") + pvcYAML("c", "1Gi"))
        await h.settle()
        try await h.deleteClaim("c")
        await h.settle()
        try await h.catalog.write { tx in
            var pv = try tx.get(PersistentVolume.self, name: "v")!
            pv.spec.claimRef = nil
            try tx.update(pv)
        }
        try await h.apply(pvcYAML("d", "1Gi"))
        await h.settle()
        #expect(try await h.claim("d")?.volumeName == "v")
    }

    @Test func manyClaimsNeverShareAVolume() async throws {
        let h = try Harness()
        var yaml = ""
        for i in 0..<20 { yaml += pvYAML("v\(i)", "1Gi") }
        for i in 0..<30 { yaml += pvcYAML("c\(i)", "1Gi") }
        try await h.apply(yaml)
        await h.settle()
        let claims = try await h.catalog.read { tx in try tx.list(PersistentVolumeClaim.self) }
        let bound = claims.filter { $0.phase == "Bound" }
        #expect(bound.count == 20)
        #expect(Set(bound.map(\.volumeName)).count == 20)
        let volumes = try await h.catalog.read { tx in try tx.list(PersistentVolume.self) }
        #expect(Set(volumes.compactMap { $0.spec.claimRef?.uid }).count == 20)
    }
}

@Suite struct ProvisioningTests {
    let classYAML = """
        apiVersion: storage.k8s.io/v1
        kind: StorageClass
        metadata: {name: local, annotations: {storageclass.kubernetes.io/is-default-class: "true"}}
        provisioner: berth.io/hostpath
        ---

        """

    @Test func provisionsADirectoryWithItsIdentity() async throws {
        let h = try Harness()
        try await h.apply(classYAML + pvcYAML("c", "1Gi", cls: "local"))
        await h.settle()
        let claim = try #require(try await h.claim("c"))
        #expect(claim.phase == "Bound")
        let pv = try #require(try await h.volume(claim.volumeName))
        #expect(pv.name == "pvc-\(claim.uid)")
        #expect(pv.phase == "Bound")
        #expect(pv.reclaimPolicy == "Delete")
        let path = try #require(pv.path)
        let identity = try JSONDecoder().decode(VolumeIdentity.self, from: Data(contentsOf: URL(fileURLWithPath: path + "/.berth-volume.json")))
        #expect(identity.uid == pv.uid)
        #expect(try await h.events(about: "c").contains { $0.reason == "ProvisioningSucceeded" })
    }

    @Test func claimWithoutClassGetsTheDefaultClass() async throws {
        let h = try Harness()
        try await h.apply(classYAML + pvcYAML("c", "1Gi", cls: nil))
        await h.settle()
        #expect(try await h.claim("c")?.spec.storageClassName == "local")
        #expect(try await h.claim("c")?.phase == "Bound")
    }

    @Test func claimThatDoesNotFitStaysPendingNamingThePool() async throws {
        let h = try Harness(poolCapacity: "2Gi")
        try await h.apply(classYAML + pvcYAML("a", "1536Mi", cls: "local") + pvcYAML("b", "1Gi", cls: "local"))
        await h.settle()
        let phases = [try await h.claim("a")?.phase, try await h.claim("b")?.phase]
        #expect(phases == ["Bound", "Pending"])
        let event = try await h.events(about: "b").first { $0.reason == "ProvisioningFailed" }
        #expect(event?.message?.contains("pool \"default\" on node \"node-a\" has 512Mi free of 2Gi") == true)
    }

    @Test func waitForFirstConsumerWaits() async throws {
        let h = try Harness()
        try await h.apply("""
            apiVersion: storage.k8s.io/v1
            kind: StorageClass
            metadata: {name: late}
            provisioner: berth.io/hostpath
            volumeBindingMode: WaitForFirstConsumer
            ---

            """ + pvYAML("v", "1Gi", cls: "late") + pvcYAML("c", "1Gi", cls: "late"))
        await h.settle()
        #expect(try await h.claim("c")?.phase == "Pending")
        #expect(try await h.events(about: "c").contains { $0.reason == "WaitForFirstConsumer" })
        #expect(try await h.volume("v")?.phase == "Available")
    }

    @Test func deletePolicyRemovesDirectoryButNotASymlinkTarget() async throws {
        let h = try Harness()
        let outside = h.dir.sub("outside")
        try FileManager.default.createDirectory(atPath: outside, withIntermediateDirectories: true)
        try Data("precious".utf8).write(to: URL(fileURLWithPath: outside + "/keep.txt"))
        try await h.apply(classYAML + pvcYAML("c", "1Gi", cls: "local"))
        await h.settle()
        let pv = try #require(try await h.volume(try await h.claim("c")!.volumeName))
        let path = try #require(pv.path)
        try FileManager.default.createDirectory(atPath: path + "/sub", withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: path + "/escape", withDestinationPath: outside)
        try FileManager.default.createSymbolicLink(atPath: path + "/sub/file-link", withDestinationPath: outside + "/keep.txt")
        try await h.deleteClaim("c")
        await h.settle()
        #expect(!FileManager.default.fileExists(atPath: path))
        #expect(try await h.volume(pv.name) == nil)
        #expect(try String(contentsOfFile: outside + "/keep.txt", encoding: .utf8) == "precious")
    }

    @Test func retainPolicyKeepsDataAndReleasesTheVolume() async throws {
        let h = try Harness()
        try await h.apply("""
            apiVersion: storage.k8s.io/v1
            kind: StorageClass
            metadata: {name: keep}
            provisioner: berth.io/hostpath
            reclaimPolicy: Retain
            ---

            """ + pvcYAML("c", "1Gi", cls: "keep"))
        await h.settle()
        let pv = try #require(try await h.volume(try await h.claim("c")!.volumeName))
        try Data("data".utf8).write(to: URL(fileURLWithPath: pv.path! + "/file"))
        try await h.deleteClaim("c")
        await h.settle()
        #expect(try await h.volume(pv.name)?.phase == "Released")
        #expect(FileManager.default.fileExists(atPath: pv.path! + "/file"))
    }

    @Test func intentWhoseClaimVanishedIsUndoneWithoutLeaks() async throws {
        let h = try Harness()
        try await h.apply(classYAML + pvcYAML("c", "1Gi", cls: "local"))
        // record the intent only (as a crash right after the first commit would leave it)
        let claim = try #require(try await h.claim("c"))
        let result = try await h.catalog.write { tx in try h.controller.syncClaim(tx, key: Key("default", "c")) }
        #expect(result.actions == [.provision("pvc-\(claim.uid)")])
        #expect(try await h.volume("pvc-\(claim.uid)")?.metadata.annotation(Keys.provisioning) == "true")
        try await h.deleteClaim("c")
        await h.settle()
        #expect(try await h.volume("pvc-\(claim.uid)") == nil)
        #expect(((try? FileManager.default.contentsOfDirectory(atPath: h.pool.path)) ?? []).filter { !$0.hasPrefix(".") }.isEmpty)
    }

    @Test func intentIsFinishedExactlyOnce() async throws {
        let h = try Harness()
        try await h.apply(classYAML + pvcYAML("c", "1Gi", cls: "local"))
        _ = try await h.catalog.write { tx in try h.controller.syncClaim(tx, key: Key("default", "c")) }
        // a directory half-made before the crash: exists, no identity file yet
        let claim = try #require(try await h.claim("c"))
        try FileManager.default.createDirectory(atPath: h.pool.volumePath("pvc-\(claim.uid)"), withIntermediateDirectories: true)
        await h.settle()
        #expect(try await h.claim("c")?.phase == "Bound")
        #expect(try FileManager.default.contentsOfDirectory(atPath: h.pool.path).filter { !$0.hasPrefix(".") } == ["pvc-\(claim.uid)"])
        let volumes = try await h.catalog.read { tx in try tx.list(PersistentVolume.self) }
        #expect(volumes.count == 1)
    }

    /// A claim edited to name its volume, marked bind-completed, while the volume is still an intent
    /// (its storage not made) is not bound by the claim's sync: only the provisioning binds it.
    @Test func aClaimNamingAnIntentEarlyDoesNotBindIt() async throws {
        let h = try Harness()
        try await h.apply(classYAML + pvcYAML("c", "1Gi", cls: "local"))
        let result = try await h.catalog.write { tx in try h.controller.syncClaim(tx, key: Key("default", "c")) }
        let (intent, _) = try #require(result.provisioned)
        try await h.catalog.write { tx in
            var c = try #require(try tx.get(PersistentVolumeClaim.self, namespace: "default", name: "c"))
            c.spec.volumeName = intent.name
            c.metadata.setAnnotation(Keys.bindCompleted, "yes")
            try tx.update(c)
        }
        _ = try await h.catalog.write { tx in try h.controller.syncClaim(tx, key: Key("default", "c")) }
        #expect(try await h.volume(intent.name)?.phase == "Pending")
        #expect(try await h.volume(intent.name)?.metadata.annotation(Keys.provisioning) == "true")
    }

    /// A pass hands the intent it committed straight to the provisioning, which then does not read it
    /// back; when the claim is deleted in between, the volume is made but not bound, and the next
    /// pass (not the periodic resync) removes it and the intent.
    @Test func aClaimDeletedWhileItsVolumeIsMadeIsUndoneByTheNextPass() async throws {
        let h = try Harness()
        try await h.apply(classYAML + pvcYAML("c", "1Gi", cls: "local"))
        let result = try await h.catalog.write { tx in try h.controller.syncClaim(tx, key: Key("default", "c")) }
        let (intent, claim) = try #require(result.provisioned)
        #expect(claim.metadata.annotation(Keys.storageProvisioner) == "berth.io/hostpath")
        h.controller.handoff.withLock { $0[intent.name] = (intent, claim) }
        try await h.deleteClaim("c")
        try await h.controller.finishProvisioning(intent.name)
        #expect(h.controller.handoff.withLock { $0.isEmpty })
        #expect(try await h.volume(intent.name)?.metadata.annotation(Keys.provisioning) == "true", "made, not bound")
        await h.controller.pass()
        #expect(try await h.volume(intent.name) == nil)
        #expect(((try? FileManager.default.contentsOfDirectory(atPath: h.pool.path)) ?? []).filter { !$0.hasPrefix(".") }.isEmpty)
    }
}

@Suite struct EventPrunerTests {
    @Test func deletesOnlyEventsOlderThanTheTTL() async throws {
        let h = try Harness()
        try await h.apply(pvcYAML("c", "1Gi", cls: "\"\""))
        await h.settle()
        #expect(try await !h.events(about: "c").isEmpty)
        let pruner = EventPruner(catalog: h.catalog, ttl: .seconds(3600), logger: Logger(label: "test"))
        #expect(try await pruner.prune(now: Date()) == 0)
        #expect(try await pruner.prune(now: Date().addingTimeInterval(7200)) == 1)
        #expect(try await h.events(about: "c").isEmpty)
    }
}

@Suite struct RecoveryTests {
    let classYAML = """
        apiVersion: storage.k8s.io/v1
        kind: StorageClass
        metadata: {name: local}
        provisioner: berth.io/hostpath
        ---

        """

    @Test func aClaimIsNeverBoundToAnIntentWhoseDirectoryCannotBeMade() async throws {
        let h = try Harness()
        try await h.apply(classYAML + pvcYAML("c", "1Gi", cls: "local"))
        _ = try await h.catalog.write { tx in try h.controller.syncClaim(tx, key: Key("default", "c")) }
        let claim = try #require(try await h.claim("c"))
        // someone else's data sits where the volume would go
        let path = h.pool.volumePath("pvc-\(claim.uid)")
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        try Data("theirs".utf8).write(to: URL(fileURLWithPath: path + "/data"))
        await h.settle()
        #expect(try await h.claim("c")?.phase == "Pending")
        #expect(try await h.volume("pvc-\(claim.uid)")?.metadata.annotation(Keys.provisioning) == "true")
        #expect(try await h.events(about: "c").contains { $0.reason == "ProvisioningFailed" })
        #expect(try String(contentsOfFile: path + "/data", encoding: .utf8) == "theirs")
    }

    @Test func aVolumeReplacedWithoutItsClaimRefIsReboundToItsClaim() async throws {
        let h = try Harness()
        try await h.apply(pvYAML("x", "1Gi") + pvcYAML("owner", "1Gi"))
        await h.settle()
        #expect(try await h.claim("owner")?.volumeName == "x")
        try await h.catalog.write { tx in
            var pv = try tx.get(PersistentVolume.self, name: "x")!
            pv.spec.claimRef = nil
            try tx.update(pv)
        }
        try await h.apply(pvcYAML("intruder", "1Gi"))
        await h.settle()
        #expect(try await h.volume("x")?.spec.claimRef?.name == "owner")
        #expect(try await h.claim("intruder")?.phase == "Pending")
        #expect(try await h.claim("owner")?.phase == "Bound")
    }
}

/// Forwards to a real catalog, but refuses (as a shutting-down catalog does) the `failing`-th write
/// that changes more than `bigger` objects, after its body ran: that transaction rolls back whole.
final class RefusingCatalog: Catalog, @unchecked Sendable {
    let inner: SQLiteCatalog
    let failing: Int
    let bigger: Int64
    private let seen = Mutex(0)

    init(_ inner: SQLiteCatalog, failing: Int, bigger: Int64) {
        self.inner = inner
        self.failing = failing
        self.bigger = bigger
    }

    func write<T: Sendable>(origin: String?, _ body: @escaping @Sendable (any CatalogTransaction) throws -> T) async throws -> T {
        try await inner.write(origin: origin) { tx in
            let start = tx.revision
            let result = try body(tx)
            if tx.revision - start > self.bigger, self.seen.withLock({ $0 += 1; return $0 }) == self.failing {
                throw BerthError(.unavailable, "refused by the test")
            }
            return result
        }
    }

    func read<T: Sendable>(_ body: @escaping @Sendable (any CatalogTransaction) throws -> T) async throws -> T {
        try await inner.read(body)
    }

    var currentRevision: Int64 { inner.currentRevision }

    func watch(after revision: Int64, kinds: Set<String>?) async throws -> AsyncThrowingStream<[Change], any Error> {
        try await inner.watch(after: revision, kinds: kinds)
    }
}

@Suite struct InterruptedPassTests {
    @Test func aChunkRefusedMidPassLeavesEarlierWorkFinishedAndTheRestToTheNextPass() async throws {
        let h = try Harness(poolCapacity: "10Ti")
        let claims = 1100   // three chunks of claims: 512, 512 and 76
        var yaml = ProvisioningTests().classYAML
        for i in 0..<claims { yaml += pvcYAML("c\(i)", "1Mi", cls: "local") }
        try await h.apply(yaml)
        let refusing = RefusingCatalog(h.catalog, failing: 2, bigger: 100)
        let controller = VolumeController(catalog: refusing, topology: h.controller.topology, provisioners: [HostPathProvisioner()],
                                          logger: Logger(label: "test"))
        controller.work.markAll()
        await controller.pass()   // returns: the refused chunk ends the pass, after the first chunk's disk work

        let all = try await h.catalog.read { tx in try tx.list(PersistentVolumeClaim.self) }
        let bound = all.filter { $0.phase == "Bound" }
        #expect(bound.count == 512)
        let volumes = try await h.catalog.read { tx in try tx.list(PersistentVolume.self) }
        #expect(volumes.count == 512)
        #expect(volumes.allSatisfy { $0.phase == "Bound" })
        #expect(try FileManager.default.contentsOfDirectory(atPath: h.pool.path).filter { !$0.hasPrefix(".") }.count == 512)

        // the failed pass asked for a full one, which finishes the rest, once each
        await controller.pass()
        let after = try await h.catalog.read { tx in try tx.list(PersistentVolumeClaim.self) }
        #expect(after.allSatisfy { $0.phase == "Bound" })
        let pvs = try await h.catalog.read { tx in try tx.list(PersistentVolume.self) }
        #expect(pvs.count == claims)
        #expect(Set(pvs.map { $0.spec.claimRef?.uid ?? "" }).count == claims)
        let dirs = try FileManager.default.contentsOfDirectory(atPath: h.pool.path).filter { !$0.hasPrefix(".") }
        #expect(Set(dirs) == Set(pvs.map(\.name)))
    }
}
