import Foundation

/// A JSON document as a tree: the form in which manifests arrive and merge patches are applied.
public enum JSONValue: Sendable, Hashable {
    case null
    case bool(Bool)
    case int(Int64)
    case double(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    public subscript(key: String) -> JSONValue? {
        if case .object(let o) = self { return o[key] }
        return nil
    }

    public var stringValue: String? {
        if case .string(let s) = self { return s }
        return nil
    }

    public var objectValue: [String: JSONValue]? {
        if case .object(let o) = self { return o }
        return nil
    }

    /// Follows a dotted path such as `metadata.name` or `spec.claimRef.name`.
    public func value(atPath path: String) -> JSONValue? {
        var current: JSONValue? = self
        for part in path.split(separator: ".") {
            current = current?[String(part)]
        }
        return current
    }

    /// A plain-text rendering of a scalar, as a field selector or jsonpath compares it.
    public var scalarText: String? {
        switch self {
        case .null: return ""
        case .bool(let b): return b ? "true" : "false"
        case .int(let i): return String(i)
        case .double(let d): return d == d.rounded() && abs(d) < 1e15 ? String(Int64(d)) : String(d)
        case .string(let s): return s
        case .array, .object: return nil
        }
    }

    /// Applies an RFC 7386 JSON merge patch.
    public func merged(with patch: JSONValue) -> JSONValue {
        guard case .object(let patchObject) = patch else { return patch }
        var result = self.objectValue ?? [:]
        for (key, value) in patchObject {
            if case .null = value {
                result.removeValue(forKey: key)
            } else {
                result[key] = (result[key] ?? .null).merged(with: value)
            }
        }
        return .object(result)
    }

    /// Converts the output of a YAML or JSON loader (`Any`) into a tree.
    public init(any value: Any?) throws {
        switch value {
        case nil, is NSNull: self = .null
        case let s as String: self = .string(s)
        case let n as NSNumber:
            // JSONSerialization gives NSNumber for numbers and booleans; objCType tells them apart
            switch String(cString: n.objCType) {
            case "c", "B": self = .bool(n.boolValue)
            case "d", "f": self = .double(n.doubleValue)
            default: self = .int(n.int64Value)
            }
        case let b as Bool: self = .bool(b)
        case let i as Int: self = .int(Int64(i))
        case let i as Int64: self = .int(i)
        case let d as Double: self = .double(d)
        case let a as [Any]: self = .array(try a.map { try JSONValue(any: $0) })
        case let a as [Any?]: self = .array(try a.map { try JSONValue(any: $0) })
        case let o as [String: Any]:
            self = .object(try o.mapValues { try JSONValue(any: $0) })
        case let o as [AnyHashable: Any]:
            var out: [String: JSONValue] = [:]
            for (k, v) in o {
                guard let key = k.base as? String else {
                    throw BerthError.invalid("manifest: mapping keys must be strings, got '\(k)'")
                }
                out[key] = try JSONValue(any: v)
            }
            self = .object(out)
        case let data as Data: self = .string(data.base64EncodedString())
        case let date as Date: self = .string(Timestamp.format(date))
        default:
            throw BerthError.invalid("manifest: unsupported value '\(String(describing: value))'")
        }
    }
}

extension JSONValue: ExpressibleByStringLiteral, ExpressibleByDictionaryLiteral, ExpressibleByBooleanLiteral, ExpressibleByArrayLiteral {
    public init(stringLiteral value: String) { self = .string(value) }
    public init(dictionaryLiteral elements: (String, JSONValue)...) { self = .object(Dictionary(elements, uniquingKeysWith: { $1 })) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(arrayLiteral elements: JSONValue...) { self = .array(elements) }
}

extension JSONValue: Codable {
    public init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() { self = .null; return }
        if let b = try? c.decode(Bool.self) { self = .bool(b); return }
        if let i = try? c.decode(Int64.self) { self = .int(i); return }
        if let d = try? c.decode(Double.self) { self = .double(d); return }
        if let s = try? c.decode(String.self) { self = .string(s); return }
        if let a = try? c.decode([JSONValue].self) { self = .array(a); return }
        if let o = try? c.decode([String: JSONValue].self) { self = .object(o); return }
        throw DecodingError.dataCorruptedError(in: c, debugDescription: "not a JSON value")
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .null: try c.encodeNil()
        case .bool(let b): try c.encode(b)
        case .int(let i): try c.encode(i)
        case .double(let d): try c.encode(d)
        case .string(let s): try c.encode(s)
        case .array(let a): try c.encode(a)
        case .object(let o): try c.encode(o)
        }
    }
}

/// The JSON coders berth uses everywhere: sorted keys so that output is stable.
public enum JSON {
    public static func encoder() -> JSONEncoder {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return e
    }

