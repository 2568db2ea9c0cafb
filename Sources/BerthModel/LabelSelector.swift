/// A label selector as in `spec.selector`: matchLabels and matchExpressions, all ANDed.
public struct LabelSelector: Codable, Sendable, Hashable {
    public var matchLabels: [String: String]?
    public var matchExpressions: [Requirement]?

    public struct Requirement: Codable, Sendable, Hashable {
        public var key: String
        public var `operator`: String
        public var values: [String]?

        public init(key: String, operator op: String, values: [String]? = nil) {
            self.key = key
            self.operator = op
            self.values = values
        }

        public func matches(_ labels: [String: String]) -> Bool {
            let value = labels[key]
            switch self.operator {
            case "In": return value.map { (values ?? []).contains($0) } ?? false
            case "NotIn": return value.map { !(values ?? []).contains($0) } ?? true
            case "Exists": return value != nil
            case "DoesNotExist": return value == nil
            case "Gt", "Lt":
                guard let v = value.flatMap({ Int64($0) }), let bound = values?.first.flatMap({ Int64($0) }) else { return false }
                return self.operator == "Gt" ? v > bound : v < bound
            case "=", "==": return value == values?.first
            case "!=": return value != values?.first
            default: return false
            }
        }
    }

    public init(matchLabels: [String: String]? = nil, matchExpressions: [Requirement]? = nil) {
        self.matchLabels = matchLabels
        self.matchExpressions = matchExpressions
    }

    public var requirements: [Requirement] {
        (matchLabels ?? [:]).sorted { $0.key < $1.key }.map { Requirement(key: $0.key, operator: "In", values: [$0.value]) }
            + (matchExpressions ?? [])
    }

    public func matches(_ labels: [String: String]?) -> Bool {
        let labels = labels ?? [:]
        return requirements.allSatisfy { $0.matches(labels) }
    }

    public func validate(field: String) -> [FieldError] {
        var errors = Validation.validateLabels(matchLabels, field: "\(field).matchLabels")
        for (i, r) in (matchExpressions ?? []).enumerated() {
            let f = "\(field).matchExpressions[\(i)]"
            for p in Validation.qualifiedNameProblems(r.key) { errors.append(FieldError("\(f).key", "Invalid value: \"\(r.key)\": \(p)")) }
            switch r.operator {
            case "In", "NotIn":
                if (r.values ?? []).isEmpty { errors.append(FieldError("\(f).values", "Required value: must be specified when `operator` is 'In' or 'NotIn'")) }
            case "Exists", "DoesNotExist":
                if !(r.values ?? []).isEmpty { errors.append(FieldError("\(f).values", "Forbidden: may not be specified when `operator` is 'Exists' or 'DoesNotExist'")) }
            default:
                errors.append(FieldError("\(f).operator", "Unsupported value: \"\(r.operator)\": supported values: \"DoesNotExist\", \"Exists\", \"In\", \"NotIn\""))
            }
            for v in r.values ?? [] {
                for p in Validation.labelValueProblems(v) { errors.append(FieldError("\(f).values", "Invalid value: \"\(v)\": \(p)")) }
            }
        }
        return errors
    }

    /// Parses the string form used by `-l` and `?labelSelector=`: `a=b,c!=d,e in (x,y),!f,g`.
    public static func parse(_ text: String) throws -> LabelSelector {
        var reqs: [Requirement] = []
        for raw in splitTopLevel(text) {
            let term = raw.trimmingCharacters(in: .whitespaces)
            if term.isEmpty { continue }
            func bad() -> BerthError {
                .badRequest("label selector '\(text)': cannot parse '\(term)'; use key=value, key!=value, 'key in (a,b)', 'key notin (a,b)', key or !key")
            }
            if term.hasPrefix("!") {
                reqs.append(Requirement(key: String(term.dropFirst()).trimmingCharacters(in: .whitespaces), operator: "DoesNotExist"))
            } else if let r = term.range(of: "!=") {
                reqs.append(Requirement(key: term[..<r.lowerBound].trimmingCharacters(in: .whitespaces), operator: "NotIn",
                                        values: [term[r.upperBound...].trimmingCharacters(in: .whitespaces)]))
            } else if let r = term.range(of: "==") ?? term.range(of: "=") {
                reqs.append(Requirement(key: term[..<r.lowerBound].trimmingCharacters(in: .whitespaces), operator: "In",
                                        values: [term[r.upperBound...].trimmingCharacters(in: .whitespaces)]))
            } else if let open = term.firstIndex(of: "("), term.hasSuffix(")") {
                let head = term[..<open].split(separator: " ").map(String.init)
                guard head.count == 2 else { throw bad() }
                let op: String
                switch head[1].lowercased() {
                case "in": op = "In"
                case "notin": op = "NotIn"
                default: throw bad()
                }
                let values = term[term.index(after: open)..<term.index(before: term.endIndex)]
                    .split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
                reqs.append(Requirement(key: head[0], operator: op, values: values))
            } else if term.allSatisfy({ !$0.isWhitespace }) {
                reqs.append(Requirement(key: term, operator: "Exists"))
            } else {
                throw bad()
            }
        }
        let selector = LabelSelector(matchExpressions: reqs)
        if let e = selector.validate(field: "labelSelector").first {
            throw BerthError.badRequest("label selector '\(text)' is invalid: \(e)")
        }
        return selector
    }

    static func splitTopLevel(_ s: String) -> [String] {
        var parts: [String] = []
        var depth = 0
        var current = ""
        for c in s {
            if c == "(" { depth += 1 }
            if c == ")" { depth -= 1 }
            if c == ",", depth == 0 { parts.append(current); current = "" } else { current.append(c) }
        }
        parts.append(current)
        return parts
    }
}

import Foundation

/// A field selector (`metadata.name=x,status.phase!=Bound`) evaluated on an object's JSON.
public struct FieldSelector: Sendable {
    public struct Term: Sendable { public var path: String; public var value: String; public var equal: Bool }
    public var terms: [Term]

    public static func parse(_ text: String) throws -> FieldSelector {
        var terms: [Term] = []
        for raw in text.split(separator: ",") {
            let t = String(raw)
            if let r = t.range(of: "!=") {
                terms.append(Term(path: String(t[..<r.lowerBound]), value: String(t[r.upperBound...]), equal: false))
            } else if let r = t.range(of: "==") ?? t.range(of: "=") {
                terms.append(Term(path: String(t[..<r.lowerBound]), value: String(t[r.upperBound...]), equal: true))
            } else {
                throw BerthError.badRequest("field selector '\(text)': '\(t)' is not of the form field=value or field!=value")
            }
        }
        return FieldSelector(terms: terms)
    }

    public func matches(_ object: JSONValue) -> Bool {
        terms.allSatisfy { term in
            let actual = object.value(atPath: term.path)?.scalarText ?? ""
            return (actual == term.value) == term.equal
        }
    }

    /// The value a term pins `metadata.name` to, for a keyed lookup.
    public var exactName: String? { terms.first { $0.path == "metadata.name" && $0.equal }?.value }
}
