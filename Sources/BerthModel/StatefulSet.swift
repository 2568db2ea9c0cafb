/// apps/v1 StatefulSet: replicas with stable names and one claim per template and ordinal.
public struct StatefulSet: KubeObject, Hashable {
    public static let info = KindInfo.statefulSet
    public var apiVersion: String?
    public var kind: String?
    public var metadata: ObjectMeta
    public var spec: Spec
    public var status: Status?

    public struct Spec: Codable, Sendable, Hashable {
        public var replicas: Int?
        public var selector: LabelSelector?
        public var serviceName: String?
        public var template: PodTemplate
        public var volumeClaimTemplates: [PersistentVolumeClaim]?
        public var podManagementPolicy: String?
        public var updateStrategy: JSONValue?
        public var revisionHistoryLimit: Int?
        public var minReadySeconds: Int?
        public var ordinals: Ordinals?
        public var persistentVolumeClaimRetentionPolicy: RetentionPolicy?

        public init(template: PodTemplate = PodTemplate()) { self.template = template }
    }

    public struct PodTemplate: Codable, Sendable, Hashable {
        public var metadata: ObjectMeta?
        public var spec: PodSpec?
        public init(metadata: ObjectMeta? = nil, spec: PodSpec? = nil) {
            self.metadata = metadata
            self.spec = spec
        }
    }

    public struct Ordinals: Codable, Sendable, Hashable {
        public var start: Int?
        public init(start: Int? = nil) { self.start = start }
    }

    public struct RetentionPolicy: Codable, Sendable, Hashable {
        public var whenDeleted: String?
        public var whenScaled: String?
        public init(whenDeleted: String? = nil, whenScaled: String? = nil) {
            self.whenDeleted = whenDeleted
            self.whenScaled = whenScaled
        }
    }

    public struct Status: Codable, Sendable, Hashable {
        public var observedGeneration: Int64?
        public var replicas: Int
        public var readyReplicas: Int?
        public var currentReplicas: Int?
        public var updatedReplicas: Int?
        public var availableReplicas: Int?
        public var currentRevision: String?
        public var updateRevision: String?
        public var collisionCount: Int?
        public init(replicas: Int = 0) { self.replicas = replicas }
    }

    public init(namespace: String, name: String, spec: Spec = Spec()) {
        self.metadata = ObjectMeta(name: name, namespace: namespace)
        self.spec = spec
        setTypeMeta()
    }

    public var replicas: Int { spec.replicas ?? 1 }
    public var startOrdinal: Int { spec.ordinals?.start ?? 0 }
    /// The ordinals that should have pods: `[start, start + replicas)`.
    public var ordinalRange: Range<Int> { startOrdinal..<(startOrdinal + max(replicas, 0)) }
    public var isParallel: Bool { spec.podManagementPolicy == "Parallel" }
    public var whenScaled: String { spec.persistentVolumeClaimRetentionPolicy?.whenScaled ?? "Retain" }
    public var whenDeleted: String { spec.persistentVolumeClaimRetentionPolicy?.whenDeleted ?? "Retain" }
    /// `RollingUpdate` (the default) or `OnDelete`.
    public var updateStrategyType: String { spec.updateStrategy?["type"]?.stringValue ?? "RollingUpdate" }
    /// Ordinals below the partition stay on the current revision during a rolling update.
    public var partition: Int { Int(spec.updateStrategy?["rollingUpdate"]?["partition"]?.scalarText ?? "") ?? 0 }
    /// `rollingUpdate.maxUnavailable` as a count of pods (a percentage of replicas, rounded down),
    /// at least 1, as Kubernetes' getStatefulSetMaxUnavailable resolves it.
    public var maxUnavailable: Int {
        guard let value = spec.updateStrategy?["rollingUpdate"]?["maxUnavailable"] else { return 1 }
        let text = value.scalarText ?? ""
        let n: Int
        if text.hasSuffix("%"), let percent = Int(text.dropLast()) { n = replicas * percent / 100 } else { n = Int(text) ?? 1 }
        return max(n, 1)
    }

