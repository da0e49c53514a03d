import Foundation
import Testing

@testable import SriovHost

/// RTNetlink against the real kernel: every test builds its own namespace and veth pair, works inside it through
/// ``NetlinkNamespace``, checks the result both with our own decoder and with `ip -j`, and deletes the namespace
/// even when it fails.
@Suite(
    "RTNetlink in a network namespace",
    .tags(.netns),
    .enabled(if: NetlinkTestNamespace.isAvailable, "needs root and `ip netns add`"),
    .serialized
)
struct NetlinkKernelTests {
    let netlink = RTNetlink()

    /// Runs `body` with a fresh namespace holding the veth pair vA/vB.
    func withVethNamespace(_ body: (NetlinkTestNamespace) throws -> Void) throws {
        let namespace = try NetlinkTestNamespace()
        defer { namespace.delete() }
        try namespace.addVeth()
        try body(namespace)
    }

    func inside<T>(_ namespace: NetlinkTestNamespace, _ body: () throws -> T) throws -> T {
        try NetlinkNamespace.run(inNamespaceAt: namespace.path, body)
    }

    @Test("the dump lists the veth pair and loopback as ip(8) shows them")
    func dump() throws {
        try self.withVethNamespace { namespace in
            let links = try self.inside(namespace) { try self.netlink.links() }
            #expect(Set(links.map(\.name)) == ["lo", "vA", "vB"])
            let vA = try #require(links.first { $0.name == "vA" })
            let shown = try namespace.show("vA")
            #expect(Int(vA.index) == shown["ifindex"] as? Int)
            #expect(vA.mac == shown["address"] as? String)
            #expect(vA.mtu == 1500)
            #expect(vA.kind == "veth")
            #expect(vA.linkType == "ether")
            #expect(!vA.isUp)
            #expect(vA.operState == "down")
            #expect(vA.vfs.isEmpty)
            let lo = try #require(links.first { $0.name == "lo" })
            #expect(lo.linkType == "loopback")
            #expect(lo.index == 1)
            #expect(try self.inside(namespace) { try self.netlink.link(named: "vA") } == vA)
        }
    }

    @Test("setMTU changes the MTU, read back by us and by ip")
    func setMTU() throws {
        try self.withVethNamespace { namespace in
            try self.inside(namespace) { try self.netlink.setMTU(9000, link: "vA") }
            #expect(try self.inside(namespace) { try self.netlink.link(named: "vA") }.mtu == 9000)
            #expect(try namespace.show("vA")["mtu"] as? Int == 9000)
        }
    }

