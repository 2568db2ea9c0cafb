import Foundation

/// v1 Event: what happened to an object and why.
public struct Event: KubeObject, Hashable {
    public static let info = KindInfo.event
    public var apiVersion: String?
    public var kind: String?
    public var metadata: ObjectMeta
    public var involvedObject: ObjectReference
    public var reason: String?
    public var message: String?
    public var type: String?
    public var count: Int?
    public var firstTimestamp: String?
    public var lastTimestamp: String?
    public var source: Source?
    public var reportingComponent: String?
    public var reportingInstance: String?

    public struct Source: Codable, Sendable, Hashable {
        public var component: String?
        public var host: String?
    }

    init(metadata: ObjectMeta, involvedObject: ObjectReference) {
        self.metadata = metadata
        self.involvedObject = involvedObject
    }

    public init(about object: ObjectReference, type: String, reason: String, message: String, host: String) {
        let name = (object.name ?? "object") + "." + String(UInt64.random(in: 0...UInt64.max), radix: 16)
        self.metadata = ObjectMeta(name: name, namespace: (object.namespace ?? "").isEmpty ? "default" : object.namespace)
        self.involvedObject = object
        self.involvedObject.resourceVersion = nil
        self.reason = reason
        self.message = message
        self.type = type
        self.count = 1
        let now = Timestamp.now()
        self.firstTimestamp = now
        self.lastTimestamp = now
        self.source = Source(component: "berth", host: host)
        self.reportingComponent = "berth"
        self.reportingInstance = host
        setTypeMeta()
    }

    public mutating func applyDefaults() {
        if type == nil { type = "Normal" }
        if count == nil { count = 1 }
    }

    public func validate() -> [FieldError] {
        var e = Validation.validateMeta(metadata, info: Self.info)
        if (involvedObject.name ?? "").isEmpty { e.append(FieldError("involvedObject.name", "Required value")) }
        if let t = type, t != "Normal", t != "Warning" {
            e.append(FieldError("type", "Unsupported value: \"\(t)\": supported values: \"Normal\", \"Warning\""))
        }
        return e
    }

    public mutating func keepStatus(from old: Event?) {}
}
