import KubeCore

/// The container image of the single `sriov` binary, which every workload the operator deploys runs: the
/// operator Deployment, the config daemon and the device plugin (and its `wait-for-config` init container).
///
/// Rendering never reads the environment; the CLI fills this from flags or from ``imageVariable`` and
/// ``pullPolicyVariable`` (``init(environment:)``), and the operator Deployment passes both variables on to the
/// operator so the DaemonSets it renders use the same image.
public struct ImageSettings: Sendable, Hashable {
    /// The image used when nothing overrides it.
    public static let defaultImage = "ghcr.io/sriov-operator/sriov:latest"
    /// Environment variable that overrides ``image``.
    public static let imageVariable = "SRIOV_IMAGE"
    /// Environment variable that overrides ``imagePullPolicy``.
    public static let pullPolicyVariable = "SRIOV_IMAGE_PULL_POLICY"

    /// A container's `imagePullPolicy`.
    public enum PullPolicy: String, Sendable, Hashable, CaseIterable {
        case always = "Always"
        case ifNotPresent = "IfNotPresent"
        case never = "Never"
    }

    /// An environment variable held a value that is not allowed.
    public struct EnvironmentError: Error, Sendable, Hashable, CustomStringConvertible {
        public var variable: String
        public var value: String
        public var allowed: [String]

        public var description: String {
            "\(self.variable)=\(GoJSON.quote(self.value)) is not one of \(self.allowed.joined(separator: ", "))"
        }
    }

    /// Image reference, e.g. `ghcr.io/sriov-operator/sriov:v0.1.0`.
    public var image: String
    public var imagePullPolicy: PullPolicy

    public init(image: String = ImageSettings.defaultImage, imagePullPolicy: PullPolicy = .ifNotPresent) {
        self.image = image
        self.imagePullPolicy = imagePullPolicy
    }

    /// Settings from ``imageVariable`` and ``pullPolicyVariable``; an unset or empty variable keeps the default.
    /// - Throws: ``EnvironmentError`` when the pull policy is not `Always`, `IfNotPresent` or `Never`.
    public init(environment: [String: String]) throws(EnvironmentError) {
        self.init()
        if let image = environment[Self.imageVariable], !image.isEmpty { self.image = image }
        if let policy = environment[Self.pullPolicyVariable], !policy.isEmpty {
            guard let parsed = PullPolicy(rawValue: policy) else {
                throw EnvironmentError(
                    variable: Self.pullPolicyVariable,
                    value: policy,
                    allowed: PullPolicy.allCases.map(\.rawValue)
                )
            }
            self.imagePullPolicy = parsed
        }
    }
}
