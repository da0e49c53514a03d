public import SriovHost

#if canImport(Glibc)
import Glibc
#endif

/// Moving a VF netdev between the host and a pod namespace, through rtnetlink, with every namespace change on a
/// dedicated thread (``NetlinkNamespace``), never on the calling one.
///
/// The move: down, then one `RTM_NEWLINK` that moves the netdev into the pod and names it there (`ip link set DEV
/// netns NS name NEW`). Upstream renames to `temp_<ifindex>` in the host first and renames again in the pod; every
/// rename costs the kernel an RCU grace period, and the single request needs none of the temporary name's
/// protection: the kernel takes the pod's name at once when the host name is taken in the pod, and a pod that
/// already has the pod's name refuses the move or the rename, after which the netdev goes back to the host under its
/// own name. (An earlier version moved through a fresh anonymous namespace; each namespace move costs the kernel
/// 15–20 ms, and that made ADD twice as slow as Debian's host-device.)
public struct PodNetdev: Sendable {
    public let netlink: RTNetlink

    public init(netlink: RTNetlink) {
        self.netlink = netlink
    }

    /// Moves `hostName` into the pod namespace open at `podFD` as `ifName`; on failure the netdev is back in the host
    /// under `hostName`.
    func moveIn(hostName: String, ifName: String, hostFD: Int32, podFD: Int32) throws(HostError) {
        let link = try self.netlink.link(named: hostName)
        // A netdev is renamed only while down (EBUSY otherwise); moving it downs it anyway.
        if link.isUp { try self.netlink.setUp(false, link: hostName) }
        do {
            try self.netlink.moveToNamespace(link: hostName, namespaceFD: podFD, newName: ifName)
        } catch {
            // Still in the host: the move itself was refused (both names taken in the pod, or anything else), and the
            // pod's own links must not be touched. Gone from the host: moved, not renamed (`ifName` is taken in the
            // pod), so it is there under `hostName` (a name the pod did not have, or the kernel would have used
            // `ifName` for the move itself): send it home.
            if (try? self.netlink.link(named: hostName))?.index != link.index {
                _ = try? NetlinkNamespace.run(inNamespaceFD: podFD) { () throws in
                    if (try? self.netlink.link(named: hostName)) != nil {
                        try self.netlink.moveToNamespace(link: hostName, namespaceFD: hostFD)
                    }
                }
            }
            throw Self.hostError(error)
        }
    }

    /// Inside the pod: `arp_notify`/`ndisc_notify` (best effort), the requested MAC (verified, 20 tries 100 ms
    /// apart), `optimistic_dad` (best effort), link up. Returns the link as it ends up.
    func configureInPod(ifName: String, hostName: String, mac: String, podFD: Int32) throws(HostError) -> LinkInfo {
        do {
            return try NetlinkNamespace.run(inNamespaceFD: podFD) { () throws -> LinkInfo in
                // The host name as an altname would keep the host's name reachable in the pod: drop it.
                if try self.netlink.link(named: ifName).altNames.contains(hostName) {
                    try self.netlink.deleteAltName(hostName, link: ifName)
                }
                Self.writeProc("/proc/sys/net/ipv4/conf/\(ifName)/arp_notify", "1")
                Self.writeProc("/proc/sys/net/ipv6/conf/\(ifName)/ndisc_notify", "1")
                if !mac.isEmpty {
                    var attempt = 0
                    while true {
                        attempt += 1
                        do throws(HostError) {
                            try self.netlink.setMAC(mac, link: ifName)
                            if try self.netlink.link(named: ifName).mac == mac { break }
                            throw HostError(
                                code: .io,
                                message: "link \(ifName) does not report MAC \(mac) after setting it"
                            )
                        } catch {
                            if attempt >= 20 { throw error }
                            usleep(100_000)
                        }
                    }
                }
                Self.writeProc("/proc/sys/net/ipv6/conf/\(ifName)/optimistic_dad", "1")
                try self.netlink.setUp(true, link: ifName)
                return try self.netlink.link(named: ifName)
            }
        } catch {
            throw Self.hostError(error)
        }
    }

