/// The VF attributes to change on a PF in one `RTM_NEWLINK` request; `nil` fields are left untouched.
///
/// Encoded by ``NetlinkMessage/setVF(ifindex:seq:config:)`` as one `IFLA_VFINFO_LIST`/`IFLA_VF_INFO` nest. The
/// kernel applies the attributes in its own fixed order (MAC, VLAN, rate, spoof check, link state, trust) and stops
/// at the first one the driver rejects; callers that need sriov-cni's ordering or per-attribute retries send one
/// config per attribute.
public struct VFConfig: Sendable, Hashable {
    /// The VF index on the PF.
    public var vf: Int
    /// Administrative MAC, `xx:xx:xx:xx:xx:xx` (`IFLA_VF_MAC`).
    public var mac: String?
    /// VLAN id 0–4095, `0` for untagged. Sent as `IFLA_VF_VLAN_LIST` when ``vlanProto`` is set, else `IFLA_VF_VLAN`.
    public var vlan: Int?
    /// VLAN priority 0–7; requires ``vlan``. Defaults to 0 when only ``vlan`` is set.
    public var qos: Int?
    /// `0x8100` (802.1Q) or `0x88a8` (802.1ad); requires ``vlan``.
    public var vlanProto: UInt16?
    /// `IFLA_VF_SPOOFCHK`.
    public var spoofCheck: Bool?
    /// `IFLA_VF_TRUST`.
    public var trust: Bool?
    /// `IFLA_VF_LINK_STATE`.
    public var linkState: VFLinkState?
    /// Minimum TX rate in Mbps. Rates are sent together as `IFLA_VF_RATE`: when only one of the two is set the other
    /// is sent as `0` (no limit), as sriov-cni does.
    public var minTxRate: Int?
    /// Maximum TX rate in Mbps, `0` for unlimited. See ``minTxRate``.
    public var maxTxRate: Int?

    public init(
        vf: Int,
        mac: String? = nil,
        vlan: Int? = nil,
        qos: Int? = nil,
        vlanProto: UInt16? = nil,
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

    /// 802.1Q, the default VLAN protocol.
    public static let vlanProto8021Q: UInt16 = 0x8100
    /// 802.1ad (QinQ service tag).
    public static let vlanProto8021AD: UInt16 = 0x88a8
}
