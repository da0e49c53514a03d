/// `metav1.LabelSelector`: `matchLabels` and `matchExpressions`, ANDed.
public struct LabelSelector: Codable, Sendable, Hashable {
    public struct Requirement: Codable, Sendable, Hashable {
        public var key: String
        /// `In`, `NotIn`, `Exists` or `DoesNotExist`.
        public var `operator`: String
        @OmitEmpty public var values: [String]

        public init(key: String, operator: String, values: [String] = []) {
            self.key = key
            self.operator = `operator`
            self.values = values
        }
    }

    @OmitEmpty public var matchLabels: [String: String]
    @OmitEmpty public var matchExpressions: [Requirement]

    public init(matchLabels: [String: String] = [:], matchExpressions: [Requirement] = []) {
        self.matchLabels = matchLabels
        self.matchExpressions = matchExpressions
    }

    /// Whether `labels` satisfy the selector. An empty selector matches everything, as in Kubernetes.
    /// An unknown operator matches nothing (the API server would have rejected it).
    public func matches(_ labels: [String: String]) -> Bool {
        for (key, value) in self.matchLabels where labels[key] != value { return false }
        for requirement in self.matchExpressions {
            let value = labels[requirement.key]
            switch requirement.operator {
            case "In":
                guard let value, requirement.values.contains(value) else { return false }
            case "NotIn":
                if let value, requirement.values.contains(value) { return false }
            case "Exists":
                if value == nil { return false }
            case "DoesNotExist":
                if value != nil { return false }
            default:
                return false
            }
        }
        return true
    }
}

/// `intstr.IntOrString`: a JSON integer or string (`maxUnavailable: 2` or `"30%"`).
public enum IntOrString: Codable, Sendable, Hashable, CustomStringConvertible {
    case int(Int)
    case string(String)

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let i = try? container.decode(Int.self) {
            self = .int(i)
        } else if let s = try? container.decode(String.self) {
            self = .string(s)
        } else {
            throw DecodingError.typeMismatch(
                IntOrString.self,
                .init(codingPath: decoder.codingPath, debugDescription: "expected an integer or a string")
            )
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .int(let i): try container.encode(i)
        case .string(let s): try container.encode(s)
        }
    }

    public var description: String {
        switch self {
        case .int(let i): return String(i)
        case .string(let s): return s
        }
    }
}
