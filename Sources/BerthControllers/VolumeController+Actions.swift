import BerthCatalog
import BerthLinux
import BerthModel
import BerthStorage
import Foundation

extension VolumeController {
    /// How many volumes are made or deleted at once. The work is mostly waiting for fsync, and
    /// concurrent fsyncs and commits share flushes, so more in flight is faster (measured: 8 gave
    /// about 380 volumes/s, see docs/performance.md).
    static let parallelVolumeWork = 64

    /// Runs disk work decided by a pass as it arrives, many at a time, each followed by its own
    /// commit; the same action twice in one pass runs once. Returns whether any ran.
    func execute(_ actions: AsyncStream<Action>) async -> Bool {
        var started = Set<Action>()
        await withTaskGroup(of: Void.self) { group in
            var running = 0
            for await action in actions where started.insert(action).inserted {
                if running >= Self.parallelVolumeWork {
                    await group.next()
                    running -= 1
                }
                group.addTask {
                    do {
                        switch action {
                        case .provision(let name): try await self.finishProvisioning(name)
                        case .delete(let name): try await self.finishDeleting(name)
                        case .expand(let name): try await self.finishExpanding(name)
                        }
                    } catch {
                        self.logger.warning("volume work failed; it is retried at the next resync",
                                            metadata: ["action": "\(action)", "error": "\(error)"])
                    }
                }
                running += 1
            }
        }
        return !started.isEmpty
    }

    func provisioner(for pv: PersistentVolume) -> any VolumeProvisioner {
        pv.metadata.annotation(Keys.provisionedBy).flatMap { provisioners[$0] } ?? HostPathProvisioner()
    }

    /// Dynamic provisioning, step two: make the directory, then bind both sides in one commit.
    /// When the claim went away meanwhile, undo instead (when it goes while the volume is being
    /// made, the bind finds it gone and the next pass undoes it).
    func finishProvisioning(_ name: String) async throws {
        // the intent and its claim as the pass that wrote them committed them, or as stored now; the
        // bind below checks both again
        let state: (PersistentVolume, PersistentVolumeClaim?)?
        if let handed = handoff.withLock({ $0.removeValue(forKey: name) }) {
            state = handed
        } else {
            state = try await catalog.read { tx -> (PersistentVolume, PersistentVolumeClaim?)? in
                guard let pv = try tx.get(PersistentVolume.self, name: name), pv.metadata.annotation(Keys.provisioning) != nil,
                      let ref = pv.spec.claimRef else { return nil }
                let claim = try tx.get(PersistentVolumeClaim.self, namespace: ref.namespace ?? "", name: ref.name ?? "")
                return (pv, claim?.uid == ref.uid ? claim : nil)
            }
        }
        guard let (pv, claim) = state else { return }
        let pool = topology.pool(node: pv.metadata.annotation(Keys.node) ?? "", name: pv.metadata.annotation(Keys.pool) ?? "")
        guard let claim, claim.volumeName.isEmpty || claim.volumeName == pv.name, let pool else {
            // the claim is gone (or bound elsewhere): remove whatever was made, then the intent
            try await provisioner(for: pv).delete(pv, pools: topology.pools)
            try await catalog.write { tx in
                guard var current = try tx.get(PersistentVolume.self, name: name), current.uid == pv.uid else { return }
                current.metadata.finalizers = nil
                try tx.update(current)
                try tx.delete(PersistentVolume.self, namespace: "", name: name, uid: pv.uid)
            }
            return
        }
        Failpoint.hit("after-provision-intent")
        do {
            try await provisioner(for: pv).provision(pv, in: pool)
        } catch {
            let message = "failed to provision volume with StorageClass \"\(pv.storageClass)\": \(error)"
            try await catalog.write { tx in
                try self.event(tx, claim.reference, "Warning", "ProvisioningFailed", message)
            }
            throw error
        }
        Failpoint.hit("after-provision-directory")
        let bound = try await catalog.write { tx -> PersistentVolume? in
            guard var current = try tx.get(PersistentVolume.self, name: name), current.uid == pv.uid,
                  current.metadata.annotation(Keys.provisioning) != nil,
                  let c = try tx.get(PersistentVolumeClaim.self, namespace: claim.namespace, name: claim.name), c.uid == claim.uid,
                  c.volumeName.isEmpty || c.volumeName == name
            else { return nil }
            current.metadata.setAnnotation(Keys.provisioning, nil)
            try self.bind(tx, volume: current, claim: c)
            return current
        }
        guard let bound else {
            // the claim went away (or was bound elsewhere) while the volume was made: a pass reads
            // the intent again and undoes it
            work.mark(volume: name, revision: .max)
            return
        }
        // the event in a commit of its own, after the bind: the claim is Bound a little sooner. Like
        // Kubernetes' events it is best effort: a crash or a failed write here loses it, nothing else
        do {
            try await catalog.write { tx in
                try self.event(tx, claim.reference, "Normal", "ProvisioningSucceeded",
                               "Successfully provisioned volume \(name) at \(bound.path ?? "") on node \(pool.node)")
            }
        } catch {
            logger.warning("could not record the ProvisioningSucceeded event", metadata: ["volume": "\(name)", "error": "\(error)"])
        }
    }

