/// One way a manifest breaks its CustomResourceDefinition's schema, worded as the kube-apiserver words it.
///
/// ``description`` is the API server's `field.Error` text, e.g.
/// `spec.deviceType: Unsupported value: "vfio": supported values: "netdevice", "vfio-pci"`.
public struct SchemaViolation: Sendable, Hashable, CustomStringConvertible {
    /// The `field.ErrorType` the API server would report.
    public enum Reason: Sendable, Hashable {
        /// `Required value`
        case required
        /// `Unsupported value` (not in the `enum`)
        case unsupportedValue
        /// `Invalid value` for a JSON value of the wrong type
        case invalidType
        /// `Invalid value` for a bound, pattern or format
        case invalidValue
        /// `Too long`
        case tooLong
        /// `Duplicate value` in a `set` or `map` list
        case duplicate
        /// A field the schema does not declare: `strict decoding error: unknown field "spec.numVf"` under
        /// kubectl's default strict field validation (silently pruned otherwise).
        case unknownField
        /// `apiVersion`/`kind` not served by any of the seven CRDs.
        case unknownKind
    }

    /// Dotted field path with array indices: `spec.interfaces[0].pciAddress`.
    public var path: String
    public var reason: Reason
    /// The API server's error body: `Invalid value: 100: spec.priority in body should be less than or equal to 99`.
    public var message: String

    public init(path: String, reason: Reason, message: String) {
        self.path = path
        self.reason = reason
        self.message = message
    }

    public var description: String {
        self.reason == .unknownField ? self.message : "\(self.path): \(self.message)"
    }
}
