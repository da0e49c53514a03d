import Yams

/// Writes JSON values as block-style YAML, the way `kubectl get -o yaml` prints objects.
///
/// Strings that a YAML 1.1 or 1.2 reader would take for another type (`"8086"`, `"on"`, `"true"`,
/// `""`) are quoted, so the output reads back to the same values with kubectl and with us.
public enum YAMLWriter {
    public static func string(_ value: JSONValue) -> String {
        do {
            return try Yams.serialize(node: self.node(value), indent: 2, width: -1, allowUnicode: true)
        } catch {
            // The emitter only fails on invalid events, which node(_:) never builds.
            preconditionFailure("YAML emitter failed: \(error)")
        }
    }

    static func node(_ value: JSONValue) -> Yams.Node {
        switch value {
        case .null: return Yams.Node("null", Tag(.null))
        case .bool(let b): return Yams.Node(b ? "true" : "false", Tag(.bool))
        case .int(let i): return Yams.Node(String(i), Tag(.int))
        case .double(let d): return Yams.Node(GoJSON.formatDouble(d), Tag(.float))
        case .string(let s):
            if s.contains("\n") { return Yams.Node(s, Tag(.str), .literal) }
            return Yams.Node(s, Tag(.str), self.needsQuotes(s) ? .doubleQuoted : .any)
        case .array(let items):
            return Yams.Node(items.map { self.node($0) }, Tag(.seq), .block)
        case .object(let object):
            return Yams.Node(
                object.entries.map {
                    (Yams.Node($0.key, Tag(.str), self.needsQuotes($0.key) ? .doubleQuoted : .any), self.node($0.value))
                },
                Tag(.map),
                .block
            )
        }
    }

    static let ambiguousWords: Set<String> = [
        "", "~", "null", "Null", "NULL", "true", "True", "TRUE", "false", "False", "FALSE",
        "yes", "Yes", "YES", "no", "No", "NO", "on", "On", "ON", "off", "Off", "OFF", "y", "Y", "n", "N",
        ".inf", ".Inf", ".INF", "-.inf", ".nan", ".NaN", ".NAN", "<<", "=",
    ]

    static func needsQuotes(_ s: String) -> Bool {
        if self.ambiguousWords.contains(s) { return true }
        guard let first = s.unicodeScalars.first else { return true }
        if "0123456789+-.".unicodeScalars.contains(first) {
            // Anything number-like (including 0x1f, 1e3, 1_000, 0o17, 12:30 sexagesimal) is quoted.
            return s.unicodeScalars.allSatisfy { "0123456789+-._:eExXoOabcdefABCDEF".unicodeScalars.contains($0) }
        }
        return false
    }
}