    /// Adds the IPAM addresses and routes inside the pod (routes without a gateway use the first gateway of their
    /// family, as the Go library's `ConfigureIface` does), then announces the addresses (``Announce``). Returns the
    /// announcements that failed (for the log; they never fail the ADD).
    func configureIPs(
        ifName: String,
        addresses: [(cidr: String, gateway: String)],
        routes: [(dst: String, gw: String)],
        podFD: Int32
    ) throws(HostError) -> [String] {
        do {
            return try NetlinkNamespace.run(inNamespaceFD: podFD) { () throws -> [String] in
                for address in addresses { try self.netlink.addAddress(address.cidr, link: ifName) }
                let v4 = addresses.first { !$0.cidr.contains(":") && !$0.gateway.isEmpty }?.gateway ?? ""
                let v6 = addresses.first { $0.cidr.contains(":") && !$0.gateway.isEmpty }?.gateway ?? ""
                for route in routes {
                    let gw = route.gw.isEmpty ? (route.dst.contains(":") ? v6 : v4) : route.gw
                    try self.netlink.addRoute(destination: route.dst, gateway: gw, link: ifName)
                }
                return Announce.addresses(addresses.map(\.cidr), ifName: ifName, netlink: self.netlink)
            }
        } catch {
            throw Self.hostError(error)
        }
    }

    /// Where the VF netdev is now.
    enum Whereabouts {
        case pod
        case host(name: String)
        case gone
    }

    /// Finds the netdev: `ifName` in the pod; else `hostName` in the host (already home); else `ifName` in the
    /// host (the kernel returns a physical netdev under its pod name when the pod namespace is destroyed).
    func find(ifName: String, hostName: String, podFD: Int32?) -> Whereabouts {
        if let podFD,
            (try? NetlinkNamespace.run(inNamespaceFD: podFD) { try self.netlink.link(named: ifName) }) != nil
        {
            return .pod
        }
        if !hostName.isEmpty, (try? self.netlink.link(named: hostName)) != nil { return .host(name: hostName) }
        if (try? self.netlink.link(named: ifName)) != nil { return .host(name: ifName) }
        return .gone
    }

    /// Returns the netdev to the host as `hostName`, down, with `mac`/`mtu` restored when given (upstream's
    /// `ReleaseVF`). When it is already in the host it is only renamed and restored there.
    func release(
        ifName: String,
        hostName: String,
        mac: String,
        mtu: Int,
        podFD: Int32?,
        hostFD: Int32
    ) throws(HostError) {
        // Down, then the MAC and MTU back, under the name it has now.
        let restore = { (name: String) throws(HostError) in
            try self.netlink.setUp(false, link: name)
            if !mac.isEmpty, (try? self.netlink.link(named: name))?.mac != mac {
                try self.netlink.setMAC(mac, link: name)
            }
            if mtu > 0, (try? self.netlink.link(named: name))?.mtu != mtu {
                try self.netlink.setMTU(mtu, link: name)
            }
        }
        switch self.find(ifName: ifName, hostName: hostName, podFD: podFD) {
        case .gone:
            return
        case .host(let name):
            try restore(name)
            if !hostName.isEmpty && name != hostName { try self.netlink.rename(name, to: hostName) }
        case .pod:
            guard let podFD else { return }
            do {
                try NetlinkNamespace.run(inNamespaceFD: podFD) { () throws in
                    try restore(ifName)
                    // Moved and renamed in one request, as on the way in: renaming in the pod first (upstream) fails
                    // when the pod has a link of the host name, and the VF would stay in the pod.
                    if hostName.isEmpty || hostName == ifName {
                        try self.netlink.moveToNamespace(link: ifName, namespaceFD: hostFD)
                    } else {
                        try self.netlink.moveToNamespace(link: ifName, namespaceFD: hostFD, newName: hostName)
                    }
                }
            } catch {
                throw Self.hostError(error)
            }
        }
    }

    static func writeProc(_ path: String, _ value: String) {
        let fd = open(path, O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else { return }
        var bytes = Array(value.utf8)
        _ = bytes.withUnsafeMutableBytes { write(fd, $0.baseAddress, $0.count) }
        close(fd)
    }

    static func hostError(_ error: any Error) -> HostError {
        (error as? HostError) ?? HostError(code: .io, message: "\(error)")
    }
}
