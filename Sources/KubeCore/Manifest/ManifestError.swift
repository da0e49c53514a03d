/// Something wrong with a manifest a user gave us, with where it is: file, line and field path.
///
/// Printed as `examples/policies.yaml:14: spec.numVF: unknown field, did you mean numVfs?`, the
/// shape compilers use, so editors and terminals make it clickable.
public struct ManifestError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Code: Sendable, Equatable {
        /// The file could not be read.
        case unreadable
        /// YAML or JSON syntax.
        case syntax
        /// The document is well-formed but does not fit the schema of its kind.
        case schema
    }

    public var code: Code
    public var file: String
    public var line: Int?
    /// 1-based document index inside a multi-document file, when there is more than one.
    public var document: Int?
    public var message: String

    public init(code: Code, file: String, line: Int? = nil, document: Int? = nil, message: String) {
        self.code = code
        self.file = file
        self.line = line
        self.document = document
        self.message = message
    }

    public var description: String {
        var location = self.file
        if let line { location += ":\(line)" } else if let document { location += " (document \(document))" }
        return "\(location): \(QuotedValue.shorten(self.message))"
    }
}
