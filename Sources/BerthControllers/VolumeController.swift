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
    /// Provisioning intents a pass has just committed, as committed, for the provisioning that
    /// follows at once: it need not read them back (taken by `finishProvisioning`).
    let handoff = Mutex<[String: (PersistentVolume, PersistentVolumeClaim)]>([:])

    /// Called when a volume that had lost its mount, its device or its backing store is back (an
    /// event is all the catalog sees of that): the pods waiting for it can start now, not at the
    /// workload controller's next resync.
    let volumesCameBack: @Sendable () -> Void

    public init(catalog: any Catalog, topology: Topology, provisioners: [any VolumeProvisioner],
                resyncInterval: Duration = .seconds(15), logger: Logger, volumesCameBack: @escaping @Sendable () -> Void = {}) {
        self.volumesCameBack = volumesCameBack
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
                                        restart: { self.work.markAll(notedUpTo: $0) }, change: { self.note($0) })
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
                    try await self.awaitNoted()
                    await self.pass()
                    lastPass = clock.now
                }
            }
            try await group.next()
            group.cancelAll()
        }
    }

    static let origin = "volume-controller"

    /// Waits (briefly) until every change committed so far has been noted, so that a pass takes a
    /// commit's changes whole: a pass that took half of a burst of 10,000 volumes would sync the
    /// claims against volumes not yet Available, and do it all again in the next pass.
    func awaitNoted() async throws {
        let target = catalog.currentRevision
        let clock = ContinuousClock()
        let deadline = clock.now + .milliseconds(50)
        while work.notedRevision < target, clock.now < deadline {
            try await Task.sleep(for: .microseconds(200))
        }
    }

    func note(_ change: Change) {
        defer { work.noted(change.revision) }
        // what a pass wrote itself creates no new work: the pass already acted on it (binds are final,
        // intents and deletions come back as actions, Available volumes re-queue pending claims)
        if change.origin == Self.origin { return }
        let revision = change.revision
        switch change.object.kind {
        case PersistentVolumeClaim.info.kind:
            let key = Key(change.object.namespace, change.object.name)
            // a change older than what a pass already synced (a burst of creations whose claims a
            // pass has meanwhile bound, say) holds nothing new
            if change.type != .deleted, work.isSynced(claim: key, revision: revision) { return }
            work.mark(claim: key, revision: revision)
            // the volume of a claim that changed or went away may be Released now
            if change.mayHave(member: "volumeName"), let claim = try? change.decode(PersistentVolumeClaim.self), !claim.volumeName.isEmpty {
                work.mark(volume: claim.volumeName, revision: revision)
            }
        case PersistentVolume.info.kind:
            work.mark(volume: change.object.name, revision: revision)
            // the claim a PV names may need its bind finished or its state repaired
            if change.mayHave(member: "claimRef"), let pv = try? change.decode(PersistentVolume.self), let ref = pv.spec.claimRef {
                work.mark(claim: Key(ref.namespace ?? "", ref.name ?? ""), revision: revision)
            }
        case StorageClass.info.kind:
            work.markAllClaims()
        default:
            break
        }
    }

    /// One reconcile pass over everything marked dirty. The disk work a chunk decides starts as soon
    /// as that chunk has committed, while the next chunks are synced.
    public func pass() async {
        let batch = work.take()
        let (actions, submit) = AsyncStream<Action>.makeStream()
        async let executed = execute(actions)
        do {
            try await sync(batch, submit: submit)
            submit.finish()
            let ran = await executed
            // an intent handed over but not taken (its volume's work had already run in this pass)
            // is read afresh next time
            handoff.withLock { $0.removeAll() }
            // with this pass's disk work finished, and the next pass's not begun, loop volumes that
            // lost their mount behind berth's back are brought back
            if batch.all { await remountLostLoopVolumes() }
            if ran || batch.all { try await refreshNodes() }
        } catch {
            submit.finish()
            _ = await executed
            handoff.withLock { $0.removeAll() }
            logger.error("volume controller pass failed; retrying at the next change or resync", metadata: ["error": "\(error)"])
            try? await Task.sleep(for: .milliseconds(200))
            work.markAll()
        }
    }

    /// Syncs the marked volumes, then the marked claims, a chunk per transaction, and hands each
    /// chunk's disk work to `submit` once the chunk has committed.
    func sync(_ batch: WorkQueue.Batch, submit: AsyncStream<Action>.Continuation) async throws {
        var volumeNames = Set(batch.volumes.keys)
        var claimKeys = Set(batch.claims.keys)
        if batch.all {
            volumeNames = Set(try await catalog.read { try $0.volumeNames() })
            claimKeys = Set(try await catalog.read { tx in try tx.keys(kind: PersistentVolumeClaim.info.kind).map { Key($0.namespace, $0.name) } })
        } else if batch.allClaims {
            claimKeys.formUnion(try await catalog.read { try $0.unboundClaimKeys().map { Key($0.0, $0.1) } })
        }
        var someBecameAvailable = false
        let volumeChunks = Array(volumeNames.sorted()).chunked(chunk)
        var prefetching: Task<Void, Never>?
        for (i, names) in volumeChunks.enumerated() {
            prefetching = await prefetch(after: prefetching, i + 1 < volumeChunks.count ? volumeChunks[i + 1].map { Key("", $0) } : [],
                                         kind: PersistentVolume.self)
            let retryFailed = batch.all
            let (result, seen) = try await chunkWrite(names, describe: { "volume \($0)" }) { tx, name in
                try self.syncVolume(tx, name: name, retryFailed: retryFailed)
            }
            work.done(volumes: zip(names, result).filter { !$0.1.failed }.map(\.0), seenUpTo: seen)
            for r in result {
                for a in r.actions { submit.yield(a) }
                claimKeys.formUnion(r.claims)
                someBecameAvailable = someBecameAvailable || r.becameAvailable
            }
        }
        if someBecameAvailable {
            // a volume that became Available may be what a pending claim waits for
            claimKeys.formUnion(try await catalog.read { try $0.unboundClaimKeys().map { Key($0.0, $0.1) } })
        }
        let claimChunks = Array(claimKeys.sorted()).chunked(chunk)
        for (i, keys) in claimChunks.enumerated() {
            prefetching = await prefetchClaims(after: prefetching, i + 1 < claimChunks.count ? claimChunks[i + 1] : [],
                                               following: keys)
            let (result, seen) = try await chunkWrite(keys, describe: { "claim \($0.namespace)/\($0.name)" }) { tx, key in
                try self.syncClaim(tx, key: key)
            }
            // a mark from a change this chunk's transaction already saw is served
            work.done(claims: zip(keys, result).filter { !$0.1.failed }.map(\.0), seenUpTo: seen)
            for r in result {
                if let (pv, claim) = r.provisioned { handoff.withLock { $0[pv.name] = (pv, claim) } }
                for a in r.actions { submit.yield(a) }
                if r.requeue { work.mark(claims: r.claims) }
            }
        }
    }
}

