/// v1 Pod, simulated: scheduled to a node and given its claims' volumes as real paths under the
/// agent's state directory; no containers are run. The spec is kept whole as the user wrote it
/// (containers and all), with typed access to the fields berth acts on.
public struct Pod: KubeObject, Hashable {
    public static let info = KindInfo.pod
    public var apiVersion: String?
    public var kind: String?
    public var metadata: ObjectMeta
    public var spec: PodSpec
    public var status: Status?

    public struct Condition: Codable, Sendable, Hashable {
        public var type: String
        public var status: String
        public var reason: String?
        public var message: String?
        public var lastTransitionTime: String?
        public init(type: String, status: String, reason: String? = nil, message: String? = nil, lastTransitionTime: String? = nil) {
            self.type = type
            self.status = status
            self.reason = reason
            self.message = message
            self.lastTransitionTime = lastTransitionTime
        }
    }

    public struct Status: Codable, Sendable, Hashable {
        public var phase: String?
        public var conditions: [Condition]?
        public var message: String?
        public var reason: String?
        public var hostIP: String?
        public var startTime: String?
        public init(phase: String? = nil) { self.phase = phase }
    }

    public init(namespace: String, name: String, spec: PodSpec = PodSpec()) {
        self.metadata = ObjectMeta(name: name, namespace: namespace)
        self.spec = spec
        setTypeMeta()
    }

    public var phase: String { status?.phase ?? "Pending" }
    public var isReady: Bool { status?.conditions?.contains { $0.type == "Ready" && $0.status == "True" } ?? false }
    public var nodeName: String { spec.nodeName ?? "" }

    /// The claims this pod's volumes name, in order: (volume name, claim name).
    public var claimVolumes: [(volume: String, claim: String)] {
        spec.volumes.compactMap { v in v.claimName.map { (v.name, $0) } }
    }

    public mutating func applyDefaults() { spec.applyDefaults() }

    public func validate() -> [FieldError] {
        var e = Validation.validateMeta(metadata, info: Self.info)
        e += spec.validate(field: "spec")
        return e
    }

    public func validateUpdate(from old: Pod) -> [FieldError] {
        var e: [FieldError] = []
        if let node = old.spec.nodeName, !node.isEmpty, spec.nodeName != node {
            e.append(FieldError("spec.nodeName", "Forbidden: pod updates may not change fields other than `spec.containers[*].image`, `spec.initContainers[*].image`, `spec.activeDeadlineSeconds`, `spec.tolerations` (only additions to existing tolerations) or `spec.terminationGracePeriodSeconds`"))
        }
        if old.spec.volumes != spec.volumes {
            e.append(FieldError("spec.volumes", "Forbidden: pod updates may not change volumes"))
        }
        return e
    }

    public mutating func keepStatus(from old: Pod?) {
        status = old?.status ?? Status(phase: "Pending")
    }

    public mutating func setCondition(_ type: String, _ value: Bool, reason: String? = nil, message: String? = nil) {
        var s = status ?? Status()
        var conditions = s.conditions ?? []
        let text = value ? "True" : "False"
        if let i = conditions.firstIndex(where: { $0.type == type }) {
            if conditions[i].status != text { conditions[i].lastTransitionTime = Timestamp.now() }
            conditions[i].status = text
            conditions[i].reason = reason
            conditions[i].message = message
        } else {
            conditions.append(Condition(type: type, status: text, reason: reason, message: message, lastTransitionTime: Timestamp.now()))
        }
        s.conditions = conditions
        status = s
    }
}

/// A pod's spec: every field as written, with typed access to those berth uses.
public struct PodSpec: Codable, Sendable, Hashable {
    public var fields: [String: JSONValue]

    public init(fields: [String: JSONValue] = [:]) { self.fields = fields }

    public init(from decoder: any Decoder) throws {
        fields = try [String: JSONValue](from: decoder)
    }

    public func encode(to encoder: any Encoder) throws { try fields.encode(to: encoder) }

    /// Kubernetes' defaults for the fields berth keeps: restartPolicy, schedulerName, and each
    /// container port's protocol (TCP), which `kubectl describe` prints.
    public mutating func applyDefaults() {
        if fields["restartPolicy"] == nil { fields["restartPolicy"] = .string("Always") }
        if fields["schedulerName"] == nil { fields["schedulerName"] = .string("default-scheduler") }
        for list in ["containers", "initContainers"] {
            guard case .array(var containers)? = fields[list] else { continue }
            for i in containers.indices {
                guard case .object(var container) = containers[i], case .array(var ports)? = container["ports"] else { continue }
                for j in ports.indices {
                    if case .object(var port) = ports[j], port["protocol"] == nil {
                        port["protocol"] = .string("TCP")
                        ports[j] = .object(port)
                    }
                }
                container["ports"] = .array(ports)
                containers[i] = .object(container)
            }
            fields[list] = .array(containers)
        }
    }

    public var nodeName: String? {
        get { fields["nodeName"]?.stringValue }
        set { fields["nodeName"] = newValue.map { .string($0) } }
    }

    public var hostname: String? {
        get { fields["hostname"]?.stringValue }
        set { fields["hostname"] = newValue.map { .string($0) } }
    }

    public var subdomain: String? {
        get { fields["subdomain"]?.stringValue }
        set { fields["subdomain"] = newValue.map { .string($0) } }
    }

    public var nodeSelector: [String: String] {
        (fields["nodeSelector"]?.objectValue ?? [:]).compactMapValues(\.stringValue)
    }

    public var volumes: [PodVolume] {
        get {
            guard case .array(let items)? = fields["volumes"] else { return [] }
            return items.map(PodVolume.init(tree:))
        }
        set { fields["volumes"] = newValue.isEmpty ? nil : .array(newValue.map { .object($0.tree) }) }
    }

    func validate(field: String) -> [FieldError] {
        var e: [FieldError] = []
        var names = Set<String>()
        for (i, v) in volumes.enumerated() {
            let f = "\(field).volumes[\(i)]"
            if v.name.isEmpty { e.append(FieldError("\(f).name", "Required value")) }
            else {
                for p in Validation.dnsLabelProblems(v.name) { e.append(FieldError("\(f).name", "Invalid value: \"\(v.name)\": \(p)")) }
                if !names.insert(v.name).inserted { e.append(FieldError("\(f).name", "Duplicate value: \"\(v.name)\"")) }
            }
            if let c = v.claimName, c.isEmpty { e.append(FieldError("\(f).persistentVolumeClaim.claimName", "Required value")) }
        }
        if let n = fields["nodeSelector"], n.objectValue == nil { e.append(FieldError("\(field).nodeSelector", "Invalid value: must be a map of strings")) }
        return e
    }
}

/// One entry of `spec.volumes`, kept whole; `claimName` for persistentVolumeClaim volumes.
public struct PodVolume: Sendable, Hashable {
    public var tree: [String: JSONValue]

    public init(tree: JSONValue) { self.tree = tree.objectValue ?? [:] }

    public init(name: String, claimName: String) {
        tree = ["name": .string(name), "persistentVolumeClaim": .object(["claimName": .string(claimName)])]
    }

    public var name: String { tree["name"]?.stringValue ?? "" }
    public var claimName: String? { tree["persistentVolumeClaim"]?["claimName"]?.stringValue }
}
