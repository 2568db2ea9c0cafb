import BerthCatalog
import BerthLinux
import BerthModel
import BerthStorage
import Foundation
import Logging
import ServiceLifecycle
import Synchronization

/// The PV controller: binds claims to volumes by Kubernetes' rules, provisions and reclaims
/// volumes, keeps phases right. Level-triggered and idempotent: it is driven by catalog changes and
/// a periodic resync, and every pass re-reads what it acts on.
public final class VolumeController: Service, Sendable {
    let catalog: any Catalog
    let topology: Topology
    /// The host's processors, memory and identity for the Node objects: read once, they do not change.
    let host: HostInfo
    let provisioners: [String: any VolumeProvisioner]
    let logger: Logger
    let resyncInterval: Duration
    let work = WorkQueue()
    /// How many objects one write transaction handles.
    let chunk = 512
    /// How long a pass waits after the first change before it starts.
    let debounce: Duration = .milliseconds(3)

    public init(catalog: any Catalog, topology: Topology, provisioners: [any VolumeProvisioner],
                resyncInterval: Duration = .seconds(15), logger: Logger) {
        self.catalog = catalog
        self.topology = topology
        self.provisioners = Dictionary(uniqueKeysWithValues: provisioners.map { ($0.name, $0) })
        self.resyncInterval = resyncInterval
        self.logger = logger
        self.host = HostInfo.current()
    }

    public func run() async throws {
        do {
            try await cancelWhenGracefulShutdown {
                try await self.loop()
            }
        } catch is CancellationError {}
    }

    private func loop() async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                try await followChanges(of: self.catalog, logger: self.logger, controller: "volume controller",
                                        restart: { self.work.markAll() }, change: { self.note($0) })
            }
            group.addTask {
                try await repeatEvery(self.resyncInterval) { self.work.markAll() }
            }
            group.addTask {
                let clock = ContinuousClock()
                var lastPass = clock.now - .seconds(1)
                for await _ in self.work.signals {
                    try Task.checkCancellation()
                    // within a burst (a pass ended moments ago), let changes gather so that one pass
                    // (one commit) serves many; a lone change is served at once
                    if clock.now - lastPass < .milliseconds(50) { try await Task.sleep(for: self.debounce) }
                    await self.pass()
                    lastPass = clock.now
                }
            }
            try await group.next()
            group.cancelAll()
        }
    }

    static let origin = "volume-controller"

    func note(_ change: Change) {
        // what a pass wrote itself creates no new work: the pass already acted on it (binds are final,
        // intents and deletions come back as actions, Available volumes re-queue pending claims)
        if change.origin == Self.origin { return }
        switch change.object.kind {
        case PersistentVolumeClaim.info.kind:
            let key = Key(change.object.namespace, change.object.name)
            // a change older than what a pass already synced (a burst of creations whose claims a
            // pass has meanwhile bound, say) holds nothing new
            if change.type != .deleted, work.isSynced(claim: key, revision: change.revision) { return }
            work.mark(claim: key)
            // the volume of a claim that changed or went away may be Released now
            if let claim = try? change.decode(PersistentVolumeClaim.self), !claim.volumeName.isEmpty {
                work.mark(volume: claim.volumeName)
            }
        case PersistentVolume.info.kind:
            work.mark(volume: change.object.name)
            // the claim a PV names may need its bind finished or its state repaired
            if let pv = try? change.decode(PersistentVolume.self), let ref = pv.spec.claimRef {
                work.mark(claim: Key(ref.namespace ?? "", ref.name ?? ""))
            }
        case StorageClass.info.kind:
            work.markAllClaims()
        default:
            break
        }
    }

    /// One reconcile pass over everything marked dirty.
    public func pass() async {
        let batch = work.take()
        do {
            var actions: [Action] = []
            var volumeNames = batch.volumes
            var claimKeys = batch.claims
            if batch.all {
                volumeNames = Set(try await catalog.read { try $0.volumeNames(phase: nil, state: nil) })
                claimKeys = Set(try await catalog.read { tx in try tx.listStored(kind: PersistentVolumeClaim.info.kind, namespace: nil).map { Key($0.namespace, $0.name) } })
            } else if batch.allClaims {
                claimKeys.formUnion(try await catalog.read { try $0.unboundClaimKeys().map { Key($0.0, $0.1) } })
            }
            var someBecameAvailable = false
            for names in Array(volumeNames.sorted()).chunked(chunk) {
                let retryFailed = batch.all
                let result = try await chunkWrite(names, describe: { "volume \($0)" }) { tx, name in
                    try self.syncVolume(tx, name: name, retryFailed: retryFailed)
                }
                for r in result {
                    actions += r.actions
                    claimKeys.formUnion(r.claims)
                    someBecameAvailable = someBecameAvailable || r.becameAvailable
                }
            }
            if someBecameAvailable {
                // a volume that became Available may be what a pending claim waits for
                claimKeys.formUnion(try await catalog.read { try $0.unboundClaimKeys().map { Key($0.0, $0.1) } })
            }
            for keys in Array(claimKeys.sorted()).chunked(chunk) {
                let result = try await chunkWrite(keys, describe: { "claim \($0.namespace)/\($0.name)" }) { tx, key in
                    var r = try self.syncClaim(tx, key: key)
                    r.syncedRevision = try tx.getStored(kind: PersistentVolumeClaim.info.kind, namespace: key.namespace, name: key.name)?.revision ?? 0
                    return r
                }
                work.noteSynced(claims: keys, revisions: result.map(\.syncedRevision))
                for r in result {
                    actions += r.actions
                    if r.requeue { work.mark(claims: r.claims) }
                }
            }
            await execute(actions)
            if batch.all || !actions.isEmpty { try await refreshNodes() }
        } catch {
            logger.error("volume controller pass failed; retrying at the next change or resync", metadata: ["error": "\(error)"])
            try? await Task.sleep(for: .milliseconds(200))
            work.markAll()
        }
    }
}