    /// Reclaim under the Delete policy: remove the backing store, then the PV object.
    func finishDeleting(_ name: String) async throws {
        guard let pv = try await catalog.read({ tx in try tx.get(PersistentVolume.self, name: name) }),
              pv.metadata.annotation(Keys.deleting) != nil else { return }
        do {
            try await provisioner(for: pv).delete(pv, pools: topology.pools)
        } catch {
            let message = "\(error)"
            try await catalog.write { tx in
                guard var current = try tx.get(PersistentVolume.self, name: name), current.uid == pv.uid else { return }
                current.setPhase("Failed", message: message, reason: "VolumeFailedDelete")
                if let e = error as? BerthError, e.code == .permissionDenied || e.code == .conflict {
                    current.metadata.setAnnotation(Keys.deleting, nil)
                }
                try tx.update(current)
                try self.event(tx, current.reference, "Warning", "VolumeFailedDelete", message)
            }
            throw error
        }
        Failpoint.hit("after-delete-directory")
        try await catalog.write { tx in
            guard var current = try tx.get(PersistentVolume.self, name: name), current.uid == pv.uid else { return }
            current.metadata.finalizers = nil
            try tx.update(current)
            try tx.delete(PersistentVolume.self, namespace: "", name: name, uid: pv.uid)
        }
    }

    /// Expansion, step two: grow the backing store, then record the new size on both sides in one
    /// commit. A crash in between grows again (idempotently) at the next pass.
    func finishExpanding(_ name: String) async throws {
        let state = try await catalog.read { tx -> (PersistentVolume, PersistentVolumeClaim)? in
            guard let pv = try tx.get(PersistentVolume.self, name: name), let ref = pv.spec.claimRef,
                  let claim = try tx.get(PersistentVolumeClaim.self, namespace: ref.namespace ?? "", name: ref.name ?? ""),
                  claim.uid == ref.uid, claim.volumeName == name else { return nil }
            return (pv, claim)
        }
        guard let (pv, claim) = state, let request = claim.request, request.bytes > pv.capacityBytes,
              let pool = topology.pool(node: pv.metadata.annotation(Keys.node) ?? "", name: pv.metadata.annotation(Keys.pool) ?? "")
        else { return }
        let how: String
        do {
            how = try await provisioner(for: pv).expand(pv, in: pool, to: request.bytes)
        } catch {
            let message = "cannot grow volume \(name) to \(request): \(error)"
            try await catalog.write { tx in
                try self.event(tx, claim.reference, "Warning", "VolumeResizeFailed", message)
            }
            throw error
        }
        Failpoint.hit("after-expand")
        try await catalog.write { tx in
            guard var current = try tx.get(PersistentVolume.self, name: name), current.uid == pv.uid,
                  var c = try tx.get(PersistentVolumeClaim.self, namespace: claim.namespace, name: claim.name), c.uid == claim.uid,
                  let wanted = c.request, wanted.bytes >= request.bytes else { return }
            current.spec.capacity = ["storage": request]
            // grown: the reservation is the capacity now, unless a larger growth was accepted meanwhile
            if let reserved = current.metadata.annotation(Keys.resizeReserved).flatMap({ Int64($0) }), reserved <= request.bytes {
                current.metadata.setAnnotation(Keys.resizeReserved, nil)
            }
            try tx.update(current)
            var status = c.status ?? .init()
            status.capacity = ["storage": request]
            status.allocatedResources = ["storage": request]
            status.allocatedResourceStatuses = nil
            status.conditions = status.conditions?.filter { $0.type != "Resizing" && $0.type != "FileSystemResizePending" }
            if status.conditions?.isEmpty == true { status.conditions = nil }
            c.status = status
            try tx.update(c)
            try self.event(tx, c.reference, "Normal", "FileSystemResizeSuccessful", "volume \(name) grew to \(request): \(how)")
        }
    }

