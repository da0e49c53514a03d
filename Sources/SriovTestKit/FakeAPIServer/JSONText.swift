import KubeCore

/// Parses JSON text into a ``JSONValue`` keeping object keys in document order.
///
/// Foundation's `JSONSerialization` loses key order, and the YAML reader rejects top-level arrays
/// (JSON Patch documents are arrays), so the fake server carries its own small strict parser.
enum JSONText {
    struct SyntaxError: Error, CustomStringConvertible {
        var offset: Int
        var message: String
        var description: String { "invalid JSON at offset \(self.offset): \(self.message)" }
    }

    static func parse(_ text: String) throws(SyntaxError) -> JSONValue {
        var parser = Parser(bytes: Array(text.utf8))
        parser.skipSpace()
        let value = try parser.value(depth: 0)
        parser.skipSpace()
        guard parser.pos == parser.bytes.count else { throw parser.fail("invalid character after top-level value") }
        return value
    }

    /// Compact JSON of a value followed by the newline Go's `json.Encoder` writes, as the API server sends it.
    static func line(_ value: JSONValue) -> String {
        var out = GoJSON.encode(value)
        out += "\n"
        return out
    }
}

private struct Parser {
    let bytes: [UInt8]
    var pos = 0

    init(bytes: [UInt8]) { self.bytes = bytes }

    func fail(_ message: String) -> JSONText.SyntaxError {
        JSONText.SyntaxError(offset: self.pos, message: message)
    }

    mutating func skipSpace() {
        while self.pos < self.bytes.count {
            switch self.bytes[self.pos] {
            case 0x20, 0x09, 0x0A, 0x0D: self.pos += 1
            default: return
            }
        }
    }

    mutating func value(depth: Int) throws(JSONText.SyntaxError) -> JSONValue {
        guard depth < 512 else { throw self.fail("exceeded max depth") }
        guard self.pos < self.bytes.count else { throw self.fail("unexpected end of JSON input") }
        switch self.bytes[self.pos] {
        case UInt8(ascii: "{"):
            self.pos += 1
            var object = JSONObject()
            self.skipSpace()
            if self.peek(UInt8(ascii: "}")) { return .object(object) }
            while true {
                self.skipSpace()
                guard self.peek(UInt8(ascii: "\""), consume: false) else {
                    throw self.fail("looking for beginning of object key string")
                }
                let key = try self.string()
                self.skipSpace()
                guard self.peek(UInt8(ascii: ":")) else { throw self.fail("after object key") }
                self.skipSpace()
                // Go's decoder keeps the last of duplicate keys; so does this one.
                object[key] = try self.value(depth: depth + 1)
                self.skipSpace()
                if self.peek(UInt8(ascii: ",")) { continue }
                if self.peek(UInt8(ascii: "}")) { return .object(object) }
                throw self.fail("after object key:value pair")
            }
        case UInt8(ascii: "["):
            self.pos += 1
            var items: [JSONValue] = []
            self.skipSpace()
            if self.peek(UInt8(ascii: "]")) { return .array(items) }
            while true {
                self.skipSpace()
                items.append(try self.value(depth: depth + 1))
                self.skipSpace()
                if self.peek(UInt8(ascii: ",")) { continue }
                if self.peek(UInt8(ascii: "]")) { return .array(items) }
                throw self.fail("after array element")
            }
        case UInt8(ascii: "\""):
            return .string(try self.string())
        case UInt8(ascii: "t"):
            try self.literal("true")
            return .bool(true)
        case UInt8(ascii: "f"):
            try self.literal("false")
            return .bool(false)
        case UInt8(ascii: "n"):
            try self.literal("null")
            return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return try self.number()
        default:
            throw self.fail("invalid character looking for beginning of value")
        }
    }

    mutating func peek(_ byte: UInt8, consume: Bool = true) -> Bool {
        guard self.pos < self.bytes.count, self.bytes[self.pos] == byte else { return false }
        if consume { self.pos += 1 }
        return true
    }