    /// Compact JSON; the stored kinds (and trees) are written by hand, anything else by JSONEncoder.
    public static func encode<T: Encodable>(_ value: T) throws -> Data {
        if let w = value as? any JSONWritable { return w.jsonData() }
        return try encoder().encode(value)
    }

    public static func decode<T: Decodable>(_ type: T.Type, from data: Data) throws -> T {
        if let r = type as? any JSONReadable.Type { return try JSONReader.decode(r, from: data) as! T }
        return try JSONDecoder().decode(type, from: data)
    }

    /// Parses JSON bytes into a tree; a document that is not JSON is a bad request.
    public static func parse(_ data: Data) throws -> JSONValue {
        do {
            return try JSONReader.read(data) { try $0.value() }
        } catch let e as JSONReadError {
            throw BerthError.badRequest("not valid JSON: \(e.message)")
        }
    }

    /// Re-decodes a tree as a typed object.
    public static func convert<T: Decodable>(_ value: JSONValue, to type: T.Type) throws -> T {
        try decode(type, from: value.jsonData())
    }

    public static func tree<T: Encodable>(_ value: T) throws -> JSONValue {
        try parse(try encode(value))
    }
}

/// RFC 3339 timestamps as Kubernetes writes them (`2026-11-27T13:56:01Z`), in UTC, to the second.
///
/// Formatted by hand: Foundation's ISO8601DateFormatter goes through ICU and cost about a tenth of
/// the agent's CPU time when it was used here.
public enum Timestamp {
    public static func now() -> String { format(Date()) }

    public static func format(_ date: Date) -> String {
        var t = time_t(date.timeIntervalSince1970.rounded(.down))
        var tm = tm()
        gmtime_r(&t, &tm)
        func two(_ v: Int32) -> String { v < 10 ? "0\(v)" : "\(v)" }
        return "\(tm.tm_year + 1900)-\(two(tm.tm_mon + 1))-\(two(tm.tm_mday))T\(two(tm.tm_hour)):\(two(tm.tm_min)):\(two(tm.tm_sec))Z"
    }

    /// Parses `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)`; nil when it is not that.
    public static func parse(_ text: String) -> Date? {
        let b = Array(text.utf8)
        guard b.count >= 20, b[4] == 45, b[7] == 45, b[10] == 84 || b[10] == 116, b[13] == 58, b[16] == 58 else { return nil }
        func num(_ from: Int, _ count: Int) -> Int32? {
            var v: Int32 = 0
            for i in from..<(from + count) {
                guard b[i] >= 48, b[i] <= 57 else { return nil }
                v = v * 10 + Int32(b[i] - 48)
            }
            return v
        }
        guard let year = num(0, 4), let month = num(5, 2), let day = num(8, 2), let hour = num(11, 2),
              let minute = num(14, 2), let second = num(17, 2) else { return nil }
        var i = 19
        var fraction = 0.0
        if i < b.count, b[i] == 46 {
            i += 1
            var scale = 0.1
            while i < b.count, b[i] >= 48, b[i] <= 57 {
                fraction += Double(b[i] - 48) * scale
                scale /= 10
                i += 1
            }
        }
        var offset = 0
        guard i < b.count else { return nil }
        if b[i] == 90 || b[i] == 122 {
            i += 1
        } else if b[i] == 43 || b[i] == 45, i + 6 <= b.count, let oh = num(i + 1, 2), let om = num(i + 4, 2) {
            offset = Int(oh) * 3600 + Int(om) * 60
            if b[i] == 43 { offset = -offset }
            i += 6
        } else {
            return nil
        }
        guard i == b.count else { return nil }
        var tm = tm()
        tm.tm_year = year - 1900
        tm.tm_mon = month - 1
        tm.tm_mday = day
        tm.tm_hour = hour
        tm.tm_min = minute
        tm.tm_sec = second
        let seconds = timegm(&tm)
        return Date(timeIntervalSince1970: Double(seconds) + Double(offset) + fraction)
    }
}

#if canImport(Glibc)
import Glibc
#endif

extension UUID {
    /// The canonical lowercase form Kubernetes uses for uids ("8-4-4-4-12" hex digits), made in
    /// one pass: `uuidString.lowercased()` built the uppercase string and then a second one.
    public var lowercaseString: String {
        let hex = Array("0123456789abcdef".utf8)
        return withUnsafeBytes(of: uuid) { bytes in
            String(unsafeUninitializedCapacity: 36) { out in
                var i = 0
                for (n, byte) in bytes.enumerated() {
                    if n == 4 || n == 6 || n == 8 || n == 10 {
                        out[i] = UInt8(ascii: "-")
                        i += 1
                    }
                    out[i] = hex[Int(byte >> 4)]
                    out[i + 1] = hex[Int(byte & 0x0f)]
                    i += 2
                }
                return i
            }
        }
    }
}
