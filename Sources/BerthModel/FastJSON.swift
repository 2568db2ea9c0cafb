import Foundation

// Hand-written JSON coding for the stored kinds.
//
// Every object the catalog writes is encoded once per write and decoded on every cache miss, and
// Foundation's Codable coders cost 25–30 µs per PersistentVolume (measured by `berth-bench --codec`):
// generic Codable dispatch across module boundaries, coding-path bookkeeping and boxing. The types
// here write JSON bytes directly and read them with a pull parser, at a fraction of that; the
// Codable conformances stay for output formatting and are checked against these by tests.

/// Something that writes itself as JSON.
public protocol JSONWritable {
    func write(to w: inout JSONWriter)
}

/// Something that reads itself from JSON.
public protocol JSONReadable {
    init(from r: inout JSONReader) throws
}

public typealias JSONCodable = JSONReadable & JSONWritable

/// Appends compact JSON to a byte buffer. Commas are placed automatically: a key or a value that
/// follows a value gets one.
public struct JSONWriter {
    public private(set) var bytes: [UInt8] = []
    private var needsComma = false

    public init(capacity: Int = 512) { bytes.reserveCapacity(capacity) }

    public var data: Data { Data(bytes) }

    @inline(__always) private mutating func separator() {
        if needsComma { bytes.append(UInt8(ascii: ",")) }
    }

    public mutating func beginObject() { separator(); bytes.append(UInt8(ascii: "{")); needsComma = false }
    public mutating func endObject() { bytes.append(UInt8(ascii: "}")); needsComma = true }
    public mutating func beginArray() { separator(); bytes.append(UInt8(ascii: "[")); needsComma = false }
    public mutating func endArray() { bytes.append(UInt8(ascii: "]")); needsComma = true }

    /// A key known to need no escaping.
    public mutating func key(_ k: StaticString) {
        separator()
        bytes.append(UInt8(ascii: "\""))
        k.withUTF8Buffer { bytes.append(contentsOf: $0) }
        bytes.append(contentsOf: [UInt8(ascii: "\""), UInt8(ascii: ":")])
        needsComma = false
    }

    public mutating func key(_ k: String) {
        separator()
        appendString(k)
        bytes.append(UInt8(ascii: ":"))
        needsComma = false
    }

    public mutating func value(_ s: String) { separator(); appendString(s); needsComma = true }
    public mutating func value(_ b: Bool) {
        separator()
        if b { bytes.append(contentsOf: [0x74, 0x72, 0x75, 0x65]) } else { bytes.append(contentsOf: [0x66, 0x61, 0x6C, 0x73, 0x65]) }
        needsComma = true
    }
    public mutating func null() { separator(); bytes.append(contentsOf: [0x6E, 0x75, 0x6C, 0x6C]); needsComma = true }

    public mutating func value(_ v: Int64) {
        separator()
        if v == 0 {
            bytes.append(UInt8(ascii: "0"))
        } else {
            var digits: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
                         UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) =
                (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
            var n = v.magnitude
            var count = 0
            withUnsafeMutableBytes(of: &digits) { buf in
                while n > 0 {
                    buf[count] = UInt8(ascii: "0") + UInt8(n % 10)
                    n /= 10
                    count += 1
                }
                if v < 0 { bytes.append(UInt8(ascii: "-")) }
                for i in stride(from: count - 1, through: 0, by: -1) { bytes.append(buf[i]) }
            }
        }
        needsComma = true
    }

    public mutating func value(_ d: Double) {
        if d.isFinite, d == d.rounded(), abs(d) < 1e15 { value(Int64(d)); return }
        separator()
        bytes.append(contentsOf: Array((d.isFinite ? "\(d)" : "null").utf8))
        needsComma = true
    }

    /// Raw JSON bytes spliced in as one value (already valid JSON).
    public mutating func raw(_ json: some Collection<UInt8>) { separator(); bytes.append(contentsOf: json); needsComma = true }

