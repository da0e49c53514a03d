/// One netlink message split out of a datagram: the `nlmsghdr` fields and the payload after the header.
struct NetlinkReplyMessage {
    var type: UInt16
    var flags: UInt16
    var seq: UInt32
    var payload: ArraySlice<UInt8>
}

/// One attribute: its type (with the `NLA_F_NESTED`/`NLA_F_NET_BYTEORDER` bits masked off) and its payload.
struct NetlinkAttribute {
    var type: UInt16
    var payload: ArraySlice<UInt8>
}

/// Bounds-checked readers for kernel replies: every length is checked against the bytes actually present, so a
/// malformed or truncated reply becomes a ``HostError`` with code `netlink`, never a crash.
enum NetlinkDecoder {
    /// `NLA_TYPE_MASK`: the low 14 bits carry the type.
    static let attributeTypeMask: UInt16 = 0x3FFF

    static func malformed(_ what: String) -> HostError {
        HostError(code: .netlink, message: "malformed netlink reply: \(what)")
    }

    /// Splits a datagram into messages (`NLMSG_OK`/`NLMSG_NEXT`).
    static func messages(in datagram: [UInt8]) throws(HostError) -> [NetlinkReplyMessage] {
        var result: [NetlinkReplyMessage] = []
        var offset = 0
        while datagram.count - offset >= NetlinkEncoder.headerSize {
            let slice = datagram[offset...]
            let length = Int(try Self.uint32(slice, at: 0))
            guard length >= NetlinkEncoder.headerSize, length <= datagram.count - offset else {
                throw Self.malformed(
                    "message at offset \(offset) has length \(length), \(datagram.count - offset) bytes remain"
                )
            }
            result.append(
                NetlinkReplyMessage(
                    type: try Self.uint16(slice, at: 4),
                    flags: try Self.uint16(slice, at: 6),
                    seq: try Self.uint32(slice, at: 8),
                    payload: datagram[(offset + NetlinkEncoder.headerSize)..<(offset + length)]
                )
            )
            offset += min(NetlinkEncoder.align(length), datagram.count - offset)
        }
        return result
    }

    /// Splits an attribute stream (`RTA_OK`/`RTA_NEXT`). Trailing bytes shorter than an attribute header are
    /// padding and ignored.
    static func attributes(in bytes: ArraySlice<UInt8>, context: String) throws(HostError) -> [NetlinkAttribute] {
        var result: [NetlinkAttribute] = []
        var offset = bytes.startIndex
        while bytes.endIndex - offset >= NetlinkEncoder.attributeHeaderSize {
            let length = Int(try Self.uint16(bytes, at: offset - bytes.startIndex))
            let type = try Self.uint16(bytes, at: offset - bytes.startIndex + 2) & Self.attributeTypeMask
            guard length >= NetlinkEncoder.attributeHeaderSize, length <= bytes.endIndex - offset else {
                throw Self.malformed(
                    "\(context): attribute type \(type) has length \(length), \(bytes.endIndex - offset) bytes remain"
                )
            }
            result.append(
                NetlinkAttribute(
                    type: type,
                    payload: bytes[(offset + NetlinkEncoder.attributeHeaderSize)..<(offset + length)]
                )
            )
            offset += min(NetlinkEncoder.align(length), bytes.endIndex - offset)
        }
        return result
    }

    /// Reads a host-order integer at `offset` bytes from the start of `bytes`.
    static func integer<T: FixedWidthInteger>(
        _ bytes: ArraySlice<UInt8>,
        at offset: Int,
        as: T.Type
    ) throws(HostError)
        -> T
    {
        let size = MemoryLayout<T>.size
        guard offset >= 0, bytes.count - offset >= size else {
            throw Self.malformed("need \(size) bytes at offset \(offset) of a \(bytes.count)-byte field")
        }
        return bytes.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: offset, as: T.self) }
    }

    static func uint8(_ bytes: ArraySlice<UInt8>, at offset: Int) throws(HostError) -> UInt8 {
        try Self.integer(bytes, at: offset, as: UInt8.self)
    }

    static func uint16(_ bytes: ArraySlice<UInt8>, at offset: Int) throws(HostError) -> UInt16 {
        try Self.integer(bytes, at: offset, as: UInt16.self)
    }

    static func uint32(_ bytes: ArraySlice<UInt8>, at offset: Int) throws(HostError) -> UInt32 {
        try Self.integer(bytes, at: offset, as: UInt32.self)
    }

    static func int32(_ bytes: ArraySlice<UInt8>, at offset: Int) throws(HostError) -> Int32 {
        try Self.integer(bytes, at: offset, as: Int32.self)
    }

    /// A string attribute: the bytes up to the first NUL (the kernel always terminates, but a missing NUL is
    /// tolerated), decoded as UTF-8 with invalid sequences replaced.
    static func string(_ bytes: ArraySlice<UInt8>) -> String {
        let end = bytes.firstIndex(of: 0) ?? bytes.endIndex
        return String(decoding: bytes[bytes.startIndex..<end], as: UTF8.self)
    }

    /// Lower-case colon-separated hex of `bytes`.
    static func hardwareAddress<C: Collection>(_ bytes: C) -> String where C.Element == UInt8 {
        let digits: [Character] = Array("0123456789abcdef")
        var text = ""
        text.reserveCapacity(bytes.count * 3)
        for byte in bytes {
            if !text.isEmpty { text.append(":") }
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 0x0F)])
        }
        return text
    }
}
