/// v1 PersistentVolume.
public struct PersistentVolume: KubeObject, Hashable {
    public static let info = KindInfo.persistentVolume
    public var apiVersion: String?
    public var kind: String?
    public var metadata: ObjectMeta
    public var spec: Spec
    public var status: Status?

    public struct Spec: Codable, Sendable, Hashable {
        public var capacity: [String: Quantity]?
        public var accessModes: [String]?
        public var volumeMode: String?
        public var persistentVolumeReclaimPolicy: String?
        public var storageClassName: String?
        public var mountOptions: [String]?
        public var claimRef: ObjectReference?
        public var nodeAffinity: VolumeNodeAffinity?
        public var hostPath: HostPathSource?
        public var local: LocalSource?

        public init() {}
    }

    public struct HostPathSource: Codable, Sendable, Hashable {
        public var path: String
        public var type: String?
        public init(path: String, type: String? = nil) { self.path = path; self.type = type }
    }

    public struct LocalSource: Codable, Sendable, Hashable {
        public var path: String
        public var fsType: String?
        public init(path: String, fsType: String? = nil) { self.path = path; self.fsType = fsType }
    }

    public struct Status: Codable, Sendable, Hashable {
        public var phase: String?
        public var message: String?
        public var reason: String?
        public var lastPhaseTransitionTime: String?
        public init(phase: String? = nil) { self.phase = phase }
    }

    public init(name: String, spec: Spec = Spec()) {
        self.metadata = ObjectMeta(name: name)
        self.spec = spec
        setTypeMeta()
    }

    public var phase: String { status?.phase ?? "Pending" }
    /// Failed because its backing store could not be brought back (missing file, wrong filesystem).
    public var isUnavailable: Bool { phase == "Failed" && status?.reason == Self.unavailableReason }
    public static let unavailableReason = "VolumeUnavailable"
    public var capacity: Quantity? { spec.capacity?["storage"] }
    public var capacityBytes: Int64 { capacity?.bytes ?? 0 }
    /// `class(pv)`: the beta annotation wins over the field.
    public var storageClass: String { metadata.annotation(Keys.betaStorageClass) ?? spec.storageClassName ?? "" }
    public var volumeMode: String { spec.volumeMode ?? "Filesystem" }
    public var reclaimPolicy: String { spec.persistentVolumeReclaimPolicy ?? "Retain" }
    public var accessModeSet: AccessModeSet { AccessModeSet(spec.accessModes ?? []) }
    /// The directory behind this volume, for host-path and local volumes.
    public var path: String? { spec.hostPath?.path ?? spec.local?.path }

    public mutating func setPhase(_ phase: String, message: String? = nil, reason: String? = nil) {
        var s = status ?? Status()
        if s.phase != phase { s.lastPhaseTransitionTime = Timestamp.now() }
        s.phase = phase
        s.message = message
        s.reason = reason
        status = s
    }

    public mutating func applyDefaults() {
        if spec.persistentVolumeReclaimPolicy == nil { spec.persistentVolumeReclaimPolicy = "Retain" }
        if spec.volumeMode == nil { spec.volumeMode = "Filesystem" }
    }

    public func validate() -> [FieldError] {
        var e = Validation.validateMeta(metadata, info: Self.info)
        e += Validation.validateAccessModes(spec.accessModes, field: "spec.accessModes", required: true)
        let cap = spec.capacity ?? [:]
        if cap.isEmpty {
            e.append(FieldError("spec.capacity", "Required value"))
        } else {
            for key in cap.keys where key != "storage" {
                e.append(FieldError("spec.capacity", "Unsupported value: \"\(key)\": supported values: \"storage\""))
            }
            if let q = cap["storage"], !q.isPositive {
                e.append(FieldError("spec.capacity.storage", "Invalid value: \"\(q)\": must be greater than zero"))
            }
        }
        e += Validation.validateVolumeMode(spec.volumeMode, field: "spec.volumeMode")
        if let r = spec.persistentVolumeReclaimPolicy, !["Retain", "Delete", "Recycle"].contains(r) {
            e.append(FieldError("spec.persistentVolumeReclaimPolicy", "Unsupported value: \"\(r)\": supported values: \"Delete\", \"Recycle\", \"Retain\""))
        }
        if let c = spec.storageClassName, !c.isEmpty {
            for p in Validation.dnsSubdomainProblems(c) { e.append(FieldError("spec.storageClassName", "Invalid value: \"\(c)\": \(p)")) }
        }
        let sources = [spec.hostPath != nil, spec.local != nil].filter { $0 }.count
        if sources == 0 {
            e.append(FieldError("spec", "Required value: must specify a volume type (berth serves hostPath and local)"))
        } else if sources > 1 {
            e.append(FieldError("spec.local", "Forbidden: may not specify more than 1 volume type"))
        }
        for (field, path) in [("spec.hostPath.path", spec.hostPath?.path), ("spec.local.path", spec.local?.path)] {
            guard let path else { continue }
            if path.isEmpty { e.append(FieldError(field, "Required value")) }
            else if !path.hasPrefix("/") { e.append(FieldError(field, "Invalid value: \"\(path)\": must be an absolute path")) }
            else if path.split(separator: "/").contains("..") { e.append(FieldError(field, "Invalid value: \"\(path)\": must not contain '..'")) }
        }
        if spec.local != nil, spec.nodeAffinity == nil {
            e.append(FieldError("spec.nodeAffinity", "Required value: Local volume requires node affinity"))
        }
        if spec.hostPath?.path == "/", spec.persistentVolumeReclaimPolicy == "Recycle" {
            e.append(FieldError("spec.persistentVolumeReclaimPolicy", "Forbidden: may not be 'recycle' for a hostPath mount of '/'"))
        }
        if let ref = spec.claimRef {
            if (ref.name ?? "").isEmpty { e.append(FieldError("spec.claimRef.name", "Required value")) }
            if (ref.namespace ?? "").isEmpty { e.append(FieldError("spec.claimRef.namespace", "Required value")) }
        }
        return e
    }

