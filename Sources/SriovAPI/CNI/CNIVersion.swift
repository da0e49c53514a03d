/// CNI specification versions as the Go library compares them.
public enum CNIVersion {
    /// What this plugin speaks, oldest first (what VERSION prints).
    public static let supported = ["0.1.0", "0.2.0", "0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"]
    /// The newest version; VERSION reports it as its own `cniVersion`.
    public static let current = "1.1.0"

    /// `"1.0.0"` as `(1, 0, 0)`; `nil` when it is not three dot-separated numbers.
    public static func parse(_ version: String) -> (Int, Int, Int)? {
        let parts = version.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, let a = Int(parts[0]), let b = Int(parts[1]), let c = Int(parts[2]),
            a >= 0, b >= 0, c >= 0
        else { return nil }
        return (a, b, c)
    }

    /// Whether `version` is at least `minimum`; false for a malformed version.
    public static func isAtLeast(_ version: String, _ minimum: String) -> Bool {
        guard let v = self.parse(version), let m = self.parse(minimum) else { return false }
        return v >= m
    }

    /// The Go library's rendering of the supported list in messages: `["0.1.0" "0.2.0" …]`.
    public static var supportedQuoted: String {
        "[" + self.supported.map { "\"\($0)\"" }.joined(separator: " ") + "]"
    }
}
