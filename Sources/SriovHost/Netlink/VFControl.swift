/// The PF side of a VF: reading and changing the attributes the PF's driver keeps for it (admin MAC, VLAN, QoS and
/// protocol, spoof checking, trust, link state, TX rates) and the PF's MTU.
///
/// The narrow boundary the CNI plugin crosses for everything it cannot do on the VF netdev itself. ``RTNetlinkVFControl``
/// talks to the kernel; ``SimulatedVFControl`` keeps the same state in files beside a simulated sysfs tree and
/// refuses what the kernel refuses, for hosts (and tests) without SR-IOV hardware.
public protocol VFControl: Sendable {
    /// The VF's attributes as the PF reports them.
    /// - Throws: ``HostError`` `notFound` when the PF or the VF does not exist.
    func vf(_ vf: Int, pf: String) throws(HostError) -> VFInfo
    /// The PF netdev's MTU.
    func mtu(pf: String) throws(HostError) -> Int
    /// Changes the attributes set in `config` (one request; the kernel applies them in its own order).
    func setVF(pf: String, _ config: VFConfig) throws(HostError)
}

/// ``VFControl`` through rtnetlink (`RTM_GETLINK` with `RTEXT_FILTER_VF`, `RTM_NEWLINK` with `IFLA_VFINFO_LIST`), in
/// the calling thread's network namespace (the PF's: the host's).
public struct RTNetlinkVFControl: VFControl {
    public let netlink: RTNetlink

    public init(netlink: RTNetlink = RTNetlink()) {
        self.netlink = netlink
    }

    public func vf(_ vf: Int, pf: String) throws(HostError) -> VFInfo {
        let link = try self.netlink.link(named: pf)
        guard let info = link.vfs.first(where: { $0.vf == vf }) else {
            throw HostError(
                code: .notFound,
                message: "PF \(pf) reports no VF \(vf) (it has \(link.vfs.count) VFs)"
            )
        }
        return info
    }

    public func mtu(pf: String) throws(HostError) -> Int {
        try self.netlink.link(named: pf).mtu
    }

    public func setVF(pf: String, _ config: VFConfig) throws(HostError) {
        try self.netlink.setVF(link: pf, config)
    }
}
