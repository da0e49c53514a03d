public import KubeCore

/// `SriovNetworkPoolConfig`: groups nodes for parallel draining (`maxUnavailable`) and sets the RDMA
/// namespace mode of its nodes.
public struct SriovNetworkPoolConfig: Resource {
    public static let group = sriovGroup
    public static let version = "v1"
    public static let kind = "SriovNetworkPoolConfig"
    public static let plural = "sriovnetworkpoolconfigs"
    public static let scope = ResourceScope.namespaced

    public var apiVersion: String = SriovNetworkPoolConfig.apiVersion
    public var kind: String = SriovNetworkPoolConfig.kind
    public var metadata: ObjectMeta
    public var spec: Spec
    public var status: JSONValue?

    public init(metadata: ObjectMeta, spec: Spec = Spec()) {
        self.metadata = metadata
        self.spec = spec
    }

    public struct OvsHardwareOffloadConfig: Codable, Sendable, Hashable {
        @OmitEmpty public var name: String
        public init(name: String = "") { self.name = name }
    }

    public struct Spec: Codable, Sendable, Hashable {
        public var ovsHardwareOffloadConfig: OvsHardwareOffloadConfig?
        /// nil matches every node.
        public var nodeSelector: LabelSelector?
        /// nil means unlimited.
        public var maxUnavailable: IntOrString?
        @OmitEmpty public var rdmaMode: String

        public init(
            ovsHardwareOffloadConfig: OvsHardwareOffloadConfig? = nil,
            nodeSelector: LabelSelector? = nil,
            maxUnavailable: IntOrString? = nil,
            rdmaMode: String = ""
        ) {
            self.ovsHardwareOffloadConfig = ovsHardwareOffloadConfig
            self.nodeSelector = nodeSelector
            self.maxUnavailable = maxUnavailable
            self.rdmaMode = rdmaMode
        }
    }
}