extension VolumeController {
    /// Reads the next chunk's objects on a reader connection while the writer syncs this one, so that
    /// the writer finds them decoded in the shared cache (which holds an object only at the revision
    /// it was read at, so a stale read is never used). First waits for the previous prefetch, so that
    /// at most one runs. Only a speed-up: a failed read leaves the decoding to the writer.
    func prefetch<T: KubeObject>(after previous: Task<Void, Never>?, _ keys: [Key], kind: T.Type) async -> Task<Void, Never>? {
        await previous?.value
        guard !keys.isEmpty else { return nil }
        return Task {
            _ = try? await catalog.read { tx in
                for key in keys { _ = try tx.get(T.self, namespace: key.namespace, name: key.name) }
            }
        }
    }

    /// `prefetch` for a chunk of claims, and also the volumes those claims will most likely bind:
    /// for each group of claims that search alike (class, access modes, volume mode), the smallest
    /// fitting Available volumes, as many as the group has claims plus those the chunk being
    /// written (`following`) may still take from the same group. Without it the writer decodes each
    /// chosen volume itself: the cache has long dropped a volume made Available thousands of writes
    /// before. Only a speed-up, like `prefetch`: what is found is checked against its revision.
    func prefetchClaims(after previous: Task<Void, Never>?, _ keys: [Key], following current: [Key]) async -> Task<Void, Never>? {
        await previous?.value
        guard !keys.isEmpty else { return nil }
        return Task {
            _ = try? await catalog.read { tx in
                struct Search: Hashable {
                    var storageClass: String
                    var accessModes: AccessModeSet
                    var volumeMode: String
                }
                func searching(_ keys: [Key]) throws -> [(Search, Int64)] {
                    try keys.compactMap { key in
                        guard let c = try tx.get(PersistentVolumeClaim.self, namespace: key.namespace, name: key.name),
                              !c.isBindCompleted, c.volumeName.isEmpty, c.spec.selector == nil, !c.metadata.isDeleting
                        else { return nil }
                        return (Search(storageClass: c.storageClass, accessModes: c.accessModeSet, volumeMode: c.volumeMode), c.requestBytes)
                    }
                }
                let ahead = Dictionary(grouping: try searching(current), by: \.0).mapValues(\.count)
                for (search, claims) in Dictionary(grouping: try searching(keys), by: \.0) {
                    _ = try tx.volumeCandidates(storageClass: search.storageClass, accessModes: search.accessModes,
                                                volumeMode: search.volumeMode, minBytes: claims.map(\.1).min() ?? 0,
                                                limit: claims.count + (ahead[search] ?? 0))
                }
            }
        }
    }

