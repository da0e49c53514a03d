import Foundation
import KubeCore

/// A `labelSelector` query parameter in the string form `labels.Parse` accepts:
/// `k=v`, `k==v`, `k!=v`, `k`, `!k`, `k in (a,b)`, `k notin (a,b)`, `k>1`, `k<1`, comma-separated and ANDed.
struct LabelSelectorQuery: Sendable {
    enum Requirement: Sendable {
        case equals(String, String)
        case notEquals(String, String)
        case exists(String)
        case doesNotExist(String)
        case isIn(String, Set<String>)
        case notIn(String, Set<String>)
        case greaterThan(String, Int)
        case lessThan(String, Int)
    }

    var requirements: [Requirement]

    static let everything = LabelSelectorQuery(requirements: [])

    init(requirements: [Requirement]) { self.requirements = requirements }

    init(parsing text: String) throws(APIStatus) {
        var requirements: [Requirement] = []
        for part in Self.splitTopLevel(text) {
            let term = part.trimmingSpaces
            if term.isEmpty { continue }
            requirements.append(try Self.requirement(term))
        }
        self.requirements = requirements
    }

    func matches(_ labels: [String: String]) -> Bool {
        self.requirements.allSatisfy { requirement in
            switch requirement {
            case .equals(let k, let v): return labels[k] == v
            case .notEquals(let k, let v): return labels[k] != v
            case .exists(let k): return labels[k] != nil
            case .doesNotExist(let k): return labels[k] == nil
            case .isIn(let k, let values): return labels[k].map(values.contains) ?? false
            case .notIn(let k, let values): return !(labels[k].map(values.contains) ?? false)
            case .greaterThan(let k, let n): return labels[k].flatMap { Int($0) }.map { $0 > n } ?? false
            case .lessThan(let k, let n): return labels[k].flatMap { Int($0) }.map { $0 < n } ?? false
            }
        }
    }

    private static func splitTopLevel(_ text: String) -> [String] {
        var parts: [String] = []
        var current = ""
        var depth = 0
        for c in text {
            switch c {
            case "(": depth += 1
            case ")": depth -= 1
            case "," where depth == 0:
                parts.append(current)
                current = ""
                continue
            default: break
            }
            current.append(c)
        }
        parts.append(current)
        return parts
    }

    private static func requirement(_ term: String) throws(APIStatus) -> Requirement {
        func fail(_ why: String) -> APIStatus {
            .badRequest("unable to parse requirement: \(why): \(GoJSON.quote(term))")
        }
        func key(_ s: Substring) throws(APIStatus) -> String {
            let k = String(s).trimmingSpaces
            guard !k.isEmpty, !k.contains(where: { $0 == " " || $0 == "(" || $0 == ")" || $0 == "!" || $0 == "=" })
            else { throw fail("invalid label key") }
            return k
        }
        if term.hasPrefix("!") { return .doesNotExist(try key(term.dropFirst())) }
        if let open = term.firstIndex(of: "(") {
            guard term.hasSuffix(")") else { throw fail("expected ')'") }
            let head = term[..<open].split(separator: " ", omittingEmptySubsequences: true)
            guard head.count == 2 else { throw fail("expected 'key in (…)' or 'key notin (…)'") }
            let values = Set(
                term[term.index(after: open)..<term.index(before: term.endIndex)].split(separator: ",")
                    .map { String($0).trimmingSpaces }
            )
            switch head[1] {
            case "in": return .isIn(try key(head[0]), values)
            case "notin": return .notIn(try key(head[0]), values)
            default: throw fail("unknown operator \(GoJSON.quote(String(head[1])))")
            }
        }
        for (op, build) in [
            ("!=", { (k: String, v: String) in Requirement.notEquals(k, v) }),
            ("==", { Requirement.equals($0, $1) }), ("=", { Requirement.equals($0, $1) }),
        ] {
            if let range = term.range(of: op) {
                return build(try key(term[..<range.lowerBound]), String(term[range.upperBound...]).trimmingSpaces)
            }
        }
        for op in [">", "<"] {
            if let range = term.range(of: op) {
                guard let n = Int(String(term[range.upperBound...]).trimmingSpaces) else {
                    throw fail("for '\(op)' operator, the value must be an integer")
                }
                let k = try key(term[..<range.lowerBound])
                return op == ">" ? .greaterThan(k, n) : .lessThan(k, n)
            }
        }
        return .exists(try key(term[...]))
    }
}

/// A `fieldSelector` query parameter: `field=value`, `field==value` or `field!=value`, ANDed.
///
/// Every resource supports `metadata.name` and `metadata.namespace`; a few built-in resources
/// support more (Pod `spec.nodeName` and `status.phase`, Secret `type`, Event `involvedObject.*`),
/// as in the real server. Other fields are rejected with 400, as the real server does.
struct FieldSelectorQuery: Sendable {
    struct Term: Sendable {
        var path: [String]
        var value: String
        var negated: Bool
    }

    var terms: [Term]

    static let everything = FieldSelectorQuery(terms: [])

    init(terms: [Term]) { self.terms = terms }

    init(parsing text: String, for type: ResourceType) throws(APIStatus) {
        var terms: [Term] = []
        for part in text.split(separator: ",") {
            let term = String(part).trimmingSpaces
            if term.isEmpty { continue }
            let op = ["!=", "==", "="].first(where: { term.contains($0) })
            guard let op, let range = term.range(of: op) else {
                throw .badRequest("invalid selector: '\(term)'; can't understand '\(term)'")
            }
            let field = String(term[..<range.lowerBound]).trimmingSpaces
            guard Self.supported(field, type) else {
                throw .badRequest(
                    "\(GoJSON.quote(field)) is not a known field selector: only \"metadata.name\", \"metadata.namespace\""
                )
            }
            terms.append(
                Term(
                    path: field.split(separator: ".").map(String.init),
                    value: String(term[range.upperBound...]).trimmingSpaces,
                    negated: op == "!="
                )
            )
        }
        self.terms = terms
    }

    /// The name a `metadata.name=` term pins, which the fake uses for single-object watches.
    var pinnedName: String? {
        self.terms.first(where: { $0.path == ["metadata", "name"] && !$0.negated })?.value
    }

    func matches(_ object: JSONValue) -> Bool {
        self.terms.allSatisfy { term in
            var value: JSONValue? = object
            for key in term.path { value = value?[key] }
            let actual: String
            switch value {
            case .string(let s)?: actual = s
            case .int(let i)?: actual = String(i)
            case .bool(let b)?: actual = b ? "true" : "false"
            default: actual = ""
            }
            return (actual == term.value) != term.negated
        }
    }

    private static func supported(_ field: String, _ type: ResourceType) -> Bool {
        if field == "metadata.name" || field == "metadata.namespace" { return true }
        guard type.group.isEmpty else { return false }
        switch type.plural {
        case "pods":
            return ["spec.nodeName", "status.phase", "spec.restartPolicy", "spec.schedulerName"].contains(field)
        case "secrets": return field == "type"
        case "events":
            return field.hasPrefix("involvedObject.")
                || ["reason", "type", "source", "reportingComponent"].contains(field)
        case "nodes": return field == "spec.unschedulable"
        default: return false
        }
    }
}

extension String {
    fileprivate var trimmingSpaces: String {
        String(self.drop(while: { $0 == " " }).reversed().drop(while: { $0 == " " }).reversed())
    }
}
