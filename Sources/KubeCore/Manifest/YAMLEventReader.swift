import CYaml

#if canImport(Glibc)
import Glibc
#endif

/// Bounds on what one manifest file may make the reader do; input beyond them is refused with a
/// ``ManifestError`` naming file and line, never parsed further.
public struct ManifestLimits: Sendable, Hashable {
    /// Bytes per file (the API server accepts 3 MiB per request; a `kind: List` may hold several).
    public var maxFileBytes: Int = 8 << 20
    /// Nesting of mappings and sequences (Kubernetes objects need well under 30).
    public var maxDepth: Int = 100
    /// Mapping keys, sequence items and scalars per file.
    public var maxNodes: Int = 1_000_000

    public init() {}
    public static let `default` = ManifestLimits()
}

/// One YAML/JSON file turned into JSON values straight from libyaml's events, so the reader decides
/// everything itself: aliases are refused (no expansion, no "billion laughs"), depth and node count are
/// bounded, a duplicate key is reported at the duplicate, an integer that does not fit 64 bits says so,
/// and a syntax error is one position with plain words.
struct YAMLEventReader {
    struct Document {
        var value: JSONValue
        var lines: [String: Int]
        var line: Int?
        var index: Int
    }

    struct Failure: Error {
        var line: Int?
        var column: Int?
        var document: Int?
        var message: String
    }

    private enum Frame {
        case sequence(items: [JSONValue], path: [String])
        case mapping(object: JSONObject, path: [String], pendingKey: String?, keyLines: [String: Int])

        var path: [String] {
            switch self {
            case .sequence(_, let path), .mapping(_, let path, _, _): return path
            }
        }
    }

    let limits: ManifestLimits

    /// Every document of `bytes` (UTF-8, already checked for control characters by the caller).
    func documents(_ bytes: [UInt8]) throws(Failure) -> [Document] {
        var parser = yaml_parser_t()
        guard yaml_parser_initialize(&parser) == 1 else {
            throw Failure(message: "out of memory starting the YAML parser")
        }
        defer { yaml_parser_delete(&parser) }
        let result: Result<[Document], Failure> = bytes.withUnsafeBufferPointer { buffer in
            yaml_parser_set_input_string(&parser, buffer.baseAddress, buffer.count)
            yaml_parser_set_encoding(&parser, YAML_UTF8_ENCODING)
            do throws(Failure) {
                return .success(try self.run(&parser))
            } catch {
                return .failure(error)
            }
        }
        return try result.get()
    }