    public mutating func value(_ v: some JSONWritable) { v.write(to: &self) }

    private mutating func appendString(_ s: String) {
        bytes.append(UInt8(ascii: "\""))
        var s = s
        s.withUTF8 { utf8 in
            var start = 0
            for i in 0..<utf8.count {
                let c = utf8[i]
                guard c < 0x20 || c == UInt8(ascii: "\"") || c == UInt8(ascii: "\\") else { continue }
                if start < i { bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[start..<i])) }
                start = i + 1
                bytes.append(UInt8(ascii: "\\"))
                switch c {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"): bytes.append(c)
                case 0x0A: bytes.append(UInt8(ascii: "n"))
                case 0x0D: bytes.append(UInt8(ascii: "r"))
                case 0x09: bytes.append(UInt8(ascii: "t"))
                case 0x08: bytes.append(UInt8(ascii: "b"))
                case 0x0C: bytes.append(UInt8(ascii: "f"))
                default:
                    let hex = Array("0123456789abcdef".utf8)
                    bytes.append(contentsOf: [UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0"), hex[Int(c >> 4)], hex[Int(c & 15)]])
                }
            }
            if start < utf8.count { bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[start...])) }
        }
        bytes.append(UInt8(ascii: "\""))
    }

    // MARK: fields that are left out when absent

    public mutating func field(_ k: StaticString, _ v: String?) { if let v { key(k); value(v) } }
    public mutating func field(_ k: StaticString, _ v: Bool?) { if let v { key(k); value(v) } }
    public mutating func field(_ k: StaticString, _ v: Int64?) { if let v { key(k); value(v) } }
    public mutating func field(_ k: StaticString, _ v: Int?) { if let v { key(k); value(Int64(v)) } }
    public mutating func field(_ k: StaticString, _ v: (some JSONWritable)?) { if let v { key(k); v.write(to: &self) } }
    public mutating func field(_ k: StaticString, _ v: [String]?) {
        guard let v else { return }
        key(k)
        beginArray()
        for s in v { value(s) }
        endArray()
    }
    public mutating func field<T: JSONWritable>(_ k: StaticString, _ v: [T]?) {
        guard let v else { return }
        key(k)
        beginArray()
        for e in v { e.write(to: &self) }
        endArray()
    }
    public mutating func field(_ k: StaticString, _ v: [String: String]?) {
        guard let v else { return }
        key(k)
        beginObject()
        for (mk, mv) in v.sorted(by: { $0.key < $1.key }) { key(mk); value(mv) }
        endObject()
    }
    public mutating func field<T: JSONWritable>(_ k: StaticString, _ v: [String: T]?) {
        guard let v else { return }
        key(k)
        beginObject()
        for (mk, mv) in v.sorted(by: { $0.key < $1.key }) { key(mk); mv.write(to: &self) }
        endObject()
    }
}

/// Why a document could not be read, and where (`spec.capacity.storage`).
public struct JSONReadError: Error, CustomStringConvertible {
    public var path: [String] = []
    public var message: String
    /// The document is not JSON at all (as opposed to JSON of the wrong shape).
    public var isSyntax: Bool

    public init(_ message: String, syntax: Bool = false) {
        self.message = message
        self.isSyntax = syntax
    }

    public var pathText: String {
        var out = ""
        for p in path {
            if p.hasPrefix("[") || out.isEmpty { out += p } else { out += "." + p }
        }
        return out
    }

    public var description: String { path.isEmpty ? message : "\(pathText): \(message)" }
}

/// A pull parser over JSON bytes. Values are read by what the caller expects; objects are walked
/// key by key, and unknown keys are skipped, as Kubernetes' decoder does.
public struct JSONReader {
    private let base: UnsafePointer<UInt8>
    private let count: Int
    private var i = 0
    /// The keys above the value being read; kept only while collecting unknown fields.
    private var trail: [String]?
    /// Where the document had keys no decoder knew (`spec.resourcez`), when collecting.
    public private(set) var unknownFields: [String] = []