    /// `<set>-<ordinal>`.
    public func podName(_ ordinal: Int) -> String { "\(name)-\(ordinal)" }
    /// `<template>-<set>-<ordinal>`.
    public func claimName(_ template: String, _ ordinal: Int) -> String { "\(template)-\(name)-\(ordinal)" }

    /// The ordinal a pod name carries for this set (`(.*)-([0-9]+)$`), if the prefix is this set's name.
    public func ordinal(ofPod pod: String) -> Int? {
        guard let dash = pod.lastIndex(of: "-"), pod[..<dash] == name, let n = Int(pod[pod.index(after: dash)...]),
              !pod[pod.index(after: dash)...].isEmpty, pod[pod.index(after: dash)...].allSatisfy(\.isNumber) else { return nil }
        return n
    }

    public mutating func applyDefaults() {
        if spec.replicas == nil { spec.replicas = 1 }
        if spec.podManagementPolicy == nil { spec.podManagementPolicy = "OrderedReady" }
        if spec.revisionHistoryLimit == nil { spec.revisionHistoryLimit = 10 }
        var podSpec = spec.template.spec ?? PodSpec()
        podSpec.applyDefaults()
        spec.template.spec = podSpec
        var strategy = spec.updateStrategy?.objectValue ?? [:]
        if strategy["type"] == nil { strategy["type"] = .string("RollingUpdate") }
        if strategy["type"]?.stringValue == "RollingUpdate" {
            var rolling = strategy["rollingUpdate"]?.objectValue ?? [:]
            if rolling["partition"] == nil { rolling["partition"] = .int(0) }
            strategy["rollingUpdate"] = .object(rolling)
        }
        spec.updateStrategy = .object(strategy)
        var policy = spec.persistentVolumeClaimRetentionPolicy ?? RetentionPolicy()
        if policy.whenDeleted == nil { policy.whenDeleted = "Retain" }
        if policy.whenScaled == nil { policy.whenScaled = "Retain" }
        spec.persistentVolumeClaimRetentionPolicy = policy
        for i in (spec.volumeClaimTemplates ?? []).indices {
            spec.volumeClaimTemplates![i].applyDefaults()
            spec.volumeClaimTemplates![i].status = nil
        }
    }

    public func validate() -> [FieldError] {
        var e = Validation.validateMeta(metadata, info: Self.info, nameRule: Validation.dnsLabelProblems)
        if let r = spec.replicas, r < 0 { e.append(FieldError("spec.replicas", "Invalid value: \(r): must be greater than or equal to 0")) }
        if let s = spec.ordinals?.start, s < 0 { e.append(FieldError("spec.ordinals.start", "Invalid value: \(s): must be greater than or equal to 0")) }
        if let p = spec.podManagementPolicy, p != "OrderedReady", p != "Parallel" {
            e.append(FieldError("spec.podManagementPolicy", "Unsupported value: \"\(p)\": supported values: \"OrderedReady\", \"Parallel\""))
        }
        for (field, value) in [("whenDeleted", spec.persistentVolumeClaimRetentionPolicy?.whenDeleted), ("whenScaled", spec.persistentVolumeClaimRetentionPolicy?.whenScaled)] {
            if let v = value, v != "Retain", v != "Delete" {
                e.append(FieldError("spec.persistentVolumeClaimRetentionPolicy.\(field)", "Unsupported value: \"\(v)\": supported values: \"Delete\", \"Retain\""))
            }
        }
        guard let selector = spec.selector, !(selector.matchLabels ?? [:]).isEmpty || !(selector.matchExpressions ?? []).isEmpty else {
            e.append(FieldError("spec.selector", "Required value"))
            return e
        }
        e += selector.validate(field: "spec.selector")
        e += validateUpdateStrategy()
        let labels = spec.template.metadata?.labels ?? [:]
        if !selector.matches(labels) {
            e.append(FieldError("spec.template.metadata.labels", "Invalid value: \(labels): `selector` does not match template `labels`"))
        }
        e += Validation.validateLabels(spec.template.metadata?.labels, field: "spec.template.metadata.labels")
        e += (spec.template.spec ?? PodSpec()).validate(field: "spec.template.spec")
        var names = Set<String>()
        for (i, t) in (spec.volumeClaimTemplates ?? []).enumerated() {
            let f = "spec.volumeClaimTemplates[\(i)]"
            let n = t.metadata.name ?? ""
            if n.isEmpty { e.append(FieldError("\(f).metadata.name", "Required value")); continue }
            for p in Validation.dnsLabelProblems(n) { e.append(FieldError("\(f).metadata.name", "Invalid value: \"\(n)\": \(p)")) }
            if !names.insert(n).inserted { e.append(FieldError("\(f).metadata.name", "Duplicate value: \"\(n)\"")) }
            e += Validation.validateAccessModes(t.spec.accessModes, field: "\(f).spec.accessModes", required: true)
            if t.request == nil { e.append(FieldError("\(f).spec.resources.requests.storage", "Required value")) }
            else if let q = t.request, !q.isPositive { e.append(FieldError("\(f).spec.resources.requests.storage", "Invalid value: \"\(q)\": must be greater than 0")) }
            // the claim names `<template>-<set>-<ordinal>` must stay valid names
            let longest = "\(n)-\(name)-\(startOrdinal + max(replicas, 1) - 1)"
            if longest.count > 253 { e.append(FieldError("\(f).metadata.name", "Invalid value: \"\(n)\": claim names would exceed 253 characters")) }
        }
        return e
    }

