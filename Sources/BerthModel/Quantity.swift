/// A Kubernetes resource quantity (`5Gi`, `500M`, `1e3`), exact to the nano unit, with its canonical form.
///
/// Grammar and canonicalisation follow apimachinery's `quantity.go`: suffixes are case-sensitive,
/// values are rounded up to 1e-9, and the canonical string keeps the format family of the input.
public struct Quantity: Sendable, Hashable, Comparable, CustomStringConvertible {
    public enum Format: Sendable, Hashable { case binarySI, decimalSI, decimalExponent }

    /// The value in units of 1e-9.
    public let nanos: Int128
    public let format: Format

    static let nano: Int128 = 1_000_000_000
    static let limit: Int128 = Int128(Int64.max) * nano

    public init(nanos: Int128, format: Format) {
        self.nanos = nanos
        self.format = format
    }

    /// A whole number of bytes, printed in binary SI.
    public init(bytes: Int64) {
        self.init(nanos: Int128(bytes) * Self.nano, format: .binarySI)
    }

    /// Parses `text`; throws `invalid` with the quantity grammar's rule when it does not match.
    public init(parsing text: String) throws {
        func fail(_ why: String) -> BerthError {
            .invalid("quantity '\(text)' \(why); use a number with an optional suffix such as 512Mi, 5Gi, 1G or 1e9 (suffixes are case-sensitive)")
        }
        var chars = Substring(text)
        guard !chars.isEmpty else { throw fail("is empty") }
        var negative = false
        if chars.first == "+" || chars.first == "-" {
            negative = chars.first == "-"
            chars = chars.dropFirst()
        }
        var intDigits = Substring("")
        var fracDigits = Substring("")
        var i = chars.startIndex
        while i < chars.endIndex, chars[i].isASCII, chars[i].isNumber { i = chars.index(after: i) }
        intDigits = chars[chars.startIndex..<i]
        if i < chars.endIndex, chars[i] == "." {
            let start = chars.index(after: i)
            var j = start
            while j < chars.endIndex, chars[j].isASCII, chars[j].isNumber { j = chars.index(after: j) }
            fracDigits = chars[start..<j]
            i = j
        }
        guard !(intDigits.isEmpty && fracDigits.isEmpty) else { throw fail("does not start with a number") }
        let suffix = String(chars[i...])

        var format: Format
        var base2Exp = 0
        var base10Exp = 0
        switch suffix {
        case "": format = .decimalSI
        case "Ki": format = .binarySI; base2Exp = 10
        case "Mi": format = .binarySI; base2Exp = 20
        case "Gi": format = .binarySI; base2Exp = 30
        case "Ti": format = .binarySI; base2Exp = 40
        case "Pi": format = .binarySI; base2Exp = 50
        case "Ei": format = .binarySI; base2Exp = 60
        case "n": format = .decimalSI; base10Exp = -9
        case "u": format = .decimalSI; base10Exp = -6
        case "m": format = .decimalSI; base10Exp = -3
        case "k": format = .decimalSI; base10Exp = 3
        case "M": format = .decimalSI; base10Exp = 6
        case "G": format = .decimalSI; base10Exp = 9
        case "T": format = .decimalSI; base10Exp = 12
        case "P": format = .decimalSI; base10Exp = 15
        case "E": format = .decimalSI; base10Exp = 18
        default:
            guard suffix.first == "e" || suffix.first == "E", suffix.count > 1,
                  let exp = Int(suffix.dropFirst()), abs(exp) <= 40 else {
                throw fail("has an unknown suffix '\(suffix)'")
            }
            format = .decimalExponent
            base10Exp = exp
        }
        guard intDigits.count + fracDigits.count <= 36 else { throw fail("has too many digits") }

        // mantissa as an integer with `fracDigits.count` implied decimals
        var mantissa: Int128 = 0
        for c in intDigits + fracDigits {
            mantissa = mantissa * 10 + Int128(c.wholeNumberValue!)
        }
        var scale = base10Exp - fracDigits.count + 9 // exponent of 10 to reach nanos
        var value = mantissa
        if base2Exp > 0 {
            value *= Int128(1) << base2Exp
            if value > Self.limit * 1024 { throw fail("is too large") }
        }
        while scale > 0 {
            value *= 10
            scale -= 1
            if value > Self.limit { throw fail("is too large") }
        }
        if scale < 0 {
            var divisor: Int128 = 1
            for _ in 0..<(-scale) { divisor *= 10 }
            let (q, r) = value.quotientAndRemainder(dividingBy: divisor)
            value = q + (r > 0 ? 1 : 0) // round up to nano precision
        }
        if value > Self.limit { throw fail("is too large") }
        self.nanos = negative ? -value : value
        self.format = format
    }

    /// `Value()` in apimachinery: the whole number of units, rounded up.
    public var bytes: Int64 {
        let (q, r) = nanos.quotientAndRemainder(dividingBy: Self.nano)
        let up = r > 0 ? q + 1 : q
        return Int64(clamping: up)
    }

    public var isZero: Bool { nanos == 0 }
    public var isPositive: Bool { nanos > 0 }

    public static func < (a: Quantity, b: Quantity) -> Bool { a.nanos < b.nanos }
    public static func == (a: Quantity, b: Quantity) -> Bool { a.nanos == b.nanos }
    public func hash(into hasher: inout Hasher) { hasher.combine(nanos) }

    /// The canonical string, as Kubernetes serialises it.
    public var description: String {
        if nanos == 0 { return "0" }
        let sign = nanos < 0 ? "-" : ""
        let magnitude = nanos < 0 ? -nanos : nanos
        let (whole, frac) = magnitude.quotientAndRemainder(dividingBy: Self.nano)
        if format == .binarySI, frac == 0, whole >= 1024 {
            let suffixes = ["", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"]
            var v = whole
            var idx = 0
            while idx < suffixes.count - 1, v % 1024 == 0 {
                v /= 1024
                idx += 1
            }
            return "\(sign)\(v)\(suffixes[idx])"
        }
        // decimal: find the largest exponent (multiple of 3) that keeps an integer mantissa
        var mantissa = magnitude
        var exp = -9
        while exp < 18, mantissa % 1000 == 0 {
            mantissa /= 1000
            exp += 3
        }
        if format == .decimalExponent {
            return exp == 0 ? "\(sign)\(mantissa)" : "\(sign)\(mantissa)e\(exp)"
        }
        let suffix: String = switch exp {
        case -9: "n"
        case -6: "u"
        case -3: "m"
        case 0: ""
        case 3: "k"
        case 6: "M"
        case 9: "G"
        case 12: "T"
        case 15: "P"
        default: "E"
        }
        return "\(sign)\(mantissa)\(suffix)"
    }
}

extension Quantity: Codable {
    public init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let s = try? c.decode(String.self) {
            do {
                try self.init(parsing: s.trimmingCharacters(in: .whitespaces))
            } catch let e as BerthError {
                throw DecodingError.dataCorruptedError(in: c, debugDescription: e.message)
            }
        } else if let i = try? c.decode(Int64.self) {
            self.init(nanos: Int128(i) * Self.nano, format: .decimalSI)
        } else if let d = try? c.decode(Double.self) {
            do {
                try self.init(parsing: String(d))
            } catch let e as BerthError {
                throw DecodingError.dataCorruptedError(in: c, debugDescription: e.message)
            }
        } else {
            throw DecodingError.dataCorruptedError(in: c, debugDescription: "a quantity must be a string such as '5Gi' or a number")
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(description)
    }
}
