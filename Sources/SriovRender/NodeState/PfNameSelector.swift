/// One `nicSelector.pfNames` entry: a PF name (or altname), optionally with a VF index range,
/// `ens1f0#0-7`.
///
/// Upstream: api/v1/helper.go ParseVfRange.
public struct PfNameSelector: Sendable, Hashable, CustomStringConvertible {
    public var name: String
    /// Inclusive VF index range, when the entry has a `#first-last` suffix.
    public var range: ClosedRange<Int>?

    public init(name: String, range: ClosedRange<Int>? = nil) {
        self.name = name
        self.range = range
    }

    /// What is wrong with a pfNames entry; the messages are upstream's webhook messages.
    public enum ParseError: Error, Sendable, Equatable, CustomStringConvertible {
        case incorrectSeparator(String)
        case incorrectRange(String)
        case badNumber(String)
        case endBeforeStart(String)

        public var description: String {
            switch self {
            case .incorrectSeparator(let entry): return "invalid PF name with VF range: \(entry): incorrect separator"
            case .incorrectRange(let entry): return "invalid PF name with VF range: \(entry): incorrect range"
            case .badNumber(let entry): return "invalid PF name with VF range: \(entry): start/end range is incorrect"
            case .endBeforeStart(let entry):
                return "invalid PF name with VF range: \(entry): end range shall not be smaller than start range"
            }
        }
    }

    /// Parses `name` or `name#a-b`.
    public init(parsing entry: String) throws(ParseError) {
        let parts = entry.split(separator: "#", omittingEmptySubsequences: false)
        switch parts.count {
        case 1:
            self.init(name: entry)
        case 2:
            let bounds = parts[1].split(separator: "-", omittingEmptySubsequences: false)
            guard bounds.count == 2 else { throw .incorrectRange(entry) }
            guard let start = Int(bounds[0]), let end = Int(bounds[1]), start >= 0, end >= 0 else {
                throw .badNumber(entry)
            }
            guard end >= start else { throw .endBeforeStart(entry) }
            self.init(name: String(parts[0]), range: start...end)
        default:
            throw .incorrectSeparator(entry)
        }
    }

    /// The PF name part of an entry, without parsing the range (what selection uses).
    public static func name(of entry: String) -> Substring {
        if let hash = entry.firstIndex(of: "#") { return entry[..<hash] }
        return entry[...]
    }

    public var description: String {
        guard let range else { return self.name }
        return "\(self.name)#\(range.lowerBound)-\(range.upperBound)"
    }
}

/// A `vfRange` string of a VfGroup, `"a-b"`.
public enum VfRange {
    /// Parses `"a-b"`; nil when it is not of that form.
    public static func parse(_ text: String) -> ClosedRange<Int>? {
        // Hand-rolled: this runs for every VF group of every node on each render.
        var start = 0
        var end = 0
        var digits = 0
        var sawDash = false
        for byte in text.utf8 {
            if byte == UInt8(ascii: "-") {
                guard !sawDash, digits > 0 else { return nil }
                sawDash = true
                digits = 0
            } else if byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") {
                digits += 1
                guard digits <= 9 else { return nil }
                if sawDash {
                    end = end * 10 + Int(byte - UInt8(ascii: "0"))
                } else {
                    start = start * 10 + Int(byte - UInt8(ascii: "0"))
                }
            } else {
                return nil
            }
        }
        guard sawDash, digits > 0, start <= end else { return nil }
        return start...end
    }

    public static func format(_ range: ClosedRange<Int>) -> String { "\(range.lowerBound)-\(range.upperBound)" }

    /// Inclusive overlap; an unparsable range overlaps nothing (upstream: api/v1/helper.go rangeOverlap).
    public static func overlaps(_ a: String, _ b: String) -> Bool {
        guard let ra = self.parse(a), let rb = self.parse(b) else { return false }
        return ra.overlaps(rb)
    }
}
