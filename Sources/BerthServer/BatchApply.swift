import BerthCatalog
import BerthModel
import Foundation

/// `POST /apis/berth.io/v1/apply`: many objects in one atomic catalog transaction.
///
/// Kubernetes has no batch write; kubectl sends one request per object. `berth apply -f` sends a
/// whole manifest here instead: every object is decoded and validated first, then all are created or
/// merged in one transaction, so a file with one bad object changes nothing, and a large file costs
/// one request and one commit instead of thousands.
///
/// Body: `{"mode":"apply"|"create","namespace":"default","items":[{…},…]}`.
/// Answer: `{"kind":"ApplyResult","items":[{"kind","namespace","name","result":"created|configured|unchanged"}]}`.
struct BatchApply {
    /// The request, decoded straight into typed objects (no intermediate tree).
    struct Request {
        var mode: String?
        var namespace: String?
        var fieldValidation: String?
        var items: [Item] = []

        init(body: Data) throws {
            var raw: [[UInt8]] = []
            try JSONReader.read(body) { r in
                try r.object { r, k in
                    switch k {
                    case "mode": mode = try r.optString()
                    case "namespace": namespace = try r.optString()
                    case "fieldValidation": fieldValidation = try r.optString()
                    case "items": try r.array { raw.append(try $0.rawValue()) }
                    default: try r.skip()
                    }
                }
            }
            items = try raw.enumerated().map { i, bytes in
                do {
                    return try Item(bytes, position: "item \(i + 1)")
                } catch let e as JSONReadError {
                    throw BerthError.invalid("item \(i + 1) is malformed: \(e)")
                }
            }
        }
    }

    /// One object of any served kind, decoded by its `kind`.
    struct Item: @unchecked Sendable {
        var info: KindInfo
        var object: any KubeObject
        /// Fields the kind does not know (`spec.resourcez`).
        var unknown: [String]

        init(_ bytes: [UInt8], position: String) throws {
            var kind = "", apiVersion = ""
            try JSONReader.read(bytes) { r in
                try r.object { r, k in
                    switch k {
                    case "kind": kind = try r.optString() ?? ""
                    case "apiVersion": apiVersion = try r.optString() ?? ""
                    default: try r.skip()
                    }
                }
            }
            var tree: JSONValue = .object(["kind": .string(kind), "apiVersion": .string(apiVersion)])
            if kind.isEmpty { tree = .object(["apiVersion": .string(apiVersion)]) }
            info = try Manifest.kindInfo(of: tree, source: position)
            (object, unknown) = try Self.decode(ObjectTypes.type(for: info), bytes)
        }

        static func decode<T: KubeObject>(_ type: T.Type, _ bytes: [UInt8]) throws -> (any KubeObject, [String]) {
            try JSONReader.decodeNotingUnknown(type, from: bytes)
        }
    }

    struct Outcome: Codable, Sendable {
        var kind: String
        var namespace: String?
        var name: String
        var result: String
    }

    /// The prepared items of one request, each handed out once: the transaction holds what it wrote,
    /// so an item written is let go at once rather than at the end of a 10,000-object transaction.
    /// Used only inside the one write that runs them, in order; the catalog runs a write's body once
    /// (GroupCommitWriter never retries it), so an item can never be asked for twice.
    final class PreparedQueue: @unchecked Sendable {
        private var items: [Prepared?]
        init(_ items: [Prepared]) { self.items = items }
        var count: Int { items.count }
        func take(_ i: Int) throws -> Prepared {
            guard let item = items[i] else { throw BerthError.internalError("apply item \(i + 1) was written twice") }
            items[i] = nil
            return item
        }
    }

    /// One prepared item: decoded, defaulted, validated, ready to write.
    struct Prepared: Sendable {
        var index: Int
        var info: KindInfo
        var namespace: String
        var name: String
        var write: @Sendable (any CatalogTransaction, Bool) throws -> String
    }