    /// Writes each configured node's pools into its Node object: capacity and what is free.
    public func refreshNodes() async throws {
        let topology = self.topology
        let host = self.host
        try await catalog.write { tx in
            for spec in topology.nodes {
                var node = try tx.get(Node.self, name: spec.name) ?? Node(name: spec.name)
                var labels = node.metadata.labels ?? [:]
                labels[Keys.hostnameLabel] = spec.name
                for (k, v) in spec.labels { labels[k] = v }
                node.metadata.labels = labels
                var status = node.status ?? Node.Status()
                var capacity = status.capacity ?? [:]
                var allocatable = status.allocatable ?? [:]
                for pool in spec.pools {
                    let used = try tx.allocatedBytes(node: spec.name, pool: pool.name)
                    capacity[Node.poolResource(pool.name)] = pool.capacity
                    allocatable[Node.poolResource(pool.name)] = Quantity(bytes: max(pool.capacity.bytes - used, 0))
                }
                // the host's processors and memory, as a kubelet reports them (berth runs no
                // containers, so nothing is ever requested of them)
                capacity["cpu"] = Quantity(nanos: Int128(host.cpus) * 1_000_000_000, format: .decimalSI)
                capacity["memory"] = Quantity(bytes: host.memoryBytes)
                capacity["pods"] = Quantity(nanos: 110 * 1_000_000_000, format: .decimalSI)
                for key in ["cpu", "memory", "pods"] { allocatable[key] = capacity[key] }
                status.capacity = capacity
                status.allocatable = allocatable
                if status.conditions == nil {
                    status.conditions = [Node.Condition(type: "Ready", status: "True", reason: "BerthAgentReady",
                                                        message: "berth agent is serving this node")]
                }
                status.nodeInfo = ["kernelVersion": host.kernelVersion, "osImage": host.osImage, "operatingSystem": "linux",
                                   "architecture": host.architecture, "machineID": host.machineID, "bootID": host.bootID,
                                   "kubeletVersion": "berth-\(BerthVersion.current)", "kubeProxyVersion": "",
                                   "containerRuntimeVersion": "none (berth runs no containers)", "systemUUID": ""]
                status.addresses = [.init(type: "Hostname", address: spec.name)]
                let unchanged = node.status == status
                // the heartbeat says when this agent last wrote the node: at a change, or once a
                // minute at the resync, so that an idle agent does not rewrite its nodes every pass
                let beat = status.conditions?.first?.lastHeartbeatTime.flatMap(Timestamp.parse)
                if unchanged, let beat, Date().timeIntervalSince(beat) < 60 { continue }
                let now = Timestamp.now()
                status.conditions = status.conditions?.map { c in
                    var c = c
                    c.lastHeartbeatTime = now
                    if c.lastTransitionTime == nil { c.lastTransitionTime = now }
                    return c
                }
                node.status = status
                node.metadata.resourceVersion = nil
                if node.metadata.uid == nil { try tx.create(node) } else { try tx.update(node) }
            }
        }
    }
}

extension VolumeController {
    /// At start, every volume berth provisioned is checked before it is trusted (DESIGN §4.6): a
    /// loop volume is adopted or re-attached, checked against the TYPE and UUID its PV records and
    /// mounted again (a reboot drops attachments and mounts); a host-path volume's directory must
    /// exist and carry its identity. A volume that cannot be brought back goes Failed with the reason
    /// (VolumeUnavailable) and is never recreated; one that is back later returns to Bound.
    public func restoreVolumes() async {
        let volumes: [PersistentVolume]
        do {
            volumes = try await catalog.read { tx in try tx.list(PersistentVolume.self) }
        } catch {
            logger.error("cannot list volumes to check them at start", metadata: ["error": "\(error)"])
            return
        }
        for pv in volumes {
            guard let (provisioner, pool) = checkable(pv) else { continue }
            await bringBack(pv, provisioner, pool, lostMount: false)
        }
    }

