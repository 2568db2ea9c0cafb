/// Static facts about one kind the API serves: its names, group and scope.
public struct KindInfo: Sendable, Hashable {
    public let kind: String
    public let plural: String
    public let singular: String
    public let shortNames: [String]
    public let group: String
    public let version: String
    public let isNamespaced: Bool

    public var apiVersion: String { group.isEmpty ? version : "\(group)/\(version)" }
    public var listKind: String { kind + "List" }

    /// The collection path, e.g. `/api/v1/namespaces/ns/persistentvolumeclaims`.
    public func collectionPath(namespace: String?) -> String {
        let prefix = group.isEmpty ? "/api/\(version)" : "/apis/\(group)/\(version)"
        if isNamespaced, let namespace { return "\(prefix)/namespaces/\(namespace)/\(plural)" }
        return "\(prefix)/\(plural)"
    }

    public func objectPath(namespace: String?, name: String) -> String {
        collectionPath(namespace: namespace) + "/" + name
    }

    public static let storageClass = KindInfo(kind: "StorageClass", plural: "storageclasses", singular: "storageclass",
                                              shortNames: ["sc"], group: "storage.k8s.io", version: "v1", isNamespaced: false)
    public static let persistentVolume = KindInfo(kind: "PersistentVolume", plural: "persistentvolumes", singular: "persistentvolume",
                                                  shortNames: ["pv"], group: "", version: "v1", isNamespaced: false)
    public static let persistentVolumeClaim = KindInfo(kind: "PersistentVolumeClaim", plural: "persistentvolumeclaims",
                                                       singular: "persistentvolumeclaim", shortNames: ["pvc"], group: "",
                                                       version: "v1", isNamespaced: true)
    public static let node = KindInfo(kind: "Node", plural: "nodes", singular: "node", shortNames: ["no"], group: "",
                                      version: "v1", isNamespaced: false)
    public static let event = KindInfo(kind: "Event", plural: "events", singular: "event", shortNames: ["ev"], group: "",
                                       version: "v1", isNamespaced: true)

    public static let statefulSet = KindInfo(kind: "StatefulSet", plural: "statefulsets", singular: "statefulset", shortNames: ["sts"],
                                             group: "apps", version: "v1", isNamespaced: true)
    public static let pod = KindInfo(kind: "Pod", plural: "pods", singular: "pod", shortNames: ["po"], group: "",
                                     version: "v1", isNamespaced: true)

    public static let controllerRevision = KindInfo(kind: "ControllerRevision", plural: "controllerrevisions", singular: "controllerrevision",
                                                    shortNames: [], group: "apps", version: "v1", isNamespaced: true)

    public static let all: [KindInfo] = [.storageClass, .persistentVolume, .persistentVolumeClaim, .node, .event, .statefulSet, .pod,
                                         .controllerRevision]

    /// Resolves a name as kubectl accepts it: kind, plural, singular or short name, any case,
    /// optionally qualified with a group (`storageclasses.storage.k8s.io`).
    public static func resolve(_ text: String) -> KindInfo? {
        let lower = text.lowercased()
        let base = lower.split(separator: ".", maxSplits: 1).first.map(String.init) ?? lower
        return all.first { info in
            [info.kind.lowercased(), info.plural, info.singular].contains(base) || info.shortNames.contains(base)
        }
    }

    public static func forKind(_ kind: String) -> KindInfo? { all.first { $0.kind == kind } }

    public static func forPlural(_ plural: String, group: String) -> KindInfo? {
        all.first { $0.plural == plural && $0.group == group }
    }
}

/// One object kind berth stores: its JSON shape, defaults and validation.
public protocol KubeObject: Codable, JSONCodable, Sendable, Equatable {
    static var info: KindInfo { get }
    var apiVersion: String? { get set }
    var kind: String? { get set }
    var metadata: ObjectMeta { get set }

    /// Fills defaults as the Kubernetes API server does on create.
    mutating func applyDefaults()
    /// Kubernetes' validation of a whole object.
    func validate() -> [FieldError]
    /// Extra rules for an update (immutable fields).
    func validateUpdate(from old: Self) -> [FieldError]
    /// Status a user sends is ignored; the main resource keeps the stored status.
    mutating func keepStatus(from old: Self?)
}

