public import KubeCore

/// The API group of every SR-IOV custom resource.
public let sriovGroup = "sriovnetwork.openshift.io"

/// `SriovNetworkNodePolicy`: "on nodes matching `nodeSelector`, carve `numVfs` VFs out of the NICs matching
/// `nicSelector` and expose them as resource `resourceName`".
public struct SriovNetworkNodePolicy: Resource {
    public static let group = sriovGroup
    public static let version = "v1"
    public static let kind = "SriovNetworkNodePolicy"
    public static let plural = "sriovnetworknodepolicies"
    public static let scope = ResourceScope.namespaced

    public var apiVersion: String = SriovNetworkNodePolicy.apiVersion
    public var kind: String = SriovNetworkNodePolicy.kind
    public var metadata: ObjectMeta
    public var spec: Spec
    public var status: JSONValue?

    public init(metadata: ObjectMeta, spec: Spec) {
        self.metadata = metadata
        self.spec = spec
    }

    public struct Spec: Codable, Sendable, Hashable {
        public var resourceName: String
        public var nodeSelector: [String: String]
        /// 0 is the highest priority, 99 the lowest. Absent means the mutating webhook has not run.
        public var priority: Int?
        @OmitEmpty public var mtu: Int
        public var numVfs: Int
        public var nicSelector: NicSelector
        @OmitEmpty public var deviceType: String
        public var isRdma: Bool?
        @OmitEmpty public var needVhostNet: Bool
        @OmitEmpty public var linkType: String
        @OmitEmpty public var eSwitchMode: String
        @OmitEmpty public var vdpaType: String
        @OmitEmpty public var excludeTopology: Bool
        @OmitEmpty public var externallyManaged: Bool
        public var bridge: Bridge?

        public init(
            resourceName: String,
            nodeSelector: [String: String] = [:],
            priority: Int? = nil,
            mtu: Int = 0,
            numVfs: Int,
            nicSelector: NicSelector,
            deviceType: String = "",
            isRdma: Bool? = nil,
            needVhostNet: Bool = false,
            linkType: String = "",
            eSwitchMode: String = "",
            vdpaType: String = "",
            excludeTopology: Bool = false,
            externallyManaged: Bool = false,
            bridge: Bridge? = nil
        ) {
            self.resourceName = resourceName
            self.nodeSelector = nodeSelector
            self.priority = priority
            self.mtu = mtu
            self.numVfs = numVfs
            self.nicSelector = nicSelector
            self.deviceType = deviceType
            self.isRdma = isRdma
            self.needVhostNet = needVhostNet
            self.linkType = linkType
            self.eSwitchMode = eSwitchMode
            self.vdpaType = vdpaType
            self.excludeTopology = excludeTopology
            self.externallyManaged = externallyManaged
            self.bridge = bridge
        }
    }

    /// `nicSelector`: every field that is set must match (AND).
    public struct NicSelector: Codable, Sendable, Hashable {
        @OmitEmpty public var vendor: String
        @OmitEmpty public var deviceID: String
        @OmitEmpty public var rootDevices: [String]
        @OmitEmpty public var pfNames: [String]
        @OmitEmpty public var netFilter: String

        public init(
            vendor: String = "",
            deviceID: String = "",
            rootDevices: [String] = [],
            pfNames: [String] = [],
            netFilter: String = ""
        ) {
            self.vendor = vendor
            self.deviceID = deviceID
            self.rootDevices = rootDevices
            self.pfNames = pfNames
            self.netFilter = netFilter
        }

        /// No field set: such a selector matches nothing.
        public var isEmpty: Bool {
            self.vendor.isEmpty && self.deviceID.isEmpty && self.rootDevices.isEmpty && self.pfNames.isEmpty
                && self.netFilter.isEmpty
        }
    }

    /// `bridge`: software bridge (OVS) management for switchdev PFs.
    public struct Bridge: Codable, Sendable, Hashable {
        public var ovs: OVSConfig?
        public init(ovs: OVSConfig? = nil) { self.ovs = ovs }
    }

    public struct OVSConfig: Codable, Sendable, Hashable {
        public var bridge: OVSBridgeConfig?
        public var uplink: OVSUplinkConfig?
        public init(bridge: OVSBridgeConfig? = nil, uplink: OVSUplinkConfig? = nil) {
            self.bridge = bridge
            self.uplink = uplink
        }
    }

    public struct OVSUplinkConfig: Codable, Sendable, Hashable {
        public var interface: OVSInterfaceConfig?
        public init(interface: OVSInterfaceConfig? = nil) { self.interface = interface }
    }
}

/// OVS `Bridge` table settings.
public struct OVSBridgeConfig: Codable, Sendable, Hashable {
    @OmitEmpty public var datapathType: String
    @OmitEmpty public var externalIDs: [String: String]
    @OmitEmpty public var otherConfig: [String: String]
    @OmitEmpty public var failMode: String

    public init(
        datapathType: String = "",
        externalIDs: [String: String] = [:],
        otherConfig: [String: String] = [:],
        failMode: String = ""
    ) {
        self.datapathType = datapathType
        self.externalIDs = externalIDs
        self.otherConfig = otherConfig
        self.failMode = failMode
    }
}

/// OVS `Interface` table settings for an uplink.
public struct OVSInterfaceConfig: Codable, Sendable, Hashable {
    @OmitEmpty public var type: String
    @OmitEmpty public var options: [String: String]
    @OmitEmpty public var externalIDs: [String: String]
    @OmitEmpty public var otherConfig: [String: String]
    public var mtuRequest: Int?

    public init(
        type: String = "",
        options: [String: String] = [:],
        externalIDs: [String: String] = [:],
        otherConfig: [String: String] = [:],
        mtuRequest: Int? = nil
    ) {
        self.type = type
        self.options = options
        self.externalIDs = externalIDs
        self.otherConfig = otherConfig
        self.mtuRequest = mtuRequest
    }
}
