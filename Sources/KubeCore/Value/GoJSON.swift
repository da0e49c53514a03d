/// JSON text exactly as Go's `encoding/json` writes it.
///
/// Upstream stores strings that Go produced: the device-plugin ConfigMap is `json.Marshal` output and
/// every NetworkAttachmentDefinition's `spec.config` went through `json.Indent`. To be byte-compatible
/// (so that an upstream operator and ours never fight over the same object) we reproduce both:
/// - ``encode(_:)``: compact, with Go's HTML-safe escaping (`<` → `\u003c`, `&` → `\u0026`, …);
/// - ``indent(_:indent:)``: Go's `json.Indent`, which drops insignificant whitespace, writes `"k": v`,
///   one element per line and keeps empty `{}` / `[]` inline; it fails on invalid JSON as Go does.
public enum GoJSON {
    /// Compact JSON of a value, as `json.Marshal` writes it.
    public static func encode(_ value: JSONValue) -> String {
        var out = ""
        out.reserveCapacity(64)
        self.append(value, to: &out)
        return out
    }

    /// Appends the compact encoding of `value` to `out`.
    public static func append(_ value: JSONValue, to out: inout String) {
        switch value {
        case .null: out += "null"
        case .bool(let b): out += b ? "true" : "false"
        case .int(let i): out += String(i)
        case .double(let d): out += self.formatDouble(d)
        case .string(let s): self.appendString(s, to: &out)
        case .array(let items):
            out += "["
            for (i, item) in items.enumerated() {
                if i > 0 { out += "," }
                self.append(item, to: &out)
            }
            out += "]"
        case .object(let object):
            out += "{"
            for (i, entry) in object.entries.enumerated() {
                if i > 0 { out += "," }
                self.appendString(entry.key, to: &out)
                out += ":"
                self.append(entry.value, to: &out)
            }
            out += "}"
        }
    }

    /// A JSON string literal with Go's escaping rules (HTML-safe, U+2028/U+2029 escaped).
    public static func quote(_ s: String) -> String {
        var out = ""
        self.appendString(s, to: &out)
        return out
    }

    public static func appendString(_ s: String, to out: inout String) {
        out += "\""
        // Fast path: nothing to escape (the common case for names, ids and addresses).
        if s.utf8.allSatisfy({
            $0 >= 0x20 && $0 < 0x80 && $0 != 0x22 && $0 != 0x5C && $0 != 0x3C && $0 != 0x3E && $0 != 0x26
        }) {
            out += s
            out += "\""
            return
        }
        let hex: [Character] = Array("0123456789abcdef")
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\u{2028}": out += "\\u2028"
            case "\u{2029}": out += "\\u2029"
            case "<", ">", "&":
                let v = Int(scalar.value)
                out += "\\u00"
                out.append(hex[v >> 4])
                out.append(hex[v & 0xF])
            default:
                if scalar.value < 0x20 {
                    let v = Int(scalar.value)
                    out += "\\u00"
                    out.append(hex[v >> 4])
                    out.append(hex[v & 0xF])
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        out += "\""
    }

    /// Go formats float64 with 'f' for exponents in [-6, 21) and 'e' otherwise.
    static func formatDouble(_ d: Double) -> String {
        if d.isNaN || d.isInfinite { return "null" }
        if d == d.rounded(), abs(d) < 1e21 { return String(Int64(d)) }
        return "\(d)"
    }

    /// Compacts JSON text (drops insignificant whitespace), as Go's `json.Compact`.
    /// - Throws: ``GoJSONSyntaxError`` when the text is not valid JSON.
    public static func compact(_ text: String) throws(GoJSONSyntaxError) -> String {
        try self.reformat(text, indent: nil)
    }

    /// Re-indents JSON text as Go's `json.Indent(dst, src, "", indent)`.
    /// - Throws: ``GoJSONSyntaxError`` when the text is not valid JSON.
    public static func indent(_ text: String, indent: String = "    ") throws(GoJSONSyntaxError) -> String {
        try self.reformat(text, indent: indent)
    }

    private static func reformat(_ text: String, indent: String?) throws(GoJSONSyntaxError) -> String {
        var scanner = GoJSONScanner(Array(text.utf8), indent: indent)
        return try scanner.run()
    }
}

/// JSON that Go's scanner would reject, with the byte offset where it went wrong.
public struct GoJSONSyntaxError: Error, Sendable, Equatable, CustomStringConvertible {
    public var offset: Int
    public var message: String
    public var description: String { "invalid JSON at offset \(self.offset): \(self.message)" }
}

/// A validating single-pass re-formatter with the output rules of Go's `json.Indent`.
private struct GoJSONScanner {
    let bytes: [UInt8]
    let indent: String?
    var pos = 0
    var out: [UInt8] = []
    var depth = 0

    init(_ bytes: [UInt8], indent: String?) {
        self.bytes = bytes
        self.indent = indent
        self.out.reserveCapacity(bytes.count + bytes.count / 2)
    }

    mutating func run() throws(GoJSONSyntaxError) -> String {
        self.skipSpace()
        try self.value()
        // Go's Indent copies trailing whitespace through; Compact drops it.
        if self.indent != nil {
            let trailingStart = self.pos
            self.skipSpace()
            if self.pos < self.bytes.count { throw self.fail("invalid character after top-level value") }
            self.out.append(contentsOf: self.bytes[trailingStart..<self.pos])
        } else {
            self.skipSpace()
            if self.pos < self.bytes.count { throw self.fail("invalid character after top-level value") }
        }
        return String(decoding: self.out, as: UTF8.self)
    }

