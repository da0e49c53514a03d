import CNetlink

/// A decoded `NLMSG_ERROR`: `errno` 0 is an acknowledgement; otherwise the kernel's error and its extended-ack text.
struct NetlinkAck: Equatable {
    var errno: Int32
    var kernelMessage: String?
}

extension NetlinkMessage {
    /// Decodes every `RTM_NEWLINK` message in `datagram` (a dump page or a single reply) into ``LinkInfo`` values;
    /// other message types (`NLMSG_DONE`, acknowledgements) are skipped.
    /// - Throws: ``HostError`` `netlink` when a length field or attribute does not fit the bytes present.
    public static func decodeLinks(_ datagram: [UInt8]) throws(HostError) -> [LinkInfo] {
        var links: [LinkInfo] = []
        for message in try NetlinkDecoder.messages(in: datagram) where message.type == UInt16(RTM_NEWLINK) {
            links.append(try Self.decodeLink(message.payload))
        }
        return links
    }

    /// `struct ifinfomsg` is 16 bytes: family u8, pad u8, type u16, index s32, flags u32, change u32.
    static let interfaceHeaderSize = 16

    /// Decodes the payload of one `RTM_NEWLINK` message (the `ifinfomsg` and its attributes).
    static func decodeLink(_ payload: ArraySlice<UInt8>) throws(HostError) -> LinkInfo {
        guard payload.count >= Self.interfaceHeaderSize else {
            throw NetlinkDecoder.malformed("RTM_NEWLINK payload is \(payload.count) bytes, ifinfomsg needs 16")
        }
        let type = try NetlinkDecoder.uint16(payload, at: 2)
        let index = try NetlinkDecoder.int32(payload, at: 4)
        let flags = try NetlinkDecoder.uint32(payload, at: 8)
        let context = "RTM_NEWLINK for ifindex \(index)"
        let attributes = try NetlinkDecoder.attributes(
            in: payload[(payload.startIndex + Self.interfaceHeaderSize)...],
            context: context
        )

        var link = LinkInfo(
            index: index,
            name: "",
            mtu: 0,
            mac: "",
            isUp: flags & UInt32(IFF_UP) != 0,
            operState: "unknown",
            linkType: Self.linkTypeName(type)
        )
        var addressLength = 6
        var vfList: ArraySlice<UInt8>?
        for attribute in attributes {
            let data = attribute.payload
            switch Int(attribute.type) {
            case Int(IFLA_IFNAME):
                link.name = NetlinkDecoder.string(data)
            case Int(IFLA_MTU):
                link.mtu = Int(try NetlinkDecoder.uint32(data, at: 0))
            case Int(IFLA_ADDRESS):
                link.mac = NetlinkDecoder.hardwareAddress(data)
                addressLength = data.count
            case Int(IFLA_OPERSTATE):
                link.operState = Self.operStateName(try NetlinkDecoder.uint8(data, at: 0))
            case Int(IFLA_LINKINFO):
                let info = try NetlinkDecoder.attributes(in: data, context: "\(context)/IFLA_LINKINFO")
                if let kind = info.first(where: { $0.type == UInt16(IFLA_INFO_KIND) }) {
                    link.kind = NetlinkDecoder.string(kind.payload)
                }
            case Int(IFLA_PROP_LIST):
                let properties = try NetlinkDecoder.attributes(in: data, context: "\(context)/IFLA_PROP_LIST")
                for property in properties where property.type == UInt16(IFLA_ALT_IFNAME) {
                    link.altNames.append(NetlinkDecoder.string(property.payload))
                }
            case Int(IFLA_VFINFO_LIST):
                vfList = data
            default:
                break
            }
        }
        guard !link.name.isEmpty else {
            throw NetlinkDecoder.malformed("\(context) has no IFLA_IFNAME")
        }
        // Decoded last: the VF MAC length depends on IFLA_ADDRESS, which may come after the list.
        if let vfList {
            let entries = try NetlinkDecoder.attributes(in: vfList, context: "\(context)/IFLA_VFINFO_LIST")
            for entry in entries where entry.type == UInt16(IFLA_VF_INFO) {
                if let vf = try Self.decodeVF(entry.payload, addressLength: addressLength) {
                    link.vfs.append(vf)
                }
            }
        }
        return link
    }

    /// Decodes the payload of an `NLMSG_ERROR` message: `struct nlmsgerr {int error; struct nlmsghdr msg;}`, then
    /// either the rest of the offending request or, when `NLM_F_CAPPED` is set, nothing; then extended-ack TLVs when
    /// `NLM_F_ACK_TLVS` is set.
    static func decodeAck(_ message: NetlinkReplyMessage) throws(HostError) -> NetlinkAck {
        let payload = message.payload
        let error = try NetlinkDecoder.int32(payload, at: 0)
        var ack = NetlinkAck(errno: error == Int32.min ? Int32.max : -error, kernelMessage: nil)
        guard message.flags & UInt16(NLM_F_ACK_TLVS) != 0 else { return ack }
        var tlvOffset = 4 + NetlinkEncoder.headerSize
        if message.flags & UInt16(NLM_F_CAPPED) == 0 {
            tlvOffset = 4 + Int(try NetlinkDecoder.uint32(payload, at: 4))
        }
        guard tlvOffset <= payload.count else { return ack }
        // Extended-ack TLVs are advisory: if they are garbled, keep the errno rather than fail on them.
        let tlvs = (try? NetlinkDecoder.attributes(in: payload[(payload.startIndex + tlvOffset)...], context: "ack"))
        if let text = tlvs?.first(where: { $0.type == UInt16(NLMSGERR_ATTR_MSG.rawValue) }) {
            let string = NetlinkDecoder.string(text.payload)
            ack.kernelMessage = string.isEmpty ? nil : string
        }
        return ack
    }

    /// `ifi_type` (an `ARPHRD_*` value) as `ip link` names the common ones.
    static func linkTypeName(_ type: UInt16) -> String {
        switch Int32(type) {
        case ARPHRD_ETHER: "ether"
        case ARPHRD_INFINIBAND: "infiniband"
        case ARPHRD_LOOPBACK: "loopback"
        default: "arphrd-\(type)"
        }
    }

    /// `IF_OPER_*` as `/sys/class/net/*/operstate` spells it.
    static func operStateName(_ state: UInt8) -> String {
        switch state {
        case 0: "unknown"
        case 1: "notpresent"
        case 2: "down"
        case 3: "lowerlayerdown"
        case 4: "testing"
        case 5: "dormant"
        case 6: "up"
        default: "unknown"
        }
    }
}