extension KubeObject {
    public var name: String { metadata.nameOrEmpty }
    public var namespace: String { metadata.namespaceOrEmpty }
    public var uid: String { metadata.uid ?? "" }
    public var revision: Int64 { Int64(metadata.resourceVersion ?? "") ?? 0 }

    public var reference: ObjectReference {
        ObjectReference(apiVersion: Self.info.apiVersion, kind: Self.info.kind,
                        namespace: Self.info.isNamespaced ? namespace : nil,
                        name: name, uid: metadata.uid, resourceVersion: metadata.resourceVersion)
    }

    public mutating func setTypeMeta() {
        apiVersion = Self.info.apiVersion
        kind = Self.info.kind
    }

    public func validateUpdate(from old: Self) -> [FieldError] { [] }

    /// Decodes a typed object from a tree, turning decoding failures into field errors.
    public static func decode(_ tree: JSONValue) throws -> Self {
        try decode(data: tree.jsonData())
    }

    /// A request body: a document that is not JSON is a bad request, JSON of the wrong shape is invalid.
    public static func decode(body data: Data) throws -> Self {
        do {
            return try JSONReader.decode(Self.self, from: data)
        } catch let e as JSONReadError where e.isSyntax {
            throw BerthError.badRequest("the request body \(e.message.replacingOccurrences(of: "the document ", with: ""))")
        } catch let e as JSONReadError where e.path.isEmpty {
            throw BerthError.badRequest("the request body must be a JSON object (a \(info.kind)): \(e.message)")
        } catch let e as JSONReadError {
            throw BerthError.invalid("\(info.kind) is malformed: \(e)")
        }
    }

    /// A request body, also returning the paths of fields berth does not know (for `fieldValidation`).
    public static func decodeNotingUnknown(body data: Data) throws -> (Self, unknown: [String]) {
        do {
            return try JSONReader.decodeNotingUnknown(Self.self, from: data)
        } catch let e as JSONReadError where e.isSyntax {
            throw BerthError.badRequest("the request body \(e.message.replacingOccurrences(of: "the document ", with: ""))")
        } catch let e as JSONReadError where e.path.isEmpty {
            throw BerthError.badRequest("the request body must be a JSON object (a \(info.kind)): \(e.message)")
        } catch let e as JSONReadError {
            throw BerthError.invalid("\(info.kind) is malformed: \(e)")
        }
    }

    public static func decode(data: Data) throws -> Self {
        do {
            return try JSONReader.decode(Self.self, from: data)
        } catch let e as JSONReadError {
            throw BerthError.invalid("\(info.kind) is malformed: \(e)")
        }
    }
}

import Foundation

/// Turns a `DecodingError` into `field.path: what was wrong`.
public enum DecodingErrorText {
    public static func describe(_ error: DecodingError) -> String {
        func path(_ p: [any CodingKey]) -> String {
            let parts = p.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined()
            return parts.hasPrefix(".") ? String(parts.dropFirst()) : parts
        }
        switch error {
        case .typeMismatch(let type, let ctx):
            return "\(path(ctx.codingPath)): expected \(typeName(type))"
        case .valueNotFound(let type, let ctx):
            return "\(path(ctx.codingPath)): required value of type \(typeName(type)) is missing"
        case .keyNotFound(let key, let ctx):
            return "\(path(ctx.codingPath + [key])): required field is missing"
        case .dataCorrupted(let ctx):
            let p = path(ctx.codingPath)
            return p.isEmpty ? ctx.debugDescription : "\(p): \(ctx.debugDescription)"
        @unknown default:
            return "\(error)"
        }
    }

    static func typeName(_ t: Any.Type) -> String {
        switch t {
        case is String.Type: "a string"
        case is Bool.Type: "a boolean"
        case is Int.Type, is Int64.Type, is Int32.Type: "an integer"
        case is [String].Type: "a list of strings"
        default:
            String(describing: t).contains("Dictionary") ? "an object" : (String(describing: t).contains("Array") ? "a list" : "\(t)")
        }
    }
}
