import BerthCatalog
import BerthModel
import BerthStorage

extension VolumeController {
    /// `syncVolume`: one PV, inside a write transaction.
    /// `retryFailed`: whether a Failed volume's reclaim is tried again (only at a full resync, so that a
    /// deletion that keeps failing does not spin).
    func syncVolume(_ tx: any CatalogTransaction, name: String, retryFailed: Bool = true) throws -> SyncResult {
        guard var pv = try tx.get(PersistentVolume.self, name: name) else { return SyncResult() }
        let ref = pv.reference
        if pv.metadata.annotation(Keys.provisioning) != nil { return SyncResult(actions: [.provision(name)]) }
        if pv.metadata.annotation(Keys.deleting) != nil { return SyncResult(actions: [.delete(name)]) }

        // Is the claim this PV points at still there, with the same UID?
        var claim: PersistentVolumeClaim?
        if let cref = pv.spec.claimRef, let uid = cref.uid, !uid.isEmpty {
            claim = try tx.get(PersistentVolumeClaim.self, namespace: cref.namespace ?? "", name: cref.name ?? "")
            if claim?.uid != uid { claim = nil }
        }

        if pv.metadata.isDeleting {
            // the PV object is being deleted: wait while a claim uses it, then reclaim the backing store
            if let claim, claim.volumeName == pv.name { return SyncResult() }
            if pv.phase == "Failed", !retryFailed { return SyncResult() }
            if pv.metadata.hasFinalizer(Keys.reclaimFinalizer), pv.reclaimPolicy == "Delete" {
                return try startDelete(tx, &pv)
            }
            // not Bound any more: pv-protection lets go (the catalog removes the object with its last finalizer)
            pv.metadata.removeFinalizer(Keys.reclaimFinalizer)
            pv.metadata.removeFinalizer(Keys.pvProtection)
            try tx.update(pv)
            return SyncResult()
        }

        guard let cref = pv.spec.claimRef else {
            // a claim still bound to it (someone replaced the PV without its claimRef): repair the bind,
            // as syncBoundClaim does, rather than offering the volume to another claim
            for (ns, claimName) in try tx.claimKeys(boundToVolume: pv.name) {
                if let claim = try tx.get(PersistentVolumeClaim.self, namespace: ns, name: claimName), claim.isBindCompleted {
                    try bind(tx, volume: pv, claim: claim)
                    return SyncResult()
                }
            }
            return try makeAvailable(tx, &pv)
        }
        if (cref.uid ?? "").isEmpty {
            return try makeAvailable(tx, &pv)
        }
        guard let claim else {
            // released: the claim it was bound to is gone
            let releasing = pv.phase != "Released" && pv.phase != "Failed"
            // a growth that its claim no longer waits for reserves nothing
            let staleReservation = pv.metadata.annotation(Keys.resizeReserved) != nil
            if releasing || staleReservation {
                if releasing { pv.setPhase("Released") }
                pv.metadata.setAnnotation(Keys.resizeReserved, nil)
                pv = try tx.update(pv)
            }
            if pv.phase == "Failed", !retryFailed { return SyncResult() }
            return try reclaim(tx, &pv)
        }
        if claim.volumeName.isEmpty {
            return SyncResult(claims: [Key(claim.namespace, claim.name)])
        }
        if claim.volumeName == pv.name {
            // a volume the agent could not bring back at start stays Failed until a start can
            if pv.phase != "Bound", pv.status?.reason != PersistentVolume.unavailableReason {
                pv.setPhase("Bound")
                try tx.update(pv)
            }
            return SyncResult()
        }
        // the claim is bound to another volume
        if pv.metadata.annotation(Keys.provisionedBy) != nil, pv.reclaimPolicy == "Delete" {
            pv.setPhase("Released")
            pv = try tx.update(pv)
            return try reclaim(tx, &pv)
        }
        if pv.metadata.annotation(Keys.boundByController) != nil {
            pv.spec.claimRef = nil
            pv.metadata.setAnnotation(Keys.boundByController, nil)
        } else {
            pv.spec.claimRef?.uid = nil
        }
        _ = ref
        return try makeAvailable(tx, &pv)
    }

    func makeAvailable(_ tx: any CatalogTransaction, _ pv: inout PersistentVolume) throws -> SyncResult {
        let changed = pv.phase != "Available"
        if changed { pv.setPhase("Available") }
        try tx.update(pv)
        return SyncResult(becameAvailable: changed)
    }

    /// `reclaimVolume` for a Released PV.
    func reclaim(_ tx: any CatalogTransaction, _ pv: inout PersistentVolume) throws -> SyncResult {
        switch pv.reclaimPolicy {
        case "Retain":
            return SyncResult()
        case "Delete":
            return try startDelete(tx, &pv)
        default:
            if pv.phase != "Failed" {
                pv.setPhase("Failed", message: "reclaim policy \(pv.reclaimPolicy) is not supported by berth; set it to Delete or Retain", reason: "VolumeUnknownReclaimPolicy")
                try tx.update(pv)
                try event(tx, pv.reference, "Warning", "VolumeUnknownReclaimPolicy", "Volume has unrecognized PersistentVolumeReclaimPolicy \(pv.reclaimPolicy); berth supports Delete and Retain")
            }
            return SyncResult()
        }
    }

    /// Records the intent to delete the backing store; the deletion itself runs after commit.
    func startDelete(_ tx: any CatalogTransaction, _ pv: inout PersistentVolume) throws -> SyncResult {
        let inPool = pv.path.map { p in topology.pools.contains { $0.relativePath(of: p) != nil } } ?? false
        let provisionedHere = pv.metadata.annotation(Keys.provisionedBy).map { provisioners[$0] != nil } ?? false
        guard inPool || provisionedHere else {
            let message = "berth deletes volume content only inside its storage pools, and \(pv.path ?? "this volume") is not in one; delete the data by hand and then the PV, or set persistentVolumeReclaimPolicy to Retain"
            if pv.phase != "Failed" || pv.status?.message != message {
                pv.setPhase("Failed", message: message, reason: "VolumeFailedDelete")
                try tx.update(pv)
                try event(tx, pv.reference, "Warning", "VolumeFailedDelete", message)
            }
            return SyncResult()
        }
        pv.metadata.setAnnotation(Keys.deleting, "true")
        try tx.update(pv)
        return SyncResult(actions: [.delete(pv.name)])
    }
}
