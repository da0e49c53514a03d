public import KubeCore

/// `SriovNetworkNodeState`: one per node (named after it). The operator writes `spec` (what the node
/// should look like); the config daemon writes `status` (what it discovered).
public struct SriovNetworkNodeState: Resource {
    public static let group = sriovGroup
    public static let version = "v1"
    public static let kind = "SriovNetworkNodeState"
    public static let plural = "sriovnetworknodestates"
    public static let scope = ResourceScope.namespaced

    public var apiVersion: String = SriovNetworkNodeState.apiVersion
    public var kind: String = SriovNetworkNodeState.kind
    public var metadata: ObjectMeta
    public var spec: Spec
    public var status: Status

    public init(metadata: ObjectMeta, spec: Spec = Spec(), status: Status = Status()) {
        self.metadata = metadata
        self.spec = spec
        self.status = status
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.apiVersion = try c.decodeIfPresent(String.self, forKey: .apiVersion) ?? Self.apiVersion
        self.kind = try c.decodeIfPresent(String.self, forKey: .kind) ?? Self.kind
        self.metadata = try c.decode(ObjectMeta.self, forKey: .metadata)
        self.spec = try c.decodeIfPresent(Spec.self, forKey: .spec) ?? Spec()
        self.status = try c.decodeIfPresent(Status.self, forKey: .status) ?? Status()
    }

    public struct Spec: Codable, Sendable, Hashable {
        @OmitEmpty public var interfaces: [Interface]
        public var bridges: Bridges?
        public var system: System?

        public init(interfaces: [Interface] = [], bridges: Bridges? = nil, system: System? = nil) {
            self.interfaces = interfaces
            self.bridges = bridges
            self.system = system
        }
    }

    public struct Status: Codable, Sendable, Hashable {
        @OmitEmpty public var interfaces: [InterfaceExt]
        public var bridges: Bridges?
        public var system: System?
        @OmitEmpty public var syncStatus: String
        @OmitEmpty public var lastSyncError: String

        public init(
            interfaces: [InterfaceExt] = [],
            bridges: Bridges? = nil,
            system: System? = nil,
            syncStatus: String = "",
            lastSyncError: String = ""
        ) {
            self.interfaces = interfaces
            self.bridges = bridges
            self.system = system
            self.syncStatus = syncStatus
            self.lastSyncError = lastSyncError
        }
    }

    /// `spec.interfaces[]`: the desired configuration of one PF.
    public struct Interface: Codable, Sendable, Hashable {
        public var pciAddress: String
        @OmitEmpty public var numVfs: Int
        @OmitEmpty public var mtu: Int
        @OmitEmpty public var name: String
        @OmitEmpty public var linkType: String
        @OmitEmpty public var eSwitchMode: String
        @OmitEmpty public var vfGroups: [VfGroup]
        @OmitEmpty public var externallyManaged: Bool

        public init(
            pciAddress: String,
            numVfs: Int = 0,
            mtu: Int = 0,
            name: String = "",
            linkType: String = "",
            eSwitchMode: String = "",
            vfGroups: [VfGroup] = [],
            externallyManaged: Bool = false
        ) {
            self.pciAddress = pciAddress
            self.numVfs = numVfs
            self.mtu = mtu
            self.name = name
            self.linkType = linkType
            self.eSwitchMode = eSwitchMode
            self.vfGroups = vfGroups
            self.externallyManaged = externallyManaged
        }
    }

    /// `spec.interfaces[].vfGroups[]`: a range of a PF's VFs given to one resource.
    public struct VfGroup: Codable, Sendable, Hashable {
        @OmitEmpty public var resourceName: String
        @OmitEmpty public var deviceType: String
        @OmitEmpty public var vfRange: String
        @OmitEmpty public var policyName: String
        @OmitEmpty public var mtu: Int
        @OmitEmpty public var isRdma: Bool
        @OmitEmpty public var vdpaType: String

        public init(
            resourceName: String = "",
            deviceType: String = "",
            vfRange: String = "",
            policyName: String = "",
            mtu: Int = 0,
            isRdma: Bool = false,
            vdpaType: String = ""
        ) {
            self.resourceName = resourceName
            self.deviceType = deviceType
            self.vfRange = vfRange
            self.policyName = policyName
            self.mtu = mtu
            self.isRdma = isRdma
            self.vdpaType = vdpaType
        }
    }

