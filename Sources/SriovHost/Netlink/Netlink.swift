/// Link and VF configuration through the kernel's netlink interfaces: rtnetlink for links and VFs, devlink (generic
/// netlink) for the eswitch mode.
///
/// Names are interface names in the network namespace the implementation talks to (for ``RTNetlink``: the calling
/// thread's; use ``NetlinkNamespace/run(inNamespaceAt:_:)`` to work inside another). Every method validates its
/// input before touching the kernel and reports every failure as a ``HostError`` naming the operation, the link and
/// the value, with the kernel's errno when there is one.
public protocol Netlink: Sendable {
    /// All links, with VF information for SR-IOV PFs.
    func links() throws(HostError) -> [LinkInfo]
    /// One link by name (or altname).
    /// - Throws: ``HostError`` with code `notFound` when there is no such link.
    func link(named name: String) throws(HostError) -> LinkInfo
    func setMTU(_ mtu: Int, link: String) throws(HostError)
    /// Sets or clears the administrative `IFF_UP` flag.
    func setUp(_ up: Bool, link: String) throws(HostError)
    /// Sets the link's own (effective) hardware address; `mac` is `xx:xx:xx:xx:xx:xx`.
    func setMAC(_ mac: String, link: String) throws(HostError)
    /// Renames a link; most drivers require the link to be down.
    func rename(_ link: String, to newName: String) throws(HostError)
    /// Moves a link into the network namespace bound at `namespacePath` (e.g. `/var/run/netns/p1`).
    func moveToNamespace(link: String, namespacePath: String) throws(HostError)
    /// Changes VF attributes on the PF `link`; see ``VFConfig``.
    func setVF(link: String, _ config: VFConfig) throws(HostError)
    /// The devlink eswitch mode of the PCI device (`0000:3b:00.0`): `legacy` or `switchdev`.
    /// - Throws: ``HostError`` `unsupported` when the kernel has no devlink or the device no eswitch; `notFound`
    ///   when no devlink device has that address.
    func eswitchMode(pciAddress: String) throws(HostError) -> String
    /// Sets the devlink eswitch mode (`legacy` or `switchdev`).
    func setEswitchMode(_ mode: String, pciAddress: String) throws(HostError)
}