    private init(_ buffer: UnsafeRawBufferPointer) {
        base = buffer.baseAddress.map { $0.assumingMemoryBound(to: UInt8.self) } ?? UnsafePointer(bitPattern: 1)!
        count = buffer.count
    }

    /// Reads one whole document.
    public static func read<T>(_ bytes: some ContiguousBytes, _ body: (inout JSONReader) throws -> T) throws -> T {
        try bytes.withUnsafeBytes { buf in
            var r = JSONReader(buf)
            let v = try body(&r)
            r.skipSpace()
            if r.i != r.count { throw r.syntax("unexpected content after the JSON value") }
            return v
        }
    }

    public static func decode<T: JSONReadable>(_ type: T.Type, from bytes: some ContiguousBytes) throws -> T {
        try read(bytes) { try T(from: &$0) }
    }

    /// Decodes, also returning the paths of the keys that `T` does not know (for Kubernetes'
    /// `fieldValidation`: Strict rejects them, Warn reports them).
    public static func decodeNotingUnknown<T: JSONReadable>(_ type: T.Type, from bytes: some ContiguousBytes) throws -> (T, unknown: [String]) {
        try read(bytes) { r in
            r.trail = []
            let value = try T(from: &r)
            return (value, r.unknownFields)
        }
    }

    /// For a value read whole as a tree: notes, when collecting, each key of the object at `path`
    /// (relative to the value) that is not in `known`.
    public mutating func noteUnknownKeys(of value: JSONValue?, known: Set<String>, at path: [String] = []) {
        guard let trail, case .object(let o)? = path.isEmpty ? value : value?.value(atPath: path.joined(separator: ".")) else { return }
        for key in o.keys.sorted() where !known.contains(key) {
            var e = JSONReadError("")
            e.path = trail + path + [key]
            unknownFields.append(e.pathText)
        }
    }

    /// Skips the value of a key the decoder does not know, noting where it was when collecting.
    public mutating func unknown() throws {
        if let trail {
            var e = JSONReadError("")
            e.path = trail
            unknownFields.append(e.pathText)
        }
        try skip()
    }

    // MARK: scanning

    @inline(__always) private mutating func skipSpace() {
        while i < count {
            let c = base[i]
            if c == 0x20 || c == 0x0A || c == 0x0D || c == 0x09 { i += 1 } else { return }
        }
    }

    @inline(__always) private mutating func peek() -> UInt8 {
        skipSpace()
        return i < count ? base[i] : 0
    }

    private func syntax(_ what: String) -> JSONReadError {
        JSONReadError("the document is not valid JSON: \(what) at byte \(i)", syntax: true)
    }