    public func validateUpdate(from old: PersistentVolume) -> [FieldError] {
        var e: [FieldError] = []
        if old.spec.hostPath != spec.hostPath || old.spec.local != spec.local {
            e.append(FieldError("spec.persistentvolumesource", "Forbidden: spec.persistentvolumesource is immutable after creation"))
        }
        if old.spec.volumeMode != spec.volumeMode { e.append(FieldError("spec.volumeMode", "Invalid value: field is immutable")) }
        if let a = old.spec.nodeAffinity, a != spec.nodeAffinity {
            e.append(FieldError("spec.nodeAffinity", "Invalid value: field is immutable"))
        }
        if old.storageClass != storageClass, !old.storageClass.isEmpty {
            e.append(FieldError("spec.storageClassName", "Forbidden: updates to storageClassName are forbidden"))
        }
        return e
    }

    public mutating func keepStatus(from old: PersistentVolume?) {
        status = old?.status ?? Status(phase: "Pending")
        if old == nil { status?.lastPhaseTransitionTime = Timestamp.now() }
    }
}

public struct VolumeNodeAffinity: Codable, Sendable, Hashable {
    public var required: NodeSelector?
    public init(required: NodeSelector?) { self.required = required }

    public static func hostname(_ node: String) -> VolumeNodeAffinity {
        VolumeNodeAffinity(required: NodeSelector(nodeSelectorTerms: [
            .init(matchExpressions: [.init(key: Keys.hostnameLabel, operator: "In", values: [node])]),
        ]))
    }
}

public struct NodeSelector: Codable, Sendable, Hashable {
    public var nodeSelectorTerms: [Term]
    public init(nodeSelectorTerms: [Term]) { self.nodeSelectorTerms = nodeSelectorTerms }
    public struct Term: Codable, Sendable, Hashable {
        public var matchExpressions: [LabelSelector.Requirement]?
        public var matchFields: [LabelSelector.Requirement]?
        public init(matchExpressions: [LabelSelector.Requirement]? = nil) { self.matchExpressions = matchExpressions }
    }

    /// Terms are ORed; expressions within a term are ANDed.
    public func matches(nodeName: String, labels: [String: String]) -> Bool {
        nodeSelectorTerms.contains { term in
            (term.matchExpressions ?? []).allSatisfy { $0.matches(labels) }
                && (term.matchFields ?? []).allSatisfy { $0.matches(["metadata.name": nodeName]) }
        }
    }
}

/// A set of access modes as one bit each, for indexing and superset tests.
public struct AccessModeSet: Sendable, Hashable, Comparable {
    public let bits: Int
    public static let order = ["ReadWriteOnce", "ReadOnlyMany", "ReadWriteMany", "ReadWriteOncePod"]
    public static let abbreviations = ["RWO", "ROX", "RWX", "RWOP"]

    public init(bits: Int) { self.bits = bits }
    public init(_ modes: [String]) {
        var b = 0
        for m in modes { if let i = Self.order.firstIndex(of: m) { b |= 1 << i } }
        bits = b
    }

    public var count: Int { bits.nonzeroBitCount }
    public func contains(_ other: AccessModeSet) -> Bool { bits & other.bits == other.bits }
    public static func < (a: AccessModeSet, b: AccessModeSet) -> Bool {
        a.count != b.count ? a.count < b.count : a.bits < b.bits
    }

    /// `RWO,ROX` as kubectl prints them.
    public var abbreviated: String {
        Self.abbreviations.enumerated().filter { bits & (1 << $0.offset) != 0 }.map(\.element).joined(separator: ",")
    }

    /// Every non-empty mode set that contains this one, fewest modes first: the order in which the
    /// Kubernetes PV controller searches its access-mode index.
    public var supersets: [AccessModeSet] {
        (1..<16).map(AccessModeSet.init(bits:)).filter { $0.contains(self) }.sorted()
    }
}
