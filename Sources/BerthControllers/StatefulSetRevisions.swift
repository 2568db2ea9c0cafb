import BerthCatalog
import BerthModel
import Foundation

/// A StatefulSet's revisions (ControllerRevisions) and its rolling update, as Kubernetes'
/// StatefulSet controller keeps them: every distinct pod template is one revision named
/// `<set>-<hash>` (labelled `controller.kubernetes.io/hash`); pods carry the name of the revision
/// they were made from in the `controller-revision-hash` label (a pod without it is outdated); status.currentRevision is what the pods ran before the update, updateRevision what the
/// template says now.
extension WorkloadController {
    static let revisionLabel = "controller-revision-hash"

    struct Revisions {
        var current: ControllerRevision
        var update: ControllerRevision
        /// Every revision of the set, oldest first.
        var all: [ControllerRevision]
        var collisionCount: Int
    }

    /// What a revision stores: the patch that restores the set's template.
    static func revisionData(_ set: StatefulSet) throws -> JSONValue {
        guard case .object(var template) = try JSON.parse(set.spec.template.jsonData()) else { return .null }
        template["$patch"] = .string("replace")
        return .object(["spec": .object(["template": .object(template)])])
    }

    /// The hash function of Kubernetes' HashControllerRevision: 32-bit FNV-1 (Go's fnv.New32) over
    /// the revision's data, then the collision count's decimal digits (always, "0" included), the
    /// sum's decimal digits mapped onto the alphabet of rand.SafeEncodeString. The data is berth's
    /// JSON of the template (keys sorted), so the value differs from a cluster's for the same template.
    static func revisionHash(_ data: JSONValue, collisionCount: Int) -> String {
        var hash: UInt32 = 2_166_136_261
        func add(_ bytes: some Sequence<UInt8>) {
            for b in bytes {
                hash = hash &* 16_777_619
                hash ^= UInt32(b)
            }
        }
        add(data.jsonData())
        add(String(collisionCount).utf8)
        let alphabet = Array("bcdfghjklmnpqrstvwxz2456789".utf8)
        return String(decoding: String(hash).utf8.map { alphabet[Int($0) % alphabet.count] }, as: UTF8.self)
    }

    /// The set's revisions, with the update revision made (or an equal older one reused and moved
    /// to the next number, which is what a rollback is) and the current one found.
    func revisions(_ tx: any CatalogTransaction, set: StatefulSet, existing: [ControllerRevision]) throws -> Revisions {
        var mine: [ControllerRevision] = []
        for var r in existing where r.namespace == set.namespace {
            if r.metadata.ownerReferences?.contains(where: { $0.uid == set.uid }) == true {
                mine.append(r)
            } else if !(r.metadata.ownerReferences ?? []).contains(where: { $0.controller == true }), r.name.hasPrefix(set.name + "-"),
                      let selector = set.spec.selector, selector.matches(r.metadata.labels ?? [:]), !set.metadata.isDeleting {
                // adoption, as for pods: a revision orphaned by a delete with propagationPolicy Orphan
                r.metadata.ownerReferences = (r.metadata.ownerReferences ?? []) + [ownerRef(set, block: true)]
                mine.append(try tx.update(r))
            }
        }
        mine.sort { ($0.revisionNumber, $0.name) < ($1.revisionNumber, $1.name) }
        let data = try Self.revisionData(set)
        let next = (mine.last?.revisionNumber ?? 0) + 1
        var collisionCount = set.status?.collisionCount ?? 0
        var update: ControllerRevision
        if let equal = mine.last(where: { $0.data == data }) {
            update = equal
            if equal.revisionNumber != mine.last?.revisionNumber {
                // a template seen before (a rollback): the old revision comes back as the newest
                update.revisionNumber = next
                update = try tx.update(update)
                mine.removeAll { $0.name == update.name }
                mine.append(update)
            }
        } else {
            while true {
                let hash = Self.revisionHash(data, collisionCount: collisionCount)
                let name = "\(set.name)-\(hash)"
                if let clash = try tx.get(ControllerRevision.self, namespace: set.namespace, name: name) {
                    if clash.data == data, clash.metadata.ownerReferences?.contains(where: { $0.uid == set.uid }) == true {
                        update = clash
                        break
                    }
                    collisionCount += 1 // a different template (or owner) under the same name: hash again
                    continue
                }
                var revision = ControllerRevision(namespace: set.namespace, name: name, data: data, revision: next)
                var labels = set.spec.template.metadata?.labels ?? [:]
                labels["controller.kubernetes.io/hash"] = hash
                revision.metadata.labels = labels
                revision.metadata.annotations = set.metadata.annotations?.filter { $0.key != "kubectl.kubernetes.io/last-applied-configuration" }
                if revision.metadata.annotations?.isEmpty == true { revision.metadata.annotations = nil }
                revision.metadata.ownerReferences = [ownerRef(set, block: true)]
                update = try tx.create(revision)
                mine.append(update)
                break
            }
        }
        let current = mine.first { $0.name == set.status?.currentRevision } ?? update
        return Revisions(current: current, update: update, all: mine, collisionCount: collisionCount)
    }

