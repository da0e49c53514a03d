/// One network interface as the kernel reports it in an `RTM_NEWLINK` message.
///
/// Built from a `RTM_GETLINK` reply by ``RTNetlink`` (or by a fake in tests); every field is a plain value so the
/// CNI, the device plugin and the config daemon can compare snapshots.
public struct LinkInfo: Sendable, Hashable {
    /// The interface index (`ifi_index`); stable across renames, changes when the link moves to another namespace.
    public var index: Int32
    /// The interface name (`IFLA_IFNAME`).
    public var name: String
    /// Alternative names (`IFLA_PROP_LIST`/`IFLA_ALT_IFNAME`), in kernel order.
    public var altNames: [String]
    /// `IFLA_MTU`.
    public var mtu: Int
    /// The hardware address (`IFLA_ADDRESS`) as lower-case colon-separated hex; `""` when the link has none.
    public var mac: String
    /// Whether the administrative `IFF_UP` flag is set.
    public var isUp: Bool
    /// RFC 2863 operational state (`IFLA_OPERSTATE`) as sysfs spells it: `up`, `down`, `unknown`, `notpresent`,
    /// `lowerlayerdown`, `testing`, `dormant`.
    public var operState: String
    /// The link-layer type from `ifi_type`: `ether`, `infiniband`, `loopback`, or `arphrd-N` for anything else.
    public var linkType: String
    /// The driver kind from `IFLA_LINKINFO`/`IFLA_INFO_KIND` (`veth`, `bridge`, …); `nil` for physical devices.
    public var kind: String?
    /// The SR-IOV virtual functions reported in `IFLA_VFINFO_LIST`; empty when the link has none.
    public var vfs: [VFInfo]

    public init(
        index: Int32,
        name: String,
        altNames: [String] = [],
        mtu: Int,
        mac: String,
        isUp: Bool,
        operState: String,
        linkType: String,
        kind: String? = nil,
        vfs: [VFInfo] = []
    ) {
        self.index = index
        self.name = name
        self.altNames = altNames
        self.mtu = mtu
        self.mac = mac
        self.isUp = isUp
        self.operState = operState
        self.linkType = linkType
        self.kind = kind
        self.vfs = vfs
    }
}

/// The administrative link state of a VF (`IFLA_VF_LINK_STATE`).
public enum VFLinkState: Int32, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    /// Follows the PF's link (`IFLA_VF_LINK_STATE_AUTO`).
    case auto = 0
    /// Always up (`IFLA_VF_LINK_STATE_ENABLE`).
    case enable = 1
    /// Always down (`IFLA_VF_LINK_STATE_DISABLE`).
    case disable = 2

    /// Parses the names sriov-cni's `link_state` accepts (`auto`, `enable`, `disable`); `nil` for anything else.
    public init?(name: String) {
        switch name {
        case "auto": self = .auto
        case "enable": self = .enable
        case "disable": self = .disable
        default: return nil
        }
    }

    /// `auto`, `enable` or `disable`.
    public var description: String {
        switch self {
        case .auto: "auto"
        case .enable: "enable"
        case .disable: "disable"
        }
    }
}

/// The state of one VF as its PF reports it (`IFLA_VF_INFO`).
///
/// Optional fields are `nil` when the kernel did not send the attribute or the driver reported it as unsupported
/// (the kernel sends `-1` for spoof checking and trust a driver does not implement).
public struct VFInfo: Sendable, Hashable {
    /// The VF index on its PF.
    public var vf: Int
    /// The administrative MAC (`IFLA_VF_MAC`), lower-case colon hex, `00:00:00:00:00:00` when unset.
    public var mac: String
    /// VLAN id, `0` for untagged.
    public var vlan: Int
    /// VLAN priority (QoS, 0–7).
    public var qos: Int
    /// VLAN protocol in host byte order (`0x8100` for 802.1Q, `0x88a8` for 802.1ad), when the kernel reports it.
    public var vlanProto: Int?
    public var spoofCheck: Bool?
    public var trust: Bool?
    public var linkState: VFLinkState?
    /// Minimum TX rate in Mbps, `0` meaning no guarantee.
    public var minTxRate: Int?
    /// Maximum TX rate in Mbps, `0` meaning unlimited.
    public var maxTxRate: Int?

    public init(
        vf: Int,
        mac: String,
        vlan: Int = 0,
        qos: Int = 0,
        vlanProto: Int? = nil,
        spoofCheck: Bool? = nil,
        trust: Bool? = nil,
        linkState: VFLinkState? = nil,
        minTxRate: Int? = nil,
        maxTxRate: Int? = nil
    ) {
        self.vf = vf
        self.mac = mac
        self.vlan = vlan
        self.qos = qos
        self.vlanProto = vlanProto
        self.spoofCheck = spoofCheck
        self.trust = trust
        self.linkState = linkState
        self.minTxRate = minTxRate
        self.maxTxRate = maxTxRate
    }
}
