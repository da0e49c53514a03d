public import SriovAPI

extension SriovNetworkNodePolicy.NicSelector {
    /// Whether a discovered PF is selected: every selector field that is set must match.
    ///
    /// Upstream: api/v1/helper.go SriovNetworkNicSelector.Selected — pfNames match the name or any
    /// altname after cutting `#…`; netFilter compares key and value.
    public func selects(_ iface: SriovNetworkNodeState.InterfaceExt) -> Bool {
        if !self.vendor.isEmpty, self.vendor != iface.vendor { return false }
        if !self.deviceID.isEmpty, self.deviceID != iface.deviceID { return false }
        if !self.rootDevices.isEmpty, !self.rootDevices.contains(iface.pciAddress) { return false }
        if !self.pfNames.isEmpty {
            let matched = self.pfNames.contains { entry in
                let name = PfNameSelector.name(of: entry)
                return name == iface.name || iface.altNames.contains { $0 == name }
            }
            if !matched { return false }
        }
        if !self.netFilter.isEmpty, !NetFilter.matches(self.netFilter, iface.netFilter) { return false }
        return true
    }
}

/// `netFilter` strings such as `openstack/NetworkID:<uuid>`.
///
/// Upstream matches them with the Go regular expression `(?m)^\s*([^\s]+)\s*:\s*([^\s]+)` and compares the
/// two groups of the *first* match of each string (`FindAllStringSubmatch(...)[0]`). This is that regular
/// expression run by hand, with Go's semantics:
/// - `\s` is Go's (RE2 Perl class) `[\t\n\f\r ]`, not Unicode whitespace: a vertical tab, a no-break space
///   or U+2028 is part of a key or value;
/// - `(?m)^` matches at the start of the text and after every `\n` (not after a lone `\r`), so a comment
///   line before `openstack/NetworkID:<uuid>` (as config-drive data may carry) does not hide the filter;
/// - the leftmost match wins, and within it the first group is as long as possible (backtracking to the
///   last `:` that is followed by a value), so `a:b:c` splits into `a:b` and `c`;
/// - the `\s*` around the `:` may cross line breaks.
/// The bytes are matched as UTF-8 (every byte of a multi-byte character is a non-`\s` byte, as every
/// such character is for Go).
///
/// Upstream: api/v1/helper.go NetFilterMatch.
public enum NetFilter {
    /// Go's `\s`.
    @inline(__always)
    static func isSpace(_ byte: UInt8) -> Bool {
        byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0C || byte == 0x0D
    }

    /// The key and value of the first match of upstream's regular expression, or nil when nothing matches.
    public static func parse(_ text: String) -> (key: Substring, value: Substring)? {
        let utf8 = text.utf8
        guard let match = utf8.withContiguousStorageIfAvailable({ Self.match($0) }) ?? Self.match(Array(utf8))
        else { return nil }
        let base = utf8.startIndex
        func slice(_ range: Range<Int>) -> Substring {
            let lower = utf8.index(base, offsetBy: range.lowerBound)
            let upper = utf8.index(base, offsetBy: range.upperBound)
            return Substring(text.unicodeScalars[lower..<upper])
        }
        return (slice(match.key), slice(match.value))
    }

    /// Byte ranges of the two groups of the leftmost match.
    static func match<C: RandomAccessCollection>(_ bytes: C) -> (key: Range<Int>, value: Range<Int>)?
    where C.Element == UInt8, C.Index == Int {
        let start = bytes.startIndex
        let count = bytes.count
        @inline(__always) func at(_ i: Int) -> UInt8 { bytes[start + i] }
        var lineStart = 0
        while lineStart <= count {
            // `^\s*`: greedy; a shorter run would leave a space where the key must start.
            var keyStart = lineStart
            while keyStart < count, Self.isSpace(at(keyStart)) { keyStart += 1 }
            var runEnd = keyStart
            while runEnd < count, !Self.isSpace(at(runEnd)) { runEnd += 1 }
            if runEnd > keyStart {
                // The key is `[^\s]+`, tried longest first. It ends at the run's end (then `\s*:` may follow
                // after spaces) or just before a `:` inside the run.
                var keyEnd = runEnd
                while keyEnd > keyStart {
                    var colon = keyEnd
                    if keyEnd == runEnd {
                        while colon < count, Self.isSpace(at(colon)) { colon += 1 }
                    }
                    if colon < count, at(colon) == UInt8(ascii: ":") {
                        var valueStart = colon + 1
                        while valueStart < count, Self.isSpace(at(valueStart)) { valueStart += 1 }
                        var valueEnd = valueStart
                        while valueEnd < count, !Self.isSpace(at(valueEnd)) { valueEnd += 1 }
                        if valueEnd > valueStart { return (keyStart..<keyEnd, valueStart..<valueEnd) }
                    }
                    keyEnd -= 1
                }
            }
            // The next place `^` matches is after a `\n`. Line starts inside the whitespace just skipped
            // reach the same key and fail the same way, so continue after the run.
            var next = max(runEnd, lineStart)
            while next < count, at(next) != 0x0A { next += 1 }
            guard next < count else { return nil }
            lineStart = next + 1
        }
        return nil
    }

    /// Both parse, and key and value are equal (case-sensitive, byte for byte).
    /// Upstream: api/v1/helper.go NetFilterMatch.
    public static func matches(_ selector: String, _ value: String) -> Bool {
        guard let a = self.parse(selector), let b = self.parse(value) else { return false }
        return a.key.utf8.elementsEqual(b.key.utf8) && a.value.utf8.elementsEqual(b.value.utf8)
    }
}

extension SriovNetworkNodePolicy {
    /// Whether the policy's `nodeSelector` selects a node: plain label equality, `{}` selects all.
    public func selects(nodeLabels labels: [String: String]) -> Bool {
        for (key, value) in self.spec.nodeSelector where labels[key] != value { return false }
        return true
    }
}