extension VolumeController {
    /// Syncs a chunk of objects in one transaction. When the catalog refuses it (one object breaking a
    /// binding invariant, say), the chunk runs again with each object in a savepoint of its own, so
    /// that the others still go through; the refused one is logged and retried at the next resync.
    func chunkWrite<K: Sendable>(_ items: [K], describe: @escaping @Sendable (K) -> String,
                                 _ sync: @escaping @Sendable (any CatalogTransaction, K) throws -> SyncResult) async throws -> [SyncResult] {
        do {
            return try await catalog.write(origin: Self.origin) { tx in try items.map { try sync(tx, $0) } }
        } catch let e as BerthError where e.code != .unavailable {
            logger.debug("a chunk failed; syncing its objects one by one", metadata: ["error": "\(e)"])
            return try await catalog.write(origin: Self.origin) { tx in
                items.map { item in
                    do {
                        return try tx.withSavepoint { try sync(tx, item) }
                    } catch {
                        self.logger.warning("sync failed; retrying at the next resync",
                                            metadata: ["object": "\(describe(item))", "error": "\(error)"])
                        return SyncResult()
                    }
                }
            }
        }
    }
}

/// A namespace/name key.
public struct Key: Hashable, Sendable, Comparable {
    public var namespace: String
    public var name: String
    public init(_ namespace: String, _ name: String) {
        self.namespace = namespace
        self.name = name
    }
    public static func < (a: Key, b: Key) -> Bool { (a.namespace, a.name) < (b.namespace, b.name) }
}

/// Disk work decided inside a transaction and done after it commits.
enum Action: Sendable, Hashable {
    case provision(String)
    case delete(String)
    case expand(String)
}

struct SyncResult: Sendable {
    /// For claims: the revision the claim had when its sync finished.
    var syncedRevision: Int64 = 0
    var actions: [Action] = []
    var claims: [Key] = []
    var requeue = false
    var becameAvailable = false
}

/// The set of objects waiting for a pass, and a signal that wakes the pass loop.
final class WorkQueue: Sendable {
    /// The revision at which each claim was last synced (cleared at every full resync).
    private let synced = Mutex<[Key: Int64]>([:])

    func noteSynced(claims: [Key], revisions: [Int64]) {
        synced.withLock { s in
            for (k, r) in zip(claims, revisions) where r > 0 { s[k] = r }
        }
    }

    func isSynced(claim: Key, revision: Int64) -> Bool {
        synced.withLock { ($0[claim] ?? 0) >= revision }
    }

    struct Batch: Sendable {
        var all = false
        var allClaims = false
        var claims: Set<Key> = []
        var volumes: Set<String> = []
        var isEmpty: Bool { !all && !allClaims && claims.isEmpty && volumes.isEmpty }
    }
    private let state = Mutex(Batch())
    let signals: AsyncStream<Void>
    private let continuation: AsyncStream<Void>.Continuation

    init() {
        (signals, continuation) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
    }

    private func update(_ body: (inout Batch) -> Void) {
        state.withLock { body(&$0) }
        continuation.yield()
    }

    func mark(claim: Key) { update { $0.claims.insert(claim) } }
    func mark(claims: [Key]) { update { $0.claims.formUnion(claims) } }
    func mark(volume: String) { update { $0.volumes.insert(volume) } }
    func markAll() {
        synced.withLock { $0.removeAll() }
        update { $0.all = true }
    }
    func markAllClaims() { update { $0.allClaims = true } }

    func take() -> Batch {
        state.withLock { s in
            defer { s = Batch() }
            return s
        }
    }
}

extension Array {
    func chunked(_ size: Int) -> [[Element]] {
        stride(from: 0, to: count, by: size).map { Array(self[$0..<Swift.min($0 + size, count)]) }
    }
}
