/// Parses JSON text into a ``JSONValue``, keeping object key order.
///
/// Used for API server responses (a list of 5,000 NodeStates is several megabytes), so it is a
/// single-pass byte parser rather than a round trip through Foundation. Invalid JSON is reported with
/// the byte offset, as ``GoJSONSyntaxError``.
public enum JSONParser {
    public static func parse(_ bytes: some Collection<UInt8>) throws(GoJSONSyntaxError) -> JSONValue {
        let array = Array(bytes)
        return try array.withUnsafeBufferPointer { buffer throws(GoJSONSyntaxError) -> JSONValue in
            var parser = Parser(bytes: buffer)
            parser.skipSpace()
            let value = try parser.value(depth: 0)
            parser.skipSpace()
            guard parser.pos == buffer.count else { throw parser.fail("invalid character after top-level value") }
            return value
        }
    }

    public static func parse(_ text: String) throws(GoJSONSyntaxError) -> JSONValue {
        try self.parse(Array(text.utf8))
    }

    private struct Parser {
        let bytes: UnsafeBufferPointer<UInt8>
        var pos = 0

        func fail(_ message: String) -> GoJSONSyntaxError { GoJSONSyntaxError(offset: self.pos, message: message) }

        mutating func skipSpace() {
            while self.pos < self.bytes.count {
                switch self.bytes[self.pos] {
                case 0x20, 0x09, 0x0A, 0x0D: self.pos += 1
                default: return
                }
            }
        }

        mutating func value(depth: Int) throws(GoJSONSyntaxError) -> JSONValue {
            guard depth < 512 else { throw self.fail("nesting too deep") }
            guard self.pos < self.bytes.count else { throw self.fail("unexpected end of JSON input") }
            switch self.bytes[self.pos] {
            case UInt8(ascii: "{"):
                self.pos += 1
                var entries: [(key: String, value: JSONValue)] = []
                self.skipSpace()
                if self.pos < self.bytes.count, self.bytes[self.pos] == UInt8(ascii: "}") {
                    self.pos += 1
                    return .object(JSONObject(entries))
                }
                while true {
                    self.skipSpace()
                    guard self.pos < self.bytes.count, self.bytes[self.pos] == UInt8(ascii: "\"") else {
                        throw self.fail("looking for beginning of object key string")
                    }
                    let key = try self.string()
                    self.skipSpace()
                    guard self.pos < self.bytes.count, self.bytes[self.pos] == UInt8(ascii: ":") else {
                        throw self.fail("after object key")
                    }
                    self.pos += 1
                    self.skipSpace()
                    entries.append((key: key, value: try self.value(depth: depth + 1)))
                    self.skipSpace()
                    guard self.pos < self.bytes.count else { throw self.fail("unexpected end of JSON input") }
                    if self.bytes[self.pos] == UInt8(ascii: ",") {
                        self.pos += 1
                        continue
                    }
                    if self.bytes[self.pos] == UInt8(ascii: "}") {
                        self.pos += 1
                        return .object(JSONObject(entries))
                    }
                    throw self.fail("after object key:value pair")
                }
            case UInt8(ascii: "["):
                self.pos += 1
                var items: [JSONValue] = []
                self.skipSpace()
                if self.pos < self.bytes.count, self.bytes[self.pos] == UInt8(ascii: "]") {
                    self.pos += 1
                    return .array(items)
                }
                while true {
                    self.skipSpace()
                    items.append(try self.value(depth: depth + 1))
                    self.skipSpace()
                    guard self.pos < self.bytes.count else { throw self.fail("unexpected end of JSON input") }
                    if self.bytes[self.pos] == UInt8(ascii: ",") {
                        self.pos += 1
                        continue
                    }
                    if self.bytes[self.pos] == UInt8(ascii: "]") {
                        self.pos += 1
                        return .array(items)
                    }
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
            default:
                return try self.number()
            }
        }

        mutating func literal(_ word: StaticString) throws(GoJSONSyntaxError) {
            let count = word.utf8CodeUnitCount
            guard self.pos + count <= self.bytes.count else { throw self.fail("unexpected end of JSON input") }
            let expected = UnsafeBufferPointer(start: word.utf8Start, count: count)
            for i in 0..<count where self.bytes[self.pos + i] != expected[i] {
                throw self.fail("invalid literal")
            }
            self.pos += count
        }

        mutating func number() throws(GoJSONSyntaxError) -> JSONValue {
            let start = self.pos
            var isInteger = true
            if self.pos < self.bytes.count, self.bytes[self.pos] == UInt8(ascii: "-") { self.pos += 1 }
            while self.pos < self.bytes.count {
                let c = self.bytes[self.pos]
                if c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9") {
                    self.pos += 1
                } else if c == UInt8(ascii: ".") || c == UInt8(ascii: "e") || c == UInt8(ascii: "E")
                    || c == UInt8(ascii: "+") || c == UInt8(ascii: "-")
                {
                    isInteger = false
                    self.pos += 1
                } else {
                    break
                }
            }
            guard self.pos > start else {
                throw self.fail("invalid character looking for beginning of value")
            }
            let text = String(decoding: UnsafeBufferPointer(rebasing: self.bytes[start..<self.pos]), as: UTF8.self)
            if isInteger, let i = Int(text) { return .int(i) }
            guard let d = Double(text) else { throw self.fail("invalid number \(text)") }
            return .double(d)
        }