    /// The check of each full resync, while the agent runs: a loop volume in Filesystem mode that is
    /// no longer mounted where berth put it (someone unmounted it, or detached its device) is brought
    /// back as at start, so that nothing is written into the empty directory below its mount point;
    /// one that could not be brought back is tried again. Runs inside a pass, after that pass's disk
    /// work and before the next pass's, so it never races a deletion or an expansion.
    func remountLostLoopVolumes() async {
        let volumes: [PersistentVolume]
        do {
            volumes = try await catalog.read { tx in
                // the other volumes are not even decoded: a loop volume's stored JSON names its provisioner
                try tx.listStored(kind: PersistentVolume.info.kind, namespace: nil)
                    .filter { $0.mayContain(Keys.loopProvisioner) }
                    .map { try $0.decode(PersistentVolume.self) }
            }
        } catch {
            logger.warning("cannot list volumes to check their mounts", metadata: ["error": "\(error)"])
            return
        }
        guard !volumes.isEmpty else { return }
        let mounted = Set(Mount.table().filter { $0.major == 7 }.map(\.target))
        for pv in volumes {
            guard let (provisioner, pool) = checkable(pv), provisioner is LoopProvisioner else { continue }
            // Filesystem mode: still mounted where berth put it; Block mode: the link still leads to
            // the device its backing file is attached to
            let lost = !pv.isUnavailable && (pv.volumeMode == "Block" ? !LoopProvisioner.linkIsCurrent(pv, in: pool)
                                                                      : !mounted.contains(Mount.resolved(pool.volumePath(pv.name))))
            if lost || pv.isUnavailable { await bringBack(pv, provisioner, pool, lostMount: lost) }
        }
    }

    /// The provisioner and pool of a volume berth may check: provisioned by berth, not being made or
    /// deleted, and not Failed for another reason than being unavailable.
    private func checkable(_ pv: PersistentVolume) -> (any VolumeProvisioner, StoragePool)? {
        guard pv.metadata.annotation(Keys.provisioning) == nil, pv.metadata.annotation(Keys.deleting) == nil,
              pv.phase != "Failed" || pv.isUnavailable,
              let by = pv.metadata.annotation(Keys.provisionedBy), let provisioner = provisioners[by],
              let pool = topology.pool(node: pv.metadata.annotation(Keys.node) ?? "", name: pv.metadata.annotation(Keys.pool) ?? "")
        else { return nil }
        return (provisioner, pool)
    }

    /// Brings one volume back (or checks it), records the outcome on its PV.
    private func bringBack(_ pv: PersistentVolume, _ provisioner: any VolumeProvisioner, _ pool: StoragePool, lostMount: Bool) async {
        do {
            if let loop = provisioner as? LoopProvisioner {
                _ = try await loop.restore(pv, in: pool)
            } else {
                switch try await provisioner.verify(pv, pools: [pool]) {
                case .healthy: break
                case .missing(let why):
                    throw BerthError.notFound("PV \(pv.name): its directory is missing (\(why)); berth will not create it again empty — restore it (is the pool's disk mounted?) and restart the agent, which checks host-path volumes at start, or delete the claim")
                case .mismatched(let why):
                    throw BerthError.conflict("PV \(pv.name): \(why); berth will not serve it as this volume")
                }
            }
            guard pv.isUnavailable || lostMount else { return }
            try await catalog.write { tx in
                guard var current = try tx.get(PersistentVolume.self, name: pv.name), current.uid == pv.uid else { return }
                if pv.isUnavailable {
                    current.setPhase((current.spec.claimRef?.uid ?? "").isEmpty ? "Available" : "Bound")
                    try tx.update(current)
                    try self.event(tx, current.reference, "Normal", "VolumeRestored", "the volume's backing store is back")
                } else if pv.volumeMode == "Block" {
                    try self.event(tx, current.reference, "Warning", "VolumeReattached",
                                   "\(pool.volumePath(LoopProvisioner.deviceLinkName(pv.name))) no longer led to the loop device of its backing file; berth attached the file again and re-pointed the link")
                } else {
                    try self.event(tx, current.reference, "Warning", "VolumeRemounted",
                                   "\(pool.volumePath(pv.name)) was no longer mounted; berth checked the filesystem's type and UUID and mounted it again")
                }
            }
            volumesCameBack()
        } catch {
            let message = "\(error)"
            if pv.isUnavailable, pv.status?.message == message {
                logger.debug("a volume is still unavailable", metadata: ["pv": "\(pv.name)", "error": "\(message)"])
                return
            }
            logger.error("a volume could not be brought back", metadata: ["pv": "\(pv.name)", "error": "\(message)"])
            try? await catalog.write { tx in
                guard var current = try tx.get(PersistentVolume.self, name: pv.name), current.uid == pv.uid else { return }
                guard current.status?.message != message || !current.isUnavailable else { return }
                current.setPhase("Failed", message: message, reason: PersistentVolume.unavailableReason)
                try tx.update(current)
                try self.event(tx, current.reference, "Warning", PersistentVolume.unavailableReason, message)
            }
        }
    }
}