    private func run(_ parser: inout yaml_parser_t) throws(Failure) -> [Document] {
        var documents: [Document] = []
        var stack: [Frame] = []
        var lines: [String: Int] = [:]
        var root: JSONValue?
        var rootLine: Int?
        var index = 0
        var nodes = 0

        func position(_ mark: yaml_mark_t) -> (Int, Int) { (Int(mark.line) + 1, Int(mark.column) + 1) }

        while true {
            var event = yaml_event_t()
            guard yaml_parser_parse(&parser, &event) == 1 else {
                throw Self.syntaxFailure(parser, document: index + 1)
            }
            defer { yaml_event_delete(&event) }
            let (line, column) = position(event.start_mark)
            func fail(_ message: String) -> Failure {
                Failure(line: line, column: column, document: max(index, 1), message: message)
            }

            /// Places a finished value into the frame on top of the stack (or makes it the root).
            func place(_ value: JSONValue) throws(Failure) {
                guard let top = stack.popLast() else {
                    root = value
                    return
                }
                switch top {
                case .sequence(var items, let path):
                    items.append(value)
                    stack.append(.sequence(items: items, path: path))
                case .mapping(var object, let path, let pendingKey, let keyLines):
                    guard let key = pendingKey else {
                        throw fail("mapping keys must be strings, found a \(value.typeName)")
                    }
                    object[key] = value
                    stack.append(.mapping(object: object, path: path, pendingKey: nil, keyLines: keyLines))
                }
            }

            /// The path of the value about to start, recording its line.
            func startValue() -> [String]? {
                var path: [String]
                switch stack.last {
                case nil: path = []
                case .sequence(let items, let parent)?: path = parent + ["[\(items.count)]"]
                case .mapping(_, let parent, let key, _)?:
                    guard let key else { return nil }  // a key
                    path = parent + [key]
                }
                let text = ValueDecodingError.format(path)
                if lines[text] == nil { lines[text] = line }
                if stack.isEmpty { rootLine = line }
                return path
            }

            switch event.type {
            case YAML_STREAM_START_EVENT, YAML_NO_EVENT:
                continue
            case YAML_STREAM_END_EVENT:
                return documents
            case YAML_DOCUMENT_START_EVENT:
                index += 1
                lines = [:]
                root = nil
                rootLine = nil
            case YAML_DOCUMENT_END_EVENT:
                documents.append(Document(value: root ?? .null, lines: lines, line: rootLine, index: index))
            case YAML_ALIAS_EVENT:
                let name = Self.text(event.data.alias.anchor, count: nil) ?? ""
                throw fail("YAML aliases (*\(Self.cut(name))) are not supported in manifests; write the value out")
            case YAML_SCALAR_EVENT:
                nodes += 1
                if nodes > self.limits.maxNodes {
                    throw fail("more than \(self.limits.maxNodes) values in one file")
                }
                let scalar = event.data.scalar
                let string =
                    Self.text(scalar.value, count: Int(scalar.length)) ?? ""
                let tag = Self.text(scalar.tag, count: nil)
                if case .mapping(_, _, nil, _)? = stack.last,
                    case .mapping(let object, let path, _, var keyLines)? = stack.popLast()
                {
                    // A key. The frame is popped while it changes, so its storage is never copied.
                    if scalar.style == YAML_PLAIN_SCALAR_STYLE, tag == nil, Self.isNullKey(string) {
                        throw fail("mapping keys must be strings, found null")
                    }
                    if let first = keyLines[string] {
                        let inside = path.isEmpty ? "the document" : ValueDecodingError.format(path)
                        throw fail("duplicate key \(QuotedValue.quote(string)) in \(inside) (first at line \(first))")
                    }
                    keyLines[string] = line
                    lines[ValueDecodingError.format(path + [string])] = line
                    stack.append(.mapping(object: object, path: path, pendingKey: string, keyLines: keyLines))
                    continue
                }
                _ = startValue()
                let value = try Self.scalarValue(
                    string,
                    plain: scalar.style == YAML_PLAIN_SCALAR_STYLE || scalar.style == YAML_ANY_SCALAR_STYLE,
                    tag: tag
                ).mapError { fail($0.message) }.get()
                try place(value)
            case YAML_SEQUENCE_START_EVENT, YAML_MAPPING_START_EVENT:
                nodes += 1
                if nodes > self.limits.maxNodes {
                    throw fail("more than \(self.limits.maxNodes) values in one file")
                }
                if stack.count >= self.limits.maxDepth {
                    throw fail("nested deeper than \(self.limits.maxDepth) levels")
                }
                guard let path = startValue() else {
                    throw fail(
                        "mapping keys must be strings, found a \(event.type == YAML_SEQUENCE_START_EVENT ? "list" : "mapping")"
                    )
                }
                if event.type == YAML_SEQUENCE_START_EVENT {
                    stack.append(.sequence(items: [], path: path))
                } else {
                    stack.append(.mapping(object: JSONObject(), path: path, pendingKey: nil, keyLines: [:]))
                }
            case YAML_SEQUENCE_END_EVENT, YAML_MAPPING_END_EVENT:
                guard let frame = stack.popLast() else { throw fail("unbalanced collection end") }
                switch frame {
                case .sequence(let items, _): try place(.array(items))
                case .mapping(let object, _, _, _): try place(.object(object))
                }
            default:
                continue
            }
        }
    }

    // MARK: - Scalars

