/// v1 PersistentVolumeClaim.
public struct PersistentVolumeClaim: KubeObject, Hashable {
    public static let info = KindInfo.persistentVolumeClaim
    public var apiVersion: String?
    public var kind: String?
    public var metadata: ObjectMeta
    public var spec: Spec
    public var status: Status?

    public struct Spec: Codable, Sendable, Hashable {
        public var accessModes: [String]?
        public var selector: LabelSelector?
        public var resources: Resources?
        public var volumeName: String?
        public var storageClassName: String?
        public var volumeMode: String?
        public var dataSource: JSONValue?
        public var dataSourceRef: JSONValue?
        public init() {}
    }

    public struct Resources: Codable, Sendable, Hashable {
        public var requests: [String: Quantity]?
        public var limits: [String: Quantity]?
        public init(requests: [String: Quantity]? = nil) { self.requests = requests }
    }

    public struct Condition: Codable, Sendable, Hashable {
        public var type: String
        public var status: String
        public var reason: String?
        public var message: String?
        public var lastTransitionTime: String?
        public var lastProbeTime: String?

        public init(type: String, status: String, reason: String? = nil, message: String? = nil,
                    lastTransitionTime: String? = nil, lastProbeTime: String? = nil) {
            self.type = type
            self.status = status
            self.reason = reason
            self.message = message
            self.lastTransitionTime = lastTransitionTime
            self.lastProbeTime = lastProbeTime
        }
    }

    public struct Status: Codable, Sendable, Hashable {
        public var phase: String?
        public var accessModes: [String]?
        public var capacity: [String: Quantity]?
        public var conditions: [Condition]?
        public var allocatedResources: [String: Quantity]?
        public var allocatedResourceStatuses: [String: String]?
        public init(phase: String? = nil) { self.phase = phase }
    }

    public init(namespace: String, name: String, spec: Spec = Spec()) {
        self.metadata = ObjectMeta(name: name, namespace: namespace)
        self.spec = spec
        setTypeMeta()
    }

    public var phase: String { status?.phase ?? "Pending" }
    public var request: Quantity? { spec.resources?.requests?["storage"] }
    public var requestBytes: Int64 { request?.bytes ?? 0 }
    public var volumeMode: String { spec.volumeMode ?? "Filesystem" }
    public var accessModeSet: AccessModeSet { AccessModeSet(spec.accessModes ?? []) }
    public var volumeName: String { spec.volumeName ?? "" }
    public var isBindCompleted: Bool { metadata.annotation(Keys.bindCompleted) != nil }

    /// `PersistentVolumeClaimHasClass`: the beta annotation or a non-nil `storageClassName`.
    public var hasClass: Bool { metadata.annotation(Keys.betaStorageClass) != nil || spec.storageClassName != nil }
    /// `class(pvc)`: the beta annotation, else the field, else `""`.
    public var storageClass: String { metadata.annotation(Keys.betaStorageClass) ?? spec.storageClassName ?? "" }

    public mutating func applyDefaults() {
        if spec.volumeMode == nil { spec.volumeMode = "Filesystem" }
    }

    public func validate() -> [FieldError] {
        var e = Validation.validateMeta(metadata, info: Self.info)
        e += Validation.validateAccessModes(spec.accessModes, field: "spec.accessModes", required: true)
        if let selector = spec.selector { e += selector.validate(field: "spec.selector") }
        if let q = request {
            if !q.isPositive {
                e.append(FieldError("spec.resources.requests.storage", "Invalid value: \"\(q)\": must be greater than 0"))
            }
        } else {
            e.append(FieldError("spec.resources.requests.storage", "Required value"))
        }
        for key in (spec.resources?.requests ?? [:]).keys where key != "storage" {
            e.append(FieldError("spec.resources.requests", "Unsupported value: \"\(key)\": supported values: \"storage\""))
        }
        e += Validation.validateVolumeMode(spec.volumeMode, field: "spec.volumeMode")
        if let c = spec.storageClassName, !c.isEmpty {
            for p in Validation.dnsSubdomainProblems(c) { e.append(FieldError("spec.storageClassName", "Invalid value: \"\(c)\": \(p)")) }
        }
        if let v = spec.volumeName, !v.isEmpty {
            for p in Validation.dnsSubdomainProblems(v) { e.append(FieldError("spec.volumeName", "Invalid value: \"\(v)\": \(p)")) }
        }
        return e
    }

    public func validateUpdate(from old: PersistentVolumeClaim) -> [FieldError] {
        var e: [FieldError] = []
        var a = old.spec, b = spec
        // what may change: volumeName once from empty, class from nil, requests while Bound
        if (a.volumeName ?? "").isEmpty { a.volumeName = b.volumeName }
        if a.storageClassName == nil, old.metadata.annotation(Keys.betaStorageClass) == nil { a.storageClassName = b.storageClassName }
        if old.phase == "Bound" {
            a.resources?.requests?["storage"] = b.resources?.requests?["storage"]
            if let newReq = request, let oldReq = old.request, newReq < oldReq {
                e.append(FieldError("spec.resources.requests.storage", "Forbidden: field can not be less than previous value (\(oldReq)); berth cannot shrink a volume"))
            }
        }
        a.resources?.limits = b.resources?.limits
        if a != b {
            e.append(FieldError("spec", "Forbidden: spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims"))
        }
        if old.metadata.annotation(Keys.betaStorageClass) != metadata.annotation(Keys.betaStorageClass) {
            e.append(FieldError("metadata.annotations[\(Keys.betaStorageClass)]", "Invalid value: field is immutable"))
        }
        return e
    }

    public mutating func keepStatus(from old: PersistentVolumeClaim?) {
        status = old?.status ?? Status(phase: "Pending")
    }
}
