import BerthModel
import Foundation
import Yams

/// Renders objects as kubectl does: tables, `-o wide`, json, yaml, name.
public enum Printer {
    public static func age(_ timestamp: String?, now: Date = Date()) -> String { ObjectTable.age(timestamp, now: now) }

    /// Column headers and cells for one kind (see `ObjectTable`).
    public static func table(kind: KindInfo, objects: [JSONValue], wide: Bool, withNamespace: Bool, now: Date = Date()) -> [[String]] {
        ObjectTable.table(kind: kind, objects: objects, wide: wide, withNamespace: withNamespace, now: now)
    }

    /// Aligns columns with three spaces, as kubectl does.
    public static func render(_ table: [[String]], header: Bool = true) -> String {
        guard let first = table.first else { return "" }
        var widths = Array(repeating: 0, count: first.count)
        for row in table { for (i, cell) in row.enumerated() where i < widths.count { widths[i] = max(widths[i], cell.count) } }
        let body = header ? table : Array(table.dropFirst())
        return body.map { row in
            row.enumerated().map { i, cell in
                i == row.count - 1 ? cell : cell.padding(toLength: widths[i] + 3, withPad: " ", startingAt: 0)
            }.joined()
        }.joined(separator: "\n")
    }

    public static func json(_ value: JSONValue) throws -> String {
        let e = JSONEncoder()
        e.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try e.encode(value), as: UTF8.self)
    }

    public static func yaml(_ value: JSONValue) throws -> String {
        try Yams.dump(object: plain(value), indent: 2, width: -1, allowUnicode: true, sortKeys: true)
    }

    static func plain(_ value: JSONValue) -> Any {
        switch value {
        case .null: return NSNull()
        case .bool(let b): return b
        case .int(let i): return Int(i)
        case .double(let d): return d
        case .string(let s): return s
        case .array(let a): return a.map(plain)
        case .object(let o): return o.mapValues(plain)
        }
    }

    /// The first value a kubectl jsonpath such as `{.status.phase}` or
    /// `{.status.conditions[?(@.type=="Resizing")].status}` matches in `value` (see `JSONPathTemplate`).
    public static func jsonPath(_ expression: String, in value: JSONValue) -> JSONValue? {
        (try? JSONPathTemplate(expression))?.values(value).first
    }
}
