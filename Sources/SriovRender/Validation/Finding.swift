import KubeCore

/// One result of admission validation: an error the operator's validating webhook would reject the object
/// with, or a warning it would return alongside an admission.
///
/// ``message`` is upstream's text, unchanged, because that is what users search for; ``description``
/// prefixes it with the object and, when known, the field:
///
///     SriovNetworkNodePolicy "intel-dpdk": spec.numVfs: numVfs(300) in CR intel-dpdk exceed the maximum allowed
///     value(64) interface(ens1f0)
///
/// The severity is not part of ``description``; callers that print findings decide how to mark it.
public struct Finding: Sendable, Hashable, CustomStringConvertible {
    /// Whether the webhook rejects the object (`error`) or admits it with a warning (`warning`).
    public enum Severity: String, Sendable, Hashable {
        case error
        case warning
    }

    public var severity: Severity
    /// The kind of the object the finding is about, e.g. `SriovNetworkNodePolicy` (or `Node`).
    public var kind: String
    /// The object's namespace; empty for cluster-scoped objects.
    public var namespace: String
    /// The object's name.
    public var name: String
    /// The JSON path of the offending field, e.g. `spec.nicSelector.pfNames`; empty when the finding is about
    /// the object as a whole.
    public var field: String
    /// The message, worded exactly as upstream's webhook words it.
    public var message: String
    /// For a conflict between two policies, the name of the other policy; empty otherwise.
    public var conflictsWith: String = ""

    public init(
        severity: Severity,
        kind: String,
        namespace: String = "",
        name: String,
        field: String = "",
        message: String
    ) {
        self.severity = severity
        self.kind = kind
        self.namespace = namespace
        self.name = name
        self.field = field
        self.message = message
    }

    /// `<Kind> "<name>": <field>: <message>`, the field part omitted when ``field`` is empty.
    public var description: String {
        var out = "\(self.kind) \(QuotedValue.quote(self.name)): "
        if !self.field.isEmpty { out += "\(self.field): " }
        out += self.message
        // Values from the input are quoted at most 80 characters long (with their length).
        return QuotedValue.shorten(out)
    }

    public var isError: Bool { self.severity == .error }
}
