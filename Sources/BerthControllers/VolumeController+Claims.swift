import BerthCatalog
import BerthLinux
import BerthModel
import BerthStorage
import Foundation

extension VolumeController {
    func event(_ tx: any CatalogTransaction, _ ref: ObjectReference, _ type: String, _ reason: String, _ message: String) throws {
        try tx.recordEvent(about: ref, type: type, reason: reason, message: message, host: topology.hostName)
    }

    /// `syncClaim`: one claim, inside a write transaction.
    func syncClaim(_ tx: any CatalogTransaction, key: Key) throws -> SyncResult {
        guard let claim = try tx.get(PersistentVolumeClaim.self, namespace: key.namespace, name: key.name) else { return SyncResult() }
        if claim.isBindCompleted { return try syncBoundClaim(tx, claim) }
        return try syncUnboundClaim(tx, claim)
    }

    func setPending(_ tx: any CatalogTransaction, _ claim: PersistentVolumeClaim) throws {
        guard claim.status?.phase != "Pending" || claim.status?.capacity != nil || claim.status?.accessModes != nil else { return }
        var c = claim
        var s = c.status ?? .init()
        s.phase = "Pending"
        s.capacity = nil
        s.accessModes = nil
        c.status = s
        try tx.update(c)
    }

    func bind(_ tx: any CatalogTransaction, volume: PersistentVolume, claim: PersistentVolumeClaim) throws {
        var pv = volume, c = claim
        Binding.bind(&pv, &c)
        try tx.update(pv)
        try tx.update(c)
    }

    func syncUnboundClaim(_ tx: any CatalogTransaction, _ claim: PersistentVolumeClaim) throws -> SyncResult {
        if claim.metadata.isDeleting { return SyncResult() }
        let ref = claim.reference
        if !claim.volumeName.isEmpty {
            // pre-bound claim: bind to exactly that volume or wait
            guard let pv = try tx.get(PersistentVolume.self, name: claim.volumeName) else {
                try setPending(tx, claim)
                return SyncResult()
            }
            if pv.spec.claimRef == nil {
                if let why = Binding.mismatch(of: pv, for: claim) {
                    try event(tx, ref, "Warning", "VolumeMismatch", "Cannot bind to requested volume \"\(pv.name)\": \(why)")
                    try setPending(tx, claim)
                } else {
                    try bind(tx, volume: pv, claim: claim)
                }
            } else if Binding.isVolumeBound(pv, to: claim) {
                if Binding.isInTransition(pv) {
                    try setPending(tx, claim)
                } else {
                    try bind(tx, volume: pv, claim: claim)
                }
            } else {
                try event(tx, ref, "Warning", "FailedBinding", "volume \"\(pv.name)\" already bound to a different claim.")
                try setPending(tx, claim)
            }
            return SyncResult()
        }

        let storageClass = claim.storageClass.isEmpty ? nil : try tx.get(StorageClass.self, name: claim.storageClass)
        let delayBinding = storageClass?.isWaitForFirstConsumer ?? false
        if let pv = try findBestMatch(tx, claim: claim, delayBinding: delayBinding) {
            try bind(tx, volume: pv, claim: claim)
            return SyncResult()
        }
        if !claim.hasClass, let def = defaultStorageClass(try tx.list(StorageClass.self)) {
            // retroactive default class (KEP-3333); the next sync provisions with it
            var c = claim
            c.spec.storageClassName = def.name
            try tx.update(c)
            return SyncResult(claims: [Key(claim.namespace, claim.name)], requeue: true)
        }
        if delayBinding, claim.metadata.annotation(Keys.selectedNode) == nil {
            try event(tx, ref, "Normal", "WaitForFirstConsumer", "waiting for first consumer to be created before binding")
            try setPending(tx, claim)
            return SyncResult()
        }
        if !claim.storageClass.isEmpty {
            return try provision(tx, claim: claim, storageClass: storageClass)
        }
        try event(tx, ref, "Normal", "FailedBinding", "no persistent volumes available for this claim and no storage class is set")
        try setPending(tx, claim)
        return SyncResult()
    }

