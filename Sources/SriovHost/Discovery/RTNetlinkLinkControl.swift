/// ``LinkControl`` on a real host: rtnetlink for links and VF attributes, devlink for the eswitch mode.
public struct RTNetlinkLinkControl: LinkControl {
    let netlink: any Netlink

    public init(netlink: any Netlink = RTNetlink()) { self.netlink = netlink }

    public func state(of link: InterfaceName) throws(HostError) -> LinkState {
        let info = try self.netlink.link(named: link.rawValue)
        return LinkState(
            mtu: info.mtu,
            mac: info.mac,
            isUp: info.isUp,
            altNames: info.altNames,
            linkType: info.linkType == "infiniband" ? "IB" : "ETH"
        )
    }

    public func setMTU(_ mtu: Int, link: InterfaceName) throws(HostError) {
        try self.netlink.setMTU(mtu, link: link.rawValue)
    }

    public func setUp(_ up: Bool, link: InterfaceName) throws(HostError) {
        try self.netlink.setUp(up, link: link.rawValue)
    }

    public func eswitchMode(of device: PCIAddress) throws(HostError) -> String {
        try self.netlink.eswitchMode(pciAddress: device.rawValue)
    }

    public func setEswitchMode(_ mode: String, of device: PCIAddress) throws(HostError) {
        try self.netlink.setEswitchMode(mode, pciAddress: device.rawValue)
    }

    public func setVFMAC(_ mac: String, vf: Int, link: InterfaceName) throws(HostError) {
        try self.netlink.setVF(link: link.rawValue, VFConfig(vf: vf, mac: mac))
    }
}
