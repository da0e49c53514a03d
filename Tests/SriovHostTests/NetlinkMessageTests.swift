import Testing

@testable import SriovHost

/// Byte-level checks of the request encoders against the netlink ABI (linux/netlink.h, linux/rtnetlink.h,
/// linux/if_link.h, linux/genetlink.h, linux/devlink.h) and against the bytes iproute2 sends.
@Suite("NetlinkMessage encoders")
struct NetlinkMessageTests {
    /// Little-endian helpers: these expectations are written for x86-64/arm64, where netlink's host order is LE.
    static func le32(_ value: UInt32) -> [UInt8] { withUnsafeBytes(of: value.littleEndian) { Array($0) } }
    static func le16(_ value: UInt16) -> [UInt8] { withUnsafeBytes(of: value.littleEndian) { Array($0) } }

    @Test("setVF encodes every VF attribute with the if_link.h struct layouts (hand-computed)")
    func setVFHandComputed() throws {
        let config = VFConfig(
            vf: 7,
            mac: "AA:bb:CC:dd:EE:ff",
            vlan: 42,
            qos: 5,
            spoofCheck: true,
            trust: false,
            linkState: .disable,
            maxTxRate: 1000
        )
        let bytes = try NetlinkMessage.setVF(ifindex: 9, seq: 0x0102_0304, config: config)

        var expected: [UInt8] = []
        // struct nlmsghdr {u32 len = 148; u16 type = RTM_NEWLINK (16); u16 flags = REQUEST|ACK (5); u32 seq; u32 pid}
        expected += Self.le32(148) + Self.le16(16) + Self.le16(5) + Self.le32(0x0102_0304) + Self.le32(0)
        // struct ifinfomsg {u8 family = AF_UNSPEC; u8 pad; u16 type; s32 index = 9; u32 flags; u32 change}
        expected += [0, 0] + Self.le16(0) + Self.le32(9) + Self.le32(0) + Self.le32(0)
        // IFLA_VFINFO_LIST (22), len 4 + 112, holding IFLA_VF_INFO (1), len 4 + 108
        expected += Self.le16(116) + Self.le16(22)
        expected += Self.le16(112) + Self.le16(1)
        // IFLA_VF_MAC (1): struct ifla_vf_mac {u32 vf; u8 mac[32]} = 36 bytes, nla_len 40
        expected += Self.le16(40) + Self.le16(1) + Self.le32(7) + [0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff]
        expected += [UInt8](repeating: 0, count: 26)
        // IFLA_VF_VLAN (2) (no protocol given): struct ifla_vf_vlan {u32 vf, vlan, qos} = 12 bytes, nla_len 16
        expected += Self.le16(16) + Self.le16(2) + Self.le32(7) + Self.le32(42) + Self.le32(5)
        // IFLA_VF_SPOOFCHK (4): struct ifla_vf_spoofchk {u32 vf, setting}, nla_len 12
        expected += Self.le16(12) + Self.le16(4) + Self.le32(7) + Self.le32(1)
        // IFLA_VF_TRUST (9): struct ifla_vf_trust {u32 vf, setting}
        expected += Self.le16(12) + Self.le16(9) + Self.le32(7) + Self.le32(0)
        // IFLA_VF_LINK_STATE (5): struct ifla_vf_link_state {u32 vf, link_state = IFLA_VF_LINK_STATE_DISABLE (2)}
        expected += Self.le16(12) + Self.le16(5) + Self.le32(7) + Self.le32(2)
        // IFLA_VF_RATE (6): struct ifla_vf_rate {u32 vf, min_tx_rate = 0 (unset), max_tx_rate = 1000}
        expected += Self.le16(16) + Self.le16(6) + Self.le32(7) + Self.le32(0) + Self.le32(1000)

        #expect(bytes.count == 148)
        #expect(bytes == expected)
    }

