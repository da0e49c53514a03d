import Testing

@testable import SriovHost

/// Decoding kernel replies: a hand-built `RTM_NEWLINK` with VF information (the shape the kernel's
/// `rtnl_fill_vfinfo` produces), acks with extended-ack text, and malformed input that must never crash.
@Suite("NetlinkMessage decoding")
struct NetlinkDecodeTests {
    // An independent little TLV writer, so the decoder is not only tested against our own encoder.
    static func le32(_ value: UInt32) -> [UInt8] { withUnsafeBytes(of: value.littleEndian) { Array($0) } }
    static func le16(_ value: UInt16) -> [UInt8] { withUnsafeBytes(of: value.littleEndian) { Array($0) } }
    static func attr(_ type: UInt16, _ payload: [UInt8]) -> [UInt8] {
        let bytes = Self.le16(UInt16(4 + payload.count)) + Self.le16(type) + payload
        return bytes + [UInt8](repeating: 0, count: (4 - bytes.count % 4) % 4)
    }
    static func string(_ text: String) -> [UInt8] { Array(text.utf8) + [0] }
    static let nested: UInt16 = 0x8000  // NLA_F_NESTED, which the kernel may set on nests
    static func message(type: UInt16, flags: UInt16 = 2, seq: UInt32 = 1, _ payload: [UInt8]) -> [UInt8] {
        Self.le32(UInt32(16 + payload.count)) + Self.le16(type) + Self.le16(flags) + Self.le32(seq) + Self.le32(0)
            + payload
    }

    /// A PF `ens1f0` (ifindex 5, up, MTU 9000) with two VFs: VF 0 fully configured, VF 1 with a driver that does not
    /// implement spoof checking (the kernel reports -1).
    static let pfReply: [UInt8] = {
        let vf0 =
            Self.attr(1, Self.le32(0) + [0x02, 0, 0, 0, 0, 0x0a] + [UInt8](repeating: 0, count: 26))  // IFLA_VF_MAC
            + Self.attr(2, Self.le32(0) + Self.le32(100) + Self.le32(3))  // IFLA_VF_VLAN
            + Self.attr(
                12 | Self.nested,
                Self.attr(1, Self.le32(0) + Self.le32(100) + Self.le32(3) + [0x88, 0xa8, 0, 0])
            )  // IFLA_VF_VLAN_LIST
            + Self.attr(3, Self.le32(0) + Self.le32(100))  // IFLA_VF_TX_RATE
            + Self.attr(6, Self.le32(0) + Self.le32(10) + Self.le32(100))  // IFLA_VF_RATE
            + Self.attr(4, Self.le32(0) + Self.le32(1))  // IFLA_VF_SPOOFCHK
            + Self.attr(5, Self.le32(0) + Self.le32(2))  // IFLA_VF_LINK_STATE
            + Self.attr(9, Self.le32(0) + Self.le32(0))  // IFLA_VF_TRUST
        let vf1 =
            Self.attr(1, Self.le32(1) + [UInt8](repeating: 0, count: 32))
            + Self.attr(4, Self.le32(1) + Self.le32(UInt32.max))
        let payload =
            [0, 0] + Self.le16(1) + Self.le32(5) + Self.le32(0x1043) + Self.le32(0)  // ifinfomsg: ether, IFF_UP
            + Self.attr(3, Self.string("ens1f0"))  // IFLA_IFNAME
            + Self.attr(4, Self.le32(9000))  // IFLA_MTU
            + Self.attr(16, [6])  // IFLA_OPERSTATE: IF_OPER_UP
            + Self.attr(
                52 | Self.nested,
                Self.attr(53, Self.string("enp59s0f0")) + Self.attr(53, Self.string("a-much-longer-alternative-name"))
            )  // IFLA_PROP_LIST of IFLA_ALT_IFNAME
            + Self.attr(22 | Self.nested, Self.attr(1, vf0) + Self.attr(1, vf1))  // IFLA_VFINFO_LIST
            + Self.attr(1, [0x3C, 0xFD, 0xFE, 0x00, 0x11, 0x22])  // IFLA_ADDRESS after the VF list
            + Self.attr(18, Self.attr(1, Self.string("veth")))  // IFLA_LINKINFO / IFLA_INFO_KIND
        return Self.message(type: 16, payload)
    }()

