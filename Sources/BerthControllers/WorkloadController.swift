import BerthCatalog
import BerthLinux
import BerthModel
import BerthStorage
import Foundation
import Logging
import ServiceLifecycle
import Synchronization

/// StatefulSets and their simulated pods: one claim per template and ordinal, one pod per ordinal,
/// a scheduler that places each pod where its volumes can follow, a "kubelet" that makes each pod's
/// volumes appear under `<state-dir>/pods/<namespace>/<pod>/volumes/<volume>`, the retention policy
/// through ownerReferences and a garbage collector, and pvc-protection.
///
/// Level-triggered like the volume controller: every pass looks at everything and writes only what
/// differs, so a pass after a crash finishes whatever the last one started, and a steady state writes
/// nothing.
public final class WorkloadController: Service, Sendable {
    let catalog: any Catalog
    let topology: Topology
    let stateDir: String
    let logger: Logger
    let resyncInterval: Duration
    private let dirty: AsyncStream<Void>
    private let signal: AsyncStream<Void>.Continuation
    /// Whether the next pass must look at every claim (garbage collection, pvc-protection): set by
    /// changes to StatefulSets, pods and claims being deleted, and at every resync. Other claim and
    /// volume changes matter only to pods waiting for them.
    private let claimScan = Mutex(true)

    static let origin = "workload-controller"
    static let podFinalizer = "berth.io/pod-volumes"
    static let pvcProtection = "kubernetes.io/pvc-protection"
    static let podNameLabel = "statefulset.kubernetes.io/pod-name"
    static let podIndexLabel = "apps.kubernetes.io/pod-index"
    /// A node annotation: the node is down (`berth node down`); its pods are evicted and nothing is scheduled there.
    public static let downAnnotation = "berth.io/down"
    /// A pod annotation: the directory under which its volumes appear.
    public static let volumesPathAnnotation = "berth.io/volumes-path"

    public init(catalog: any Catalog, topology: Topology, stateDir: String, resyncInterval: Duration = .seconds(15), logger: Logger) {
        self.catalog = catalog
        self.topology = topology
        self.stateDir = stateDir
        self.resyncInterval = resyncInterval
        self.logger = logger
        (dirty, signal) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
    }

    public func run() async throws {
        do {
            try await cancelWhenGracefulShutdown { try await self.loop() }
        } catch is CancellationError {}
    }