    /// `status.interfaces[]`: a PF as discovered on the node.
    public struct InterfaceExt: Codable, Sendable, Hashable {
        @OmitEmpty public var name: String
        @OmitEmpty public var mac: String
        @OmitEmpty public var driver: String
        public var pciAddress: String
        @OmitEmpty public var vendor: String
        @OmitEmpty public var deviceID: String
        @OmitEmpty public var netFilter: String
        @OmitEmpty public var mtu: Int
        @OmitEmpty public var numVfs: Int
        @OmitEmpty public var linkSpeed: String
        @OmitEmpty public var linkType: String
        @OmitEmpty public var linkAdminState: String
        @OmitEmpty public var eSwitchMode: String
        @OmitEmpty public var externallyManaged: Bool
        @OmitEmpty public var totalvfs: Int
        @OmitEmpty public var Vfs: [VirtualFunction]
        @OmitEmpty public var altNames: [String]

        public init(
            name: String = "",
            mac: String = "",
            driver: String = "",
            pciAddress: String,
            vendor: String = "",
            deviceID: String = "",
            netFilter: String = "",
            mtu: Int = 0,
            numVfs: Int = 0,
            linkSpeed: String = "",
            linkType: String = "",
            linkAdminState: String = "",
            eSwitchMode: String = "",
            externallyManaged: Bool = false,
            totalvfs: Int = 0,
            Vfs: [VirtualFunction] = [],
            altNames: [String] = []
        ) {
            self.name = name
            self.mac = mac
            self.driver = driver
            self.pciAddress = pciAddress
            self.vendor = vendor
            self.deviceID = deviceID
            self.netFilter = netFilter
            self.mtu = mtu
            self.numVfs = numVfs
            self.linkSpeed = linkSpeed
            self.linkType = linkType
            self.linkAdminState = linkAdminState
            self.eSwitchMode = eSwitchMode
            self.externallyManaged = externallyManaged
            self.totalvfs = totalvfs
            self.Vfs = Vfs
            self.altNames = altNames
        }
    }

    /// `status.interfaces[].Vfs[]`: a VF as discovered. `vfID` is always written, even when 0.
    public struct VirtualFunction: Codable, Sendable, Hashable {
        @OmitEmpty public var name: String
        @OmitEmpty public var mac: String
        @OmitEmpty public var assigned: String
        @OmitEmpty public var driver: String
        public var pciAddress: String
        @OmitEmpty public var vendor: String
        @OmitEmpty public var deviceID: String
        @OmitEmpty public var Vlan: Int
        @OmitEmpty public var mtu: Int
        public var vfID: Int
        @OmitEmpty public var vdpaType: String
        @OmitEmpty public var representorName: String
        @OmitEmpty public var guid: String

        public init(
            name: String = "",
            mac: String = "",
            assigned: String = "",
            driver: String = "",
            pciAddress: String,
            vendor: String = "",
            deviceID: String = "",
            Vlan: Int = 0,
            mtu: Int = 0,
            vfID: Int,
            vdpaType: String = "",
            representorName: String = "",
            guid: String = ""
        ) {
            self.name = name
            self.mac = mac
            self.assigned = assigned
            self.driver = driver
            self.pciAddress = pciAddress
            self.vendor = vendor
            self.deviceID = deviceID
            self.Vlan = Vlan
            self.mtu = mtu
            self.vfID = vfID
            self.vdpaType = vdpaType
            self.representorName = representorName
            self.guid = guid
        }
    }

    public struct Bridges: Codable, Sendable, Hashable {
        @OmitEmpty public var ovs: [OVSConfigExt]
        public init(ovs: [OVSConfigExt] = []) { self.ovs = ovs }
    }

    /// One OVS bridge, named `br-<pci>` after its first uplink.
    public struct OVSConfigExt: Codable, Sendable, Hashable {
        public var name: String
        public var bridge: OVSBridgeConfig?
        @OmitEmpty public var uplinks: [OVSUplinkConfigExt]

        public init(name: String, bridge: OVSBridgeConfig? = nil, uplinks: [OVSUplinkConfigExt] = []) {
            self.name = name
            self.bridge = bridge
            self.uplinks = uplinks
        }
    }

    public struct OVSUplinkConfigExt: Codable, Sendable, Hashable {
        public var pciAddress: String
        @OmitEmpty public var name: String
        public var interface: OVSInterfaceConfig?

        public init(pciAddress: String, name: String = "", interface: OVSInterfaceConfig? = nil) {
            self.pciAddress = pciAddress
            self.name = name
            self.interface = interface
        }
    }

    public struct System: Codable, Sendable, Hashable {
        @OmitEmpty public var rdmaMode: String
        public init(rdmaMode: String = "") { self.rdmaMode = rdmaMode }
    }
}

extension SriovNetworkNodeState {
    public enum Annotation {
        public static let desiredState = "sriovnetwork.openshift.io/desired-state"
        public static let currentState = "sriovnetwork.openshift.io/current-state"
        public static let keepStateUntil = "sriovnetwork.openshift.io/keep-state-until"
        public static let useExternalDrainer = "sriovnetwork.openshift.io/use-external-drainer"
    }
}
