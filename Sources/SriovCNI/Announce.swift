import CNetlink
import SriovHost

#if canImport(Glibc)
import Glibc
#endif

/// Gratuitous ARP and unsolicited IPv6 neighbour advertisements for the addresses IPAM gave the pod (upstream's
/// `AnnounceIPs`, ADD step 15). An address freed by one pod is soon given to the next, whose VF has another MAC:
/// neighbours keep the old MAC in their caches until they time out, unless told. The kernel's `arp_notify` /
/// `ndisc_notify` only announce on link up or a MAC change, before IPAM's addresses exist, so the plugin sends one
/// announcement per address itself. Best effort: a failure is logged, never an ADD error.
///
/// Everything here runs on a thread already in the pod's network namespace; the sockets are created there.
enum Announce {
    /// Waits up to `timeout` for carrier on `ifName` (operstate `up`, as upstream's `WaitForCarrier` polls the
    /// link's flags), then announces every address. Returns what failed, for the log.
    static func addresses(
        _ cidrs: [String],
        ifName: String,
        netlink: RTNetlink,
        timeout: Duration = .milliseconds(200)
    ) -> [String] {
        let clock = ContinuousClock()
        let deadline = clock.now + timeout
        var link = try? netlink.link(named: ifName)
        while link?.operState != "up" && clock.now < deadline {
            usleep(10_000)
            link = try? netlink.link(named: ifName)
        }
        guard let link, let mac = Self.macBytes(link.mac) else { return ["\(ifName): no link or MAC to announce"] }
        var failures: [String] = []
        for cidr in cidrs {
            let address = String(cidr.split(separator: "/").first ?? "")
            var v4 = in_addr()
            var v6 = in6_addr()
            if inet_pton(AF_INET, address, &v4) == 1 {
                let ip = withUnsafeBytes(of: &v4) { Array($0) }
                if let error = Self.send(packet: Self.gratuitousARP(mac: mac, ip: ip), arpOn: link.index) {
                    failures.append("gratuitous ARP for \(address): \(error)")
                }
            } else if inet_pton(AF_INET6, address, &v6) == 1 {
                let ip = withUnsafeBytes(of: &v6) { Array($0) }
                if let error = Self.send(
                    advertisement: Self.neighborAdvertisement(mac: mac, target: ip),
                    on: link.index
                ) {
                    failures.append("unsolicited neighbour advertisement for \(address): \(error)")
                }
            }
        }
        return failures
    }

    /// An ARP request announcing `ip` at `mac` (RFC 5227 §3 announcement, as Go's `arping.GratuitousArpOverIface`
    /// builds it): sender and target protocol address both `ip`, target hardware address broadcast.
    static func gratuitousARP(mac: [UInt8], ip: [UInt8]) -> [UInt8] {
        var packet: [UInt8] = [0x00, 0x01, 0x08, 0x00, 6, 4, 0x00, 0x01]  // Ethernet, IPv4, request
        packet += mac + ip
        packet += [UInt8](repeating: 0xff, count: 6) + ip
        return packet
    }

    /// An unsolicited neighbour advertisement (RFC 4861 §7.2.6) for `target` with the override flag and the
    /// target link-layer address option; the kernel fills in the ICMPv6 checksum on a raw ICMPv6 socket.
    static func neighborAdvertisement(mac: [UInt8], target: [UInt8]) -> [UInt8] {
        var packet: [UInt8] = [136, 0, 0, 0, 0x20, 0, 0, 0]  // type 136, code 0, checksum, flags: O
        packet += target
        packet += [2, 1] + mac  // option 2 (target link-layer address), length 1 (8 bytes)
        return packet
    }

    static func macBytes(_ text: String) -> [UInt8]? {
        let parts = text.split(separator: ":")
        guard parts.count == 6 else { return nil }
        let bytes = parts.compactMap { UInt8($0, radix: 16) }
        return bytes.count == 6 ? bytes : nil
    }

    /// Sends an ARP payload to the Ethernet broadcast address on the link `index` (an `AF_PACKET` datagram socket:
    /// the kernel adds the Ethernet header).
    static func send(packet: [UInt8], arpOn index: Int32) -> String? {
        let protocolARP = UInt16(ETH_P_ARP).bigEndian
        let fd = socket(AF_PACKET, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), Int32(protocolARP))
        guard fd >= 0 else { return Self.errnoText("socket(AF_PACKET)") }
        defer { close(fd) }
        var address = sockaddr_ll()
        address.sll_family = UInt16(AF_PACKET)
        address.sll_protocol = protocolARP
        address.sll_ifindex = index
        address.sll_halen = 6
        withUnsafeMutableBytes(of: &address.sll_addr) { raw in
            for i in 0..<6 { raw[i] = 0xff }
        }
        let sent = packet.withUnsafeBytes { bytes in
            withUnsafePointer(to: &address) { pointer in
                pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    sendto(fd, bytes.baseAddress, bytes.count, 0, $0, socklen_t(MemoryLayout<sockaddr_ll>.size))
                }
            }
        }
        return sent == packet.count ? nil : Self.errnoText("sendto")
    }

    /// Sends an ICMPv6 message to all nodes (`ff02::1`) on the link `index`, hop limit 255 as RFC 4861 requires.
    static func send(advertisement: [UInt8], on index: Int32) -> String? {
        let fd = socket(AF_INET6, Int32(SOCK_RAW.rawValue) | Int32(SOCK_CLOEXEC.rawValue), Int32(IPPROTO_ICMPV6))
        guard fd >= 0 else { return Self.errnoText("socket(AF_INET6, SOCK_RAW)") }
        defer { close(fd) }
        var hops: Int32 = 255
        var interface = UInt32(bitPattern: index)
        let size = socklen_t(MemoryLayout<Int32>.size)
        guard setsockopt(fd, Int32(IPPROTO_IPV6), IPV6_MULTICAST_HOPS, &hops, size) == 0,
            setsockopt(fd, Int32(IPPROTO_IPV6), IPV6_UNICAST_HOPS, &hops, size) == 0,
            setsockopt(fd, Int32(IPPROTO_IPV6), IPV6_MULTICAST_IF, &interface, socklen_t(MemoryLayout<UInt32>.size))
                == 0
        else { return Self.errnoText("setsockopt") }
        var destination = sockaddr_in6()
        destination.sin6_family = sa_family_t(AF_INET6)
        destination.sin6_scope_id = interface
        _ = inet_pton(AF_INET6, "ff02::1", &destination.sin6_addr)
        let sent = advertisement.withUnsafeBytes { bytes in
            withUnsafePointer(to: &destination) { pointer in
                pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    sendto(fd, bytes.baseAddress, bytes.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in6>.size))
                }
            }
        }
        return sent == advertisement.count ? nil : Self.errnoText("sendto")
    }

    static func errnoText(_ call: String) -> String {
        let code = errno
        return "\(call): \(String(cString: strerror(code))) (errno \(code))"
    }
}