    private func mismatch(_ expected: String) -> JSONReadError {
        let found: String
        switch i < count ? base[i] : 0 {
        case UInt8(ascii: "\""): found = "a string"
        case UInt8(ascii: "{"): found = "an object"
        case UInt8(ascii: "["): found = "a list"
        case UInt8(ascii: "t") where startsWith("true"), UInt8(ascii: "f") where startsWith("false"): found = "a boolean"
        case UInt8(ascii: "n") where startsWith("null"): found = "null"
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): found = "a number"
        default: return syntax("unexpected character")
        }
        return JSONReadError("expected \(expected), got \(found)")
    }

    private func startsWith(_ word: StaticString) -> Bool {
        let n = word.utf8CodeUnitCount
        return i + n <= count && memcmp(base + i, word.utf8Start, n) == 0
    }

    private mutating func expect(_ c: UInt8) throws {
        guard peek() == c else { throw syntax("expected '\(Character(UnicodeScalar(c)))'") }
        i += 1
    }

    private mutating func literal(_ word: StaticString) throws {
        let n = word.utf8CodeUnitCount
        guard i + n <= count, memcmp(base + i, word.utf8Start, n) == 0 else { throw syntax("unknown literal") }
        i += n
    }

    /// Consumes a `null` if one comes next.
    public mutating func readNull() -> Bool {
        guard peek() == UInt8(ascii: "n") else { return false }
        guard (try? literal("null")) != nil else { return false }
        return true
    }

    // MARK: scalars

    public mutating func string() throws -> String {
        guard peek() == UInt8(ascii: "\"") else { throw mismatch("a string") }
        i += 1
        let start = i
        while i < count {
            let c = base[i]
            if c == UInt8(ascii: "\"") {
                let s = String(decoding: UnsafeBufferPointer(start: base + start, count: i - start), as: UTF8.self)
                i += 1
                return s
            }
            if c == UInt8(ascii: "\\") { return try escapedString(from: start) }
            if c < 0x20 { throw syntax("control character in a string") }
            i += 1
        }
        throw syntax("unterminated string")
    }

    private mutating func escapedString(from start: Int) throws -> String {
        var out = Array(UnsafeBufferPointer(start: base + start, count: i - start))
        while i < count {
            let c = base[i]
            switch c {
            case UInt8(ascii: "\""):
                i += 1
                return String(decoding: out, as: UTF8.self)
            case UInt8(ascii: "\\"):
                guard i + 1 < count else { throw syntax("unterminated escape") }
                let e = base[i + 1]
                i += 2
                switch e {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(e)
                case UInt8(ascii: "n"): out.append(0x0A)
                case UInt8(ascii: "r"): out.append(0x0D)
                case UInt8(ascii: "t"): out.append(0x09)
                case UInt8(ascii: "b"): out.append(0x08)
                case UInt8(ascii: "f"): out.append(0x0C)
                case UInt8(ascii: "u"):
                    var scalar = try hex4()
                    if scalar >= 0xD800, scalar < 0xDC00 {
                        // a surrogate pair
                        guard i + 1 < count, base[i] == UInt8(ascii: "\\"), base[i + 1] == UInt8(ascii: "u") else {
                            throw syntax("unpaired surrogate")
                        }
                        i += 2
                        let low = try hex4()
                        guard low >= 0xDC00, low < 0xE000 else { throw syntax("unpaired surrogate") }
                        scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                    }
                    guard let u = Unicode.Scalar(scalar) else { throw syntax("invalid unicode escape") }
                    out.append(contentsOf: Array(String(Character(u)).utf8))
                default:
                    throw syntax("invalid escape")
                }
            default:
                if c < 0x20 { throw syntax("control character in a string") }
                out.append(c)
                i += 1
            }
        }
        throw syntax("unterminated string")
    }

    private mutating func hex4() throws -> UInt32 {
        guard i + 4 <= count else { throw syntax("short unicode escape") }
        var v: UInt32 = 0
        for _ in 0..<4 {
            let c = base[i]
            let d: UInt32
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): d = UInt32(c - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): d = UInt32(c - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): d = UInt32(c - UInt8(ascii: "A") + 10)
            default: throw syntax("invalid unicode escape")
            }
            v = v << 4 | d
            i += 1
        }
        return v
    }

    /// The text of a number, validated against JSON's grammar.
    private mutating func numberText() throws -> (text: Substring, integral: Bool) {
        let c0 = peek()
        guard c0 == UInt8(ascii: "-") || (c0 >= UInt8(ascii: "0") && c0 <= UInt8(ascii: "9")) else { throw mismatch("a number") }
        let start = i
        var integral = true
        if base[i] == UInt8(ascii: "-") { i += 1 }
        func digits(_ r: inout JSONReader) -> Int {
            let s = r.i
            while r.i < r.count, r.base[r.i] >= UInt8(ascii: "0"), r.base[r.i] <= UInt8(ascii: "9") { r.i += 1 }
            return r.i - s
        }
        let intDigits = digits(&self)
        guard intDigits > 0 else { throw syntax("invalid number") }
        if intDigits > 1, base[i - intDigits] == UInt8(ascii: "0") { throw syntax("invalid number (leading zero)") }
        if i < count, base[i] == UInt8(ascii: ".") {
            integral = false
            i += 1
            guard digits(&self) > 0 else { throw syntax("invalid number") }
        }
        if i < count, base[i] == UInt8(ascii: "e") || base[i] == UInt8(ascii: "E") {
            integral = false
            i += 1
            if i < count, base[i] == UInt8(ascii: "+") || base[i] == UInt8(ascii: "-") { i += 1 }
            guard digits(&self) > 0 else { throw syntax("invalid number") }
        }
        let text = String(decoding: UnsafeBufferPointer(start: base + start, count: i - start), as: UTF8.self)
        return (Substring(text), integral)
    }

    public mutating func int64() throws -> Int64 {
        let (text, integral) = try numberText()
        if integral, let v = Int64(text) { return v }
        if let d = Double(text), d == d.rounded(), abs(d) < 9.2e18 { return Int64(d) }
        throw JSONReadError("expected an integer, got \(text)")
    }

    public mutating func int() throws -> Int { Int(try int64()) }

    public mutating func double() throws -> Double {
        let (text, _) = try numberText()
        guard let d = Double(text) else { throw JSONReadError("expected a number, got \(text)") }
        return d
    }

    public mutating func bool() throws -> Bool {
        switch peek() {
        case UInt8(ascii: "t"): try literal("true"); return true
        case UInt8(ascii: "f"): try literal("false"); return false
        default: throw mismatch("a boolean")
        }
    }

    /// A number's text or a string, for values (quantities) that may be either.
    public mutating func scalarText() throws -> String {
        if peek() == UInt8(ascii: "\"") { return try string() }
        return String(try numberText().text)
    }

    // MARK: containers

    /// Walks an object, calling `body` with each key; `body` must read (or `skip`) the value.
    public mutating func object(_ body: (inout JSONReader, String) throws -> Void) throws {
        guard peek() == UInt8(ascii: "{") else { throw mismatch("an object") }
        i += 1
        if peek() == UInt8(ascii: "}") { i += 1; return }
        while true {
            guard peek() == UInt8(ascii: "\"") else { throw syntax("expected a key") }
            let key = try string()
            try expect(UInt8(ascii: ":"))
            do {
                if trail != nil { trail!.append(key) }
                try body(&self, key)
                if trail != nil { trail!.removeLast() }
            } catch var e as JSONReadError {
                if !e.isSyntax { e.path.insert(key, at: 0) }
                throw e
            }
            switch peek() {
            case UInt8(ascii: ","): i += 1
            case UInt8(ascii: "}"): i += 1; return
            default: throw syntax("expected ',' or '}'")
            }
        }
    }

    /// Walks a list, calling `body` once per element; `body` must read the element.
    public mutating func array(_ body: (inout JSONReader) throws -> Void) throws {
        guard peek() == UInt8(ascii: "[") else { throw mismatch("a list") }
        i += 1
        if peek() == UInt8(ascii: "]") { i += 1; return }
        var index = 0
        while true {
            do {
                if trail != nil { trail!.append("[\(index)]") }
                try body(&self)
                if trail != nil { trail!.removeLast() }
            } catch var e as JSONReadError {
                if !e.isSyntax { e.path.insert("[\(index)]", at: 0) }
                throw e
            }
            index += 1
            switch peek() {
            case UInt8(ascii: ","): i += 1
            case UInt8(ascii: "]"): i += 1; return
            default: throw syntax("expected ',' or ']'")
            }
        }
    }

    /// Skips one value of any kind.
    public mutating func skip() throws {
        switch peek() {
        case UInt8(ascii: "{"): try object { r, _ in try r.skip() }
        case UInt8(ascii: "["): try array { try $0.skip() }
        case UInt8(ascii: "\""): _ = try string()
        case UInt8(ascii: "t"), UInt8(ascii: "f"): _ = try bool()
        case UInt8(ascii: "n"): try literal("null")
        default: _ = try numberText()
        }
    }

    /// The bytes of the next value, whatever it is, to be read again later.
    public mutating func rawValue() throws -> [UInt8] {
        skipSpace()
        let start = i
        try skip()
        return Array(UnsafeBufferPointer(start: base + start, count: i - start))
    }

    /// Any value, as a tree.
    public mutating func value() throws -> JSONValue {
        switch peek() {
        case UInt8(ascii: "{"):
            var o: [String: JSONValue] = [:]
            try object { r, k in o[k] = try r.value() }
            return .object(o)
        case UInt8(ascii: "["):
            var a: [JSONValue] = []
            try array { a.append(try $0.value()) }
            return .array(a)
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "t"), UInt8(ascii: "f"): return .bool(try bool())
        case UInt8(ascii: "n"): try literal("null"); return .null
        case 0: throw syntax("unexpected end of input")
        default:
            let (text, integral) = try numberText()
            if integral, let v = Int64(text) { return .int(v) }
            guard let d = Double(text) else { throw syntax("invalid number") }
            return .double(d)
        }
    }

    // MARK: optional values (null reads as absent)

    public mutating func optString() throws -> String? { readNull() ? nil : try string() }
    public mutating func optBool() throws -> Bool? { readNull() ? nil : try bool() }
    public mutating func optInt64() throws -> Int64? { readNull() ? nil : try int64() }
    public mutating func optInt() throws -> Int? { readNull() ? nil : try int() }
    public mutating func opt<T: JSONReadable>(_ type: T.Type = T.self) throws -> T? { readNull() ? nil : try T(from: &self) }

    public mutating func optStrings() throws -> [String]? {
        if readNull() { return nil }
        var out: [String] = []
        try array { out.append(try $0.string()) }
        return out
    }

    public mutating func optList<T: JSONReadable>(_ type: T.Type = T.self) throws -> [T]? {
        if readNull() { return nil }
        var out: [T] = []
        try array { out.append(try T(from: &$0)) }
        return out
    }

    public mutating func optStringMap() throws -> [String: String]? {
        if readNull() { return nil }
        var out: [String: String] = [:]
        try object { r, k in out[k] = try r.string() }
        return out
    }

    public mutating func optMap<T: JSONReadable>(_ type: T.Type = T.self) throws -> [String: T]? {
        if readNull() { return nil }
        var out: [String: T] = [:]
        try object { r, k in out[k] = try T(from: &r) }
        return out
    }
}

