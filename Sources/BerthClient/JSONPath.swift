import BerthModel

/// kubectl's JSONPath templates (`-o jsonpath=…`), the parts people use: text with `{…}`
/// expressions; paths of `.field`, `['field']`, `[N]`, `[-N]`, `[*]`, `.*` and filters
/// `[?(@.path=="value")]` (also `!=`, and `[?(@.path)]` for "has it"); `\.` inside a field name
/// (`{.metadata.annotations.pv\.kubernetes\.io/bind-completed}`); string literals `{"\n"}`; and
/// `{range …}…{end}`. Filters compare with `==`, `!=`, `<`, `<=`, `>`, `>=` (as numbers when both
/// sides are numbers); an element without the tested field is skipped. What an expression matches
/// is printed space-separated; a path that matches nothing prints nothing (kubectl's
/// `--allow-missing-template-keys`, on by default).
public struct JSONPathTemplate: Sendable {
    indirect enum Node: Sendable {
        case text(String)
        case path([Step])
        case range([Step], [Node])
    }

    enum Step: Sendable {
        case field(String)
        case index(Int)
        case all
        case filter(path: [Step], op: String?, value: String?)
    }

    let nodes: [Node]

    /// Parses `template`; a malformed one is an error that says where.
    public init(_ template: String) throws {
        var parser = Parser(text: Array(template))
        nodes = try parser.nodes(untilEnd: false)
    }

    /// The text the template makes of `root`.
    public func render(_ root: JSONValue) -> String {
        Self.render(nodes, root)
    }

    /// Every value the template's first path expression matches in `root` (for `wait --for`).
    public func values(_ root: JSONValue) -> [JSONValue] {
        for node in nodes {
            if case .path(let steps) = node { return Self.evaluate(steps, [root]) }
        }
        return []
    }

    static func render(_ nodes: [Node], _ current: JSONValue) -> String {
        var out = ""
        for node in nodes {
            switch node {
            case .text(let t): out += t
            case .path(let steps):
                out += evaluate(steps, [current]).map(text).joined(separator: " ")
            case .range(let steps, let body):
                for value in evaluate(steps, [current]) { out += render(body, value) }
            }
        }
        return out
    }

    static func text(_ v: JSONValue) -> String {
        if let s = v.scalarText { return s }
        return String(decoding: v.jsonData(), as: UTF8.self)
    }

    static func evaluate(_ steps: [Step], _ start: [JSONValue]) -> [JSONValue] {
        var current = start
        for step in steps {
            var next: [JSONValue] = []
            for v in current {
                switch step {
                case .field(let name):
                    if name == "*" {
                        if case .object(let o) = v { next += o.keys.sorted().compactMap { o[$0] } }
                    } else if let found = v[name] {
                        next.append(found)
                    }
                case .index(let i):
                    if case .array(let a) = v {
                        let j = i < 0 ? a.count + i : i
                        if j >= 0, j < a.count { next.append(a[j]) }
                    }
                case .all:
                    if case .array(let a) = v { next += a } else if case .object(let o) = v { next += o.keys.sorted().compactMap { o[$0] } }
                case .filter(let path, let op, let value):
                    guard case .array(let a) = v else { continue }
                    next += a.filter { element in
                        let found = evaluate(path, [element])
                        guard let op, let value else { return !found.isEmpty }
                        return found.contains { compare($0.scalarText ?? "", op, value) }
                    }
                }
            }
            current = next
        }
        return current
    }

    /// `lhs op rhs`, as numbers when both sides are numbers, else as text.
    static func compare(_ lhs: String, _ op: String, _ rhs: String) -> Bool {
        func holds<T: Comparable>(_ l: T, _ r: T) -> Bool {
            switch op {
            case "==": l == r
            case "!=": l != r
            case "<": l < r
            case "<=": l <= r
            case ">": l > r
            default: l >= r
            }
        }
        if let l = Double(lhs), let r = Double(rhs) { return holds(l, r) }
        return holds(lhs, rhs)
    }

    struct Parser {
        let text: [Character]
        var i = 0

        func failure(_ why: String) -> BerthError {
            BerthError.invalid("jsonpath template '\(String(text))': \(why) at character \(i + 1)")
        }

        mutating func nodes(untilEnd: Bool) throws -> [Node] {
            var nodes: [Node] = []
            var literal = ""
            while i < text.count {
                if text[i] != "{" {
                    literal.append(text[i])
                    i += 1
                    continue
                }
                if !literal.isEmpty { nodes.append(.text(literal)); literal = "" }
                guard let close = closingBrace(from: i + 1) else { throw failure("an unclosed '{'") }
                let inner = String(text[(i + 1)..<close]).trimmingCharacters(in: .whitespaces)
                i = close + 1
                if inner == "end" {
                    guard untilEnd else { throw failure("an {end} without {range}") }
                    return nodes
                } else if inner.hasPrefix("range ") || inner.hasPrefix("range\t") {
                    let steps = try Self.steps(String(inner.dropFirst(6)).trimmingCharacters(in: .whitespaces), template: String(text))
                    let body = try self.nodes(untilEnd: true)
                    nodes.append(.range(steps, body))
                } else if let quote = inner.first, quote == "\"" || quote == "'", inner.count >= 2, inner.last == quote {
                    nodes.append(.text(Self.unescape(String(inner.dropFirst().dropLast()))))
                } else {
                    nodes.append(.path(try Self.steps(inner, template: String(text))))
                }
            }
            if untilEnd { throw failure("a {range} without {end}") }
            if !literal.isEmpty { nodes.append(.text(literal)) }
            return nodes
        }