    static func run(body: Data, catalog: any Catalog) async throws -> Data {
        var request: Request
        do {
            request = try Request(body: body)
        } catch let e as BerthError {
            throw BerthError(e.code, "\(e.message); nothing was applied")
        } catch let e as JSONReadError where e.isSyntax {
            throw BerthError.badRequest("the apply request is not valid JSON: \(e.message); nothing was applied")
        } catch let e as JSONReadError {
            throw BerthError.invalid("the apply request is malformed: \(e); nothing was applied")
        }
        let mode = request.mode ?? "apply"
        guard mode == "apply" || mode == "create" else {
            throw BerthError.badRequest("apply mode '\(mode)' is not 'apply' or 'create'")
        }
        let defaultNamespace = request.namespace ?? "default"
        // berth's own clients ask for Strict; without the field this endpoint is strict too
        let validation = try FieldValidation.from(request.fieldValidation ?? "Strict")
        var warnings: [String] = []
        var prepared: [Prepared] = []
        var seen = Set<String>()
        for (i, entry) in request.items.enumerated() {
            let source = "item \(i + 1)"
            let info = entry.info
            let item = try prepare(entry.object, index: i, info: info, defaultNamespace: defaultNamespace)
            do {
                warnings += try validation.check(entry.unknown, kind: info).map { "item \(i + 1) (\(info.singular)/\(item.name)): \($0)" }
            } catch let e as BerthError {
                throw BerthError(e.code, "item \(i + 1) (\(info.singular)/\(item.name)): \(e.message); nothing was applied")
            }
            let key = "\(info.kind)/\(item.namespace)/\(item.name)"
            guard seen.insert(key).inserted else {
                throw BerthError.invalid("\(source): \(info.kind) \"\(item.name)\" appears twice in this request")
            }
            prepared.append(item)
        }
        // the prepared writes hold the objects now; the decoded items need not live through the transaction
        request.items = []
        let isCreate = mode == "create"
        let ready = PreparedQueue(prepared)
        prepared = []
        let outcomes = try await catalog.write { tx in
            try (0..<ready.count).map { i in
                let item = try ready.take(i)
                do {
                    let result = try item.write(tx, isCreate)
                    return Outcome(kind: item.info.kind, namespace: item.info.isNamespaced ? item.namespace : nil, name: item.name, result: result)
                } catch let e as BerthError {
                    var wrapped = e
                    wrapped.message = "item \(item.index + 1) (\(item.info.singular)/\(item.name)): \(e.message); nothing was applied"
                    throw wrapped
                }
            }
        }
        return try JSON.encode(["apiVersion": "berth.io/v1", "kind": "ApplyResult"] as [String: String])
            .dropLast() + Data(#","warnings":"#.utf8) + JSON.encode(warnings) + Data(#","items":"#.utf8) + JSON.encode(outcomes) + Data("}".utf8)
    }

    static func prepare<T: KubeObject>(_ decoded: T, index: Int, info: KindInfo, defaultNamespace: String) throws -> Prepared {
        var obj = decoded
        if T.info.isNamespaced, (obj.metadata.namespace ?? "").isEmpty { obj.metadata.namespace = defaultNamespace }
        obj.setTypeMeta()
        // validate now, outside the transaction, so the writer only writes
        var check = obj
        check.applyDefaults()
        do {
            try check.validate().throwIfAny(kind: T.info.kind, name: check.name)
        } catch let e as BerthError {
            throw BerthError(e.code, "item \(index + 1): \(e.message); nothing was applied", causes: e.causes)
        }
        let object = obj
        let namespace = T.info.isNamespaced ? object.namespace : ""
        let name = object.name
        return Prepared(index: index, info: info, namespace: namespace, name: name) { tx, createOnly in
            guard let existing = try tx.get(T.self, namespace: namespace, name: name) else {
                _ = try ObjectAdmission<T>.create(object, in: tx)
                return "created"
            }
            if createOnly { throw BerthError.alreadyExists("\(T.info.plural) \"\(name)\" already exists") }
            // merge what the manifest sets (the typed object encodes only the fields it had)
            var patch = try JSON.tree(object)
            if case .object(var o) = patch {
                o.removeValue(forKey: "status")
                patch = .object(o)
            }
            let updated = try ObjectAdmission<T>.patch(namespace: namespace, name: name, patch: patch, statusOnly: false, in: tx)
            return updated.revision == existing.revision ? "unchanged" : "configured"
        }
    }
}