    func validateUpdateStrategy() -> [FieldError] {
        guard let strategy = spec.updateStrategy else { return [] }
        var e: [FieldError] = []
        let f = "spec.updateStrategy"
        let type = strategy["type"]?.stringValue ?? "RollingUpdate"
        guard type == "RollingUpdate" || type == "OnDelete" else {
            return [FieldError("\(f).type", "Unsupported value: \"\(type)\": supported values: \"OnDelete\", \"RollingUpdate\"")]
        }
        guard let rolling = strategy["rollingUpdate"], rolling != .null else { return [] }
        if type == "OnDelete" {
            return [FieldError("\(f).rollingUpdate", "Invalid value: only allowed for updateStrategy 'RollingUpdate'")]
        }
        if let p = rolling["partition"], p != .null {
            if case .int(let n) = p, n >= 0 {} else {
                e.append(FieldError("\(f).rollingUpdate.partition", "Invalid value: \(p.scalarText ?? "\(p)"): must be greater than or equal to 0"))
            }
        }
        if let m = rolling["maxUnavailable"], m != .null {
            switch m {
            case .int(let n) where n >= 1: break
            case .string(let t) where t.hasSuffix("%"):
                if let n = Int(t.dropLast()), n > 0, n <= 100 {} else {
                    e.append(FieldError("\(f).rollingUpdate.maxUnavailable", "Invalid value: \"\(t)\": must be a percentage between 1% and 100%"))
                }
            default:
                e.append(FieldError("\(f).rollingUpdate.maxUnavailable", "Invalid value: \(m.scalarText ?? "\(m)"): must be greater than 0 (an integer or a percentage)"))
            }
        }
        return e
    }

    public func validateUpdate(from old: StatefulSet) -> [FieldError] {
        var a = old.spec, b = spec
        a.replicas = b.replicas
        a.ordinals = b.ordinals
        a.template = b.template
        a.updateStrategy = b.updateStrategy
        a.persistentVolumeClaimRetentionPolicy = b.persistentVolumeClaimRetentionPolicy
        a.minReadySeconds = b.minReadySeconds
        a.revisionHistoryLimit = b.revisionHistoryLimit
        if a != b {
            return [FieldError("spec", "Forbidden: updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden")]
        }
        return []
    }

    public mutating func keepStatus(from old: StatefulSet?) {
        status = old?.status ?? Status()
        if let old, old.spec != spec { metadata.generation = (old.metadata.generation ?? 1) + 1 }
    }
}
