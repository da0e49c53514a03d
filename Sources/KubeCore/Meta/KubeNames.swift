/// The API server's name rules (k8s.io/apimachinery/pkg/util/validation), with its own messages, so a
/// manifest that `kubectl apply` would refuse is refused here in the same words.
public enum KubeNames {
    static let dns1123LabelMessage =
        "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and "
        + "end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is "
        + "'[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
    static let dns1123SubdomainMessage =
        "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must "
        + "start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is "
        + "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
    static let qualifiedNameMessage =
        "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric "
        + "character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is "
        + "'([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"
    static let labelValueMessage =
        "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must "
        + "start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used "
        + "for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"

    private static func isLowerAlnum(_ b: UInt8) -> Bool { (b >= 0x61 && b <= 0x7A) || (b >= 0x30 && b <= 0x39) }
    private static func isAlnum(_ b: UInt8) -> Bool { Self.isLowerAlnum(b) || (b >= 0x41 && b <= 0x5A) }

    private static func isLabelShape(_ s: Substring.UTF8View) -> Bool {
        guard let first = s.first, let last = s.last else { return false }
        return Self.isLowerAlnum(first) && Self.isLowerAlnum(last)
            && s.allSatisfy { Self.isLowerAlnum($0) || $0 == 0x2D }
    }

    /// Why `s` is not a DNS-1123 label (namespaces), or nil.
    public static func dnsLabelProblem(_ s: String) -> String? {
        var problems: [String] = []
        if s.utf8.count > 63 { problems.append("must be no more than 63 characters") }
        if !Self.isLabelShape(Substring(s).utf8) { problems.append(Self.dns1123LabelMessage) }
        return problems.isEmpty ? nil : problems.joined(separator: ", ")
    }

    /// Why `s` is not a DNS-1123 subdomain (most object names), or nil.
    public static func dnsSubdomainProblem(_ s: String) -> String? {
        var problems: [String] = []
        if s.utf8.count > 253 { problems.append("must be no more than 253 characters") }
        let shaped = s.split(separator: ".", omittingEmptySubsequences: false).allSatisfy { Self.isLabelShape($0.utf8) }
        if !shaped { problems.append(Self.dns1123SubdomainMessage) }
        return problems.isEmpty ? nil : problems.joined(separator: ", ")
    }

    /// Why `s` is not a valid label key (`[prefix/]name`), or nil.
    public static func labelKeyProblem(_ s: String) -> String? {
        let parts = s.split(separator: "/", omittingEmptySubsequences: false)
        var name = Substring(s)
        var problems: [String] = []
        switch parts.count {
        case 1: break
        case 2:
            name = parts[1]
            if parts[0].isEmpty {
                problems.append("prefix part must be non-empty")
            } else if let problem = Self.dnsSubdomainProblem(String(parts[0])) {
                problems.append("prefix part " + problem)
            }
        default:
            return "a qualified name " + Self.qualifiedNameMessage
                + " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"
        }
        if name.isEmpty {
            problems.append("name part must be non-empty")
        } else {
            if name.utf8.count > 63 { problems.append("name part must be no more than 63 characters") }
            let bytes = name.utf8
            if let first = bytes.first, let last = bytes.last,
                !(Self.isAlnum(first) && Self.isAlnum(last)
                    && bytes.allSatisfy { Self.isAlnum($0) || $0 == 0x2D || $0 == 0x5F || $0 == 0x2E })
            {
                problems.append("name part " + Self.qualifiedNameMessage)
            }
        }
        return problems.isEmpty ? nil : problems.joined(separator: ", ")
    }

    /// Why `s` is not a valid label value, or nil.
    public static func labelValueProblem(_ s: String) -> String? {
        if s.isEmpty { return nil }
        var problems: [String] = []
        if s.utf8.count > 63 { problems.append("must be no more than 63 characters") }
        let bytes = s.utf8
        if let first = bytes.first, let last = bytes.last,
            !(Self.isAlnum(first) && Self.isAlnum(last)
                && bytes.allSatisfy { Self.isAlnum($0) || $0 == 0x2D || $0 == 0x5F || $0 == 0x2E })
        {
            problems.append(Self.labelValueMessage)
        }
        return problems.isEmpty ? nil : problems.joined(separator: ", ")
    }

    /// The API server's findings on an object's `metadata.name` and `metadata.namespace`, as
    /// `(field, message)` pairs worded as `kubectl apply` prints them
    /// (`metadata.name: Invalid value: "Foo": a lowercase RFC 1123 subdomain must …`).
    public static func metadataProblems(
        name: String?,
        namespace: String?,
        namespaced: Bool,
        nameIsLabel: Bool = false
    )
        -> [(field: String, message: String)]
    {
        var result: [(String, String)] = []
        if let name, !name.isEmpty {
            var problems: [String] = []
            // path.ValidatePathSegmentName, which every resource's name must also pass.
            if name == "." || name == ".." { problems.append("may not be '\(name)'") }
            for bad in ["/", "%"] where name.contains(bad) { problems.append("may not contain '\(bad)'") }
            if let problem = nameIsLabel ? Self.dnsLabelProblem(name) : Self.dnsSubdomainProblem(name) {
                problems.append(problem)
            }
            if !problems.isEmpty {
                result.append(
                    ("metadata.name", "Invalid value: \(QuotedValue.quote(name)): \(problems.joined(separator: ", "))")
                )
            }
        } else {
            result.append(("metadata.name", "Required value: name or generateName is required"))
        }
        if let namespace, !namespace.isEmpty {
            if !namespaced {
                // The API server ignores it for cluster-scoped kinds; kubectl does too.
            } else if let problem = Self.dnsLabelProblem(namespace) {
                result.append(("metadata.namespace", "Invalid value: \(QuotedValue.quote(namespace)): \(problem)"))
            }
        }
        return result
    }
}
