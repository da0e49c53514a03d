/// Builds one netlink message: the `nlmsghdr`, a family header, then type-length-value attributes, each padded to 4
/// bytes (`NLMSG_ALIGN`/`NLA_ALIGN`, which Swift cannot import because they are function-like macros).
///
/// Integers are written in host byte order, as netlink expects, except where the ABI says big-endian
/// (`__be16 vlan_proto`), which the caller passes through ``appendBigEndian(_:)``.
struct NetlinkEncoder {
    /// Size of `struct nlmsghdr`.
    static let headerSize = 16
    /// Size of `struct nlattr` / `struct rtattr`.
    static let attributeHeaderSize = 4

    private(set) var bytes: [UInt8] = []

    /// Starts a message; the length field is filled in by ``finish()``.
    init(type: UInt16, flags: UInt16, seq: UInt32) {
        self.bytes.reserveCapacity(128)
        self.append(UInt32(0))  // nlmsg_len, patched in finish()
        self.append(type)
        self.append(flags)
        self.append(seq)
        self.append(UInt32(0))  // nlmsg_pid: 0, the kernel fills in the port id
    }

    /// Rounds `length` up to the 4-byte netlink alignment.
    static func align(_ length: Int) -> Int { (length + 3) & ~3 }

    mutating func append(_ value: UInt8) { self.bytes.append(value) }
    mutating func append(_ value: UInt16) { withUnsafeBytes(of: value) { self.bytes.append(contentsOf: $0) } }
    mutating func append(_ value: UInt32) { withUnsafeBytes(of: value) { self.bytes.append(contentsOf: $0) } }
    mutating func append(_ value: Int32) { withUnsafeBytes(of: value) { self.bytes.append(contentsOf: $0) } }
    mutating func appendBigEndian(_ value: UInt16) {
        withUnsafeBytes(of: value.bigEndian) { self.bytes.append(contentsOf: $0) }
    }
    mutating func append(contentsOf raw: [UInt8]) { self.bytes.append(contentsOf: raw) }

    /// Appends `struct ifinfomsg` (16 bytes).
    mutating func appendInterfaceHeader(index: Int32, flags: UInt32 = 0, change: UInt32 = 0) {
        self.append(UInt8(0))  // ifi_family: AF_UNSPEC
        self.append(UInt8(0))  // __ifi_pad
        self.append(UInt16(0))  // ifi_type
        self.append(index)
        self.append(flags)
        self.append(change)
    }

    /// Appends `struct genlmsghdr` (4 bytes).
    mutating func appendGenericHeader(command: UInt8, version: UInt8) {
        self.append(command)
        self.append(version)
        self.append(UInt16(0))
    }

    /// Appends one attribute whose payload is written by `body`, then pads to 4 bytes.
    mutating func attribute(_ type: UInt16, _ body: (inout NetlinkEncoder) -> Void) {
        let start = self.bytes.count
        self.append(UInt16(0))  // nla_len, patched below
        self.append(type)
        body(&self)
        self.patchUInt16(at: start, UInt16(truncatingIfNeeded: self.bytes.count - start))
        self.pad()
    }

    /// Appends a nested attribute (its length covers the padded children, as the kernel's `nla_nest_end` does).
    mutating func nested(_ type: UInt16, _ body: (inout NetlinkEncoder) -> Void) {
        self.attribute(type, body)
    }

    mutating func attribute(_ type: UInt16, uint32 value: UInt32) { self.attribute(type) { $0.append(value) } }
    mutating func attribute(_ type: UInt16, uint16 value: UInt16) { self.attribute(type) { $0.append(value) } }
    mutating func attribute(_ type: UInt16, bytes value: [UInt8]) {
        self.attribute(type) { $0.append(contentsOf: value) }
    }
    /// A NUL-terminated string attribute.
    mutating func attribute(_ type: UInt16, string value: String) {
        self.attribute(type) {
            $0.append(contentsOf: Array(value.utf8))
            $0.append(UInt8(0))
        }
    }

    /// The finished message with `nlmsg_len` filled in.
    func finish() -> [UInt8] {
        var copy = self
        copy.patchUInt32(at: 0, UInt32(truncatingIfNeeded: copy.bytes.count))
        return copy.bytes
    }

    private mutating func pad() {
        let padded = Self.align(self.bytes.count)
        self.bytes.append(contentsOf: repeatElement(0, count: padded - self.bytes.count))
    }

    private mutating func patchUInt16(at offset: Int, _ value: UInt16) {
        withUnsafeBytes(of: value) { raw in
            for (index, byte) in raw.enumerated() { self.bytes[offset + index] = byte }
        }
    }

    private mutating func patchUInt32(at offset: Int, _ value: UInt32) {
        withUnsafeBytes(of: value) { raw in
            for (index, byte) in raw.enumerated() { self.bytes[offset + index] = byte }
        }
    }
}