    @Test("setVF with a VLAN protocol uses IFLA_VF_VLAN_LIST with a big-endian proto and 16-byte vlan_info")
    func setVFVlanList() throws {
        let bytes = try NetlinkMessage.setVF(
            ifindex: 2,
            seq: 1,
            config: VFConfig(vf: 1, vlan: 4095, qos: 7, vlanProto: VFConfig.vlanProto8021Q)
        )
        var expected: [UInt8] = []
        expected += Self.le32(64) + Self.le16(16) + Self.le16(5) + Self.le32(1) + Self.le32(0)
        expected += [0, 0] + Self.le16(0) + Self.le32(2) + Self.le32(0) + Self.le32(0)
        expected += Self.le16(32) + Self.le16(22)  // IFLA_VFINFO_LIST
        expected += Self.le16(28) + Self.le16(1)  // IFLA_VF_INFO
        expected += Self.le16(24) + Self.le16(12)  // IFLA_VF_VLAN_LIST
        // IFLA_VF_VLAN_INFO (1): struct ifla_vf_vlan_info {u32 vf, vlan, qos; __be16 vlan_proto} + 2 bytes tail pad
        expected += Self.le16(20) + Self.le16(1) + Self.le32(1) + Self.le32(4095) + Self.le32(7) + [0x81, 0x00, 0, 0]
        #expect(bytes == expected)
    }

    /// Captured once (not at test time) with iproute2 6.1 on this project's CI image:
    ///
    ///     ip netns add cap; ip -n cap link add vA type veth peer name vB
    ///     ip netns exec cap strace -f -e trace=sendmsg -e write=all -xx ip link set vA vf 3 \
    ///         mac 02:11:22:33:44:55 vlan 100 qos 2 proto 802.1ad spoofchk off trust on state enable \
    ///         min_tx_rate 10 max_tx_rate 100
    ///
    /// (the kernel rejects it on veth with EOPNOTSUPP; the request is what matters). vA had ifindex 3 and the
    /// request carried seq 0x6b042873.
    static let iproute2SetVF: [UInt8] = [
        0x9c, 0x00, 0x00, 0x00, 0x10, 0x00, 0x05, 0x00, 0x73, 0x28, 0x04, 0x6b, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x03, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x7c, 0x00, 0x16, 0x00, 0x78, 0x00, 0x01, 0x00, 0x28, 0x00, 0x01, 0x00, 0x03, 0x00, 0x00, 0x00,
        0x02, 0x11, 0x22, 0x33, 0x44, 0x55, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x18, 0x00, 0x0c, 0x00, 0x14, 0x00, 0x01, 0x00, 0x03, 0x00, 0x00, 0x00, 0x64, 0x00, 0x00, 0x00,
        0x02, 0x00, 0x00, 0x00, 0x88, 0xa8, 0x00, 0x00, 0x0c, 0x00, 0x04, 0x00, 0x03, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x0c, 0x00, 0x09, 0x00, 0x03, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00,
        0x0c, 0x00, 0x05, 0x00, 0x03, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x10, 0x00, 0x06, 0x00,
        0x03, 0x00, 0x00, 0x00, 0x0a, 0x00, 0x00, 0x00, 0x64, 0x00, 0x00, 0x00,
    ]

    @Test("setVF is byte-identical to iproute2's `ip link set vA vf 3 …` request")
    func setVFMatchesIproute2() throws {
        let config = VFConfig(
            vf: 3,
            mac: "02:11:22:33:44:55",
            vlan: 100,
            qos: 2,
            vlanProto: VFConfig.vlanProto8021AD,
            spoofCheck: false,
            trust: true,
            linkState: .enable,
            minTxRate: 10,
            maxTxRate: 100
        )
        let bytes = try NetlinkMessage.setVF(ifindex: 3, seq: 0x6b04_2873, config: config)
        #expect(bytes == Self.iproute2SetVF)
    }

