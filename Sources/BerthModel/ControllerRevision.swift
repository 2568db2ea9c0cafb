/// apps/v1 ControllerRevision: one immutable snapshot of a StatefulSet's pod template. `data` is the
/// patch that restores it (`{"spec":{"template":{…,"$patch":"replace"}}}`, as Kubernetes stores it)
/// and `revision` orders the snapshots; a rollback reuses an old snapshot and gives it the next number.
public struct ControllerRevision: KubeObject, Hashable {
    public static let info = KindInfo.controllerRevision
    public var apiVersion: String?
    public var kind: String?
    public var metadata: ObjectMeta
    public var data: JSONValue?
    /// `revision` in JSON (`revision` in Swift is every object's resourceVersion).
    public var revisionNumber: Int64

    public init(namespace: String, name: String, data: JSONValue?, revision: Int64) {
        self.metadata = ObjectMeta(name: name, namespace: namespace)
        self.data = data
        self.revisionNumber = revision
        setTypeMeta()
    }

    /// The pod template this revision restores.
    public var template: StatefulSet.PodTemplate? {
        guard case .object(var t)? = data?["spec"]?["template"] else { return nil }
        t.removeValue(forKey: "$patch")
        return try? StatefulSet.PodTemplate.decodeTemplate(.object(t))
    }

    public mutating func applyDefaults() {}

    public func validate() -> [FieldError] {
        var e = Validation.validateMeta(metadata, info: Self.info)
        if revisionNumber < 0 { e.append(FieldError("revision", "Invalid value: \(revisionNumber): must be greater than or equal to 0")) }
        return e
    }

    public func validateUpdate(from old: ControllerRevision) -> [FieldError] {
        data == old.data ? [] : [FieldError("data", "Invalid value: field is immutable")]
    }

    public mutating func keepStatus(from old: ControllerRevision?) {}
}

extension StatefulSet.PodTemplate {
    static func decodeTemplate(_ tree: JSONValue) throws -> StatefulSet.PodTemplate {
        try JSONReader.decode(StatefulSet.PodTemplate.self, from: tree.jsonData())
    }
}

extension ControllerRevision: JSONCodable {
    public init(from r: inout JSONReader) throws {
        var apiVersion: String?, kind: String?, metadata: ObjectMeta?, data: JSONValue?, revision: Int64?
        try r.object { r, k in
            switch k {
            case "apiVersion": apiVersion = try r.optString()
            case "kind": kind = try r.optString()
            case "metadata": metadata = try r.opt()
            case "data": data = try r.opt()
            case "revision": revision = try r.optInt64()
            default: try r.unknown()
            }
        }
        guard let metadata else { throw missing("metadata") }
        self.init(namespace: "", name: "", data: data, revision: revision ?? 0)
        self.metadata = metadata
        self.apiVersion = apiVersion
        self.kind = kind
    }

    public func write(to w: inout JSONWriter) {
        w.beginObject()
        w.field("apiVersion", apiVersion)
        w.field("data", data)
        w.field("kind", kind)
        w.field("metadata", metadata)
        w.field("revision", revisionNumber)
        w.endObject()
    }
}

extension ControllerRevision {
    enum CodingKeys: String, CodingKey { case apiVersion, kind, metadata, data, revisionNumber = "revision" }
}