    private func loop() async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                try await followChanges(of: self.catalog, logger: self.logger, controller: "workload controller",
                                        restart: { _ in self.claimScan.withLock { $0 = true }; self.signal.yield() },
                                        change: { if Self.kinds.contains($0.object.kind) { self.note($0) } })
            }
            group.addTask {
                try await repeatEvery(self.resyncInterval) {
                    self.claimScan.withLock { $0 = true }
                    self.signal.yield()
                }
            }
            group.addTask {
                for await _ in self.dirty {
                    try Task.checkCancellation()
                    try await Task.sleep(for: .milliseconds(2))
                    await self.pass()
                }
            }
            try await group.next()
            group.cancelAll()
        }
    }

    /// Asks for a pass soon: something the catalog does not show changed (a volume was mounted again).
    public func poke() {
        signal.yield()
    }

    func note(_ change: Change) {
        switch change.object.kind {
        case StatefulSet.info.kind, Pod.info.kind:
            claimScan.withLock { $0 = true }
        case PersistentVolumeClaim.info.kind:
            if change.type == .deleted
                || (change.mayHave(member: "deletionTimestamp") && ((try? change.decode(PersistentVolumeClaim.self))?.metadata.isDeleting ?? false)) {
                claimScan.withLock { $0 = true }
            }
        default:
            break
        }
        signal.yield()
    }

    static let kinds: Set<String> = [StatefulSet.info.kind, Pod.info.kind, PersistentVolumeClaim.info.kind,
                                     PersistentVolume.info.kind, Node.info.kind]

    /// Filesystem work decided in a transaction and done after it commits.
    struct Plan: Sendable {
        /// Pods whose volumes should appear.
        var materialise: [Key: [VolumeSource]] = [:]
        /// Pods being deleted whose directories must go before their finalizer does.
        var tearDown: [Key] = []
        /// Whether a rolling update deleted a pod (a crash point for the tests).
        var replacedForUpdate = false
    }

    /// One reconcile pass.
    public func pass() async {
        do {
            let scan = claimScan.withLock { s in defer { s = false }; return s }
            // with no StatefulSet and no pod only a claim scan can have work: found out on a reader,
            // so that the catalog's one writer is not taken for every claim change
            if !scan, try await catalog.read({ tx in try tx.keys(kind: StatefulSet.info.kind).isEmpty && tx.keys(kind: Pod.info.kind).isEmpty }) {
                return
            }
            let plan: Plan
            do {
                plan = try await catalog.write(origin: Self.origin) { tx in try self.reconcile(tx, claimScan: scan) }
            } catch {
                if scan { claimScan.withLock { $0 = true } }
                throw error
            }
            if plan.replacedForUpdate { Failpoint.hit("after-rolling-update-delete") }
            guard !plan.materialise.isEmpty || !plan.tearDown.isEmpty else { return }
            var ready: [Key] = []
            var failed: [Key: String] = [:]
            for (key, volumes) in plan.materialise {
                do {
                    try await Blocking.run { try self.materialise(key, volumes) }
                    ready.append(key)
                } catch {
                    failed[key] = "\(error)"
                }
            }
            var removed: [Key] = []
            let mounted = plan.tearDown.isEmpty ? [] : Set(Mount.table().map(\.target))
            for key in plan.tearDown {
                do {
                    try await Blocking.run { try self.tearDown(key, mounted: mounted) }
                    removed.append(key)
                } catch {
                    logger.warning("cannot remove a pod's volume directory; retried at the next pass", metadata: ["pod": "\(key.namespace)/\(key.name)", "error": "\(error)"])
                }
            }
            let (readyKeys, failedKeys, removedKeys) = (ready, failed, removed)
            try await catalog.write(origin: Self.origin) { tx in
                for key in readyKeys {
                    guard var pod = try tx.get(Pod.self, namespace: key.namespace, name: key.name), !pod.metadata.isDeleting else { continue }
                    pod.metadata.addFinalizer(Self.podFinalizer)
                    pod.metadata.setAnnotation(Self.volumesPathAnnotation, "\(self.podDirectory(key))/volumes")
                    var status = pod.status ?? .init()
                    let wasRunning = status.phase == "Running"
                    status.phase = "Running"
                    status.reason = nil
                    status.message = nil
                    if status.startTime == nil { status.startTime = Timestamp.now() }
                    status.hostIP = "127.0.0.1"
                    pod.status = status
                    pod.setCondition("PodScheduled", true)
                    pod.setCondition("Initialized", true)
                    pod.setCondition("ContainersReady", true)
                    pod.setCondition("Ready", true)
                    try tx.update(pod)
                    if !wasRunning {
                        try tx.recordEvent(about: pod.reference, type: "Normal", reason: "Started",
                                           message: "volumes ready under \(self.podDirectory(key))/volumes", host: self.topology.hostName)
                    }
                }
                for (key, message) in failedKeys {
                    guard var pod = try tx.get(Pod.self, namespace: key.namespace, name: key.name), pod.status?.message != message else { continue }
                    pod.status = pod.status ?? .init()
                    pod.status?.message = message
                    pod.status?.reason = "VolumeSetupFailed"
                    try tx.update(pod)
                    try tx.recordEvent(about: pod.reference, type: "Warning", reason: "FailedMount", message: message, host: self.topology.hostName)
                }
                for key in removedKeys {
                    guard var pod = try tx.get(Pod.self, namespace: key.namespace, name: key.name), pod.metadata.isDeleting else { continue }
                    pod.metadata.removeFinalizer(Self.podFinalizer)
                    try tx.update(pod)
                }
            }
        } catch {
            logger.error("workload controller pass failed; retrying", metadata: ["error": "\(error)"])
            try? await Task.sleep(for: .milliseconds(200))
            signal.yield()
        }
    }

    // MARK: the decisions, inside one transaction

    func reconcile(_ tx: any CatalogTransaction, claimScan: Bool = true) throws -> Plan {
        var plan = Plan()
        let sets = try tx.list(StatefulSet.self)
        var pods = try tx.list(Pod.self)
        // with no StatefulSet and no pod, only a claim scan can have work (a deleted claim's finalizer)
        if sets.isEmpty, pods.isEmpty, !claimScan { return plan }
        try collectGarbage(tx, sets: sets, pods: &pods, claims: claimScan)
        let revisions = sets.isEmpty ? [] : try tx.list(ControllerRevision.self, namespace: nil)
        for set in sets where !set.metadata.isDeleting {
            if try reconcile(tx, set: set, pods: &pods, revisions: revisions) { plan.replacedForUpdate = true }
        }
        let nodes = try tx.list(Node.self)
        // bytes promised this pass to volumes not provisioned yet, per node, so that pods placed in one
        // pass spread instead of all seeing the same free space
        var reserved: [String: Int64] = [:]
        // read only when a pod may need it: this runs inside the catalog's one write transaction
        let mounts = pods.contains { !$0.metadata.isDeleting } ? Set(Mount.table().map(\.target)) : []
        for pod in pods {
            let key = Key(pod.namespace, pod.name)
            if pod.metadata.isDeleting {
                if pod.metadata.hasFinalizer(Self.podFinalizer) { plan.tearDown.append(key) }
                continue
            }
            if let down = nodes.first(where: { $0.name == pod.nodeName && $0.metadata.annotation(Self.downAnnotation) != nil }) {
                // node loss: the pod is evicted; its StatefulSet makes it again, and the scheduler keeps
                // it Pending until the node with its volumes is back
                try tx.recordEvent(about: pod.reference, type: "Warning", reason: "NodeDown",
                                   message: "node \(down.name) is down; the pod is evicted", host: topology.hostName)
                try tx.delete(Pod.self, namespace: pod.namespace, name: pod.name, uid: pod.uid)
                continue
            }
            var current = pod
            if current.nodeName.isEmpty {
                guard let scheduled = try schedule(tx, pod: current, nodes: nodes, reserved: &reserved) else { continue }
                current = scheduled
            }
            if let volumes = try volumesReady(tx, pod: current) {
                if current.phase != "Running" || !volumes.allSatisfy({ isMaterialised(key, $0.name, target: $0.source, mounts: mounts) }) {
                    plan.materialise[key] = volumes
                }
            }
        }
        if claimScan { try releaseProtectedClaims(tx) }
        return plan
    }

    /// Claims and pods for one StatefulSet, in Kubernetes' order: claims before their pod, ascending
    /// ordinals (one at a time unless Parallel), condemned pods from the highest ordinal down.
    /// Returns whether a rolling update deleted a pod.
    @discardableResult
    func reconcile(_ tx: any CatalogTransaction, set: StatefulSet, pods: inout [Pod], revisions existing: [ControllerRevision] = []) throws -> Bool {
        // adoption, as Kubernetes' ControllerRefManager does it: a pod with no controller whose
        // name is one of this set's ordinals and whose labels match its selector (left behind by a
        // delete with propagationPolicy Orphan, say) becomes this set's again
        if !set.metadata.isDeleting, let selector = set.spec.selector {
            for i in pods.indices where pods[i].namespace == set.namespace && !pods[i].metadata.isDeleting
                && !(pods[i].metadata.ownerReferences ?? []).contains(where: { $0.controller == true })
                && set.ordinal(ofPod: pods[i].name) != nil && selector.matches(pods[i].metadata.labels ?? [:]) {
                var pod = pods[i]
                pod.metadata.ownerReferences = (pod.metadata.ownerReferences ?? []) + [ownerRef(set, block: true)]
                pods[i] = try tx.update(pod)
            }
        }
        let revisions = try self.revisions(tx, set: set, existing: existing)
        let mine = pods.filter { p in p.namespace == set.namespace && p.metadata.ownerReferences?.contains { $0.uid == set.uid } == true }
        var byOrdinal: [Int: Pod] = [:]
        for p in mine { if let o = set.ordinal(ofPod: p.name) { byOrdinal[o] = p } }
        let range = set.ordinalRange

        // condemned pods first get their claims' ownerRefs right (whenScaled: Delete hands each claim to its pod)
        let condemned = byOrdinal.keys.filter { !range.contains($0) }.sorted(by: >)
        for ordinal in condemned {
            guard let pod = byOrdinal[ordinal] else { continue }
            try fixClaimOwners(tx, set: set, ordinal: ordinal, condemnedPod: pod)
        }
        var blocked = false
        for ordinal in range {
            try fixClaimOwners(tx, set: set, ordinal: ordinal, condemnedPod: nil)
            if let pod = byOrdinal[ordinal] {
                if !set.isParallel, !(pod.phase == "Running" && pod.isReady) || pod.metadata.isDeleting { blocked = true }
                continue
            }
            if blocked { break }
            // claims first; a claim being deleted holds its pod back until it is gone
            var claimsReady = true
            for template in set.spec.volumeClaimTemplates ?? [] {
                let claimName = set.claimName(template.name, ordinal)
                if let existing = try tx.get(PersistentVolumeClaim.self, namespace: set.namespace, name: claimName) {
                    if existing.metadata.isDeleting { claimsReady = false }
                    continue
                }
                var claim = makeClaim(set, template: template, ordinal: ordinal)
                // DefaultStorageClass admission, as for a claim created through the API
                if !claim.hasClass, let def = defaultStorageClass(try tx.list(StorageClass.self)) { claim.spec.storageClassName = def.name }
                try tx.create(claim)
            }
            guard claimsReady else {
                try tx.recordEvent(about: set.reference, type: "Warning", reason: "FailedCreate",
                                   message: "create Pod \(set.podName(ordinal)) in StatefulSet \(set.name) failed: a claim of it is being deleted; waiting until it is gone",
                                   host: topology.hostName)
                if !set.isParallel { blocked = true }
                continue
            }
            let pod = try tx.create(makePod(set, ordinal: ordinal, revision: Self.revisionForNewPod(set, ordinal: ordinal, revisions),
                                            update: revisions.update))
            pods.append(pod)
            byOrdinal[ordinal] = pod
            try tx.recordEvent(about: set.reference, type: "Normal", reason: "SuccessfulCreate",
                               message: "create Pod \(pod.name) in StatefulSet \(set.name) successful", host: topology.hostName)
            if !set.isParallel { blocked = true }
        }
        // scale down: highest ordinal first; OrderedReady one at a time
        for ordinal in condemned {
            guard let pod = byOrdinal[ordinal] else { continue }
            if pod.metadata.isDeleting {
                if !set.isParallel { break }
                continue
            }
            try tx.delete(Pod.self, namespace: pod.namespace, name: pod.name, uid: pod.uid)
            try tx.recordEvent(about: set.reference, type: "Normal", reason: "SuccessfulDelete",
                               message: "delete Pod \(pod.name) in StatefulSet \(set.name) successful", host: topology.hostName)
            if !set.isParallel { break }
        }
        // the rolling update runs once the scaling is done; OrderedReady also waits for every pod
        // in range to be Running and Ready (Kubernetes' monotonic mode)
        var replaced = false
        if set.updateStrategyType == "RollingUpdate", set.isParallel || (!blocked && condemned.isEmpty) {
            replaced = try rollingUpdate(tx, set: set, pods: byOrdinal, revisions)
        }
        try truncateHistory(tx, set: set, pods: pods.filter { $0.namespace == set.namespace }, revisions)
        try updateStatus(tx, set: set, pods: pods, revisions: revisions)
        return replaced
    }

    func updateStatus(_ tx: any CatalogTransaction, set: StatefulSet, pods: [Pod], revisions: Revisions) throws {
        guard var current = try tx.get(StatefulSet.self, namespace: set.namespace, name: set.name) else { return }
        // Kubernetes' computeReplicaStatus: replicas counts every pod of the set, terminating ones
        // too (so a rollout is not complete while one is going); current and updated count only the
        // pods that are not terminating
        let uids = Set(pods.filter { p in p.namespace == set.namespace && p.metadata.ownerReferences?.contains { $0.uid == set.uid } == true }.map(\.uid))
        let owned = (try tx.list(Pod.self, namespace: set.namespace)).filter { uids.contains($0.uid) }
        let live = owned.filter { !$0.metadata.isDeleting }
        var status = current.status ?? .init()
        status.replicas = owned.count
        status.readyReplicas = owned.filter(\.isReady).count
        status.availableReplicas = owned.filter(\.isReady).count
        status.currentRevision = revisions.current.name
        status.updateRevision = revisions.update.name
        status.currentReplicas = live.filter { $0.metadata.labels?[Self.revisionLabel] == revisions.current.name }.count
        status.updatedReplicas = live.filter { $0.metadata.labels?[Self.revisionLabel] == revisions.update.name }.count
        status.collisionCount = revisions.collisionCount > 0 ? revisions.collisionCount : nil
        // Kubernetes' completeRollingUpdate: once every pod runs the update revision and is ready,
        // it becomes the current one (only for RollingUpdate, as in Kubernetes)
        if set.updateStrategyType == "RollingUpdate", status.updatedReplicas == status.replicas, status.readyReplicas == status.replicas {
            status.currentRevision = status.updateRevision
            status.currentReplicas = status.updatedReplicas
        }
        status.observedGeneration = current.metadata.generation
        if status != current.status {
            current.status = status
            try tx.update(current)
        }
    }

    /// The claim for one template and ordinal: the template's metadata and spec, labels overlaid
    /// with the selector's matchLabels (Kubernetes' `getPersistentVolumeClaims`).
    func makeClaim(_ set: StatefulSet, template: PersistentVolumeClaim, ordinal: Int) -> PersistentVolumeClaim {
        var claim = PersistentVolumeClaim(namespace: set.namespace, name: set.claimName(template.name, ordinal), spec: template.spec)
        var labels = template.metadata.labels ?? [:]
        for (k, v) in set.spec.selector?.matchLabels ?? [:] { labels[k] = v }
        claim.metadata.labels = labels.isEmpty ? nil : labels
        claim.metadata.annotations = template.metadata.annotations
        claim.metadata.addFinalizer(Self.pvcProtection)
        if set.whenDeleted == "Delete" { claim.metadata.ownerReferences = [ownerRef(set, block: false)] }
        claim.applyDefaults()
        claim.status = .init(phase: "Pending")
        return claim
    }

    /// A pod for `ordinal` from `revision`'s template (the set's own when it is the update revision).
    func makePod(_ set: StatefulSet, ordinal: Int, revision: ControllerRevision, update: ControllerRevision) -> Pod {
        var versioned = set
        if revision.name != update.name, let template = revision.template { versioned.spec.template = template }
        var pod = makePod(versioned, ordinal: ordinal)
        pod.metadata.labels?[Self.revisionLabel] = revision.name
        return pod
    }

    func makePod(_ set: StatefulSet, ordinal: Int) -> Pod {
        var spec = set.spec.template.spec ?? PodSpec()
        var volumes = spec.volumes
        for template in set.spec.volumeClaimTemplates ?? [] {
            volumes.removeAll { $0.name == template.name }
            volumes.append(PodVolume(name: template.name, claimName: set.claimName(template.name, ordinal)))
        }
        spec.volumes = volumes
        spec.hostname = set.podName(ordinal)
        if let service = set.spec.serviceName, !service.isEmpty { spec.subdomain = service }
        spec.nodeName = nil
        var pod = Pod(namespace: set.namespace, name: set.podName(ordinal), spec: spec)
        var labels = set.spec.template.metadata?.labels ?? [:]
        labels[Self.podNameLabel] = pod.name
        labels[Self.podIndexLabel] = String(ordinal)
        pod.metadata.labels = labels
        pod.metadata.annotations = set.spec.template.metadata?.annotations
        pod.metadata.ownerReferences = [ownerRef(set, block: true)]
        pod.applyDefaults()
        pod.status = .init(phase: "Pending")
        return pod
    }

    func ownerRef(_ set: StatefulSet, block: Bool) -> OwnerReference {
        OwnerReference(apiVersion: StatefulSet.info.apiVersion, kind: StatefulSet.info.kind, name: set.name, uid: set.uid,
                       controller: true, blockOwnerDeletion: block)
    }

    /// The retention policy as ownerReferences (KEP-1847): whenDeleted Delete → owned by the set;
    /// whenScaled Delete on a condemned ordinal → owned by its pod (and not by the set).
    func fixClaimOwners(_ tx: any CatalogTransaction, set: StatefulSet, ordinal: Int, condemnedPod: Pod?) throws {
        for template in set.spec.volumeClaimTemplates ?? [] {
            guard var claim = try tx.get(PersistentVolumeClaim.self, namespace: set.namespace, name: set.claimName(template.name, ordinal)),
                  !claim.metadata.isDeleting else { continue }
            var refs = (claim.metadata.ownerReferences ?? []).filter { $0.uid != set.uid && !($0.kind == Pod.info.kind && $0.name == set.podName(ordinal)) }
            if refs.contains(where: { $0.controller == true }) { continue }  // another controller owns it
            if let pod = condemnedPod, set.whenScaled == "Delete" {
                refs.append(OwnerReference(apiVersion: "v1", kind: Pod.info.kind, name: pod.name, uid: pod.uid, controller: true, blockOwnerDeletion: false))
            } else if set.whenDeleted == "Delete" {
                refs.append(ownerRef(set, block: false))
            }
            let wanted = refs.isEmpty ? nil : refs
            if wanted != claim.metadata.ownerReferences {
                claim.metadata.ownerReferences = wanted
                try tx.update(claim)
            }
        }
    }

    /// Background garbage collection: pods and claims whose every owner (by UID) is gone are deleted.
    func collectGarbage(_ tx: any CatalogTransaction, sets: [StatefulSet], pods: inout [Pod], claims: Bool) throws {
        var live = Set(sets.filter { !$0.metadata.isDeleting }.map(\.uid))
        for p in pods where !p.metadata.isDeleting { live.insert(p.uid) }
        func orphaned(_ refs: [OwnerReference]?) -> Bool {
            guard let refs, !refs.isEmpty else { return false }
            return refs.allSatisfy { ref in
                (ref.kind == StatefulSet.info.kind || ref.kind == Pod.info.kind) && !live.contains(ref.uid)
            }
        }
        for pod in pods where !pod.metadata.isDeleting && orphaned(pod.metadata.ownerReferences) {
            if let deleted = try tx.delete(Pod.self, namespace: pod.namespace, name: pod.name, uid: pod.uid) {
                if let i = pods.firstIndex(where: { $0.uid == pod.uid }) { pods[i] = deleted }
            }
        }
        guard claims else { return }
        for revision in try tx.list(ControllerRevision.self, namespace: nil) where orphaned(revision.metadata.ownerReferences) {
            try tx.delete(ControllerRevision.self, namespace: revision.namespace, name: revision.name, uid: revision.uid)
        }
        for claim in try tx.list(PersistentVolumeClaim.self) where !claim.metadata.isDeleting && orphaned(claim.metadata.ownerReferences) {
            // a claim owned by a pod goes only once that pod is gone for good
            try tx.delete(PersistentVolumeClaim.self, namespace: claim.namespace, name: claim.name, uid: claim.uid)
        }
    }

    /// pvc-protection: a claim being deleted loses its finalizer once no live pod uses it.
    func releaseProtectedClaims(_ tx: any CatalogTransaction) throws {
        let current = try tx.list(Pod.self)
        for claim in try tx.list(PersistentVolumeClaim.self) where claim.metadata.isDeleting && claim.metadata.hasFinalizer(Self.pvcProtection) {
            let inUse = current.contains { p in p.namespace == claim.namespace && p.claimVolumes.contains { $0.claim == claim.name } }
            guard !inUse else { continue }
            var c = claim
            c.metadata.removeFinalizer(Self.pvcProtection)
            try tx.update(c)
        }
    }

    // MARK: scheduling

    /// Picks a node for a pod whose volumes can be there, or explains in the pod's status why none can.
    func schedule(_ tx: any CatalogTransaction, pod: Pod, nodes: [Node], reserved: inout [String: Int64]) throws -> Pod? {
        var pinned: String?
        var unboundDelayed: [PersistentVolumeClaim] = []
        var why: String?
        for (_, claimName) in pod.claimVolumes {
            guard let claim = try tx.get(PersistentVolumeClaim.self, namespace: pod.namespace, name: claimName) else {
                why = "persistentvolumeclaim \"\(claimName)\" not found"
                break
            }
            if claim.metadata.isDeleting { why = "persistentvolumeclaim \"\(claimName)\" is being deleted"; break }
            if claim.phase == "Lost" { why = "persistentvolumeclaim \"\(claimName)\" bound to non-existent persistentvolume"; break }
            if claim.phase == "Bound", let pv = try tx.get(PersistentVolume.self, name: claim.volumeName) {
                if let node = nodeOf(pv) {
                    if let p = pinned, p != node { why = "its volumes live on different nodes (\(p), \(node))"; break }
                    pinned = node
                }
                continue
            }
            let cls = claim.storageClass.isEmpty ? nil : try tx.get(StorageClass.self, name: claim.storageClass)
            if cls?.isWaitForFirstConsumer == true {
                if let selected = claim.metadata.annotation(Keys.selectedNode) { pinned = pinned ?? selected } else { unboundDelayed.append(claim) }
            } else {
                why = "waiting for persistentvolumeclaim \"\(claimName)\" to be bound"
            }
        }
        var candidates = nodes.filter { n in
            n.spec?.unschedulable != true && n.metadata.annotation(Self.downAnnotation) == nil
                && pod.spec.nodeSelector.allSatisfy { n.metadata.labels?[$0.key] == $0.value }
        }
        if why == nil, let p = pinned {
            if let node = nodes.first(where: { $0.name == p }) {
                if node.metadata.annotation(Self.downAnnotation) != nil {
                    why = "node \(p), where its volumes live, is down; the pod waits for it (berth never gives an ordinal a new, empty volume elsewhere)"
                } else if node.spec?.unschedulable == true {
                    why = "node \(p), where its volumes live, is cordoned"
                } else if !candidates.contains(where: { $0.name == p }) {
                    why = "node \(p), where its volumes live, does not match the pod's nodeSelector"
                }
            } else {
                why = "node \(p), where its volumes live, is not known to this agent"
            }
            candidates = candidates.filter { $0.name == p }
        }
        // for volumes provisioned on the node chosen now: a pool there must have room for each
        var free: [String: Int64] = [:]
        if why == nil {
            candidates = try candidates.filter { node in
                let pools = topology.pools.filter { $0.node == node.name }
                var room = Int64(0)
                for pool in pools { room = max(room, pool.capacity.bytes - (try tx.allocatedBytes(node: pool.node, pool: pool.name))) }
                room -= reserved[node.name] ?? 0
                free[node.name] = room
                return unboundDelayed.allSatisfy { $0.requestBytes <= room }
            }
            if candidates.isEmpty { why = "0/\(nodes.count) nodes are available: no schedulable node has room for the pod's volumes" }
        }
        guard why == nil, let chosen = candidates.max(by: { (free[$0.name] ?? 0, $1.name) < (free[$1.name] ?? 0, $0.name) }) else {
            let message = why ?? "no node fits"
            if pod.status?.message != message {
                var p = pod
                p.status = p.status ?? .init()
                p.status?.phase = "Pending"
                p.status?.reason = "Unschedulable"
                p.status?.message = message
                p.setCondition("PodScheduled", false, reason: "Unschedulable", message: message)
                try tx.update(p)
                try tx.recordEvent(about: pod.reference, type: "Warning", reason: "FailedScheduling", message: message, host: topology.hostName)
            }
            return nil
        }
        reserved[chosen.name, default: 0] += unboundDelayed.reduce(0) { $0 + $1.requestBytes }
        for claim in unboundDelayed {
            var c = claim
            c.metadata.setAnnotation(Keys.selectedNode, chosen.name)
            try tx.update(c)
        }
        var p = pod
        p.spec.nodeName = chosen.name
        p.status = p.status ?? .init()
        p.status?.reason = nil
        p.status?.message = nil
        p.setCondition("PodScheduled", true)
        let updated = try tx.update(p)
        try tx.recordEvent(about: pod.reference, type: "Normal", reason: "Scheduled",
                           message: "Successfully assigned \(pod.namespace)/\(pod.name) to \(chosen.name)", host: topology.hostName)
        return updated
    }

    func nodeOf(_ pv: PersistentVolume) -> String? {
        if let n = pv.metadata.annotation(Keys.node) { return n }
        for term in pv.spec.nodeAffinity?.required?.nodeSelectorTerms ?? [] {
            for r in term.matchExpressions ?? [] where r.key == Keys.hostnameLabel && r.operator == "In" {
                if let v = r.values?.first { return v }
            }
        }
        return nil
    }

    // MARK: the kubelet's part

    /// One volume of a pod: what appears at `<pod dir>/volumes/<name>`, and from where.
    struct VolumeSource: Sendable, Equatable {
        var name: String
        /// The PV's path: a directory, or (Block) the link to its device.
        var source: String
        /// The PV, when its source must be the mount point of its loop device's filesystem: a pod
        /// must never get the empty directory below it (the volume unmounted behind berth's back).
        var loopFilesystem: String?
    }

    /// The volumes of every claim of a scheduled pod, once all are bound and their PVs are usable;
    /// nil while any is not.
    func volumesReady(_ tx: any CatalogTransaction, pod: Pod) throws -> [VolumeSource]? {
        var out: [VolumeSource] = []
        for (volume, claimName) in pod.claimVolumes {
            guard let claim = try tx.get(PersistentVolumeClaim.self, namespace: pod.namespace, name: claimName), claim.phase == "Bound",
                  let pv = try tx.get(PersistentVolume.self, name: claim.volumeName), pv.phase == "Bound", let path = pv.path else { return nil }
            let isLoopFilesystem = pv.metadata.annotation(Keys.provisionedBy) == Keys.loopProvisioner && pv.volumeMode != "Block"
            out.append(VolumeSource(name: volume, source: path, loopFilesystem: isLoopFilesystem ? pv.name : nil))
        }
        return out
    }

    func podDirectory(_ key: Key) -> String { "\(stateDir)/pods/\(key.namespace)/\(key.name)" }
    func linkPath(_ key: Key, _ volume: String) -> String { "\(podDirectory(key))/volumes/\(volume)" }

    /// The block major of loop devices.
    static let loopMajor: UInt32 = 7

    /// A berth.io/loop Filesystem volume must show its own loop device's filesystem at `path` (its
    /// mount point `source`, or a pod's bind mount of it): never the empty directory below the
    /// mount point, nor another filesystem.
    func checkLoopFilesystem(_ pv: String, mountedAt path: String, source: String? = nil) throws {
        let source = source ?? path
        let image = "\((source as NSString).deletingLastPathComponent)/\(LoopProvisioner.imageName(pv))"
        let entry = Mount.entry(at: path)
        if let entry, entry.major == Self.loopMajor, let device = LoopDevice.find(backing: image), entry.minor == UInt32(device.number) {
            return
        }
        let found = entry.map { "\($0.type) on device \($0.major):\($0.minor), not its loop device" } ?? "nothing mounted"
        throw BerthError(.unavailable, "PV \(pv): \(source) has \(found) (unmounted behind berth's back?); berth mounts the volume again at the next full resync (every --resync seconds) and the pod starts then; if it cannot, `berth describe pv \(pv)` says why")
    }

    /// Whether pod volumes are bind mounts (the agent can mount: it runs as root) or symlinks.
    var usesBindMounts: Bool { Mount.isPermitted }

    /// Whether a pod's volume is in place: a bind mount (or, without mount rights, a symlink).
    func isMaterialised(_ key: Key, _ volume: String, target: String, mounts: Set<String>? = nil) -> Bool {
        let path = linkPath(key, volume)
        var st = stat()
        guard lstat(path, &st) == 0 else { return false }
        if st.st_mode & S_IFMT == S_IFLNK { return (try? FileManager.default.destinationOfSymbolicLink(atPath: path)) == target }
        // the mount table holds paths as the kernel resolved them (a state directory reached through
        // a symlink appears under its real path)
        return mounts.map { $0.contains(Mount.resolved(path)) } ?? Mount.isMountPoint(path)
    }

    /// Makes each volume appear at `<pod dir>/volumes/<volume>`: a bind mount of the volume's directory
    /// when the agent can mount, else a symlink to it. A Block volume's path is the link to its device,
    /// so the pod gets a link to that link.
    func materialise(_ key: Key, _ volumes: [VolumeSource]) throws {
        let root = try SafeDirectory.makeRoot(path: stateDir)
        _ = try root.makeChild("pods")
        let pods = try root.openChild("pods")
        _ = try pods.makeChild(key.namespace)
        let ns = try pods.openChild(key.namespace)
        _ = try ns.makeChild(key.name)
        let dir = try ns.openChild(key.name)
        _ = try dir.makeChild("volumes")
        let vols = try dir.openChild("volumes")
        for volume in volumes {
            let (name, source) = (volume.name, volume.source)
            if isMaterialised(key, name, target: source) { continue }
            if let pv = volume.loopFilesystem { try checkLoopFilesystem(pv, mountedAt: source) }
            var isDirectory: ObjCBool = false
            let sourceIsDirectory = FileManager.default.fileExists(atPath: source, isDirectory: &isDirectory) && isDirectory.boolValue
            if usesBindMounts, sourceIsDirectory {
                // a symlink left by an agent that could not mount is replaced; a directory is reused
                if vols.kind(of: name) == .symlink { try vols.removeShallow(name) }
                _ = try vols.makeChild(name, mode: 0o755)
                try Mount.bind(source, at: linkPath(key, name))
                if let pv = volume.loopFilesystem {
                    // unmounted between the check and the bind: the pod would have the directory below
                    do {
                        try checkLoopFilesystem(pv, mountedAt: linkPath(key, name), source: source)
                    } catch {
                        try? Mount.unmount(linkPath(key, name))
                        throw error
                    }
                }
            } else {
                try vols.setSymlink(name, to: source)
            }
        }
    }

    /// Removes a pod's volume entries and its directory: each bind mount comes off first, and nothing
    /// is ever removed recursively, so a mount that did not come off stops the removal instead of
    /// deleting the volume's data through it.
    /// `mounted` is the mount table's targets, read once per pass (a pod's mount made after it is
    /// caught at the next pass: the shallow removal below fails on a mount point).
    func tearDown(_ key: Key, mounted: Set<String>) throws {
        guard let pods = try? SafeDirectory(path: "\(stateDir)/pods"), pods.kind(of: key.namespace) == .directory else { return }
        let ns = try pods.openChild(key.namespace)
        guard ns.kind(of: key.name) == .directory else { return }
        let dir = try ns.openChild(key.name)
        if dir.kind(of: "volumes") == .directory {
            let vols = try dir.openChild("volumes")
            for name in try vols.entries() {
                let path = linkPath(key, name)
                if vols.kind(of: name) == .directory, mounted.contains(Mount.resolved(path)) { try Mount.unmount(path) }
                try vols.removeShallow(name)
            }
            try dir.removeShallow("volumes")
        }
        try ns.removeShallow(key.name)
        try ns.sync()
    }
}