    /// Also captured once with strace from iproute2 6.1 (`ip link set vA mtu 9000|up|down|address …|name vX` on
    /// ifindex 3, seq 0x6b0429fb) and from `devlink dev eswitch show …` (the family lookup, seq 0x6b0429fd).
    @Test("link setters and the devlink family lookup match iproute2's requests")
    func settersMatchIproute2() throws {
        let seq: UInt32 = 0x6b04_29fb
        let header: (UInt8) -> [UInt8] = { length in
            [length, 0x00, 0x00, 0x00, 0x10, 0x00, 0x05, 0x00, 0xfb, 0x29, 0x04, 0x6b, 0x00, 0x00, 0x00, 0x00]
        }
        let ifinfo: (UInt8, UInt8) -> [UInt8] = { flags, change in
            [0x00, 0x00, 0x00, 0x00, 0x03, 0x00, 0x00, 0x00, flags, 0x00, 0x00, 0x00, change, 0x00, 0x00, 0x00]
        }
        #expect(
            try NetlinkMessage.setMTU(ifindex: 3, seq: seq, mtu: 9000)
                == header(0x28) + ifinfo(0, 0) + [0x08, 0x00, 0x04, 0x00, 0x28, 0x23, 0x00, 0x00]
        )
        #expect(NetlinkMessage.setUp(ifindex: 3, seq: seq, up: true) == header(0x20) + ifinfo(1, 1))
        #expect(NetlinkMessage.setUp(ifindex: 3, seq: seq, up: false) == header(0x20) + ifinfo(0, 1))
        #expect(
            try NetlinkMessage.setMAC(ifindex: 3, seq: seq, mac: "02:00:00:00:00:01")
                == header(0x2c) + ifinfo(0, 0) + [
                    0x0a, 0x00, 0x01, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00,
                ]
        )
        #expect(
            try NetlinkMessage.rename(ifindex: 3, seq: seq, newName: "vX")
                == header(0x28) + ifinfo(0, 0) + [0x07, 0x00, 0x03, 0x00, 0x76, 0x58, 0x00, 0x00]
        )
        let devlinkLookup: [UInt8] = [
            0x20, 0x00, 0x00, 0x00, 0x10, 0x00, 0x05, 0x00, 0xfd, 0x29, 0x04, 0x6b, 0x00, 0x00, 0x00, 0x00,
            0x03, 0x01, 0x00, 0x00, 0x0c, 0x00, 0x02, 0x00, 0x64, 0x65, 0x76, 0x6c, 0x69, 0x6e, 0x6b, 0x00,
        ]
        #expect(NetlinkMessage.getFamily(named: "devlink", seq: 0x6b04_29fd) == devlinkLookup)
    }

    @Test("moveToNamespace carries the namespace fd in IFLA_NET_NS_FD")
    func moveToNamespace() {
        var expected: [UInt8] = []
        expected += Self.le32(40) + Self.le16(16) + Self.le16(5) + Self.le32(7) + Self.le32(0)
        expected += [0, 0] + Self.le16(0) + Self.le32(4) + Self.le32(0) + Self.le32(0)
        expected += Self.le16(8) + Self.le16(28) + Self.le32(12)  // IFLA_NET_NS_FD (28) = fd 12
        #expect(NetlinkMessage.moveToNamespace(ifindex: 4, seq: 7, namespaceFD: 12) == expected)
    }

    @Test("the link dump asks for VF info without VF stats")
    func dumpLinks() {
        var expected: [UInt8] = []
        // RTM_GETLINK (18), NLM_F_REQUEST | NLM_F_DUMP (0x301)
        expected += Self.le32(40) + Self.le16(18) + Self.le16(0x301) + Self.le32(5) + Self.le32(0)
        expected += [UInt8](repeating: 0, count: 16)
        // IFLA_EXT_MASK (29) = RTEXT_FILTER_VF | RTEXT_FILTER_SKIP_STATS (9)
        expected += Self.le16(8) + Self.le16(29) + Self.le32(9)
        #expect(NetlinkMessage.dumpLinks(seq: 5) == expected)
    }

    @Test("devlink eswitch requests name the pci bus and device, and encode the mode as u16")
    func eswitchRequests() throws {
        let get = try NetlinkMessage.eswitchGet(familyID: 0x1d, seq: 2, pciAddress: "0000:3B:00.0")
        var expected: [UInt8] = []
        expected += Self.le32(48) + Self.le16(0x1d) + Self.le16(5) + Self.le32(2) + Self.le32(0)
        // genlmsghdr {cmd = DEVLINK_CMD_ESWITCH_GET (29), version = 1, reserved}
        expected += [29, 1, 0, 0]
        expected += Self.le16(8) + Self.le16(1) + Array("pci".utf8) + [0]  // DEVLINK_ATTR_BUS_NAME
        expected += Self.le16(17) + Self.le16(2) + Array("0000:3b:00.0".utf8) + [0, 0, 0, 0]  // DEV_NAME + pad
        #expect(get == expected)

        let set = try NetlinkMessage.eswitchSet(familyID: 0x1d, seq: 2, pciAddress: "0000:3b:00.0", mode: "switchdev")
        var expectedSet = Self.le32(56) + Array(expected[4...])
        expectedSet[16] = 30  // DEVLINK_CMD_ESWITCH_SET
        expectedSet += Self.le16(6) + Self.le16(25) + Self.le16(1) + [0, 0]  // DEVLINK_ATTR_ESWITCH_MODE = switchdev
        #expect(set == expectedSet)
    }

    @Test(
        "invalid interface names are refused before any request is built",
        arguments: [
            "", ".", "..", "a/b", "a b", "tab\tname", "a:b", "sixteen-chars-xx", "nul\u{0}x", "nbsp\u{A0}x",
            "bell\u{7}",
        ]
    )
    func invalidNames(name: String) {
        let error = #expect(throws: HostError.self) { try NetlinkMessage.getLink(named: name, seq: 1) }
        #expect(error?.code == .invalidArgument)
        #expect(error?.message.contains(name.debugDescription) == true)
    }

    @Test("valid interface names", arguments: ["a", "eth0", "ens785f0v12", "fifteen-chars-x", "vé"])
    func validNames(name: String) throws {
        _ = try NetlinkMessage.getLink(named: name, seq: 1)
    }

    @Test(
        "invalid MAC strings are refused with the value in the message",
        arguments: [
            "", "02:00:00:00:00", "02:00:00:00:00:00:00", "02-00-00-00-00-01", "0g:00:00:00:00:01", "2:0:0:0:0:1",
            "+f:00:00:00:00:01",
        ]
    )
    func invalidMACs(mac: String) {
        let error = #expect(throws: HostError.self) { try NetlinkMessage.setMAC(ifindex: 1, seq: 1, mac: mac) }
        #expect(error?.code == .invalidArgument)
        #expect(error?.message.contains("\"\(mac)\"") == true)
    }

    @Test(
        "invalid VF configs are refused with the field and value",
        arguments: [
            (VFConfig(vf: -1), "VF index -1"),
            (VFConfig(vf: 0, vlan: 4096), "VLAN 4096"),
            (VFConfig(vf: 0, vlan: 10, qos: 8), "QoS 8"),
            (VFConfig(vf: 0, qos: 3), "require a VLAN"),
            (VFConfig(vf: 0, vlanProto: 0x88a8), "require a VLAN"),
            (VFConfig(vf: 0, vlan: 10, vlanProto: 0x9100), "0x9100"),
            (VFConfig(vf: 2, mac: "nope"), "\"nope\""),
            (VFConfig(vf: 0, maxTxRate: -5), "max TX rate -5"),
        ]
    )
    func invalidVFConfigs(config: VFConfig, fragment: String) {
        let error = #expect(throws: HostError.self) { try NetlinkMessage.setVF(ifindex: 1, seq: 1, config: config) }
        #expect(error?.code == .invalidArgument)
        #expect(error?.message.contains(fragment) == true, "\(error?.message ?? "")")
    }

    @Test(
        "invalid PCI addresses and eswitch modes are refused",
        arguments: ["", "3b:00.0", "0000:3b:00.8", "0000:3g:00.0"]
    )
    func invalidPCIAddresses(address: String) {
        let error = #expect(throws: HostError.self) {
            try NetlinkMessage.eswitchGet(familyID: 1, seq: 1, pciAddress: address)
        }
        #expect(error?.code == .invalidArgument)
        #expect(error?.message.contains("\"\(address)\"") == true)
        let mode = #expect(throws: HostError.self) {
            try NetlinkMessage.eswitchSet(familyID: 1, seq: 1, pciAddress: "0000:3b:00.0", mode: "offload")
        }
        #expect(mode?.message.contains("\"offload\"") == true)
    }
}