    /// YAML 1.2 core-schema typing, as kubectl's reader (sigs.k8s.io/yaml) resolves plain scalars.
    static func scalarValue(_ s: String, plain: Bool, tag: String?) -> Result<JSONValue, ScalarProblem> {
        if !plain || tag == "tag:yaml.org,2002:str" || tag == "!" { return .success(.string(s)) }
        switch s {
        case "", "~", "null", "Null", "NULL": return .success(.null)
        case "true", "True", "TRUE": return .success(.bool(true))
        case "false", "False", "FALSE": return .success(.bool(false))
        default: break
        }
        var digits = Substring(s)
        if digits.first == "-" || digits.first == "+" { digits = digits.dropFirst() }
        if !digits.isEmpty, digits.allSatisfy({ $0.isASCII && $0.isNumber }) {
            if let i = Int(s) { return .success(.int(i)) }
            return .failure(
                ScalarProblem(
                    message: "integer \(Self.cut(s)) is out of range: integers must lie in "
                        + "-9223372036854775808…9223372036854775807 (quote it to make it a string)"
                )
            )
        }
        for (prefix, radix) in [("0x", 16), ("0o", 8)] where s.hasPrefix(prefix) {
            let body = s.dropFirst(2)
            guard !body.isEmpty, body.allSatisfy({ $0.isHexDigit && Int(String($0), radix: radix) != nil }) else {
                break
            }
            if let i = Int(body, radix: radix) { return .success(.int(i)) }
            return .failure("integer \(Self.cut(s)) is out of range: integers must fit in 64 bits")
        }
        if s.first.map({ $0.isNumber || $0 == "-" || $0 == "+" || $0 == "." }) == true,
            s.allSatisfy({ $0.isASCII && ($0.isNumber || "+-.eE".contains($0)) }), let d = Double(s)
        {
            if !d.isFinite { return .failure("number \(Self.cut(s)) is out of range") }
            return .success(.double(d))
        }
        return .success(.string(s))
    }

    /// Why a plain scalar cannot be read (an integer beyond 64 bits).
    struct ScalarProblem: Error, ExpressibleByStringInterpolation {
        var message: String
        init(message: String) { self.message = message }
        init(stringLiteral value: String) { self.message = value }
        init(stringInterpolation: DefaultStringInterpolation) {
            self.message = String(stringInterpolation: stringInterpolation)
        }
    }

    static func isNullKey(_ s: String) -> Bool {
        ["~", "null", "Null", "NULL"].contains(s)
    }

    static func text(_ pointer: UnsafeMutablePointer<yaml_char_t>?, count: Int?) -> String? {
        guard let pointer else { return nil }
        let length = count ?? Int(strlen(UnsafeRawPointer(pointer).assumingMemoryBound(to: CChar.self)))
        return String(decoding: UnsafeBufferPointer(start: pointer, count: length), as: UTF8.self)
    }

    /// At most 80 characters of `s`, saying how long it was when cut.
    static func cut(_ s: String) -> String { QuotedValue.cut(s) }

    // MARK: - Syntax errors

    private static func syntaxFailure(_ parser: yaml_parser_t, document: Int) -> Failure {
        let problem = parser.problem.map { String(cString: $0) } ?? "unknown YAML error"
        let mark = parser.problem_mark
        var line = Int(mark.line) + 1
        var column = Int(mark.column) + 1
        if parser.error == YAML_READER_ERROR {
            line = 0
            column = 0
        }
        let message = Self.plainWords(problem, context: parser.context.map { String(cString: $0) })
        return Failure(
            line: line > 0 ? line : nil,
            column: column > 0 ? column : nil,
            document: document,
            message: message
        )
    }