/// A required field that was absent.
public func missing(_ key: String) -> JSONReadError {
    var e = JSONReadError("required field is missing")
    e.path = [key]
    return e
}

extension JSONValue: JSONCodable {
    public init(from r: inout JSONReader) throws { self = try r.value() }

    public func write(to w: inout JSONWriter) {
        switch self {
        case .null: w.null()
        case .bool(let b): w.value(b)
        case .int(let i): w.value(i)
        case .double(let d): w.value(d)
        case .string(let s): w.value(s)
        case .array(let a):
            w.beginArray()
            for e in a { e.write(to: &w) }
            w.endArray()
        case .object(let o):
            w.beginObject()
            for (k, v) in o.sorted(by: { $0.key < $1.key }) { w.key(k); v.write(to: &w) }
            w.endObject()
        }
    }
}

extension Quantity: JSONCodable {
    public init(from r: inout JSONReader) throws {
        let text = try r.scalarText()
        do {
            try self.init(parsing: text.trimmingCharacters(in: .whitespaces))
        } catch let e as BerthError {
            throw JSONReadError(e.message)
        }
    }

    public func write(to w: inout JSONWriter) { w.value(description) }
}

extension JSONWritable {
    /// This value as compact JSON bytes.
    public func jsonData() -> Data {
        var w = JSONWriter()
        write(to: &w)
        return w.data
    }
}
