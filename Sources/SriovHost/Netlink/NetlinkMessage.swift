import CNetlink

/// Pure encoders for the rtnetlink requests ``RTNetlink`` sends, and the decoder for its replies.
///
/// Nothing here does I/O: tests compare the bytes with the kernel ABI (and with what iproute2 sends), and a fake can
/// decode what a test built. Every encoder validates its input first and throws ``HostError`` with code
/// `invalidArgument` naming the bad value.
public enum NetlinkMessage {
    /// `NLM_F_REQUEST | NLM_F_ACK`: every change asks for an acknowledgement so failures are never silent.
    static let requestWithAck = UInt16(NLM_F_REQUEST | NLM_F_ACK)
    /// What `RTM_GETLINK` asks for: VF information (`RTEXT_FILTER_VF`) without per-VF statistics
    /// (`RTEXT_FILTER_SKIP_STATS`), as `ip link show` does.
    static let linkExtMask = UInt32(RTEXT_FILTER_VF | RTEXT_FILTER_SKIP_STATS)

    /// `RTM_GETLINK` dump of every link, with VF information.
    public static func dumpLinks(seq: UInt32) -> [UInt8] {
        var message = NetlinkEncoder(type: UInt16(RTM_GETLINK), flags: UInt16(NLM_F_REQUEST | NLM_F_DUMP), seq: seq)
        message.appendInterfaceHeader(index: 0)
        message.attribute(UInt16(IFLA_EXT_MASK), uint32: Self.linkExtMask)
        return message.finish()
    }

    /// `RTM_GETLINK` for one link looked up by name (or altname), with VF information unless `includeVFs` is false
    /// (enough to learn the index, and much smaller for a PF with many VFs).
    public static func getLink(named name: String, seq: UInt32, includeVFs: Bool = true) throws(HostError) -> [UInt8] {
        try NetlinkValidation.checkInterfaceName(name)
        var message = NetlinkEncoder(type: UInt16(RTM_GETLINK), flags: Self.requestWithAck, seq: seq)
        message.appendInterfaceHeader(index: 0)
        message.attribute(
            UInt16(IFLA_EXT_MASK),
            uint32: includeVFs ? Self.linkExtMask : UInt32(RTEXT_FILTER_SKIP_STATS)
        )
        message.attribute(UInt16(IFLA_IFNAME), string: name)
        return message.finish()
    }

    /// `RTM_NEWLINK` on an existing link with arbitrary flags and attributes: the building block of the setters.
    static func setLink(
        ifindex: Int32,
        seq: UInt32,
        flags: UInt32 = 0,
        change: UInt32 = 0,
        _ attributes: (inout NetlinkEncoder) -> Void = { _ in }
    ) -> [UInt8] {
        var message = NetlinkEncoder(type: UInt16(RTM_NEWLINK), flags: Self.requestWithAck, seq: seq)
        message.appendInterfaceHeader(index: ifindex, flags: flags, change: change)
        attributes(&message)
        return message.finish()
    }

    /// `RTM_NEWLINK` with `IFLA_MTU`. Only the u32 range is checked here; the device's own limits are the kernel's.
    public static func setMTU(ifindex: Int32, seq: UInt32, mtu: Int) throws(HostError) -> [UInt8] {
        let value = try NetlinkValidation.uint32(mtu, field: "MTU")
        return Self.setLink(ifindex: ifindex, seq: seq) { $0.attribute(UInt16(IFLA_MTU), uint32: value) }
    }

    /// `RTM_NEWLINK` changing only `IFF_UP` (`ifi_change = IFF_UP`), as `ip link set … up/down` does.
    public static func setUp(ifindex: Int32, seq: UInt32, up: Bool) -> [UInt8] {
        let flag = UInt32(IFF_UP)
        return Self.setLink(ifindex: ifindex, seq: seq, flags: up ? flag : 0, change: flag)
    }

    /// `RTM_NEWLINK` with `IFLA_ADDRESS`.
    public static func setMAC(ifindex: Int32, seq: UInt32, mac: String) throws(HostError) -> [UInt8] {
        let address = try NetlinkValidation.parseMAC(mac)
        return Self.setLink(ifindex: ifindex, seq: seq) { $0.attribute(UInt16(IFLA_ADDRESS), bytes: address) }
    }

    /// `RTM_NEWLINK` with a new `IFLA_IFNAME` for the link at `ifindex`.
    public static func rename(ifindex: Int32, seq: UInt32, newName: String) throws(HostError) -> [UInt8] {
        try NetlinkValidation.checkInterfaceName(newName, role: "new interface name")
        return Self.setLink(ifindex: ifindex, seq: seq) { $0.attribute(UInt16(IFLA_IFNAME), string: newName) }
    }

    /// `RTM_NEWLINK` with `IFLA_NET_NS_FD`: moves the link into the namespace open at `namespaceFD`.
    public static func moveToNamespace(ifindex: Int32, seq: UInt32, namespaceFD: Int32) -> [UInt8] {
        Self.setLink(ifindex: ifindex, seq: seq) {
            $0.attribute(UInt16(IFLA_NET_NS_FD), uint32: UInt32(bitPattern: namespaceFD))
        }
    }

    /// `RTM_NEWLINK` with `IFLA_NET_NS_FD` and `IFLA_IFNAME`: the kernel's `do_setlink` moves the link first (taking
    /// `newName` at once if its current name is taken in the target namespace) and then renames it there, under one
    /// hold of the RTNL lock — what `ip link set DEV netns NS name NEW` sends.
    public static func moveToNamespace(
        ifindex: Int32,
        seq: UInt32,
        namespaceFD: Int32,
        newName: String
    ) throws(HostError) -> [UInt8] {
        try NetlinkValidation.checkInterfaceName(newName, role: "new interface name")
        return Self.setLink(ifindex: ifindex, seq: seq) {
            $0.attribute(UInt16(IFLA_NET_NS_FD), uint32: UInt32(bitPattern: namespaceFD))
            $0.attribute(UInt16(IFLA_IFNAME), string: newName)
        }
    }
}