    /// `findBestMatchForClaim`: a volume reserved for this claim first, then the smallest fitting
    /// Available volume, searching access-mode groups with the fewest modes first.
    func findBestMatch(_ tx: any CatalogTransaction, claim: PersistentVolumeClaim, delayBinding: Bool) throws -> PersistentVolume? {
        for pv in try tx.volumesReserved(claimNamespace: claim.namespace, claimName: claim.name)
        where Binding.isVolumeBound(pv, to: claim) && Binding.isCandidate(pv, for: claim) && pv.accessModeSet.contains(claim.accessModeSet) {
            return pv
        }
        if delayBinding { return nil }
        let limit = claim.spec.selector == nil ? 1 : 100_000
        for (i, modes) in claim.accessModeSet.supersets.enumerated() {
            // nothing in the claim's own mode set: when the class has nothing Available at all (a
            // class that only provisions), one lookup saves the query of every other group
            if i == 1, try !tx.hasAvailableVolumes(storageClass: claim.storageClass) { return nil }
            let candidates = try tx.volumeCandidates(storageClass: claim.storageClass, accessModes: modes,
                                                     volumeMode: claim.volumeMode, minBytes: claim.requestBytes, limit: limit)
            if let pv = candidates.first(where: { Binding.isCandidate($0, for: claim) }) { return pv }
        }
        return nil
    }

