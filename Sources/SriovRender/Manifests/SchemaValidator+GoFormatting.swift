import KubeCore

extension SchemaValidator {
    static func join(_ path: String, _ name: String) -> String {
        path.isEmpty ? name : "\(path).\(name)"
    }

    /// The OpenAPI type name of a JSON value, as go-openapi reports it.
    static func typeName(of value: JSONValue) -> String {
        switch value {
        case .null: return "null"
        case .bool: return "boolean"
        case .int: return "integer"
        case .double: return "number"
        case .string: return "string"
        case .array: return "array"
        case .object: return "object"
        }
    }

    static func doubleValue(_ value: JSONValue) -> Double {
        switch value {
        case .int(let i): return Double(i)
        case .double(let d): return d
        default: return 0
        }
    }

    /// JSON equality where `1` equals `1.0`, as Go compares decoded numbers.
    static func jsonEqual(_ a: JSONValue, _ b: JSONValue) -> Bool {
        switch (a, b) {
        case (.int(let x), .double(let y)), (.double(let y), .int(let x)): return Double(x) == y
        default: return a == b
        }
    }

    /// Go's `%q`: a double-quoted string with Go escapes; printable non-ASCII is kept.
    static func quote(_ s: String) -> String {
        var out = "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\u{07}": out += "\\a"
            case "\u{08}": out += "\\b"
            case "\u{0C}": out += "\\f"
            case "\u{0B}": out += "\\v"
            default:
                if scalar.value < 0x20 || scalar.value == 0x7F {
                    let hex = String(scalar.value, radix: 16)
                    out += "\\x" + (hex.count < 2 ? "0" + hex : hex)
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }

    /// A bad value as `field.Error` prints it: `%q` for strings, `%v` for numbers and booleans, `%#v` for
    /// maps and slices of an unstructured object.
    static func goValue(_ value: JSONValue) -> String {
        switch value {
        case .string(let s): return self.quote(s)
        case .null: return "\"null\""
        default: return self.goSyntax(value)
        }
    }

    /// Go's `%#v` of an unstructured value (`map[string]interface {}{"type":"Ready"}`); map keys sorted.
    static func goSyntax(_ value: JSONValue) -> String {
        switch value {
        case .null: return "interface {}(nil)"
        case .bool(let b): return b ? "true" : "false"
        case .int(let i): return String(i)
        case .double(let d): return self.goFloat(d)
        case .string(let s): return self.quote(s)
        case .array(let items): return "[]interface {}{" + items.map(self.goSyntax).joined(separator: ", ") + "}"
        case .object(let object):
            let entries = object.entries
                .sorted { OpenAPISchema.bytewiseLess($0.key, $1.key) }
                .map { self.quote($0.key) + ":" + self.goSyntax($0.value) }
            return "map[string]interface {}{" + entries.joined(separator: ", ") + "}"
        }
    }

    /// Go's `%v` of a float64 (`strconv.FormatFloat(d, 'g', -1, 64)`): the shortest digits, in exponent form
    /// when the exponent is below -4 or at least 6 (`1e+06`, `1.5`, `100`).
    static func goFloat(_ d: Double) -> String {
        guard d.isFinite else { return d.isNaN ? "NaN" : (d < 0 ? "-Inf" : "+Inf") }
        if d == 0 { return d.sign == .minus ? "-0" : "0" }
        // Swift's description is also the shortest round-tripping form; only its layout differs from Go's.
        let text = String(describing: abs(d))
        let parts = text.split(separator: "e", maxSplits: 1)
        let mantissa = parts.first.map(String.init) ?? text
        let exponent = parts.count > 1 ? Int(parts[1]) ?? 0 : 0
        let pieces = mantissa.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        let integral = pieces.first.map(String.init) ?? ""
        let fraction = pieces.count > 1 ? String(pieces[1]) : ""
        var digits = Array(integral + fraction)
        var decimalPoint = integral.count + exponent
        while let first = digits.first, first == "0" {
            digits.removeFirst()
            decimalPoint -= 1
        }
        while let last = digits.last, last == "0" { digits.removeLast() }
        if digits.isEmpty { return "0" }
        let sign = d < 0 ? "-" : ""
        let exp = decimalPoint - 1
        if exp < -4 || exp >= 6 {
            var out = sign + String(digits[0])
            if digits.count > 1 { out += "." + String(digits[1...]) }
            let magnitude = abs(exp)
            return out + (exp < 0 ? "e-" : "e+") + (magnitude < 10 ? "0" : "") + String(magnitude)
        }
        if decimalPoint <= 0 {
            return sign + "0." + String(repeating: "0", count: -decimalPoint) + String(digits)
        }
        if decimalPoint >= digits.count {
            return sign + String(digits) + String(repeating: "0", count: decimalPoint - digits.count)
        }
        return sign + String(digits[..<decimalPoint]) + "." + String(digits[decimalPoint...])
    }

    /// RFC 3339 `date-time`, as `strfmt.IsDateTime` accepts it.
    static func isDateTime(_ s: String) -> Bool {
        s.contains(/^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/)
    }
}
