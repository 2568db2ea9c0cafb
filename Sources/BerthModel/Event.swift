import Foundation
import Synchronization

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
        // `<object>.<hex nanoseconds>` as Kubernetes names events: listed by name, one object's
        // events come out in the order they happened (kubectl describe keeps that order for a tie)
        let name = (object.name ?? "object") + "." + String(EventClock.next(), radix: 16)
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

/// Nanoseconds since the epoch, strictly increasing within the process, for event names.
enum EventClock {
    private static let last = Mutex<UInt64>(0)

    static func next() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        let now = UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
        return last.withLock { last in
            last = max(now, last + 1)
            return last
        }
    }
}
