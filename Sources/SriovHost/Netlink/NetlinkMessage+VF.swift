import CNetlink

extension NetlinkMessage {
    /// Size of `ifla_vf_mac.mac` (the array is 32 bytes so InfiniBand GUID-style addresses fit).
    static let vfMACArraySize = 32

    /// `RTM_NEWLINK` on the PF with one `IFLA_VFINFO_LIST`/`IFLA_VF_INFO` nest carrying the attributes set in
    /// `config`, in the order iproute2 emits them for `ip link set DEV vf N mac … vlan … qos … proto … spoofchk …
    /// trust … state … min_tx_rate … max_tx_rate …`: `IFLA_VF_MAC`, `IFLA_VF_VLAN_LIST` (or `IFLA_VF_VLAN` when no
    /// protocol is given), `IFLA_VF_SPOOFCHK`, `IFLA_VF_TRUST`, `IFLA_VF_LINK_STATE`, `IFLA_VF_RATE`.
    ///
    /// Struct layouts (linux/if_link.h, host byte order unless noted): `ifla_vf_mac {u32 vf; u8 mac[32]}`,
    /// `ifla_vf_vlan {u32 vf, vlan, qos}`, `ifla_vf_vlan_info {u32 vf, vlan, qos; __be16 vlan_proto}` (16 bytes with
    /// tail padding), `ifla_vf_spoofchk`/`ifla_vf_trust`/`ifla_vf_link_state {u32 vf; u32 setting}`,
    /// `ifla_vf_rate {u32 vf, min_tx_rate, max_tx_rate}`.
    /// - Throws: ``HostError`` `invalidArgument` for a malformed MAC, VLAN outside 0–4095, QoS outside 0–7, a protocol
    ///   other than 0x8100/0x88a8, QoS or protocol without a VLAN, or a negative VF index or rate.
    public static func setVF(ifindex: Int32, seq: UInt32, config: VFConfig) throws(HostError) -> [UInt8] {
        let vf = try NetlinkValidation.uint32(config.vf, field: "VF index")
        let context = "VF \(config.vf) config"
        var mac: [UInt8]?
        if let text = config.mac {
            mac = try NetlinkValidation.parseMAC(text, role: "\(context) MAC address")
        }
        var vlan: (id: UInt32, qos: UInt32)?
        if let id = config.vlan {
            vlan = (
                try NetlinkValidation.uint32(id, field: "\(context) VLAN", range: 0...4095),
                try NetlinkValidation.uint32(config.qos ?? 0, field: "\(context) QoS", range: 0...7)
            )
        } else if config.qos != nil || config.vlanProto != nil {
            throw HostError(
                code: .invalidArgument,
                message: "invalid \(context): QoS and VLAN protocol require a VLAN id"
            )
        }
        if let proto = config.vlanProto, proto != VFConfig.vlanProto8021Q, proto != VFConfig.vlanProto8021AD {
            throw HostError(
                code: .invalidArgument,
                message: "invalid \(context) VLAN protocol 0x\(String(proto, radix: 16)): must be 0x8100 or 0x88a8"
            )
        }
        var rate: (min: UInt32, max: UInt32)?
        if config.minTxRate != nil || config.maxTxRate != nil {
            rate = (
                try NetlinkValidation.uint32(config.minTxRate ?? 0, field: "\(context) min TX rate"),
                try NetlinkValidation.uint32(config.maxTxRate ?? 0, field: "\(context) max TX rate")
            )
        }

        return Self.setLink(ifindex: ifindex, seq: seq) { message in
            message.nested(UInt16(IFLA_VFINFO_LIST)) { list in
                list.nested(UInt16(IFLA_VF_INFO)) { info in
                    if let mac {
                        info.attribute(UInt16(IFLA_VF_MAC)) {
                            $0.append(vf)
                            $0.append(contentsOf: mac)
                            $0.append(contentsOf: [UInt8](repeating: 0, count: Self.vfMACArraySize - mac.count))
                        }
                    }
                    if let vlan {
                        if let proto = config.vlanProto {
                            info.nested(UInt16(IFLA_VF_VLAN_LIST)) { vlans in
                                vlans.attribute(UInt16(IFLA_VF_VLAN_INFO)) {
                                    $0.append(vf)
                                    $0.append(vlan.id)
                                    $0.append(vlan.qos)
                                    $0.appendBigEndian(proto)
                                    $0.append(UInt16(0))  // tail padding: sizeof(struct ifla_vf_vlan_info) == 16
                                }
                            }
                        } else {
                            info.attribute(UInt16(IFLA_VF_VLAN)) {
                                $0.append(vf)
                                $0.append(vlan.id)
                                $0.append(vlan.qos)
                            }
                        }
                    }
                    if let spoofCheck = config.spoofCheck {
                        info.attribute(UInt16(IFLA_VF_SPOOFCHK)) {
                            $0.append(vf)
                            $0.append(UInt32(spoofCheck ? 1 : 0))
                        }
                    }
                    if let trust = config.trust {
                        info.attribute(UInt16(IFLA_VF_TRUST)) {
                            $0.append(vf)
                            $0.append(UInt32(trust ? 1 : 0))
                        }
                    }
                    if let linkState = config.linkState {
                        info.attribute(UInt16(IFLA_VF_LINK_STATE)) {
                            $0.append(vf)
                            $0.append(UInt32(bitPattern: linkState.rawValue))
                        }
                    }
                    if let rate {
                        info.attribute(UInt16(IFLA_VF_RATE)) {
                            $0.append(vf)
                            $0.append(rate.min)
                            $0.append(rate.max)
                        }
                    }
                }
            }
        }
    }

