import BerthModel
import Foundation

/// Typed paths and manifest handling on top of `APIClient`.
extension APIClient {
    public static func collectionPath(_ info: KindInfo, namespace: String?) -> String {
        info.collectionPath(namespace: info.isNamespaced ? namespace : nil)
    }

    public static func objectPath(_ info: KindInfo, namespace: String?, name: String) -> String {
        info.objectPath(namespace: info.isNamespaced ? namespace : nil, name: name)
    }

    public func get(_ info: KindInfo, namespace: String?, name: String) async throws -> JSONValue? {
        let response = try await send(.GET, Self.objectPath(info, namespace: namespace, name: name))
        if response.status == 404 { return nil }
        guard (200..<300).contains(response.status) else { throw Self.error(from: response) }
        return try response.json
    }

    public func list(_ info: KindInfo, namespace: String?, labelSelector: String? = nil,
                     fieldSelector: String? = nil) async throws -> (items: [JSONValue], resourceVersion: String) {
        var q: [(String, String)] = []
        if let labelSelector { q.append(("labelSelector", labelSelector)) }
        if let fieldSelector { q.append(("fieldSelector", fieldSelector)) }
        let result = try await call(.GET, Self.collectionPath(info, namespace: namespace) + Self.query(q))
        guard case .array(let items)? = result["items"] else { return ([], "") }
        return (items, result["metadata"]?["resourceVersion"]?.stringValue ?? "")
    }
}

/// One parsed, locally validated manifest document.
public struct ManifestObject: Sendable {
    public var info: KindInfo
    public var namespace: String?
    public var name: String
    public var body: JSONValue

    public var display: String { "\(info.singular)\(info.group.isEmpty ? "" : "." + info.group)/\(name)" }
}

public enum ManifestLoader {
    /// Parses every document and validates each as the server would, so that a bad file is
    /// rejected before anything is sent.
    public static func load(text: String, source: String, defaultNamespace: String) throws -> [ManifestObject] {
        var out: [ManifestObject] = []
        for doc in try Manifest.documents(from: text, source: source) {
            let info = try Manifest.kindInfo(of: doc, source: source)
            var body = doc
            let docNamespace = doc["metadata"]?["namespace"]?.stringValue
            let namespace = info.isNamespaced ? (docNamespace ?? defaultNamespace) : nil
            if info.isNamespaced, case .object(var o) = body {
                o["metadata"] = (o["metadata"] ?? .object([:])).merged(with: .object(["namespace": .string(namespace!)]))
                body = .object(o)
            }
            let name = try check(body, info: info, source: source)
            out.append(ManifestObject(info: info, namespace: namespace, name: name, body: body))
        }
        if out.isEmpty { throw BerthError.badRequest("\(source): no objects found; a manifest needs apiVersion, kind and metadata") }
        return out
    }

    static func check(_ body: JSONValue, info: KindInfo, source: String) throws -> String {
        func run<T: KubeObject>(_ type: T.Type) throws -> String {
            var obj: T
            do { obj = try T.decode(body) } catch let e as BerthError {
                throw BerthError.invalid("\(source): \(e.message)")
            }
            obj.applyDefaults()
            var errors = obj.validate()
            if (obj.metadata.name ?? "").isEmpty, !(obj.metadata.generateName ?? "").isEmpty {
                errors.removeAll { $0.field == "metadata.name" }
            }
            if !errors.isEmpty {
                let shown = obj.name.isEmpty ? T.info.kind : "\(T.info.kind) \"\(obj.name)\""
                // a misspelt field is often why a required one is missing: name it too
                let unknown = ((try? T.decodeNotingUnknown(body: body.jsonData()))?.1 ?? []).map { "unknown field \"\($0)\"" }
                let hint = unknown.isEmpty ? "" : "; " + unknown.joined(separator: ", ") + " (misspelt?)"
                throw BerthError.invalid("\(source): \(shown) is invalid: " + errors.map(\.description).joined(separator: "; ") + hint, causes: errors)
            }
            return obj.name
        }
        return try run(ObjectTypes.type(for: info))
    }
}

/// Parses durations as kubectl writes them: 30s, 2m, 1h, 500ms, 1m30s.
public enum DurationText {
    public static func parse(_ text: String) throws -> Duration {
        if let seconds = Double(text) { return .milliseconds(Int64(seconds * 1000)) }
        var total: Double = 0
        var number = ""
        var rest = Substring(text)
        while !rest.isEmpty {
            let c = rest.first!
            if c.isNumber || c == "." { number.append(c); rest = rest.dropFirst(); continue }
            guard let n = Double(number) else { break }
            if rest.hasPrefix("ms") { total += n / 1000; rest = rest.dropFirst(2) }
            else if c == "s" { total += n; rest = rest.dropFirst() }
            else if c == "m" { total += n * 60; rest = rest.dropFirst() }
            else if c == "h" { total += n * 3600; rest = rest.dropFirst() }
            else { throw BerthError.invalid("duration '\(text)' has an unknown unit; use ms, s, m or h (e.g. 30s)") }
            number = ""
        }
        guard number.isEmpty, total > 0 || text.hasPrefix("0") else {
            throw BerthError.invalid("duration '\(text)' is not valid; use a number with a unit, e.g. 30s, 2m or 1h")
        }
        return .milliseconds(Int64(total * 1000))
    }
}
