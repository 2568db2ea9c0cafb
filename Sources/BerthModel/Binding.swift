/// Kubernetes' PV/PVC matching rules as pure functions (`pv_helpers.go`, `pv_controller.go`).
public enum Binding {
    /// `IsVolumeBoundToClaim`: the PV's claimRef names this claim, with an empty or equal UID.
    public static func isVolumeBound(_ pv: PersistentVolume, to claim: PersistentVolumeClaim) -> Bool {
        guard let ref = pv.spec.claimRef else { return false }
        return ref.name == claim.name && ref.namespace == claim.namespace
            && ((ref.uid ?? "").isEmpty || ref.uid == claim.uid)
    }

    /// Whether `pv` is a candidate for `claim` in the controller's search (§1.5 steps 2–12).
    /// Access modes are enforced by the caller's grouping; capacity is checked here too.
    public static func isCandidate(_ pv: PersistentVolume, for claim: PersistentVolumeClaim) -> Bool {
        // a provisioning intent or a volume being deleted has no usable backing store (yet, or any more)
        if isInTransition(pv) { return false }
        if let _ = pv.spec.claimRef, !isVolumeBound(pv, to: claim) { return false }
        if pv.capacityBytes < claim.requestBytes { return false }
        if pv.volumeMode != claim.volumeMode { return false }
        if pv.metadata.isDeleting { return false }
        if isVolumeBound(pv, to: claim) { return true }
        if pv.phase != "Available" { return false }
        if let selector = claim.spec.selector, !selector.matches(pv.metadata.labels) { return false }
        return pv.storageClass == claim.storageClass
    }

    /// Whether berth is still making, or already deleting, this volume's backing store.
    public static func isInTransition(_ pv: PersistentVolume) -> Bool {
        pv.metadata.annotation(Keys.provisioning) != nil || pv.metadata.annotation(Keys.deleting) != nil
    }

    /// `checkVolumeSatisfyClaim` for a claim that names its volume: nil when it fits, else why not.
    public static func mismatch(of pv: PersistentVolume, for claim: PersistentVolumeClaim) -> String? {
        if isInTransition(pv) { return "the volume is being provisioned or deleted" }
        if pv.metadata.isDeleting { return "the volume is marked for deletion" }
        if pv.capacityBytes < claim.requestBytes { return "requested PV is too small" }
        if pv.storageClass != claim.storageClass { return "storageClassName does not match" }
        if pv.volumeMode != claim.volumeMode { return "incompatible volumeMode" }
        if !pv.accessModeSet.contains(claim.accessModeSet) { return "incompatible accessMode" }
        return nil
    }

    /// Chooses the best PV among candidates already grouped by access-mode set: the first group (fewest
    /// modes) with a match wins; within it the smallest, ties by creation time then name.
    public static func best(among groups: [[PersistentVolume]], for claim: PersistentVolumeClaim) -> PersistentVolume? {
        for group in groups {
            let fit = group.filter { isCandidate($0, for: claim) }
            if let prebound = fit.first(where: { isVolumeBound($0, to: claim) }) { return prebound }
            if let smallest = fit.min(by: order) { return smallest }
        }
        return nil
    }

    public static func order(_ a: PersistentVolume, _ b: PersistentVolume) -> Bool {
        if a.capacityBytes != b.capacityBytes { return a.capacityBytes < b.capacityBytes }
        let ta = a.metadata.creationTimestamp ?? "", tb = b.metadata.creationTimestamp ?? ""
        if ta != tb { return ta < tb }
        return a.name < b.name
    }

    /// Applies the bind to both sides, as `bind()` leaves them (§1.1): claimRef with UID, phases Bound,
    /// volumeName, annotations, status access modes and capacity.
    public static func bind(_ pv: inout PersistentVolume, _ claim: inout PersistentVolumeClaim) {
        if !isVolumeBound(pv, to: claim) || pv.spec.claimRef == nil {
            pv.metadata.setAnnotation(Keys.boundByController, "yes")
        }
        var ref = claim.reference
        ref.resourceVersion = nil
        pv.spec.claimRef = ref
        // a volume the agent could not bring back stays Failed until it can (the bind itself holds)
        if !pv.isUnavailable { pv.setPhase("Bound") }
        if claim.volumeName.isEmpty {
            claim.metadata.setAnnotation(Keys.boundByController, "yes")
        }
        claim.spec.volumeName = pv.name
        claim.metadata.setAnnotation(Keys.bindCompleted, "yes")
        var status = claim.status ?? .init()
        if status.phase != "Bound" {
            status.capacity = pv.spec.capacity
        }
        status.phase = "Bound"
        status.accessModes = pv.spec.accessModes
        claim.status = status
    }
}