    @Test("an MTU the device refuses is a HostError with EINVAL naming the link and value")
    func setMTUTooLarge() throws {
        try self.withVethNamespace { namespace in
            let error = #expect(throws: HostError.self) {
                try self.inside(namespace) { try self.netlink.setMTU(70000, link: "vA") }
            }
            #expect(error?.errno == EINVAL)
            #expect(error?.code == .invalidArgument)
            let description = error.map { String(describing: $0) } ?? ""
            #expect(description.contains("set MTU 70000 on link vA"), "\(description)")
            let mtu = try namespace.show("vA")["mtu"] as? Int
            #expect(mtu == 1500)
        }
    }

    @Test("setMAC sets the address; a malformed MAC is refused before the kernel is asked")
    func setMAC() throws {
        try self.withVethNamespace { namespace in
            try self.inside(namespace) { try self.netlink.setMAC("02:AB:cd:00:00:01", link: "vA") }
            #expect(try self.inside(namespace) { try self.netlink.link(named: "vA") }.mac == "02:ab:cd:00:00:01")
            #expect(try namespace.show("vA")["address"] as? String == "02:ab:cd:00:00:01")

            let error = #expect(throws: HostError.self) {
                try self.inside(namespace) { try self.netlink.setMAC("02:ab:cd:00:00", link: "vA") }
            }
            #expect(error?.code == .invalidArgument)
            #expect(error?.errno == nil)
            #expect(error?.message.contains("\"02:ab:cd:00:00\"") == true)
            #expect(error?.message.contains("link vA") == true)
        }
    }

    @Test("setUp toggles IFF_UP, and operstate follows once both ends are up")
    func upDown() throws {
        try self.withVethNamespace { namespace in
            try self.inside(namespace) {
                try self.netlink.setUp(true, link: "vA")
                try self.netlink.setUp(true, link: "vB")
            }
            #expect(try self.inside(namespace) { try self.netlink.link(named: "vA") }.isUp)
            #expect((try namespace.show("vA")["flags"] as? [String])?.contains("UP") == true)
            // The kernel publishes operstate asynchronously (linkwatch); allow it a moment.
            var operState = ""
            for _ in 0..<50 {
                operState = try self.inside(namespace) { try self.netlink.link(named: "vA") }.operState
                if operState == "up" { break }
                usleep(50_000)
            }
            #expect(operState == "up")

            try self.inside(namespace) { try self.netlink.setUp(false, link: "vA") }
            #expect(try !self.inside(namespace) { try self.netlink.link(named: "vA") }.isUp)
            #expect((try namespace.show("vA")["flags"] as? [String])?.contains("UP") == false)
        }
    }

    @Test("rename keeps the index; the old name is then not found")
    func rename() throws {
        try self.withVethNamespace { namespace in
            let before = try self.inside(namespace) { try self.netlink.link(named: "vA") }
            try self.inside(namespace) { try self.netlink.rename("vA", to: "vRenamed") }
            let after = try self.inside(namespace) { try self.netlink.link(named: "vRenamed") }
            #expect(after.index == before.index)
            #expect(try namespace.show("vRenamed")["ifindex"] as? Int == Int(before.index))
            let error = #expect(throws: HostError.self) {
                try self.inside(namespace) { try self.netlink.link(named: "vA") }
            }
            #expect(error?.code == .notFound)

            let invalid = #expect(throws: HostError.self) {
                try self.inside(namespace) { try self.netlink.rename("vRenamed", to: "has space") }
            }
            #expect(invalid?.code == .invalidArgument)
            #expect(invalid?.message.contains("\"has space\"") == true)
        }
    }

    @Test("altnames added with ip appear in the dump and resolve the link")
    func altNames() throws {
        try self.withVethNamespace { namespace in
            try namespace.ip(["link", "property", "add", "dev", "vA", "altname", "someAltName"])
            let links = try self.inside(namespace) { try self.netlink.links() }
            #expect(links.first { $0.name == "vA" }?.altNames == ["someAltName"])
            #expect(try namespace.show("vA")["altnames"] as? [String] == ["someAltName"])
            #expect(try self.inside(namespace) { try self.netlink.link(named: "someAltName") }.name == "vA")
        }
    }

    @Test("moveToNamespace moves a link from one namespace to another")
    func move() throws {
        try self.withVethNamespace { first in
            let second = try NetlinkTestNamespace()
            defer { second.delete() }
            try self.inside(first) { try self.netlink.moveToNamespace(link: "vB", namespacePath: second.path) }

            let moved = try self.inside(second) { try self.netlink.link(named: "vB") }
            #expect(moved.kind == "veth")
            #expect(try second.show("vB")["ifname"] as? String == "vB")
            let gone = #expect(throws: HostError.self) {
                try self.inside(first) { try self.netlink.link(named: "vB") }
            }
            #expect(gone?.code == .notFound)

            let missing = #expect(throws: HostError.self) {
                try self.inside(first) {
                    try self.netlink.moveToNamespace(link: "vA", namespacePath: "/var/run/netns/\(second.name)-missing")
                }
            }
            #expect(missing?.code == .notFound)
            #expect(missing?.path == "/var/run/netns/\(second.name)-missing")
        }
    }

    @Test("a missing link is notFound, for lookups and for changes")
    func missingLink() throws {
        try self.withVethNamespace { namespace in
            let lookup = #expect(throws: HostError.self) {
                try self.inside(namespace) { try self.netlink.link(named: "nope0") }
            }
            #expect(lookup?.code == .notFound)
            #expect(lookup?.message.contains("\"nope0\"") == true)
            let change = #expect(throws: HostError.self) {
                try self.inside(namespace) { try self.netlink.setMTU(1400, link: "nope0") }
            }
            #expect(change?.code == .notFound)
            #expect(change?.message.contains("set MTU 1400 on link nope0") == true)
        }
    }

    @Test("setVF on a link without VFs is the kernel's error, naming the VF and the link")
    func setVFOnVeth() throws {
        try self.withVethNamespace { namespace in
            let config = VFConfig(vf: 0, mac: "02:00:00:00:00:01", spoofCheck: false)
            let error = #expect(throws: HostError.self) {
                try self.inside(namespace) { try self.netlink.setVF(link: "vA", config) }
            }
            #expect(error?.errno != nil)
            #expect(error?.message.contains("set VF 0 on link vA") == true)
        }
    }

    @Test("NetlinkNamespace.run enters the namespace on its own thread and leaves the caller's untouched")
    func namespaceThread() throws {
        let namespace = try NetlinkTestNamespace()
        defer { namespace.delete() }
        let callerBefore = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/thread-self/ns/net")
        let inside = try NetlinkNamespace.run(inNamespaceAt: namespace.path) {
            try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/thread-self/ns/net")
        }
        let callerAfter = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/thread-self/ns/net")
        let inode = try #require(try FileManager.default.attributesOfItem(atPath: namespace.path)[.systemFileNumber])
        #expect(inside == "net:[\(inode)]")
        #expect(callerBefore == callerAfter)
        #expect(inside != callerBefore)

        struct Marker: Error {}
        #expect(throws: Marker.self) { try NetlinkNamespace.run(inNamespaceAt: namespace.path) { throw Marker() } }
        let missing = #expect(throws: HostError.self) {
            try NetlinkNamespace.run(inNamespaceAt: "/var/run/netns/\(namespace.name)-missing") { 1 }
        }
        #expect(missing?.code == .notFound)
    }
}