    /// libyaml's problem text in words a manifest author can act on.
    static func plainWords(_ problem: String, context: String?) -> String {
        let p = problem.lowercased()
        if p.contains("mapping values are not allowed") {
            return "a \"key: value\" is not allowed here (check the indentation, or quote a value containing \": \")"
        }
        if p.contains("did not find expected key") {
            return "expected a key at this indentation (check the indentation of this line)"
        }
        if p.contains("did not find expected '-'") {
            return "expected a list item (\"- \") at this indentation"
        }
        if p.contains("block sequence entries are not allowed") {
            return "a list item (\"- \") is not allowed here (check the indentation)"
        }
        if p.contains("found character that cannot start any token") {
            return "this character cannot start a value (YAML is indented with spaces, not tabs; quote the value)"
        }
        if p.contains("could not find expected ':'") {
            return "expected \":\" after a key (a key spanning lines, or an unclosed quote)"
        }
        if p.contains("did not find expected ',' or ']'") {
            return "a list in brackets is not closed: expected \",\" or \"]\""
        }
        if p.contains("did not find expected ',' or '}'") {
            return "a mapping in braces is not closed: expected \",\" or \"}\""
        }
        if p.contains("found unexpected end of stream") {
            return "the file ends inside a quoted string or a bracketed list/mapping"
        }
        if p.contains("did not find expected node content") {
            return "expected a value here"
        }
        if p.contains("found unknown escape character") {
            return "unknown escape sequence in a double-quoted string"
        }
        if p.contains("maximum nesting level") {
            return "nested too deeply"
        }
        if p.contains("found undefined tag handle") {
            return "unknown tag handle (tags such as !foo! are not supported in manifests)"
        }
        if p.contains("control characters are not allowed") || p.contains("invalid") && p.contains("utf-8") {
            return "the file contains characters YAML does not allow (control characters or invalid UTF-8)"
        }
        if p.contains("found unexpected ':'") {
            return "unexpected \":\" (quote a value that contains \":\")"
        }
        if p.contains("directive") {
            return "invalid YAML directive (%YAML/%TAG)"
        }
        return "invalid YAML: \(problem)"
    }
}

/// How a value from the input appears in a message: quoted, at most 80 characters, with the length
/// when it was cut, so a 1 MiB field never comes back whole.
public enum QuotedValue {
    public static let maxCharacters = 80

    /// `s` itself when short; otherwise its first 80 characters, `…` and `(N characters)`.
    public static func cut(_ s: String) -> String {
        guard s.count > Self.maxCharacters else { return s }
        return String(s.prefix(Self.maxCharacters)) + "… (\(s.count) characters)"
    }

    /// `"s"` (Go-quoted) when short; the quoted first 80 characters, `…` and the length otherwise.
    public static func quote(_ s: String) -> String {
        guard s.count > Self.maxCharacters else { return GoJSON.quote(s) }
        return GoJSON.quote(String(s.prefix(Self.maxCharacters))) + "… (\(s.count) characters)"
    }

    /// `text` with every double-quoted value, and every run of non-blank characters, longer than 80
    /// characters cut to 80 with its length stated: for messages that quote input (a 1 MiB field must
    /// not come back whole). Values already cut (followed by `… (`) are left alone.
    public static func shorten(_ text: String) -> String {
        guard text.count > Self.maxCharacters else { return text }
        let chars = Array(text)
        var out = ""
        var i = 0
        func alreadyCut(_ at: Int) -> Bool {
            at + 2 < chars.count && chars[at] == "…" && chars[at + 1] == " " && chars[at + 2] == "("
        }
        while i < chars.count {
            let c = chars[i]
            if c == "\"" {
                // A quoted span, up to the closing unescaped quote.
                var j = i + 1
                while j < chars.count, chars[j] != "\"" {
                    j += chars[j] == "\\" ? 2 : 1
                }
                let end = min(j, chars.count)
                let inner = String(chars[(i + 1)..<end])
                let closed = j < chars.count
                if inner.count > Self.maxCharacters, !(closed && alreadyCut(j + 1)) {
                    out += "\"" + String(inner.prefix(Self.maxCharacters)) + "\"… (\(inner.count) characters)"
                } else {
                    out += "\"" + inner + (closed ? "\"" : "")
                }
                i = closed ? j + 1 : end
                continue
            }
            if c == " " || c == "\n" {
                out.append(c)
                i += 1
                continue
            }
            var j = i
            while j < chars.count, chars[j] != " ", chars[j] != "\n", chars[j] != "\"" { j += 1 }
            let run = String(chars[i..<j])
            out += alreadyCut(j) ? run : Self.cut(run)
            i = j
        }
        return out
    }
}