        /// The `}` that closes the expression opened before `start`, skipping quoted text.
        func closingBrace(from start: Int) -> Int? {
            var quote: Character?
            var j = start
            while j < text.count {
                let c = text[j]
                if let q = quote {
                    if c == "\\" { j += 2; continue }
                    if c == q { quote = nil }
                } else if c == "\"" || c == "'" {
                    quote = c
                } else if c == "}" {
                    return j
                }
                j += 1
            }
            return nil
        }

        static func unescape(_ s: String) -> String {
            var out = ""
            var escaped = false
            for c in s {
                if escaped {
                    switch c {
                    case "n": out.append("\n")
                    case "t": out.append("\t")
                    case "r": out.append("\r")
                    default: out.append(c)
                    }
                    escaped = false
                } else if c == "\\" {
                    escaped = true
                } else {
                    out.append(c)
                }
            }
            return out
        }

        /// The steps of one path: `.a.b[0]['c'][*][?(@.x=="y")]`, with an optional leading `$` or `@`.
        static func steps(_ expression: String, template: String) throws -> [Step] {
            let s = Array(expression)
            var j = 0
            var steps: [Step] = []
            func failure(_ why: String) -> BerthError {
                BerthError.invalid("jsonpath template '\(template)': \(why) in '\(expression)'; write paths as {.status.phase} or {.items[*].metadata.name}")
            }
            if j < s.count, s[j] == "$" || s[j] == "@" { j += 1 }
            while j < s.count {
                switch s[j] {
                case ".":
                    j += 1
                    var name = ""
                    while j < s.count, s[j] != ".", s[j] != "[" {
                        if s[j] == "\\", j + 1 < s.count { name.append(s[j + 1]); j += 2; continue }
                        name.append(s[j])
                        j += 1
                    }
                    if name.isEmpty { throw failure("an empty field name") }
                    steps.append(.field(name))
                case "[":
                    guard let close = s[j...].firstIndex(of: "]") else { throw failure("an unclosed '['") }
                    var inner = String(s[(j + 1)..<close]).trimmingCharacters(in: .whitespaces)
                    if inner.hasPrefix("?(") {
                        // the ')]' that ends the filter, not one inside a quoted value
                        var k = j + 3
                        var quote: Character?
                        while k + 1 < s.count {
                            if let q = quote {
                                if s[k] == "\\" { k += 2; continue }
                                if s[k] == q { quote = nil }
                            } else if s[k] == "\"" || s[k] == "'" {
                                quote = s[k]
                            } else if s[k] == ")", s[k + 1] == "]" {
                                break
                            }
                            k += 1
                        }
                        guard k + 1 < s.count, s[k] == ")", s[k + 1] == "]" else { throw failure("an unclosed filter") }
                        inner = String(s[(j + 3)..<k])
                        steps.append(try filter(inner, failure: failure))
                        j = k + 2
                        continue
                    }
                    if inner == "*" {
                        steps.append(.all)
                    } else if let n = Int(inner) {
                        steps.append(.index(n))
                    } else if let q = inner.first, q == "'" || q == "\"", inner.count >= 2, inner.last == q {
                        steps.append(.field(String(inner.dropFirst().dropLast())))
                    } else {
                        throw failure("'[\(inner)]' is not supported (use [N], [*], ['name'] or [?(@.field==\"value\")])")
                    }
                    j = close + 1
                default:
                    throw failure("unexpected '\(s[j])'")
                }
            }
            return steps
        }

        /// `@.path OP value` or `@.path`; the operator is the first one outside quotes.
        static func filter(_ text: String, failure: (String) -> BerthError) throws -> Step {
            let c = Array(text)
            var k = 0
            var quote: Character?
            var found: (op: String, at: Int)?
            while k < c.count, found == nil {
                if let q = quote {
                    if c[k] == q { quote = nil }
                } else if c[k] == "\"" || c[k] == "'" {
                    quote = c[k]
                } else if "=!<>&|~".contains(c[k]) {
                    let two = k + 1 < c.count ? String(c[k...(k + 1)]) : String(c[k])
                    if ["==", "!=", "<=", ">="].contains(two) {
                        found = (two, k)
                    } else if c[k] == "<" || c[k] == ">" {
                        found = (String(c[k]), k)
                    } else {
                        throw failure("the filter '\(text)' uses '\(two)'; berth's jsonpath filters compare one field with ==, !=, <, <=, > or >=")
                    }
                }
                k += 1
            }
            guard let (op, at) = found else {
                let path = text.trimmingCharacters(in: .whitespaces)
                guard path.hasPrefix("@") else { throw failure("a filter must test @.field") }
                return .filter(path: try steps(path, template: text), op: nil, value: nil)
            }
            let lhs = String(c[..<at]).trimmingCharacters(in: .whitespaces)
            var rhs = String(c[(at + op.count)...]).trimmingCharacters(in: .whitespaces)
            if let q = rhs.first, q == "'" || q == "\"", rhs.count >= 2, rhs.last == q { rhs = String(rhs.dropFirst().dropLast()) }
            guard lhs.hasPrefix("@") else { throw failure("a filter must test @.field") }
            return .filter(path: try steps(lhs, template: text), op: op, value: rhs)
        }
    }
}