/// Devlink needs no namespace: the generic netlink controller answers any process.
@Suite("RTNetlink devlink eswitch")
struct NetlinkDevlinkTests {
    @Test("the eswitch query for a PCI address with no device is a HostError, not a crash")
    func eswitchOnMissingDevice() {
        let error = #expect(throws: HostError.self) { try RTNetlink().eswitchMode(pciAddress: "0000:ff:1f.7") }
        // A kernel without devlink says so (unsupported); one with devlink has no such device (notFound).
        #expect(
            error?.code == .unsupported || error?.code == .notFound,
            "\(error.map { String(describing: $0) } ?? "")"
        )
        #expect(error?.message.contains("0000:ff:1f.7") == true)

        let set = #expect(throws: HostError.self) {
            try RTNetlink().setEswitchMode("switchdev", pciAddress: "0000:ff:1f.7")
        }
        #expect(set?.code == .unsupported || set?.code == .notFound)
    }

    @Test("malformed eswitch arguments are refused before any request")
    func eswitchValidation() {
        let address = #expect(throws: HostError.self) { try RTNetlink().eswitchMode(pciAddress: "ff:1f.7") }
        #expect(address?.code == .invalidArgument)
        #expect(address?.message.contains("\"ff:1f.7\"") == true)
        let mode = #expect(throws: HostError.self) {
            try RTNetlink().setEswitchMode("offload", pciAddress: "0000:3b:00.0")
        }
        #expect(mode?.code == .invalidArgument)
        #expect(mode?.message.contains("\"offload\"") == true)
    }
}