        mutating func string() throws(GoJSONSyntaxError) -> String {
            self.pos += 1  // opening quote
            let start = self.pos
            // Fast path: no escapes.
            while self.pos < self.bytes.count {
                let c = self.bytes[self.pos]
                if c == UInt8(ascii: "\"") {
                    let s = String(decoding: UnsafeBufferPointer(rebasing: self.bytes[start..<self.pos]), as: UTF8.self)
                    self.pos += 1
                    return s
                }
                if c == UInt8(ascii: "\\") { break }
                if c < 0x20 { throw self.fail("invalid character in string literal") }
                self.pos += 1
            }
            var out = Array(self.bytes[start..<self.pos])
            while self.pos < self.bytes.count {
                let c = self.bytes[self.pos]
                if c == UInt8(ascii: "\"") {
                    self.pos += 1
                    return String(decoding: out, as: UTF8.self)
                }
                if c < 0x20 { throw self.fail("invalid character in string literal") }
                if c != UInt8(ascii: "\\") {
                    out.append(c)
                    self.pos += 1
                    continue
                }
                self.pos += 1
                guard self.pos < self.bytes.count else { break }
                let e = self.bytes[self.pos]
                self.pos += 1
                switch e {
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
                    if scalar >= 0xD800 && scalar < 0xDC00, self.pos + 1 < self.bytes.count,
                        self.bytes[self.pos] == UInt8(ascii: "\\"), self.bytes[self.pos + 1] == UInt8(ascii: "u")
                    {
                        self.pos += 2
                        let low = try self.hex4()
                        scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low &- 0xDC00)
                    }
                    let unicode = Unicode.Scalar(scalar) ?? "\u{FFFD}"
                    out.append(contentsOf: Array(String(Character(unicode)).utf8))
                default:
                    throw self.fail("invalid escape in string literal")
                }
            }
            throw self.fail("unexpected end of JSON input")
        }

        mutating func hex4() throws(GoJSONSyntaxError) -> UInt32 {
            guard self.pos + 4 <= self.bytes.count else { throw self.fail("unexpected end of JSON input") }
            var value: UInt32 = 0
            for _ in 0..<4 {
                let c = self.bytes[self.pos]
                let digit: UInt32
                switch c {
                case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt32(c - UInt8(ascii: "0"))
                case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = UInt32(c - UInt8(ascii: "a") + 10)
                case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = UInt32(c - UInt8(ascii: "A") + 10)
                default: throw self.fail("invalid hex escape")
                }
                value = value * 16 + digit
                self.pos += 1
            }
            return value
        }
    }
}