    /// Dynamic provisioning, step one: choose a pool and record the intent (a Pending PV named after
    /// the claim's UID). The directory is made after this commits.
    func provision(_ tx: any CatalogTransaction, claim: PersistentVolumeClaim, storageClass: StorageClass?) throws -> SyncResult {
        let ref = claim.reference
        guard let sc = storageClass else {
            try event(tx, ref, "Warning", "ProvisioningFailed", "storageclass.storage.k8s.io \"\(claim.storageClass)\" not found")
            try setPending(tx, claim)
            return SyncResult()
        }
        guard provisioners[sc.provisioner] != nil else {
            var c = claim
            c.metadata.setAnnotation(Keys.storageProvisioner, sc.provisioner)
            c.metadata.setAnnotation(Keys.betaStorageProvisioner, sc.provisioner)
            if c != claim { try tx.update(c) }
            if sc.provisioner.hasPrefix("kubernetes.io/") {
                try event(tx, ref, "Warning", "ProvisioningFailed", "no volume plugin matched name: \(sc.provisioner)")
            } else {
                try event(tx, ref, "Normal", "ExternalProvisioning", "Waiting for a volume to be created either by the external provisioner '\(sc.provisioner)' or manually by the system administrator. If volume creation is delayed, please verify that the provisioner is running and correctly registered.")
            }
            return SyncResult()
        }
        if claim.spec.selector != nil {
            try event(tx, ref, "Warning", "ProvisioningFailed", "claim.Spec.Selector is not supported for dynamic provisioning; remove the selector or create a matching PersistentVolume")
            return SyncResult()
        }
        if claim.spec.dataSource != nil || claim.spec.dataSourceRef != nil {
            try event(tx, ref, "Warning", "ProvisioningFailed", "berth cannot provision a claim with a dataSource (cloning and snapshots are not supported); remove spec.dataSource")
            return SyncResult()
        }
        let pvName = "pvc-\(claim.uid)"
        if try tx.get(PersistentVolume.self, name: pvName) != nil {
            return SyncResult(actions: [.provision(pvName)])
        }
        let poolName = sc.parameters?["pool"] ?? "default"
        var nodeName = claim.metadata.annotation(Keys.selectedNode) ?? sc.parameters?["node"]
        let candidates = topology.pools.filter { $0.name == poolName && (nodeName == nil || $0.node == nodeName) }
        if candidates.isEmpty {
            let where_ = nodeName.map { " on node \"\($0)\"" } ?? ""
            try event(tx, ref, "Warning", "ProvisioningFailed", "storage class \"\(sc.name)\" names pool \"\(poolName)\", which this agent does not have\(where_); add the pool to the agent's config or fix the class's 'pool' parameter")
            try setPending(tx, claim)
            return SyncResult()
        }
        let request = claim.requestBytes
        var best: (StoragePool, Int64)?
        var report: [String] = []
        for pool in candidates {
            let free = pool.capacity.bytes - (try tx.allocatedBytes(node: pool.node, pool: pool.name))
            report.append("pool \"\(pool.name)\" on node \"\(pool.node)\" has \(Quantity(bytes: max(free, 0))) free of \(pool.capacity)")
            if free >= request, free > (best?.1 ?? -1) { best = (pool, free) }
        }
        guard let (pool, _) = best else {
            try event(tx, ref, "Warning", "ProvisioningFailed", "not enough free space for \(claim.request.map { "\($0)" } ?? "0"): \(report.joined(separator: "; ")); delete unused volumes or enlarge the pool in the agent's config")
            try setPending(tx, claim)
            return SyncResult()
        }
        nodeName = pool.node
        var pv = PersistentVolume(name: pvName)
        pv.spec.capacity = ["storage": claim.request ?? Quantity(bytes: 0)]
        pv.spec.accessModes = claim.spec.accessModes
        pv.spec.volumeMode = claim.volumeMode
        pv.spec.persistentVolumeReclaimPolicy = sc.reclaimPolicy ?? "Delete"
        pv.spec.storageClassName = sc.name
        pv.spec.mountOptions = sc.mountOptions
        if sc.provisioner == Keys.loopProvisioner {
            let isBlock = claim.volumeMode == "Block"
            let fsType = sc.parameters?["fsType"] ?? sc.parameters?["csi.storage.k8s.io/fstype"] ?? "ext4"
            if !isBlock, !Filesystem.supported.contains(fsType) {
                try event(tx, ref, "Warning", "ProvisioningFailed", "storage class \"\(sc.name)\" asks for fsType \"\(fsType)\"; berth.io/loop formats only \(Filesystem.supported.joined(separator: " and ")) — fix the class's 'fsType' parameter")
                try setPending(tx, claim)
                return SyncResult()
            }
            if !isBlock, fsType == "xfs", request < Filesystem.xfsMinimumBytes {
                try event(tx, ref, "Warning", "ProvisioningFailed", "xfs volumes must be at least 300Mi (mkfs.xfs refuses smaller ones); request more, or use an ext4 class")
                try setPending(tx, claim)
                return SyncResult()
            }
            let path = pool.volumePath(isBlock ? LoopProvisioner.deviceLinkName(pvName) : pvName)
            pv.spec.local = .init(path: path, fsType: isBlock ? nil : fsType)
            if !isBlock {
                pv.metadata.setAnnotation(Keys.fsType, fsType)
                pv.metadata.setAnnotation(Keys.fsUUID, UUID().lowercaseString)
            }
        } else {
            pv.spec.hostPath = .init(path: pool.volumePath(pvName), type: "Directory")
        }
        pv.spec.nodeAffinity = .hostname(pool.node)
        var claimRef = ref
        claimRef.resourceVersion = nil
        pv.spec.claimRef = claimRef
        pv.metadata.setAnnotation(Keys.provisionedBy, sc.provisioner)
        pv.metadata.setAnnotation(Keys.boundByController, "yes")
        pv.metadata.setAnnotation(Keys.provisioning, "true")
        pv.metadata.setAnnotation(Keys.node, pool.node)
        pv.metadata.setAnnotation(Keys.pool, pool.name)
        pv.metadata.addFinalizer(Keys.pvProtection)
        if pv.reclaimPolicy == "Delete" { pv.metadata.addFinalizer(Keys.reclaimFinalizer) }
        pv.setPhase("Pending")
        let intent = try tx.create(pv)
        var c = claim
        c.metadata.setAnnotation(Keys.storageProvisioner, sc.provisioner)
        c.metadata.setAnnotation(Keys.betaStorageProvisioner, sc.provisioner)
        return SyncResult(actions: [.provision(pvName)], provisioned: (intent, try tx.update(c)))
    }

