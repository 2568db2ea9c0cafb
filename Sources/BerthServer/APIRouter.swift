import BerthCatalog
import BerthModel
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore

/// The HTTP API with Kubernetes' paths, JSON shapes and Status errors.
struct APIRouter: Sendable {
    let catalog: any Catalog
    let version: VersionInfo
    let logger: Logger

    /// Builds the router; `token`, when set, is required as a bearer token on every request.
    func makeRouter(token: String?) -> Router<BasicRequestContext> {
        let router = Router(context: BasicRequestContext.self)
        if let token { router.add(middleware: BearerTokenMiddleware(token: token)) }
        router.get("/healthz") { _, _ in Self.text("ok") }
        router.get("/livez") { _, _ in Self.text("ok") }
        router.get("/readyz") { _, _ in Self.text("ok") }
        router.get("/version") { _, _ in Self.json(try JSON.encode(self.version)) }
        for root in ["/api", "/apis"] {
            router.get(RouterPath(root)) { request, _ in
                guard let doc = Discovery.response(for: request.uri.path) else {
                    return Self.error(.notFound("the server could not find the requested resource"))
                }
                return Self.json(doc.jsonData())
            }
        }
        router.get("/openapi/**") { request, _ in
            guard let doc = Discovery.response(for: request.uri.path) else {
                return Self.error(.notFound("the server could not find the requested resource"))
            }
            return Self.json(doc.jsonData())
        }
        for method in [HTTPRequest.Method.get, .post, .put, .patch, .delete] {
            router.on("/api/**", method: method) { request, _ in await self.handle(request) }
            router.on("/apis/**", method: method) { request, _ in await self.handle(request) }
        }
        return router
    }