    func fail(_ message: String) -> GoJSONSyntaxError {
        GoJSONSyntaxError(offset: self.pos, message: message)
    }

    mutating func skipSpace() {
        while self.pos < self.bytes.count {
            switch self.bytes[self.pos] {
            case 0x20, 0x09, 0x0A, 0x0D: self.pos += 1
            default: return
            }
        }
    }

    mutating func newline() {
        guard let indent else { return }
        self.out.append(0x0A)
        for _ in 0..<self.depth { self.out.append(contentsOf: indent.utf8) }
    }

    mutating func value() throws(GoJSONSyntaxError) {
        guard self.pos < self.bytes.count else { throw self.fail("unexpected end of JSON input") }
        switch self.bytes[self.pos] {
        case UInt8(ascii: "{"): try self.container(close: UInt8(ascii: "}"), isObject: true)
        case UInt8(ascii: "["): try self.container(close: UInt8(ascii: "]"), isObject: false)
        case UInt8(ascii: "\""): try self.string()
        case UInt8(ascii: "t"): try self.literal("true")
        case UInt8(ascii: "f"): try self.literal("false")
        case UInt8(ascii: "n"): try self.literal("null")
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): try self.number()
        default:
            throw self.fail(
                "invalid character '\(Character(UnicodeScalar(self.bytes[self.pos])))' looking for beginning of value"
            )
        }
    }

    mutating func container(close: UInt8, isObject: Bool) throws(GoJSONSyntaxError) {
        self.out.append(self.bytes[self.pos])
        self.pos += 1
        self.skipSpace()
        if self.pos < self.bytes.count, self.bytes[self.pos] == close {
            self.out.append(close)
            self.pos += 1
            return
        }
        self.depth += 1
        while true {
            self.newline()
            if isObject {
                guard self.pos < self.bytes.count, self.bytes[self.pos] == UInt8(ascii: "\"") else {
                    throw self.fail("looking for beginning of object key string")
                }
                try self.string()
                self.skipSpace()
                guard self.pos < self.bytes.count, self.bytes[self.pos] == UInt8(ascii: ":") else {
                    throw self.fail("after object key")
                }
                self.pos += 1
                self.out.append(UInt8(ascii: ":"))
                if self.indent != nil { self.out.append(0x20) }
                self.skipSpace()
            }
            try self.value()
            self.skipSpace()
            guard self.pos < self.bytes.count else { throw self.fail("unexpected end of JSON input") }
            let c = self.bytes[self.pos]
            if c == UInt8(ascii: ",") {
                self.out.append(c)
                self.pos += 1
                self.skipSpace()
                continue
            }
            if c == close {
                self.depth -= 1
                self.newline()
                self.out.append(close)
                self.pos += 1
                return
            }
            throw self.fail(isObject ? "after object key:value pair" : "after array element")
        }
    }

    mutating func string() throws(GoJSONSyntaxError) {
        let start = self.pos
        self.pos += 1
        while self.pos < self.bytes.count {
            let c = self.bytes[self.pos]
            if c == UInt8(ascii: "\\") {
                self.pos += 2
                continue
            }
            if c < 0x20 { throw self.fail("invalid character in string literal") }
            self.pos += 1
            if c == UInt8(ascii: "\"") {
                self.out.append(contentsOf: self.bytes[start..<self.pos])
                return
            }
        }
        throw self.fail("unexpected end of JSON input")
    }

    mutating func literal(_ word: String) throws(GoJSONSyntaxError) {
        let w = Array(word.utf8)
        guard self.pos + w.count <= self.bytes.count, Array(self.bytes[self.pos..<self.pos + w.count]) == w else {
            throw self.fail("invalid literal, expected \(word)")
        }
        self.out.append(contentsOf: w)
        self.pos += w.count
    }

    mutating func number() throws(GoJSONSyntaxError) {
        let start = self.pos
        func isDigit(_ c: UInt8) -> Bool { c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9") }
        if self.bytes[self.pos] == UInt8(ascii: "-") { self.pos += 1 }
        guard self.pos < self.bytes.count, isDigit(self.bytes[self.pos]) else { throw self.fail("in numeric literal") }
        if self.bytes[self.pos] == UInt8(ascii: "0") {
            self.pos += 1
        } else {
            while self.pos < self.bytes.count, isDigit(self.bytes[self.pos]) { self.pos += 1 }
        }
        if self.pos < self.bytes.count, self.bytes[self.pos] == UInt8(ascii: ".") {
            self.pos += 1
            guard self.pos < self.bytes.count, isDigit(self.bytes[self.pos]) else {
                throw self.fail("after decimal point in numeric literal")
            }
            while self.pos < self.bytes.count, isDigit(self.bytes[self.pos]) { self.pos += 1 }
        }
        if self.pos < self.bytes.count,
            self.bytes[self.pos] == UInt8(ascii: "e") || self.bytes[self.pos] == UInt8(ascii: "E")
        {
            self.pos += 1
            if self.pos < self.bytes.count,
                self.bytes[self.pos] == UInt8(ascii: "+") || self.bytes[self.pos] == UInt8(ascii: "-")
            {
                self.pos += 1
            }
            guard self.pos < self.bytes.count, isDigit(self.bytes[self.pos]) else {
                throw self.fail("in exponent of numeric literal")
            }
            while self.pos < self.bytes.count, isDigit(self.bytes[self.pos]) { self.pos += 1 }
        }
        self.out.append(contentsOf: self.bytes[start..<self.pos])
    }
}