    /// `syncBoundClaim`: keeps a bound claim's state true, and marks it Lost when its volume is gone.
    func syncBoundClaim(_ tx: any CatalogTransaction, _ claim: PersistentVolumeClaim) throws -> SyncResult {
        let ref = claim.reference
        func lost(_ reason: String, _ message: String) throws {
            guard claim.phase != "Lost" else { return }
            var c = claim
            c.status = c.status ?? .init()
            c.status?.phase = "Lost"
            try tx.update(c)
            try event(tx, ref, "Warning", reason, message)
        }
        if claim.volumeName.isEmpty {
            try lost("ClaimLost", "Bound claim has lost reference to PersistentVolume. Data on the volume is lost!")
            return SyncResult()
        }
        guard let pv = try tx.get(PersistentVolume.self, name: claim.volumeName) else {
            try lost("ClaimLost", "Bound claim has lost its PersistentVolume. Data on the volume is lost!")
            return SyncResult()
        }
        // a volume still being provisioned is bound by that work once its storage exists (and one
        // being deleted is not bound at all): a claim that names it early is left as it is
        if Binding.isInTransition(pv) { return SyncResult() }
        if pv.spec.claimRef == nil || pv.spec.claimRef?.uid == claim.uid {
            try bind(tx, volume: pv, claim: claim)
            if let request = claim.request, let capacity = pv.capacity, request > capacity, !pv.isUnavailable {
                return try startResize(tx, claim: Key(claim.namespace, claim.name), volume: pv.name)
            }
        } else {
            try lost("ClaimMisbound", "Two claims are bound to the same volume, this one is bound incorrectly")
        }
        return SyncResult()
    }

    /// Expansion, step one (KEP-1790's controller side): the claim asks for more than its volume
    /// has. Checks the pool, records the resize on the claim (allocatedResources, the
    /// ControllerResizeInProgress status, the Resizing condition), and leaves the growing to an action.
    func startResize(_ tx: any CatalogTransaction, claim key: Key, volume name: String) throws -> SyncResult {
        guard var claim = try tx.get(PersistentVolumeClaim.self, namespace: key.namespace, name: key.name),
              let pv = try tx.get(PersistentVolume.self, name: name), let request = claim.request else { return SyncResult() }
        let ref = claim.reference
        guard let provisionedBy = pv.metadata.annotation(Keys.provisionedBy), provisioners[provisionedBy] != nil else {
            try event(tx, ref, "Warning", "ExternalExpanding", "volume \(name) was not provisioned by berth, so berth cannot grow it; grow it by hand and raise the PV's capacity")
            return SyncResult()
        }
        if let pool = topology.pool(node: pv.metadata.annotation(Keys.node) ?? "", name: pv.metadata.annotation(Keys.pool) ?? "") {
            // the pool already accounts this volume at its size, or at a size reserved for it before
            let reserved = pv.metadata.annotation(Keys.resizeReserved).flatMap { Int64($0) } ?? 0
            let free = pool.capacity.bytes - (try tx.allocatedBytes(node: pool.node, pool: pool.name))
            let more = request.bytes - max(pv.capacityBytes, reserved)
            if more > 0, free < more {
                try event(tx, ref, "Warning", "VolumeResizeFailed", "cannot grow volume \(name) to \(request): pool \"\(pool.name)\" on node \"\(pool.node)\" has \(Quantity(bytes: max(free, 0))) free, \(Quantity(bytes: more)) more is needed; free space in the pool or enlarge it")
                return SyncResult()
            }
            if more > 0 {
                // reserved now, in this transaction: a claim synced after this one sees the space taken
                var grown = pv
                grown.metadata.setAnnotation(Keys.resizeReserved, String(request.bytes))
                try tx.update(grown)
            }
        }
        var status = claim.status ?? .init()
        if status.allocatedResourceStatuses?["storage"] != "ControllerResizeInProgress" || status.allocatedResources?["storage"] != request {
            status.allocatedResources = ["storage": request]
            status.allocatedResourceStatuses = ["storage": "ControllerResizeInProgress"]
            var conditions = (status.conditions ?? []).filter { $0.type != "Resizing" }
            conditions.append(.init(type: "Resizing", status: "True", reason: nil, message: nil,
                                    lastTransitionTime: Timestamp.now(), lastProbeTime: nil))
            status.conditions = conditions
            claim.status = status
            try tx.update(claim)
            try event(tx, ref, "Normal", "Resizing", "External resizer is resizing volume \(name)")
        }
        return SyncResult(actions: [.expand(name)])
    }
}
