/// v1 Node: a host or a simulated node. berth reports each storage pool as an extended resource
/// `berth.io/pool.<name>` in `status.capacity`, and what is free of it in `status.allocatable`.
public struct Node: KubeObject, Hashable {
    public static let info = KindInfo.node
    public var apiVersion: String?
    public var kind: String?
    public var metadata: ObjectMeta
    public var spec: Spec?
    public var status: Status?

    public struct Spec: Codable, Sendable, Hashable {
        public var unschedulable: Bool?
        public var taints: [JSONValue]?
        public init(unschedulable: Bool? = nil) { self.unschedulable = unschedulable }
    }

    public struct Condition: Codable, Sendable, Hashable {
        public var type: String
        public var status: String
        public var reason: String?
        public var message: String?
        public var lastHeartbeatTime: String?
        public var lastTransitionTime: String?
        public init(type: String, status: String, reason: String? = nil, message: String? = nil) {
            self.type = type
            self.status = status
            self.reason = reason
            self.message = message
        }
    }

    public struct Address: Codable, Sendable, Hashable {
        public var type: String
        public var address: String
        public init(type: String, address: String) { self.type = type; self.address = address }
    }

    public struct Status: Codable, Sendable, Hashable {
        public var capacity: [String: Quantity]?
        public var allocatable: [String: Quantity]?
        public var conditions: [Condition]?
        public var addresses: [Address]?
        public var nodeInfo: [String: String]?
        public init() {}
    }

    public init(name: String, labels: [String: String]? = nil) {
        self.metadata = ObjectMeta(name: name, labels: labels)
        setTypeMeta()
    }

    public static func poolResource(_ pool: String) -> String { "berth.io/pool.\(pool)" }

    public mutating func applyDefaults() {}

    public func validate() -> [FieldError] {
        Validation.validateMeta(metadata, info: Self.info)
    }

    public mutating func keepStatus(from old: Node?) {
        if let old { status = old.status }
    }
}
