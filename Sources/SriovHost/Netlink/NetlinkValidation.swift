/// Input checks shared by the encoders, so bad values are refused with a clear error before any request is built.
enum NetlinkValidation {
    /// The longest interface name the kernel accepts (`IFNAMSIZ` − 1).
    static let maxNameLength = 15

    /// Checks a name the way the kernel's `dev_valid_name` does: 1–15 bytes, not `.` or `..`, no `/`, `:` or
    /// whitespace, plus no control characters (the kernel allows those, but they are never intended).
    static func checkInterfaceName(_ name: String, role: String = "interface name") throws(HostError) {
        let bytes = Array(name.utf8)
        var problem: String?
        if bytes.isEmpty {
            problem = "is empty"
        } else if bytes.count > Self.maxNameLength {
            problem = "is \(bytes.count) bytes long (at most \(Self.maxNameLength))"
        } else if name == "." || name == ".." {
            problem = "is reserved"
        } else if bytes.contains(where: { $0 == UInt8(ascii: "/") || $0 == UInt8(ascii: ":") }) {
            problem = "contains '/' or ':'"
        } else if bytes.contains(where: Self.isSpaceOrControl) {
            problem = "contains whitespace or a control character"
        }
        if let problem {
            throw HostError(code: .invalidArgument, message: "invalid \(role) \(name.debugDescription): \(problem)")
        }
    }

    /// Whitespace by the kernel's byte-wise `isspace` (which, with its Latin-1 table, includes 0xA0, so a UTF-8
    /// no-break space is refused too), and ASCII control characters.
    private static func isSpaceOrControl(_ byte: UInt8) -> Bool {
        byte <= 0x20 || byte == 0x7F || byte == 0xA0
    }

    /// Parses `xx:xx:xx:xx:xx:xx` (either case) into its 6 bytes.
    static func parseMAC(_ mac: String, role: String = "MAC address") throws(HostError) -> [UInt8] {
        let parts = mac.split(separator: ":", omittingEmptySubsequences: false)
        var bytes: [UInt8] = []
        bytes.reserveCapacity(6)
        for part in parts {
            // Checked digit by digit: `UInt8(_:radix:)` would also accept a sign ("+f").
            guard part.utf8.count == 2, part.utf8.allSatisfy(Self.isHexDigit), let byte = UInt8(part, radix: 16) else {
                break
            }
            bytes.append(byte)
        }
        guard parts.count == 6, bytes.count == 6 else {
            throw HostError(
                code: .invalidArgument,
                message: "invalid \(role) \(mac.debugDescription): "
                    + "expected six colon-separated hex octets like 02:00:00:00:00:01"
            )
        }
        return bytes
    }

    /// Parses a PCI address `dddd:bb:dd.f` and returns it in lower case, as sysfs and devlink name devices.
    static func normalizedPCIAddress(_ address: String) throws(HostError) -> String {
        let lower = address.lowercased()
        let bytes = Array(lower.utf8)
        let valid =
            bytes.count == 12
            && bytes[4] == UInt8(ascii: ":") && bytes[7] == UInt8(ascii: ":") && bytes[10] == UInt8(ascii: ".")
            && [0, 1, 2, 3, 5, 6, 8, 9].allSatisfy { Self.isHexDigit(bytes[$0]) }
            && (48...55).contains(bytes[11])
        guard valid else {
            throw HostError(
                code: .invalidArgument,
                message: "invalid PCI address \(address.debugDescription): "
                    + "expected domain:bus:device.function like 0000:3b:00.0"
            )
        }
        return lower
    }

    private static func isHexDigit(_ byte: UInt8) -> Bool {
        (48...57).contains(byte) || (65...70).contains(byte) || (97...102).contains(byte)
    }

    /// Checks that `value` fits the unsigned 32-bit field `field` of the kernel ABI.
    static func uint32(_ value: Int, field: String, range: ClosedRange<Int>? = nil) throws(HostError) -> UInt32 {
        let allowed = range ?? 0...Int(UInt32.max)
        guard allowed.contains(value), let result = UInt32(exactly: value) else {
            throw HostError(
                code: .invalidArgument,
                message: "invalid \(field) \(value): must be in \(allowed.lowerBound)...\(allowed.upperBound)"
            )
        }
        return result
    }
}