    /// The revision a pod made now for `ordinal` gets: with RollingUpdate, ordinals below the
    /// partition stay on the current revision; everything else (OnDelete too) gets the update revision.
    static func revisionForNewPod(_ set: StatefulSet, ordinal: Int, _ revisions: Revisions) -> ControllerRevision {
        if set.updateStrategyType == "RollingUpdate", ordinal < set.startOrdinal + set.partition { return revisions.current }
        return revisions.update
    }

    static func isHealthy(_ pod: Pod) -> Bool { pod.phase == "Running" && pod.isReady && !pod.metadata.isDeleting }

    /// One step of a RollingUpdate: from the highest ordinal down to the partition, the first pod not
    /// on the update revision is deleted (the scale pass makes it again on the update revision), and
    /// nothing moves while a pod at or above the current target is not Running and Ready. With
    /// `maxUnavailable` > 1, up to that many pods are down at once.
    /// Returns whether it deleted a pod.
    @discardableResult
    func rollingUpdate(_ tx: any CatalogTransaction, set: StatefulSet, pods byOrdinal: [Int: Pod], _ revisions: Revisions) throws -> Bool {
        let updateMin = set.startOrdinal + set.partition
        let targets = set.ordinalRange.reversed().filter { $0 >= updateMin }
        func replace(_ pod: Pod) throws {
            try tx.delete(Pod.self, namespace: pod.namespace, name: pod.name, uid: pod.uid)
            try tx.recordEvent(about: set.reference, type: "Normal", reason: "SuccessfulDelete",
                               message: "delete Pod \(pod.name) in StatefulSet \(set.name) successful", host: topology.hostName)
        }
        let maxUnavailable = set.maxUnavailable
        if maxUnavailable <= 1 {
            for ordinal in targets {
                guard let pod = byOrdinal[ordinal] else { return false } // being made again: wait for it
                if pod.metadata.labels?[Self.revisionLabel] != revisions.update.name, !pod.metadata.isDeleting {
                    try replace(pod)
                    return true
                }
                if !Self.isHealthy(pod) { return false }
            }
            return false
        }
        let unavailable = set.ordinalRange.filter { byOrdinal[$0].map { !Self.isHealthy($0) } ?? true }.count
        guard unavailable < maxUnavailable else { return false }
        var budget = maxUnavailable - unavailable
        for ordinal in targets where budget > 0 {
            guard let pod = byOrdinal[ordinal] else { continue }
            if pod.metadata.labels?[Self.revisionLabel] != revisions.update.name, !pod.metadata.isDeleting {
                try replace(pod)
                budget -= 1
            }
        }
        return budget < maxUnavailable - unavailable
    }

    /// revisionHistoryLimit: revisions that are neither current, nor the update, nor worn by a pod
    /// are kept up to the limit, newest first; older ones are deleted.
    func truncateHistory(_ tx: any CatalogTransaction, set: StatefulSet, pods: [Pod], _ revisions: Revisions) throws {
        var live: Set<String> = [revisions.current.name, revisions.update.name]
        for pod in pods { if let r = pod.metadata.labels?[Self.revisionLabel] { live.insert(r) } }
        let history = revisions.all.filter { !live.contains($0.name) }
        let limit = max(set.spec.revisionHistoryLimit ?? 10, 0)
        guard history.count > limit else { return }
        for old in history.prefix(history.count - limit) {
            try tx.delete(ControllerRevision.self, namespace: old.namespace, name: old.name, uid: old.uid)
        }
    }
}
