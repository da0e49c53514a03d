public import KubeCore

/// `status` of the three network kinds: a single `Ready` condition.
public struct NetworkStatus: Codable, Sendable, Hashable {
    @OmitEmpty public var conditions: [Condition]
    public init(conditions: [Condition] = []) { self.conditions = conditions }
}

/// `SriovNetwork`: an attachment for pods, rendered into a NetworkAttachmentDefinition with the `sriov` CNI.
public struct SriovNetwork: Resource {
    public static let group = sriovGroup
    public static let version = "v1"
    public static let kind = "SriovNetwork"
    public static let plural = "sriovnetworks"
    public static let scope = ResourceScope.namespaced

    public var apiVersion: String = SriovNetwork.apiVersion
    public var kind: String = SriovNetwork.kind
    public var metadata: ObjectMeta
    public var spec: Spec
    public var status: NetworkStatus?

    public init(metadata: ObjectMeta, spec: Spec) {
        self.metadata = metadata
        self.spec = spec
    }

    public struct Spec: Codable, Sendable, Hashable {
        @OmitEmpty public var networkNamespace: String
        public var resourceName: String
        @OmitEmpty public var capabilities: String
        @OmitEmpty public var ipam: String
        @OmitEmpty public var vlan: Int
        @OmitEmpty public var vlanQoS: Int
        @OmitEmpty public var spoofChk: String
        @OmitEmpty public var trust: String
        @OmitEmpty public var linkState: String
        public var minTxRate: Int?
        public var maxTxRate: Int?
        @OmitEmpty public var vlanProto: String
        @OmitEmpty public var metaPlugins: String
        /// CRD default `info`; an explicit empty string means "no logLevel in the CNI config".
        public var logLevel: String?
        @OmitEmpty public var logFile: String

        public init(
            networkNamespace: String = "",
            resourceName: String,
            capabilities: String = "",
            ipam: String = "",
            vlan: Int = 0,
            vlanQoS: Int = 0,
            spoofChk: String = "",
            trust: String = "",
            linkState: String = "",
            minTxRate: Int? = nil,
            maxTxRate: Int? = nil,
            vlanProto: String = "",
            metaPlugins: String = "",
            logLevel: String? = nil,
            logFile: String = ""
        ) {
            self.networkNamespace = networkNamespace
            self.resourceName = resourceName
            self.capabilities = capabilities
            self.ipam = ipam
            self.vlan = vlan
            self.vlanQoS = vlanQoS
            self.spoofChk = spoofChk
            self.trust = trust
            self.linkState = linkState
            self.minTxRate = minTxRate
            self.maxTxRate = maxTxRate
            self.vlanProto = vlanProto
            self.metaPlugins = metaPlugins
            self.logLevel = logLevel
            self.logFile = logFile
        }
    }
}

/// `SriovIBNetwork`: an InfiniBand attachment (`ib-sriov` CNI).
public struct SriovIBNetwork: Resource {
    public static let group = sriovGroup
    public static let version = "v1"
    public static let kind = "SriovIBNetwork"
    public static let plural = "sriovibnetworks"
    public static let scope = ResourceScope.namespaced

    public var apiVersion: String = SriovIBNetwork.apiVersion
    public var kind: String = SriovIBNetwork.kind
    public var metadata: ObjectMeta
    public var spec: Spec
    public var status: NetworkStatus?

    public init(metadata: ObjectMeta, spec: Spec) {
        self.metadata = metadata
        self.spec = spec
    }

    public struct Spec: Codable, Sendable, Hashable {
        @OmitEmpty public var networkNamespace: String
        public var resourceName: String
        @OmitEmpty public var capabilities: String
        @OmitEmpty public var ipam: String
        @OmitEmpty public var linkState: String
        @OmitEmpty public var metaPlugins: String

        public init(
            networkNamespace: String = "",
            resourceName: String,
            capabilities: String = "",
            ipam: String = "",
            linkState: String = "",
            metaPlugins: String = ""
        ) {
            self.networkNamespace = networkNamespace
            self.resourceName = resourceName
            self.capabilities = capabilities
            self.ipam = ipam
            self.linkState = linkState
            self.metaPlugins = metaPlugins
        }
    }
}

/// `OVSNetwork`: an attachment to an OVS bridge with hardware offload (`ovs` CNI).
public struct OVSNetwork: Resource {
    public static let group = sriovGroup
    public static let version = "v1"
    public static let kind = "OVSNetwork"
    public static let plural = "ovsnetworks"
    public static let scope = ResourceScope.namespaced

    public var apiVersion: String = OVSNetwork.apiVersion
    public var kind: String = OVSNetwork.kind
    public var metadata: ObjectMeta
    public var spec: Spec
    public var status: NetworkStatus?

    public init(metadata: ObjectMeta, spec: Spec) {
        self.metadata = metadata
        self.spec = spec
    }

    public struct Trunk: Codable, Sendable, Hashable {
        public var minID: Int?
        public var maxID: Int?
        public var id: Int?
        public init(minID: Int? = nil, maxID: Int? = nil, id: Int? = nil) {
            self.minID = minID
            self.maxID = maxID
            self.id = id
        }
    }

    public struct Spec: Codable, Sendable, Hashable {
        @OmitEmpty public var networkNamespace: String
        public var resourceName: String
        @OmitEmpty public var capabilities: String
        @OmitEmpty public var ipam: String
        @OmitEmpty public var metaPlugins: String
        @OmitEmpty public var bridge: String
        @OmitEmpty public var vlan: Int
        @OmitEmpty public var mtu: Int
        @OmitEmpty public var trunk: [Trunk]
        @OmitEmpty public var interfaceType: String

        public init(
            networkNamespace: String = "",
            resourceName: String,
            capabilities: String = "",
            ipam: String = "",
            metaPlugins: String = "",
            bridge: String = "",
            vlan: Int = 0,
            mtu: Int = 0,
            trunk: [Trunk] = [],
            interfaceType: String = ""
        ) {
            self.networkNamespace = networkNamespace
            self.resourceName = resourceName
            self.capabilities = capabilities
            self.ipam = ipam
            self.metaPlugins = metaPlugins
            self.bridge = bridge
            self.vlan = vlan
            self.mtu = mtu
            self.trunk = trunk
            self.interfaceType = interfaceType
        }
    }
}