    /// Syncs a chunk of objects in one transaction. When the catalog refuses it (one object breaking a
    /// binding invariant, say), the chunk runs again with each object in a savepoint of its own, so
    /// that the others still go through; the refused one is logged and retried at the next resync.
    /// Also returns the revision the transaction started at: every change up to it was visible to it.
    func chunkWrite<K: Sendable>(_ items: [K], describe: @escaping @Sendable (K) -> String,
                                 _ sync: @escaping @Sendable (any CatalogTransaction, K) throws -> SyncResult) async throws -> ([SyncResult], Int64) {
        do {
            return try await catalog.write(origin: Self.origin) { tx in
                let seen = tx.revision
                return (try items.map { try sync(tx, $0) }, seen)
            }
        } catch let e as BerthError where e.code != .unavailable {
            logger.debug("a chunk failed; syncing its objects one by one", metadata: ["error": "\(e)"])
            return try await catalog.write(origin: Self.origin) { tx in
                let seen = tx.revision
                return (items.map { item in
                    do {
                        return try tx.withSavepoint { try sync(tx, item) }
                    } catch {
                        self.logger.warning("sync failed; retrying at the next resync",
                                            metadata: ["object": "\(describe(item))", "error": "\(error)"])
                        return SyncResult(failed: true)
                    }
                }, seen)
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
    var actions: [Action] = []
    var claims: [Key] = []
    var requeue = false
    var becameAvailable = false
    /// A provisioning intent this sync wrote, and its claim, as written.
    var provisioned: (PersistentVolume, PersistentVolumeClaim)?
    /// The sync was refused (see `chunkWrite`): a mark that came meanwhile still brings another pass.
    var failed = false
}

/// The set of objects waiting for a pass, and a signal that wakes the pass loop.
final class WorkQueue: Sendable {
    /// For each claim, the revision its last sync's transaction began at: every change up to it
    /// was visible to that sync (cleared at every full resync).
    private let synced = Mutex<[Key: Int64]>([:])

    /// Whether a change of a claim at `revision` was already visible to the claim's last sync.
    func isSynced(claim: Key, revision: Int64) -> Bool {
        synced.withLock { ($0[claim] ?? 0) >= revision }
    }

    /// What waits for a pass: each object with the revision of the newest change that marked it
    /// (`Int64.max`: sync again whatever a pass saw).
    struct Batch: Sendable {
        var all = false
        var allClaims = false
        var claims: [Key: Int64] = [:]
        var volumes: [String: Int64] = [:]
        var isEmpty: Bool { !all && !allClaims && claims.isEmpty && volumes.isEmpty }
    }
    private let state = Mutex(Batch())
    /// The revision of the newest change the controller has noted.
    private let notedUpTo = Atomic<Int64>(0)
    var notedRevision: Int64 { notedUpTo.load(ordering: .acquiring) }
    func noted(_ revision: Int64) { notedUpTo.store(revision, ordering: .releasing) }
    let signals: AsyncStream<Void>
    private let continuation: AsyncStream<Void>.Continuation

    init() {
        (signals, continuation) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
    }

    private func update(_ body: (inout Batch) -> Void) {
        state.withLock { body(&$0) }
        continuation.yield()
    }

    func mark(claim: Key, revision: Int64) { update { $0.claims[claim] = max($0.claims[claim] ?? 0, revision) } }
    func mark(claims: [Key]) { update { for k in claims { $0.claims[k] = .max } } }
    func mark(volume: String, revision: Int64) { update { $0.volumes[volume] = max($0.volumes[volume] ?? 0, revision) } }
    func markAll() {
        synced.withLock { $0.removeAll() }
        update { $0.all = true }
    }
    /// A full pass, because a watch began at `revision`: what came before it is not noted one by one.
    func markAll(notedUpTo revision: Int64) {
        noted(revision)
        markAll()
    }

    /// Drops the marks a pass has served: those from changes at or below `revision`, which the
    /// transaction that synced the objects could already see; for claims, also remembers that, so
    /// that such a change noted later is not marked again.
    func done(claims: [Key], seenUpTo revision: Int64) {
        synced.withLock { s in
            for k in claims { s[k] = max(s[k] ?? 0, revision) }
        }
        state.withLock { s in
            for k in claims where (s.claims[k] ?? .max) <= revision { s.claims[k] = nil }
        }
    }
    func done(volumes: [String], seenUpTo revision: Int64) {
        state.withLock { s in
            for v in volumes where (s.volumes[v] ?? .max) <= revision { s.volumes[v] = nil }
        }
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
