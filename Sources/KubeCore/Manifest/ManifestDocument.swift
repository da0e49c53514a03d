/// One Kubernetes object read from a file, with enough of its origin to point at a line on error.
public struct ManifestDocument: Sendable {
    /// The file it came from (as given on the command line).
    public var file: String
    /// 1-based index of the YAML document in the file.
    public var documentIndex: Int
    /// Path prefix inside the document, e.g. `items[3]` for an item of a `kind: List`.
    public var pathPrefix: [String]
    public var value: JSONValue
    /// Line numbers of values, keyed by field path string (`spec.numVfs`), relative to `value`.
    var lines: [String: Int]
    /// Line where the document (or list item) starts.
    public var line: Int?

    public init(file: String, documentIndex: Int = 1, value: JSONValue, line: Int? = nil) {
        self.file = file
        self.documentIndex = documentIndex
        self.pathPrefix = []
        self.value = value
        self.lines = [:]
        self.line = line
    }

    init(file: String, documentIndex: Int, pathPrefix: [String], value: JSONValue, lines: [String: Int], line: Int?) {
        self.file = file
        self.documentIndex = documentIndex
        self.pathPrefix = pathPrefix
        self.value = value
        self.lines = lines
        self.line = line
    }

    public var apiVersion: String { self.value["apiVersion"]?.stringValue ?? "" }
    public var kind: String { self.value["kind"]?.stringValue ?? "" }
    public var name: String { self.value["metadata"]?["name"]?.stringValue ?? "" }

    /// The line of the value at `path`, or of its closest ancestor that has one.
    public func line(of path: [String]) -> Int? {
        var path = path
        while true {
            if let line = self.lines[ValueDecodingError.format(path)] { return line }
            if path.isEmpty { return self.line }
            path.removeLast()
        }
    }

    /// Decodes the document as `T`, turning schema errors into a ``ManifestError`` that names
    /// file, line and field.
    public func decode<T: Decodable>(_ type: T.Type) throws(ManifestError) -> T {
        do {
            return try ValueDecoder().decode(type, from: self.value)
        } catch {
            throw self.error(at: error.path, error.description)
        }
    }

    /// A schema error at a field path of this document.
    public func error(at path: [String], _ message: String) -> ManifestError {
        let fullPath = ValueDecodingError.format(self.pathPrefix + path)
        var text = message
        if !self.pathPrefix.isEmpty, !path.isEmpty, message.hasPrefix(ValueDecodingError.format(path)) {
            text = fullPath + message.dropFirst(ValueDecodingError.format(path).count)
        }
        let what = self.kind.isEmpty ? "" : "\(self.kind)"
        let named = self.name.isEmpty ? what : "\(what) \"\(self.name)\""
        return ManifestError(
            code: .schema,
            file: self.file,
            line: self.line(of: path),
            document: self.documentIndex,
            message: named.isEmpty ? text : "\(named): \(text)"
        )
    }
}