    mutating func literal(_ word: StaticString) throws(JSONText.SyntaxError) {
        let count = word.utf8CodeUnitCount
        guard self.pos + count <= self.bytes.count else { throw self.fail("unexpected end of JSON input") }
        let matches = word.withUTF8Buffer { buffer in
            buffer.elementsEqual(self.bytes[self.pos..<self.pos + count])
        }
        guard matches else { throw self.fail("invalid literal") }
        self.pos += count
    }

    mutating func number() throws(JSONText.SyntaxError) -> JSONValue {
        let start = self.pos
        var isInteger = true
        func isDigit(_ c: UInt8) -> Bool { c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9") }
        _ = self.peek(UInt8(ascii: "-"))
        guard self.pos < self.bytes.count, isDigit(self.bytes[self.pos]) else { throw self.fail("in numeric literal") }
        while self.pos < self.bytes.count, isDigit(self.bytes[self.pos]) { self.pos += 1 }
        if self.peek(UInt8(ascii: ".")) {
            isInteger = false
            guard self.pos < self.bytes.count, isDigit(self.bytes[self.pos]) else {
                throw self.fail("after decimal point in numeric literal")
            }
            while self.pos < self.bytes.count, isDigit(self.bytes[self.pos]) { self.pos += 1 }
        }
        if self.peek(UInt8(ascii: "e")) || self.peek(UInt8(ascii: "E")) {
            isInteger = false
            if !self.peek(UInt8(ascii: "+")) { _ = self.peek(UInt8(ascii: "-")) }
            guard self.pos < self.bytes.count, isDigit(self.bytes[self.pos]) else {
                throw self.fail("in exponent of numeric literal")
            }
            while self.pos < self.bytes.count, isDigit(self.bytes[self.pos]) { self.pos += 1 }
        }
        let text = String(decoding: self.bytes[start..<self.pos], as: UTF8.self)
        if isInteger, let i = Int(text) { return .int(i) }
        guard let d = Double(text) else { throw self.fail("in numeric literal") }
        return .double(d)
    }

    mutating func string() throws(JSONText.SyntaxError) -> String {
        self.pos += 1  // opening quote
        var out: [UInt8] = []
        while self.pos < self.bytes.count {
            let c = self.bytes[self.pos]
            switch c {
            case UInt8(ascii: "\""):
                self.pos += 1
                return String(decoding: out, as: UTF8.self)
            case UInt8(ascii: "\\"):
                self.pos += 1
                guard self.pos < self.bytes.count else { throw self.fail("unexpected end of JSON input") }
                let escape = self.bytes[self.pos]
                self.pos += 1
                switch escape {
                case UInt8(ascii: "\""): out.append(0x22)
                case UInt8(ascii: "\\"): out.append(0x5C)
                case UInt8(ascii: "/"): out.append(0x2F)
                case UInt8(ascii: "b"): out.append(0x08)
                case UInt8(ascii: "f"): out.append(0x0C)
                case UInt8(ascii: "n"): out.append(0x0A)
                case UInt8(ascii: "r"): out.append(0x0D)
                case UInt8(ascii: "t"): out.append(0x09)
                case UInt8(ascii: "u"):
                    var scalar = try self.hex4()
                    if (0xD800..<0xDC00).contains(scalar), self.bytes[self.pos...].starts(with: [0x5C, 0x75]) {
                        self.pos += 2
                        let low = try self.hex4()
                        scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                    }
                    let unicode = Unicode.Scalar(scalar) ?? "\u{FFFD}"
                    out.append(contentsOf: Array(String(Character(unicode)).utf8))
                default:
                    throw self.fail("invalid escape in string literal")
                }
            default:
                guard c >= 0x20 else { throw self.fail("invalid character in string literal") }
                out.append(c)
                self.pos += 1
            }
        }
        throw self.fail("unexpected end of JSON input")
    }

    mutating func hex4() throws(JSONText.SyntaxError) -> UInt32 {
        guard self.pos + 4 <= self.bytes.count,
            let value = UInt32(String(decoding: self.bytes[self.pos..<self.pos + 4], as: UTF8.self), radix: 16)
        else { throw self.fail("invalid \\u escape in string literal") }
        self.pos += 4
        return value
    }
}
