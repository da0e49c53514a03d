/// What the node side needs from a network interface beyond sysfs: state and the few settings it makes.
///
/// Implemented over rtnetlink/devlink for real hosts (``RTNetlinkLinkControl``) and over the simulated
/// tree (``SimulatedLinkControl``). Kept narrow on purpose: discovery and apply need no more.
public protocol LinkControl: Sendable {
    func state(of link: InterfaceName) throws(HostError) -> LinkState
    func setMTU(_ mtu: Int, link: InterfaceName) throws(HostError)
    func setUp(_ up: Bool, link: InterfaceName) throws(HostError)
    /// The devlink eswitch mode of a PF: `legacy` or `switchdev`.
    func eswitchMode(of device: PCIAddress) throws(HostError) -> String
    func setEswitchMode(_ mode: String, of device: PCIAddress) throws(HostError)
    /// Sets the administrative MAC of VF `vf` on PF `link` (IFLA_VF_MAC).
    func setVFMAC(_ mac: String, vf: Int, link: InterfaceName) throws(HostError)
}

/// A link as discovery reports it.
public struct LinkState: Sendable, Hashable {
    public var mtu: Int
    public var mac: String
    public var isUp: Bool
    public var altNames: [String]
    /// `ETH` or `IB` (NodeState's spelling).
    public var linkType: String

    public init(mtu: Int, mac: String, isUp: Bool, altNames: [String] = [], linkType: String = "ETH") {
        self.mtu = mtu
        self.mac = mac
        self.isUp = isUp
        self.altNames = altNames
        self.linkType = linkType
    }
}
