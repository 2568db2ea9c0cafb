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
    struct Request {
        var mode: String?
        var namespace: String?
        var items: [JSONValue]
    }

    struct Outcome: Codable, Sendable {
        var kind: String
        var namespace: String?
        var name: String
        var result: String
    }

    /// One prepared item: decoded, defaulted, validated, ready to write.
    struct Prepared: Sendable {
        var index: Int
        var info: KindInfo
        var namespace: String
        var name: String
        var tree: JSONValue
        var write: @Sendable (any CatalogTransaction, Bool) throws -> String
    }

    static func run(body: Data, catalog: any Catalog) async throws -> Data {
        let tree = try JSON.parse(body)
        guard case .array(let items)? = tree["items"] else {
            throw BerthError.badRequest("the apply request is not {\"mode\":…,\"items\":[…]}")
        }
        let request = Request(mode: tree["mode"]?.stringValue, namespace: tree["namespace"]?.stringValue, items: items)
        let mode = request.mode ?? "apply"
        guard mode == "apply" || mode == "create" else {
            throw BerthError.badRequest("apply mode '\(mode)' is not 'apply' or 'create'")
        }
        let defaultNamespace = request.namespace ?? "default"
        var prepared: [Prepared] = []
        var seen = Set<String>()
        for (i, tree) in request.items.enumerated() {
            let source = "item \(i + 1)"
            let info = try Manifest.kindInfo(of: tree, source: source)
            let item = try prepare(tree, index: i, info: info, type: ObjectTypes.type(for: info), defaultNamespace: defaultNamespace)
            let key = "\(info.kind)/\(item.namespace)/\(item.name)"
            guard seen.insert(key).inserted else {
                throw BerthError.invalid("\(source): \(info.kind) \"\(item.name)\" appears twice in this request")
            }
            prepared.append(item)
        }
        let isCreate = mode == "create"
        let ready = prepared
        let outcomes = try await catalog.write { tx in
            try ready.map { item in
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
            .dropLast() + Data(#","items":"#.utf8) + JSON.encode(outcomes) + Data("}".utf8)
    }

    static func prepare<T: KubeObject>(_ tree: JSONValue, index: Int, info: KindInfo, type: T.Type, defaultNamespace: String) throws -> Prepared {
        var obj: T
        do {
            obj = try T.decode(tree)
        } catch let e as BerthError {
            throw BerthError(e.code, "item \(index + 1): \(e.message); nothing was applied", causes: e.causes)
        }
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
        var patch = tree
        if case .object(var o) = patch {
            o.removeValue(forKey: "status")
            o["metadata"] = (o["metadata"] ?? .object([:])).merged(with: .object(["namespace": T.info.isNamespaced ? .string(namespace) : .null]))
            patch = .object(o)
        }
        let mergePatch = patch
        return Prepared(index: index, info: info, namespace: namespace, name: name, tree: tree) { tx, createOnly in
            guard let existing = try tx.get(T.self, namespace: namespace, name: name) else {
                try ObjectAdmission<T>.create(object, in: tx)
                return "created"
            }
            if createOnly { throw BerthError.alreadyExists("\(T.info.plural) \"\(name)\" already exists") }
            let updated = try ObjectAdmission<T>.patch(namespace: namespace, name: name, patch: mergePatch, statusOnly: false, in: tx)
            return updated.revision == existing.revision ? "unchanged" : "configured"
        }
    }
}