    /// Decodes one `IFLA_VF_INFO` nest. `addressLength` is the PF's hardware address length (6 for Ethernet), used to
    /// cut the 32-byte `ifla_vf_mac.mac` array.
    static func decodeVF(_ payload: ArraySlice<UInt8>, addressLength: Int) throws(HostError) -> VFInfo? {
        let context = "IFLA_VF_INFO"
        // `-1` (all ones) is how the kernel reports a setting the driver does not implement.
        let unsupported = UInt32.max
        func setting(_ value: UInt32) -> Bool? { value == unsupported ? nil : value != 0 }

        let attributes = try NetlinkDecoder.attributes(in: payload, context: context)
        guard
            let macAttribute = attributes.first(where: { $0.type == UInt16(IFLA_VF_MAC) })
        else { return nil }
        let vf = try NetlinkDecoder.uint32(macAttribute.payload, at: 0)
        let macLength = min(max(addressLength, 0), Self.vfMACArraySize)
        guard macAttribute.payload.count >= 4 + macLength else {
            throw NetlinkDecoder.malformed("\(context): IFLA_VF_MAC is \(macAttribute.payload.count) bytes")
        }
        let macStart = macAttribute.payload.startIndex + 4
        var vfInfo = VFInfo(
            vf: Int(vf),
            mac: NetlinkDecoder.hardwareAddress(macAttribute.payload[macStart..<(macStart + macLength)])
        )

        for attribute in attributes {
            let data = attribute.payload
            switch Int(attribute.type) {
            case Int(IFLA_VF_VLAN):
                vfInfo.vlan = Int(try NetlinkDecoder.uint32(data, at: 4))
                vfInfo.qos = Int(try NetlinkDecoder.uint32(data, at: 8))
            case Int(IFLA_VF_VLAN_LIST):
                let vlans = try NetlinkDecoder.attributes(in: data, context: "\(context)/IFLA_VF_VLAN_LIST")
                if let first = vlans.first(where: { $0.type == UInt16(IFLA_VF_VLAN_INFO) }) {
                    vfInfo.vlan = Int(try NetlinkDecoder.uint32(first.payload, at: 4))
                    vfInfo.qos = Int(try NetlinkDecoder.uint32(first.payload, at: 8))
                    vfInfo.vlanProto = Int(UInt16(bigEndian: try NetlinkDecoder.uint16(first.payload, at: 12)))
                }
            case Int(IFLA_VF_SPOOFCHK):
                vfInfo.spoofCheck = setting(try NetlinkDecoder.uint32(data, at: 4))
            case Int(IFLA_VF_TRUST):
                vfInfo.trust = setting(try NetlinkDecoder.uint32(data, at: 4))
            case Int(IFLA_VF_LINK_STATE):
                vfInfo.linkState = VFLinkState(rawValue: Int32(bitPattern: try NetlinkDecoder.uint32(data, at: 4)))
            case Int(IFLA_VF_RATE):
                vfInfo.minTxRate = Int(try NetlinkDecoder.uint32(data, at: 4))
                vfInfo.maxTxRate = Int(try NetlinkDecoder.uint32(data, at: 8))
            default:
                break
            }
        }
        return vfInfo
    }
}
