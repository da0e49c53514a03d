import CNetlink

/// Encoders and decoders for the generic-netlink requests behind the devlink eswitch calls.
extension NetlinkMessage {
    /// The generic netlink family name of devlink.
    public static let devlinkFamilyName = "devlink"
    /// `struct genlmsghdr` is 4 bytes: cmd u8, version u8, reserved u16.
    static let genericHeaderSize = 4
    /// The eswitch modes by their `DEVLINK_ESWITCH_MODE_*` values.
    static let eswitchModes: [(name: String, value: UInt16)] = [
        ("legacy", UInt16(DEVLINK_ESWITCH_MODE_LEGACY.rawValue)),
        ("switchdev", UInt16(DEVLINK_ESWITCH_MODE_SWITCHDEV.rawValue)),
    ]

    /// `CTRL_CMD_GETFAMILY` to the generic netlink controller: resolves a family name to its dynamic id.
    public static func getFamily(named name: String, seq: UInt32) -> [UInt8] {
        var message = NetlinkEncoder(type: UInt16(GENL_ID_CTRL), flags: Self.requestWithAck, seq: seq)
        message.appendGenericHeader(command: UInt8(CTRL_CMD_GETFAMILY), version: 1)
        message.attribute(UInt16(CTRL_ATTR_FAMILY_NAME), string: name)
        return message.finish()
    }

    /// `DEVLINK_CMD_ESWITCH_GET` for `pci/<pciAddress>`.
    public static func eswitchGet(familyID: UInt16, seq: UInt32, pciAddress: String) throws(HostError) -> [UInt8] {
        let address = try NetlinkValidation.normalizedPCIAddress(pciAddress)
        return Self.devlinkRequest(
            familyID: familyID,
            seq: seq,
            command: UInt8(DEVLINK_CMD_ESWITCH_GET.rawValue),
            pciAddress: address
        ) { _ in }
    }

    /// `DEVLINK_CMD_ESWITCH_SET` with `DEVLINK_ATTR_ESWITCH_MODE` for `pci/<pciAddress>`.
    /// - Throws: ``HostError`` `invalidArgument` for a mode other than `legacy`/`switchdev` or a malformed address.
    public static func eswitchSet(
        familyID: UInt16,
        seq: UInt32,
        pciAddress: String,
        mode: String
    ) throws(HostError) -> [UInt8] {
        let address = try NetlinkValidation.normalizedPCIAddress(pciAddress)
        guard let value = Self.eswitchModes.first(where: { $0.name == mode })?.value else {
            throw HostError(
                code: .invalidArgument,
                message: "invalid eswitch mode \(mode.debugDescription) for \(address): must be legacy or switchdev"
            )
        }
        return Self.devlinkRequest(
            familyID: familyID,
            seq: seq,
            command: UInt8(DEVLINK_CMD_ESWITCH_SET.rawValue),
            pciAddress: address
        ) { $0.attribute(UInt16(DEVLINK_ATTR_ESWITCH_MODE.rawValue), uint16: value) }
    }

    private static func devlinkRequest(
        familyID: UInt16,
        seq: UInt32,
        command: UInt8,
        pciAddress: String,
        _ attributes: (inout NetlinkEncoder) -> Void
    ) -> [UInt8] {
        var message = NetlinkEncoder(type: familyID, flags: Self.requestWithAck, seq: seq)
        message.appendGenericHeader(command: command, version: UInt8(DEVLINK_GENL_VERSION))
        message.attribute(UInt16(DEVLINK_ATTR_BUS_NAME.rawValue), string: "pci")
        message.attribute(UInt16(DEVLINK_ATTR_DEV_NAME.rawValue), string: pciAddress)
        attributes(&message)
        return message.finish()
    }

    /// The attributes of a generic netlink reply (after `genlmsghdr`).
    static func genericAttributes(
        _ message: NetlinkReplyMessage,
        context: String
    ) throws(HostError)
        -> [NetlinkAttribute]
    {
        guard message.payload.count >= Self.genericHeaderSize else {
            throw NetlinkDecoder.malformed("\(context): payload is \(message.payload.count) bytes, genlmsghdr needs 4")
        }
        return try NetlinkDecoder.attributes(
            in: message.payload[(message.payload.startIndex + Self.genericHeaderSize)...],
            context: context
        )
    }

    /// `CTRL_ATTR_FAMILY_ID` from a `CTRL_CMD_NEWFAMILY` reply.
    static func decodeFamilyID(_ message: NetlinkReplyMessage) throws(HostError) -> UInt16 {
        let attributes = try Self.genericAttributes(message, context: "CTRL_CMD_GETFAMILY reply")
        guard let id = attributes.first(where: { $0.type == UInt16(CTRL_ATTR_FAMILY_ID) }) else {
            throw NetlinkDecoder.malformed("CTRL_CMD_GETFAMILY reply has no CTRL_ATTR_FAMILY_ID")
        }
        return try NetlinkDecoder.uint16(id.payload, at: 0)
    }

    /// `DEVLINK_ATTR_ESWITCH_MODE` from a `DEVLINK_CMD_ESWITCH_GET` reply, as `legacy`, `switchdev` or `mode-N`.
    static func decodeEswitchMode(_ message: NetlinkReplyMessage) throws(HostError) -> String {
        let attributes = try Self.genericAttributes(message, context: "DEVLINK_CMD_ESWITCH_GET reply")
        guard let mode = attributes.first(where: { $0.type == UInt16(DEVLINK_ATTR_ESWITCH_MODE.rawValue) }) else {
            throw NetlinkDecoder.malformed("DEVLINK_CMD_ESWITCH_GET reply has no DEVLINK_ATTR_ESWITCH_MODE")
        }
        let value = try NetlinkDecoder.uint16(mode.payload, at: 0)
        return Self.eswitchModes.first(where: { $0.value == value })?.name ?? "mode-\(value)"
    }
}
