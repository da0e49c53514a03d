import CNetlink
import Foundation
import SriovHost
import Testing

@testable import SriovCNI

#if canImport(Glibc)
import Glibc
#endif

/// ADD step 15 (upstream's `AnnounceIPs`): the pod's new addresses are announced on its VF, so neighbours that cached
/// the address with the previous pod's MAC learn the new one at once.
@Suite(
    "sriov-cni announces the pod's addresses",
    .tags(.netns),
    .enabled(if: CNIFixture.isAvailable, "needs root, `ip netns` and /usr/lib/cni/host-local"),
    .timeLimit(.minutes(2))
)
struct AnnounceTests {
    @Test("ADD with IPAM sends a gratuitous ARP for the pod's address from its MAC; the link's other end receives it")
    func gratuitousARPOnTheWire() throws {
        let f = try CNIFixture()
        defer { f.tearDown() }
        let peer = "\(f.pf)p1"
        try f.ipHost(["link", "set", peer, "up"])
        let capture = try PacketCapture(interface: peer, namespace: CNIFixture.path(f.hostNS))
        let add = try f.exec("ADD", f.conf(ipam: true))
        #expect(add.status == 0, "\(add.stdout) \(add.stderr)")
        let frames = capture.frames(within: .seconds(3))
        // Ethernet: destination broadcast, source the VF's MAC, EtherType ARP; ARP: Ethernet/IPv4 request with
        // sender = target = the address host-local handed out (10.56.217.2), target MAC broadcast.
        let mac: [UInt8] = [0x7e, 0x11, 0x22, 0x33, 0x44, 0x51]
        let ip: [UInt8] = [10, 56, 217, 2]
        let broadcast = [UInt8](repeating: 0xff, count: 6)
        let expected = broadcast + mac + [0x08, 0x06] + [0, 1, 8, 0, 6, 4, 0, 1] + mac + ip + broadcast + ip
        #expect(
            frames.contains { Array($0.prefix(expected.count)) == expected },
            "no gratuitous ARP among \(frames.count) frames: \(frames.map { $0.prefix(42).map { String(format: "%02x", $0) }.joined() })"
        )
        #expect(try f.exec("DEL", f.conf(ipam: true)).status == 0)
    }

    @Test("the unsolicited neighbour advertisement is RFC 4861's: type 136, override flag, target, target MAC option")
    func neighborAdvertisementBytes() {
        let target: [UInt8] = [0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2]
        let mac: [UInt8] = [0x7e, 0x11, 0x22, 0x33, 0x44, 0x51]
        #expect(
            Announce.neighborAdvertisement(mac: mac, target: target)
                == [136, 0, 0, 0, 0x20, 0, 0, 0] + target + [2, 1] + mac
        )
    }

    @Test("an IPv6 address is announced without error on a real link (sent from the pod's namespace)")
    func ipv6Announcement() throws {
        let f = try CNIFixture()
        defer { f.tearDown() }
        let link = "\(f.pf)p1"
        try f.ipHost(["link", "set", link, "netns", f.podNS])
        // As ADD does before bringing the VF up: optimistic DAD, so the link-local source address is usable at once.
        try CNIFixture.ip([
            "netns", "exec", f.podNS, "sh", "-c", "echo 1 > /proc/sys/net/ipv6/conf/\(link)/optimistic_dad",
        ])
        try CNIFixture.ip(["-n", f.podNS, "link", "set", link, "up"])
        try f.ipHost(["link", "set", f.vfNetdev(1), "up"])  // the other end: carrier
        try CNIFixture.ip(["-n", f.podNS, "addr", "add", "fd00::2/64", "dev", link])
        let failures = try NetlinkNamespace.run(inNamespaceAt: CNIFixture.path(f.podNS)) {
            Announce.addresses(["fd00::2/64"], ifName: link, netlink: RTNetlink())
        }
        #expect(failures.isEmpty, "\(failures)")
    }
}

/// An `AF_PACKET` socket bound to one interface of a namespace, receiving every frame from its creation on.
final class PacketCapture {
    let fd: Int32

    init(interface: String, namespace: String) throws {
        let all = UInt16(ETH_P_ALL).bigEndian
        self.fd = try NetlinkNamespace.run(inNamespaceAt: namespace) { () throws -> Int32 in
            let fd = socket(AF_PACKET, Int32(SOCK_RAW.rawValue) | Int32(SOCK_CLOEXEC.rawValue), Int32(all))
            guard fd >= 0 else { throw HostError.system("socket(AF_PACKET)", errno: errno) }
            var address = sockaddr_ll()
            address.sll_family = UInt16(AF_PACKET)
            address.sll_protocol = all
            address.sll_ifindex = Int32(if_nametoindex(interface))
            let bound = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    bind(fd, $0, socklen_t(MemoryLayout<sockaddr_ll>.size))
                }
            }
            guard bound == 0 else {
                close(fd)
                throw HostError.system("bind AF_PACKET to \(interface)", errno: errno)
            }
            return fd
        }
    }

    deinit { close(self.fd) }

    /// The frames received until `window` has passed.
    func frames(within window: Duration) -> [[UInt8]] {
        let clock = ContinuousClock()
        let deadline = clock.now + window
        var frames: [[UInt8]] = []
        var buffer = [UInt8](repeating: 0, count: 2048)
        while clock.now < deadline {
            var poller = pollfd(fd: self.fd, events: Int16(POLLIN), revents: 0)
            guard poll(&poller, 1, 50) > 0 else { continue }
            let n = buffer.withUnsafeMutableBytes { recv(self.fd, $0.baseAddress, $0.count, 0) }
            if n > 0 { frames.append(Array(buffer[0..<n])) }
        }
        return frames
    }
}
