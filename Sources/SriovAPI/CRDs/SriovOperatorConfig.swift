public import KubeCore

/// `SriovOperatorConfig`: operator-wide settings. Only the object named `default` in the operator
/// namespace is used.
public struct SriovOperatorConfig: Resource {
    public static let group = sriovGroup
    public static let version = "v1"
    public static let kind = "SriovOperatorConfig"
    public static let plural = "sriovoperatorconfigs"
    public static let scope = ResourceScope.namespaced
    /// The only name the operator honours.
    public static let defaultName = "default"

    public var apiVersion: String = SriovOperatorConfig.apiVersion
    public var kind: String = SriovOperatorConfig.kind
    public var metadata: ObjectMeta
    public var spec: Spec
    public var status: Status?

    public init(metadata: ObjectMeta, spec: Spec = Spec()) {
        self.metadata = metadata
        self.spec = spec
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.apiVersion = try c.decodeIfPresent(String.self, forKey: .apiVersion) ?? Self.apiVersion
        self.kind = try c.decodeIfPresent(String.self, forKey: .kind) ?? Self.kind
        self.metadata = try c.decode(ObjectMeta.self, forKey: .metadata)
        self.spec = try c.decodeIfPresent(Spec.self, forKey: .spec) ?? Spec()
        self.status = try c.decodeIfPresent(Status.self, forKey: .status)
    }

    public struct Spec: Codable, Sendable, Hashable {
        @OmitEmpty public var configDaemonNodeSelector: [String: String]
        @OmitEmpty public var enableInjector: Bool
        @OmitEmpty public var enableOperatorWebhook: Bool
        @OmitEmpty public var logLevel: Int
        @OmitEmpty public var disableDrain: Bool
        @OmitEmpty public var enableOvsOffload: Bool
        @OmitEmpty public var configurationMode: String
        @OmitEmpty public var useCDI: Bool
        @OmitEmpty public var disablePlugins: [String]
        @OmitEmpty public var featureGates: [String: Bool]
        @OmitEmpty public var configDaemonEnvVars: [String: String]

        public init(
            configDaemonNodeSelector: [String: String] = [:],
            enableInjector: Bool = false,
            enableOperatorWebhook: Bool = false,
            logLevel: Int = 0,
            disableDrain: Bool = false,
            configurationMode: String = "",
            featureGates: [String: Bool] = [:]
        ) {
            self.configDaemonNodeSelector = configDaemonNodeSelector
            self.enableInjector = enableInjector
            self.enableOperatorWebhook = enableOperatorWebhook
            self.logLevel = logLevel
            self.disableDrain = disableDrain
            self.configurationMode = configurationMode
            self.featureGates = featureGates
        }
    }

    public struct Status: Codable, Sendable, Hashable {
        @OmitEmpty public var conditions: [Condition]
        @OmitEmpty public var injector: String
        @OmitEmpty public var operatorWebhook: String
    }
}

/// Feature gates and their defaults (upstream `pkg/featuregate`).
public enum FeatureGate: String, CaseIterable, Sendable {
    case parallelNicConfig
    case resourceInjectorMatchCondition
    case metricsExporter
    case manageSoftwareBridges
    case blockDevicePluginUntilConfigured
    case mellanoxFirmwareReset

    public var defaultValue: Bool {
        switch self {
        case .blockDevicePluginUntilConfigured, .mellanoxFirmwareReset: return true
        default: return false
        }
    }
}

extension SriovOperatorConfig.Spec {
    /// Whether `gate` is on: the explicit setting, else the gate's default.
    public func isEnabled(_ gate: FeatureGate) -> Bool {
        self.featureGates[gate.rawValue] ?? gate.defaultValue
    }
}
