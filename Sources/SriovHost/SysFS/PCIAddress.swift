/// A PCI address in sysfs form, `0000:3b:00.0` (domain:bus:device.function, lower-case hex).
///
/// Every path the node side builds from outside input goes through this type or ``InterfaceName``, so
/// a NodeState spec can never make us write outside the device's directory (`../../etc/passwd` is
/// refused before any path is built).
public struct PCIAddress: Sendable, Hashable, Comparable, CustomStringConvertible {
    public let rawValue: String

    public init(_ text: String) throws(HostError) {
        let bytes = Array(text.utf8)
        // dddd:bb:dd.f
        func isHex(_ b: UInt8) -> Bool {
            (b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9")) || (b >= UInt8(ascii: "a") && b <= UInt8(ascii: "f"))
        }
        let ok =
            bytes.count == 12 && bytes[4] == UInt8(ascii: ":") && bytes[7] == UInt8(ascii: ":")
            && bytes[10] == UInt8(ascii: ".") && [0, 1, 2, 3, 5, 6, 8, 9].allSatisfy { isHex(bytes[$0]) }
            && bytes[11] >= UInt8(ascii: "0") && bytes[11] <= UInt8(ascii: "7")
        guard ok else {
            throw HostError(
                code: .invalidArgument,
                message: "\(text.debugDescription) is not a PCI address of the form 0000:3b:00.0"
            )
        }
        self.rawValue = text
    }

    public var description: String { self.rawValue }
    public static func < (a: PCIAddress, b: PCIAddress) -> Bool { a.rawValue < b.rawValue }

    /// `/sys/bus/pci/devices/<address>`
    public var sysfsPath: String { "/sys/bus/pci/devices/\(self.rawValue)" }
}

/// A network interface name as the kernel accepts it: 1–15 bytes, no `/`, no whitespace, not `.`/`..`.
public struct InterfaceName: Sendable, Hashable, CustomStringConvertible {
    public let rawValue: String

    public init(_ text: String) throws(HostError) {
        let bytes = Array(text.utf8)
        let ok =
            !bytes.isEmpty && bytes.count <= 15 && text != "." && text != ".."
            && !bytes.contains { $0 == UInt8(ascii: "/") || $0 <= 0x20 || $0 == 0x7F || $0 == UInt8(ascii: ":") }
        guard ok else {
            throw HostError(code: .invalidArgument, message: "\(text.debugDescription) is not a valid interface name")
        }
        self.rawValue = text
    }

    public var description: String { self.rawValue }

    /// `/sys/class/net/<name>`
    public var sysfsPath: String { "/sys/class/net/\(self.rawValue)" }
}