    static func text(_ s: String) -> Response {
        Response(status: .ok, headers: [.contentType: "text/plain; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: s)))
    }

    static func json(_ data: Data, status: HTTPResponse.Status = .ok, warnings: [String] = []) -> Response {
        var headers: HTTPFields = [.contentType: "application/json"]
        for w in warnings {
            // RFC 7234 warn-code 299, as Kubernetes sends them; kubectl prints "Warning: <text>"
            headers.append(HTTPField(name: HTTPField.Name("Warning")!, value: "299 - \"" + w.replacingOccurrences(of: "\"", with: "\\\"") + "\""))
        }
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    static func error(_ e: BerthError, kind: String? = nil, name: String? = nil) -> Response {
        json(StatusResponse.body(for: e, kind: kind, name: name), status: HTTPResponse.Status(code: e.httpStatus))
    }

    /// What a path names.
    struct Target {
        var info: KindInfo
        var namespace: String?
        var name: String?
        var subresource: String?
    }

    static func parse(path: String) throws -> Target {
        var parts = path.split(separator: "/").map(String.init)
        guard !parts.isEmpty else { throw BerthError.notFound("the server could not find the requested resource") }
        let group: String
        if parts.first == "api", parts.count >= 2 {
            group = ""
            parts.removeFirst(2)
        } else if parts.first == "apis", parts.count >= 3 {
            group = parts[1]
            parts.removeFirst(3)
        } else {
            throw BerthError.notFound("the server could not find the requested resource")
        }
        var namespace: String?
        if parts.first == "namespaces", parts.count >= 3 {
            namespace = parts[1]
            parts.removeFirst(2)
        }
        guard let plural = parts.first, let info = KindInfo.forPlural(plural, group: group), parts.count <= 3 else {
            throw BerthError.notFound("the server could not find the requested resource (\(path))")
        }
        if namespace != nil, !info.isNamespaced {
            throw BerthError.notFound("the server could not find the requested resource (\(info.kind) is cluster-scoped)")
        }
        let name = parts.count >= 2 ? parts[1] : nil
        let sub = parts.count == 3 ? parts[2] : nil
        if let sub, sub != "status", !(sub == "scale" && info == .statefulSet) {
            throw BerthError.notFound("the server could not find the requested resource (subresource \(sub))")
        }
        if name != nil, info.isNamespaced, namespace == nil {
            throw BerthError.notFound("the server could not find the requested resource (\(info.plural) need a namespace)")
        }
        return Target(info: info, namespace: namespace, name: name, subresource: sub)
    }

    func handle(_ request: Request) async -> Response {
        var target: Target?
        do {
            if request.method == .get, let doc = Discovery.response(for: request.uri.path) {
                return Self.json(doc.jsonData())
            }
            if request.uri.path == "/apis/berth.io/v1/apply" {
                guard request.method == .post else { throw BerthError(.methodNotAllowed, "use POST for /apis/berth.io/v1/apply") }
                return Self.json(try await BatchApply.run(body: try await bodyData(request), catalog: catalog))
            }
            let t = try Self.parse(path: request.uri.path)
            target = t
            if t.subresource == "scale", let name = t.name {
                return try await scale(request, namespace: t.namespace ?? "", name: name)
            }
            return try await dispatch(request, t, type: ObjectTypes.type(for: t.info))
        } catch let e as BerthError {
            if e.code == .internalError { logger.error("request failed", metadata: ["path": "\(request.uri.path)", "error": "\(e)", "cause": "\(e.underlying ?? "")"]) }
            // Invalid names the Kind and the object; the other reasons the resource
            let kind = e.code == .invalid ? target?.info.kind : target?.info.plural
            return Self.error(e, kind: kind, name: e.objectName ?? target?.name)
        } catch {
            logger.error("request failed", metadata: ["path": "\(request.uri.path)", "error": "\(error)"])
            return Self.error(.internalError("internal error, see the agent's log"), kind: target?.info.plural, name: target?.name)
        }
    }

    func dispatch<T: KubeObject>(_ request: Request, _ target: Target, type: T.Type) async throws -> Response {
        let q = request.uri.queryParameters
        let namespace = target.namespace
        let validation = try FieldValidation.from(q["fieldValidation"].map(String.init))
        switch (request.method, target.name) {
        case (.get, nil):
            let labels = try q["labelSelector"].map { try LabelSelector.parse(String($0)) }
            let fields = try q["fieldSelector"].map { try FieldSelector.parse(String($0)) }
            let filter = ListFilter(namespace: namespace, labels: labels, fields: fields)
            if Self.isTrue(q["watch"].map(String.init)) {
                let from = q["resourceVersion"].flatMap { Int64($0) }
                let timeout = q["timeoutSeconds"].flatMap { Int($0) } ?? 1800
                var stream = WatchStream(catalog: catalog, info: T.info, filter: filter, logger: logger)
                stream.initialEventsBookmark = Self.isTrue(q["sendInitialEvents"].map(String.init))
                if Self.wantsTable(request) {
                    // kubectl get -w: every event's object is a one-row Table
                    let info = T.info, include = q["includeObject"] == "Object"
                    stream.transform = { data in
                        guard let object = try? JSON.parse(data) else { return data }
                        return Discovery.table(info, objects: [object], resourceVersion: object["metadata"]?["resourceVersion"]?.stringValue,
                                               includeObject: include).jsonData()
                    }
                }
                return try await stream.response(from: from, timeout: .seconds(timeout))
            }
            let listed = try await list(T.info, filter: filter)
            if Self.wantsTable(request) {
                let tree = try JSON.parse(listed)
                guard case .array(let items)? = tree["items"] else { return Self.json(listed) }
                return Self.json(Discovery.table(T.info, objects: items, resourceVersion: tree["metadata"]?["resourceVersion"]?.stringValue,
                                                 includeObject: q["includeObject"] == "Object").jsonData())
            }
            return Self.json(listed)
        case (.get, let name?):
            let stored = try await catalog.read { tx in
                try tx.getStored(kind: T.info.kind, namespace: T.info.isNamespaced ? namespace ?? "" : "", name: name)
            }
            guard let stored else { throw BerthError.notFound("\(T.info.plural) \"\(name)\" not found") }
            if Self.wantsTable(request) {
                let object = try JSON.parse(stored.data)
                return Self.json(Discovery.table(T.info, objects: [object], resourceVersion: String(stored.revision),
                                                 includeObject: q["includeObject"] == "Object").jsonData())
            }
            return Self.json(stored.data)
        case (.post, nil):
            if T.info.isNamespaced, namespace == nil {
                throw BerthError(.methodNotAllowed, "create \(T.info.plural) under /namespaces/{namespace}/\(T.info.plural)")
            }
            let (obj, warnings) = try ObjectAdmission<T>.decode(try await bodyData(request), namespace: namespace, validation: validation)
            let created = try await Self.naming(obj.name) {
                try await write(dryRun: Self.isDryRun(q)) { tx in try ObjectAdmission<T>.create(obj, in: tx) }
            }
            return Self.json(try JSON.encode(created), status: .created, warnings: warnings)
        case (.put, let name?):
            var (obj, warnings) = try ObjectAdmission<T>.decode(try await bodyData(request), namespace: namespace, validation: validation)
            if obj.name != name {
                throw BerthError.badRequest("the name of the object (\(obj.name)) does not match the name on the URL (\(name))")
            }
            obj.metadata.name = name
            let statusOnly = target.subresource == "status"
            let object = obj
            let updated = try await write(dryRun: Self.isDryRun(q)) { tx in try ObjectAdmission<T>.replace(object, statusOnly: statusOnly, in: tx) }
            return Self.json(try JSON.encode(updated), warnings: warnings)
        case (.patch, let name?):
            let contentType = request.headers[.contentType] ?? ""
            if contentType.contains("json-patch+json") {
                throw BerthError(.badRequest, "JSON patch (application/json-patch+json) is not supported; send a merge patch (application/merge-patch+json) or a strategic merge patch")
            }
            let statusOnly = target.subresource == "status"
            let ns = namespace ?? ""
            let dryRun = Self.isDryRun(q)
            if contentType.contains("apply-patch") {
                // server-side apply, simplified: create the object when absent, else merge what the
                // manifest sets (no field ownership, so no conflicts are reported)
                let manifest = try Manifest.documents(from: String(decoding: try await bodyData(request), as: UTF8.self), source: "the apply patch")
                guard manifest.count == 1, let tree = manifest.first else { throw BerthError.badRequest("an apply patch holds exactly one object") }
                var (object, warnings) = try ObjectAdmission<T>.decode(tree.jsonData(), namespace: T.info.isNamespaced ? ns : nil, validation: validation)
                object.metadata.name = name
                let applied = object
                let (result, created) = try await write(dryRun: dryRun) { tx -> (T, Bool) in
                    if try tx.get(T.self, namespace: ns, name: name) == nil {
                        return (try ObjectAdmission<T>.create(applied, in: tx), true)
                    }
                    var patch = tree
                    if case .object(var o) = patch { o.removeValue(forKey: "status"); patch = .object(o) }
                    return (try ObjectAdmission<T>.patch(namespace: ns, name: name, patch: patch, statusOnly: statusOnly, in: tx), false)
                }
                return Self.json(try JSON.encode(result), status: created ? .created : .ok, warnings: warnings)
            }
            var patch = try await body(request)
            if contentType.contains("strategic-merge-patch") { patch = StrategicMerge.normalize(patch) }
            let merge = patch
            let strategic = contentType.contains("strategic-merge-patch")
            let (updated, warnings) = try await write(dryRun: dryRun) { tx in
                try ObjectAdmission<T>.patch(namespace: ns, name: name, patch: merge, statusOnly: statusOnly, strategic: strategic,
                                             validation: validation, in: tx)
            }
            return Self.json(try JSON.encode(updated), warnings: warnings)
        case (.delete, let name?):
            // DeleteOptions: preconditions.uid, and propagationPolicy (kubectl --cascade) as a body
            // or a query parameter
            let options = try? await body(request)
            let uid = options?["preconditions"]?["uid"]?.stringValue
            let policy = options?["propagationPolicy"]?.stringValue ?? q["propagationPolicy"].map(String.init)
                ?? (options?["orphanDependents"]?.scalarText == "true" ? "Orphan" : "Background")
            guard ["Orphan", "Background", "Foreground"].contains(policy) else {
                throw BerthError.badRequest("propagationPolicy \(policy) is not one of Orphan, Background, Foreground")
            }
            let ns = namespace ?? ""
            let deleted = try await write(dryRun: Self.isDryRun(q)) { tx -> T? in
                guard let current = try tx.get(T.self, namespace: ns, name: name) else { return nil }
                // Orphan: dependents lose their ownerReference to this object and stay (kubectl
                // delete sts --cascade=orphan keeps the pods, to re-create the set around them)
                if policy == "Orphan", (uid ?? "").isEmpty || uid == current.uid {
                    try Self.orphanDependents(of: current.uid, namespace: ns, in: tx)
                }
                return try tx.delete(T.self, namespace: ns, name: name, uid: uid)
            }
            guard let deleted else { throw BerthError.notFound("\(T.info.plural) \"\(name)\" not found") }
            return Self.json(try JSON.encode(deleted))
        default:
            throw BerthError(.methodNotAllowed, "\(request.method) is not allowed on \(request.uri.path)")
        }
    }

    /// `/apis/apps/v1/namespaces/{ns}/statefulsets/{name}/scale`: an autoscaling/v1 Scale; GET reads
    /// it, PUT and PATCH set `spec.replicas` (through the StatefulSet's own admission).
    func scale(_ request: Request, namespace: String, name: String) async throws -> Response {
        func scaleBody(_ set: StatefulSet) throws -> Data {
            let selector = set.spec.selector.map { s in
                ((s.matchLabels ?? [:]).sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
                    + (s.matchExpressions ?? []).map { r in
                        switch r.operator {
                        case "Exists": r.key
                        case "DoesNotExist": "!\(r.key)"
                        default: "\(r.key) \(r.operator.lowercased()) (\((r.values ?? []).joined(separator: ",")))"
                        }
                    }).joined(separator: ",")
            } ?? ""
            let tree: JSONValue = .object([
                "apiVersion": .string("autoscaling/v1"), "kind": .string("Scale"),
                "metadata": .object(["name": .string(set.name), "namespace": .string(set.namespace), "uid": .string(set.uid),
                                     "resourceVersion": .string(set.metadata.resourceVersion ?? ""),
                                     "creationTimestamp": .string(set.metadata.creationTimestamp ?? "")]),
                "spec": .object(["replicas": .int(Int64(set.replicas))]),
                "status": .object(["replicas": .int(Int64(set.status?.replicas ?? 0)), "selector": .string(selector)]),
            ])
            return tree.jsonData()
        }
        switch request.method {
        case .get:
            guard let set = try await catalog.read({ tx in try tx.get(StatefulSet.self, namespace: namespace, name: name) }) else {
                throw BerthError.notFound("statefulsets.apps \"\(name)\" not found")
            }
            return Self.json(try scaleBody(set))
        case .put, .patch:
            let body = try await self.body(request)
            guard let replicas = body["spec"]?["replicas"], case .int(let n) = replicas else {
                throw BerthError.invalid("Scale \"\(name)\" is invalid: spec.replicas: Required value: an integer",
                                         causes: [FieldError("spec.replicas", "Required value")])
            }
            var patch: [String: JSONValue] = ["spec": .object(["replicas": .int(n)])]
            if let rv = body["metadata"]?["resourceVersion"]?.stringValue, !rv.isEmpty {
                patch["metadata"] = .object(["resourceVersion": .string(rv)])
            }
            let merge = JSONValue.object(patch)
            let updated = try await catalog.write { tx in
                try ObjectAdmission<StatefulSet>.patch(namespace: namespace, name: name, patch: merge, statusOnly: false, in: tx)
            }
            return Self.json(try scaleBody(updated))
        default:
            throw BerthError(.methodNotAllowed, "\(request.method) is not allowed on \(request.uri.path)")
        }
    }

    /// Removes the ownerReferences to `uid` from the pods and claims that carry one.
    static func orphanDependents(of uid: String, namespace: String, in tx: any CatalogTransaction) throws {
        func orphan<D: KubeObject>(_ type: D.Type) throws {
            for var dependent in try tx.list(D.self, namespace: namespace) where dependent.metadata.ownerReferences?.contains(where: { $0.uid == uid }) == true {
                let refs = dependent.metadata.ownerReferences!.filter { $0.uid != uid }
                dependent.metadata.ownerReferences = refs.isEmpty ? nil : refs
                try tx.update(dependent)
            }
        }
        try orphan(Pod.self)
        try orphan(PersistentVolumeClaim.self)
        try orphan(ControllerRevision.self)
    }

    /// Runs a write for the object `name`: an Invalid error names it, as Kubernetes' Status does
    /// (kubectl prints `The PersistentVolumeClaim "x" is invalid: …` from it).
    static func naming<R>(_ name: String, _ body: () async throws -> R) async throws -> R {
        do {
            return try await body()
        } catch var e as BerthError where e.code == .invalid && e.objectName == nil {
            e.objectName = name
            throw e
        }
    }

    /// Go's strconv.ParseBool, as Kubernetes reads `watch=` (the Python client sends `True`).
    static func isTrue(_ text: String?) -> Bool { ["1", "t", "T", "true", "TRUE", "True"].contains(text ?? "") }

    static func wantsTable(_ request: Request) -> Bool {
        (request.headers[.accept] ?? "").contains("as=Table")
    }

    static func isDryRun(_ q: some Collection<(key: Substring, value: Substring)>) -> Bool { q.contains { $0.key == "dryRun" && $0.value == "All" } }

    struct DryRunResult<T: Sendable>: Error { let value: T }

    /// A write, or with `dryRun` the same admission and validation in a transaction that is rolled
    /// back: the answer shows what would be stored, and nothing is.
    func write<T: Sendable>(dryRun: Bool, _ body: @escaping @Sendable (any CatalogTransaction) throws -> T) async throws -> T {
        guard dryRun else { return try await catalog.write(body) }
        do {
            _ = try await catalog.write { tx -> T in throw DryRunResult(value: try body(tx)) }
            throw BerthError.internalError("a dry run was committed")
        } catch let r as DryRunResult<T> {
            return r.value
        }
    }

    func bodyData(_ request: Request) async throws -> Data {
        var req = request
        let buffer = try await req.collectBody(upTo: 32 << 20)
        let data = Data(buffer.readableBytesView)
        guard !data.isEmpty else { throw BerthError.badRequest("the request has no body; send the object as JSON") }
        return data
    }

    func body(_ request: Request) async throws -> JSONValue {
        let data = try await bodyData(request)
        do {
            return try JSON.parse(data)
        } catch {
            throw BerthError.badRequest("the request body is not valid JSON: \(error)")
        }
    }

    /// A list response assembled from stored bodies without re-encoding them.
    func list(_ info: KindInfo, filter: ListFilter) async throws -> Data {
        let (items, revision) = try await catalog.read { tx in
            let ns = info.isNamespaced ? filter.namespace : nil
            var items: [Data] = []
            if let name = filter.fields?.exactName {
                for namespace in ns.map({ [$0] }) ?? [] {
                    if let s = try tx.getStored(kind: info.kind, namespace: namespace, name: name) { items.append(s.data) }
                }
                if ns == nil {
                    items = try tx.listStored(kind: info.kind, namespace: nil).filter { $0.name == name }.map(\.data)
                }
            } else {
                items = try tx.listStored(kind: info.kind, namespace: ns).map(\.data)
            }
            return (items, tx.revision)
        }
        var out = Data(#"{"apiVersion":"\#(info.apiVersion)","kind":"\#(info.listKind)","metadata":{"resourceVersion":"\#(revision)"},"items":["#.utf8)
        var first = true
        for item in items where try filter.matches(item) {
            if !first { out.append(UInt8(ascii: ",")) }
            out.append(item)
            first = false
        }
        out.append(contentsOf: Array("]}".utf8))
        return out
    }
}

/// Label and field selectors of a list or watch.
struct ListFilter: Sendable {
    var namespace: String?
    var labels: LabelSelector?
    var fields: FieldSelector?

    func matches(_ data: Data) throws -> Bool {
        if labels == nil, fields == nil { return true }
        let tree = try JSON.parse(data)
        return matches(tree)
    }

    func matches(_ tree: JSONValue) -> Bool {
        if let labels {
            var map: [String: String] = [:]
            for (k, v) in tree["metadata"]?["labels"]?.objectValue ?? [:] { map[k] = v.stringValue }
            if !labels.matches(map) { return false }
        }
        if let fields, !fields.matches(tree) { return false }
        return true
    }
}

/// Requires `Authorization: Bearer <token>`.
struct BearerTokenMiddleware: RouterMiddleware {
    typealias Context = BasicRequestContext
    let token: String

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let expected = "Bearer \(token)"
        guard let header = request.headers[.authorization], constantTimeEqual(header, expected) else {
            return APIRouter.error(BerthError(.unauthorized, "Unauthorized: this listener needs 'Authorization: Bearer <token>' with the agent's --token"))
        }
        return try await next(request, context)
    }

    func constantTimeEqual(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8), y = Array(b.utf8)
        guard x.count == y.count else { return false }
        var diff: UInt8 = 0
        for i in 0..<x.count { diff |= x[i] ^ y[i] }
        return diff == 0
    }
}

/// `/version`, in Kubernetes' shape.
struct VersionInfo: Codable, Sendable {
    var major = "1"
    var minor = "31"
    var gitVersion = "v1.31.0+berth-\(BerthVersion.current)"
    var gitCommit = ""
    var gitTreeState = "clean"
    var buildDate = ""
    var goVersion = "swift6"
    var compiler = "swiftc"
    var platform = "linux/amd64"
    var berthVersion = BerthVersion.current
}