    @Test("an RTM_NEWLINK with altnames, kind and VF info decodes into LinkInfo")
    func decodesPF() throws {
        let links = try NetlinkMessage.decodeLinks(Self.pfReply + Self.message(type: 3, Self.le32(0)))
        #expect(
            links == [
                LinkInfo(
                    index: 5,
                    name: "ens1f0",
                    altNames: ["enp59s0f0", "a-much-longer-alternative-name"],
                    mtu: 9000,
                    mac: "3c:fd:fe:00:11:22",
                    isUp: true,
                    operState: "up",
                    linkType: "ether",
                    kind: "veth",
                    vfs: [
                        VFInfo(
                            vf: 0,
                            mac: "02:00:00:00:00:0a",
                            vlan: 100,
                            qos: 3,
                            vlanProto: 0x88a8,
                            spoofCheck: true,
                            trust: false,
                            linkState: .disable,
                            minTxRate: 10,
                            maxTxRate: 100
                        ),
                        VFInfo(vf: 1, mac: "00:00:00:00:00:00"),
                    ]
                )
            ]
        )
    }

    @Test("link types and operstates are named like ip(8) and sysfs name them")
    func names() {
        #expect(NetlinkMessage.linkTypeName(1) == "ether")
        #expect(NetlinkMessage.linkTypeName(32) == "infiniband")
        #expect(NetlinkMessage.linkTypeName(772) == "loopback")
        #expect(NetlinkMessage.linkTypeName(65534) == "arphrd-65534")
        #expect(NetlinkMessage.operStateName(2) == "down")
        #expect(NetlinkMessage.operStateName(200) == "unknown")
    }

    @Test("an error ack carries the errno and the kernel's extended-ack message (capped and uncapped)")
    func errorAcks() throws {
        let request = Self.message(type: 16, flags: 5, seq: 9, [UInt8](repeating: 0, count: 24))
        let text = Self.attr(1, Self.string("mtu greater than device maximum"))  // NLMSGERR_ATTR_MSG
        // NLM_F_CAPPED (0x100) | NLM_F_ACK_TLVS (0x200): nlmsgerr {int error; nlmsghdr msg} then TLVs.
        let capped = Self.message(
            type: 2,
            flags: 0x300,
            seq: 9,
            Self.le32(UInt32(bitPattern: -22)) + request[0..<16] + text
        )
        let uncapped = Self.message(type: 2, flags: 0x200, seq: 9, Self.le32(UInt32(bitPattern: -22)) + request + text)
        for datagram in [capped, uncapped] {
            let message = try #require(try NetlinkDecoder.messages(in: datagram).first)
            let ack = try NetlinkMessage.decodeAck(message)
            #expect(ack == NetlinkAck(errno: 22, kernelMessage: "mtu greater than device maximum"))
        }
        let plain = Self.message(type: 2, flags: 0x100, seq: 9, Self.le32(0) + request[0..<16])
        let ack = try NetlinkMessage.decodeAck(try #require(try NetlinkDecoder.messages(in: plain).first))
        #expect(ack == NetlinkAck(errno: 0, kernelMessage: nil))
    }

    @Test("every truncation of a reply is a HostError, never a crash")
    func truncations() {
        for length in 1..<Self.pfReply.count {
            var cut = Array(Self.pfReply[..<length])
            // Keep nlmsg_len consistent with the cut so the inner attribute checks are exercised too.
            if length >= 4 {
                cut.replaceSubrange(0..<4, with: Self.le32(UInt32(length)))
            }
            do {
                _ = try NetlinkMessage.decodeLinks(cut)
            } catch {
                #expect(error.code == .netlink)
                #expect(error.message.contains("malformed netlink reply"))
            }
        }
    }

    @Test("malformed lengths are reported with where they occurred")
    func malformedLengths() {
        // An attribute claiming more bytes than the message holds.
        let payload =
            [0, 0] + Self.le16(1) + Self.le32(5) + Self.le32(0) + Self.le32(0) + Self.le16(200) + Self.le16(3)
        let error = #expect(throws: HostError.self) { try NetlinkMessage.decodeLinks(Self.message(type: 16, payload)) }
        #expect(error?.code == .netlink)
        #expect(error?.message.contains("attribute type 3 has length 200") == true)

        // A message shorter than its header claims to be, and an ifinfomsg that is too short.
        #expect(throws: HostError.self) {
            try NetlinkMessage.decodeLinks(Self.le32(64) + [UInt8](repeating: 0, count: 20))
        }
        #expect(throws: HostError.self) { try NetlinkMessage.decodeLinks(Self.message(type: 16, [0, 0, 1])) }
        // A zero-length attribute would loop forever if it were accepted.
        let zero = [UInt8](repeating: 0, count: 16) + Self.le16(0) + Self.le16(3)
        #expect(throws: HostError.self) { try NetlinkMessage.decodeLinks(Self.message(type: 16, zero)) }
        // A VF MAC attribute too short for its struct.
        let shortVF =
            [UInt8](repeating: 0, count: 16) + Self.attr(3, Self.string("x"))
            + Self.attr(22, Self.attr(1, Self.attr(1, Self.le32(0) + [1, 2])))
        #expect(throws: HostError.self) { try NetlinkMessage.decodeLinks(Self.message(type: 16, shortVF)) }
    }

    @Test("randomly corrupted replies never crash the decoder")
    func corruptedReplies() {
        var generator = NetlinkFuzzGenerator(seed: 0x5EED)
        for _ in 0..<3000 {
            var bytes = Self.pfReply
            for _ in 0..<Int.random(in: 1...6, using: &generator) {
                let index = Int.random(in: 0..<bytes.count, using: &generator)
                bytes[index] = UInt8.random(in: 0...255, using: &generator)
            }
            _ = try? NetlinkMessage.decodeLinks(bytes)
        }
    }
}

/// A seeded generator so the corruption test is reproducible.
private struct NetlinkFuzzGenerator: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { self.state = seed }
    mutating func next() -> UInt64 {
        self.state &+= 0x9E37_79B9_7F4A_7C15
        var z = self.state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
