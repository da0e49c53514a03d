import KubeCore

/// Strict, bounded parsers for the sysfs attributes the node side acts on. Each takes the text read and
/// the kernel's range, and a malformed value is a ``HostError`` naming the file and the bytes read
/// (quoted, cut at 80 characters), never a silent 0 or a crash further on.
public enum SysFSAttribute {
    /// The most VFs one PF can have that we accept (the largest `sriov_totalvfs` of supported NICs is 256).
    public static let maxVFs = 256

    /// A decimal integer (optionally `0x` hex) within `range`, surrounding whitespace allowed.
    public static func integer(
        _ text: String,
        in range: ClosedRange<Int>,
        path: String,
        what: String
    ) throws(HostError) -> Int {
        let trimmed = text.trimmingWhitespace
        var value: Int?
        if trimmed.hasPrefix("0x"), trimmed.count > 2, trimmed.count <= 18 {
            value = Int(trimmed.dropFirst(2), radix: 16)
        } else if !trimmed.isEmpty, trimmed.count <= 20,
            trimmed.utf8.allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2D })
        {
            value = Int(trimmed)
        }
        guard let value else {
            throw HostError(
                code: .invalidArgument,
                message:
                    "expected \(what) (an integer in \(range.lowerBound)…\(range.upperBound)), read \(Self.bytes(text))",
                path: path
            )
        }
        guard range.contains(value) else {
            throw HostError(
                code: .invalidArgument,
                message:
                    "\(what) \(value) is outside \(range.lowerBound)…\(range.upperBound), read \(Self.bytes(text))",
                path: path
            )
        }
        return value
    }

    /// The bytes read, for messages: quoted and cut at 80 characters with the length.
    public static func bytes(_ text: String) -> String {
        let quoted = QuotedValue.quote(text)
        return text.utf8.count > QuotedValue.maxCharacters ? quoted : quoted + " (\(text.utf8.count) bytes)"
    }
}

extension SysFS {
    /// `sriov_totalvfs` / `sriov_numvfs`: 0…256.
    public func readVFCount(_ path: String) throws(HostError) -> Int {
        try SysFSAttribute.integer(try self.read(path), in: 0...SysFSAttribute.maxVFs, path: path, what: "a VF count")
    }

    /// An integer attribute in `range` (MTU, flags, type, speed, numa_node).
    public func readInt(
        _ path: String,
        in range: ClosedRange<Int>,
        what: String = "an integer"
    ) throws(HostError)
        -> Int
    {
        try SysFSAttribute.integer(try self.read(path), in: range, path: path, what: what)
    }
}
