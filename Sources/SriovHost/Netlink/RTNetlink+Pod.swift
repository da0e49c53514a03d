import CNetlink

#if canImport(Glibc)
import Glibc
#endif

/// What moving a VF netdev into a pod needs beyond ``Netlink``: moves by namespace descriptor, altname removal, and
/// the IPv4/IPv6 addresses and routes an IPAM result asks for.
extension RTNetlink {
    /// Moves `link` into the network namespace open at `namespaceFD` (`IFLA_NET_NS_FD`).
    public func moveToNamespace(link: String, namespaceFD: Int32) throws(HostError) {
        try self.change("move link \(link) to network namespace fd \(namespaceFD)", link: link) {
            (index, seq) throws(HostError) in
            NetlinkMessage.moveToNamespace(ifindex: index, seq: seq, namespaceFD: namespaceFD)
        }
    }

    /// Moves `link` into the network namespace open at `namespaceFD` and names it `newName` there, in one request.
    /// When the move succeeds and the rename does not (the name is taken there), the link is in the target namespace
    /// under its old name and the error is thrown.
    public func moveToNamespace(link: String, namespaceFD: Int32, newName: String) throws(HostError) {
        try self.change("move link \(link) to network namespace fd \(namespaceFD) as \(newName)", link: link) {
            (index, seq) throws(HostError) in
            try NetlinkMessage.moveToNamespace(ifindex: index, seq: seq, namespaceFD: namespaceFD, newName: newName)
        }
    }

    /// Removes the alternative name `altName` from `link` (`RTM_DELLINKPROP`), as `ip link property del … altname`.
    public func deleteAltName(_ altName: String, link: String) throws(HostError) {
        try self.change("delete altname \(altName) of link \(link)", link: link) { (index, seq) throws(HostError) in
            try NetlinkValidation.checkInterfaceName(altName, role: "altname")
            var message = NetlinkEncoder(type: UInt16(RTM_DELLINKPROP), flags: NetlinkMessage.requestWithAck, seq: seq)
            message.appendInterfaceHeader(index: index)
            message.nested(UInt16(IFLA_PROP_LIST)) { $0.attribute(UInt16(IFLA_ALT_IFNAME), string: altName) }
            return message.finish()
        }
    }

    /// Adds `cidr` (`10.56.217.2/24`, `fd00::2/64`) to `link` (`RTM_NEWADDR`, `NLM_F_CREATE | NLM_F_EXCL`).
    public func addAddress(_ cidr: String, link: String) throws(HostError) {
        let operation = "add address \(cidr) to link \(link)"
        let (family, address, prefix) = try IPText.parseCIDR(cidr, operation: operation)
        try self.change(operation, link: link) { (index, seq) throws(HostError) in
            let flags = NetlinkMessage.requestWithAck | UInt16(NLM_F_CREATE | NLM_F_EXCL)
            var message = NetlinkEncoder(type: UInt16(RTM_NEWADDR), flags: flags, seq: seq)
            message.append(UInt8(family))  // ifa_family
            message.append(UInt8(prefix))  // ifa_prefixlen
            message.append(UInt8(0))  // ifa_flags
            message.append(UInt8(0))  // ifa_scope: RT_SCOPE_UNIVERSE
            message.append(UInt32(bitPattern: index))  // ifa_index
            message.attribute(UInt16(IFA_LOCAL), bytes: address)
            message.attribute(UInt16(IFA_ADDRESS), bytes: address)
            return message.finish()
        }
    }

    /// Adds a route to `destination` (CIDR) through `gateway` (may be empty for an on-link route) out of `link`, in
    /// the main table (`RTM_NEWROUTE`, `NLM_F_CREATE | NLM_F_EXCL`).
    public func addRoute(destination: String, gateway: String, link: String) throws(HostError) {
        let operation = "add route \(destination)\(gateway.isEmpty ? "" : " via \(gateway)") dev \(link)"
        let (family, dst, prefix) = try IPText.parseCIDR(destination, operation: operation)
        var gw: [UInt8]?
        if !gateway.isEmpty {
            let (gwFamily, bytes) = try IPText.parse(gateway, operation: operation)
            guard gwFamily == family else {
                throw HostError(
                    code: .invalidArgument,
                    message: "\(operation): gateway family differs from destination's"
                )
            }
            gw = bytes
        }
        try self.change(operation, link: link) { (index, seq) throws(HostError) in
            let flags = NetlinkMessage.requestWithAck | UInt16(NLM_F_CREATE | NLM_F_EXCL)
            var message = NetlinkEncoder(type: UInt16(RTM_NEWROUTE), flags: flags, seq: seq)
            message.append(UInt8(family))  // rtm_family
            message.append(UInt8(prefix))  // rtm_dst_len
            message.append(UInt8(0))  // rtm_src_len
            message.append(UInt8(0))  // rtm_tos
            message.append(UInt8(RT_TABLE_MAIN.rawValue))  // rtm_table
            message.append(UInt8(RTPROT_BOOT))  // rtm_protocol
            message.append(UInt8(gw == nil ? RT_SCOPE_LINK.rawValue : RT_SCOPE_UNIVERSE.rawValue))  // rtm_scope
            message.append(UInt8(RTN_UNICAST))  // rtm_type
            message.append(UInt32(0))  // rtm_flags
            if prefix > 0 { message.attribute(UInt16(RTA_DST.rawValue), bytes: dst) }
            if let gw { message.attribute(UInt16(RTA_GATEWAY.rawValue), bytes: gw) }
            message.attribute(UInt16(RTA_OIF.rawValue), uint32: UInt32(bitPattern: index))
            return message.finish()
        }
    }
}

/// IPv4/IPv6 text to bytes through `inet_pton`.
enum IPText {
    static func parse(_ text: String, operation: String) throws(HostError) -> (family: Int32, bytes: [UInt8]) {
        var v4 = in_addr()
        if inet_pton(AF_INET, text, &v4) == 1 {
            return (AF_INET, withUnsafeBytes(of: &v4) { Array($0) })
        }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, text, &v6) == 1 {
            return (AF_INET6, withUnsafeBytes(of: &v6) { Array($0) })
        }
        throw HostError(code: .invalidArgument, message: "\(operation): \(text.debugDescription) is not an IP address")
    }

    static func parseCIDR(
        _ text: String,
        operation: String
    ) throws(HostError) -> (family: Int32, bytes: [UInt8], prefix: Int) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let prefix = Int(parts[1]) else {
            throw HostError(code: .invalidArgument, message: "\(operation): \(text.debugDescription) is not a CIDR")
        }
        let (family, bytes) = try Self.parse(String(parts[0]), operation: operation)
        guard prefix >= 0, prefix <= (family == AF_INET ? 32 : 128) else {
            throw HostError(code: .invalidArgument, message: "\(operation): prefix length \(prefix) out of range")
        }
        return (family, bytes, prefix)
    }
}
