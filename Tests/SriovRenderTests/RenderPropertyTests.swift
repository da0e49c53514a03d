import Foundation
import KubeCore
import SriovAPI
import Testing

@testable import SriovRender

/// A small deterministic generator (SplitMix64), so a failing case can be reproduced from its seed.
private struct SplitMix: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        self.state &+= 0x9E37_79B9_7F4A_7C15
        var z = self.state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Upstream's regular expression `(?m)^\s*([^\s]+)\s*:\s*([^\s]+)`, run as a plain backtracking search that
/// tries every alternative in Go's (Perl) preference order: start positions left to right (the start of the
/// text and after each `\n`), then each quantifier from its longest to its shortest. `\s` is Go's
/// `[\t\n\f\r ]`. Written independently of ``NetFilter``, as the test's reference.
private func regexOracle(_ text: String) -> (String, String)? {
    let s = Array(text.utf8)
    let n = s.count
    func ws(_ i: Int) -> Bool { [9, 10, 12, 13, 32].contains(s[i]) }
    var starts = [0]
    for i in 0..<n where s[i] == 10 { starts.append(i + 1) }
    for p in starts {
        var aMax = p
        while aMax < n, ws(aMax) { aMax += 1 }
        for a in stride(from: aMax, through: p, by: -1) {
            var bMax = a
            while bMax < n, !ws(bMax) { bMax += 1 }
            for b in stride(from: bMax, to: a, by: -1) {
                var cMax = b
                while cMax < n, ws(cMax) { cMax += 1 }
                for c in stride(from: cMax, through: b, by: -1) where c < n && s[c] == UInt8(ascii: ":") {
                    var dMax = c + 1
                    while dMax < n, ws(dMax) { dMax += 1 }
                    for d in stride(from: dMax, through: c + 1, by: -1) {
                        var eMax = d
                        while eMax < n, !ws(eMax) { eMax += 1 }
                        if eMax > d {
                            return (
                                String(decoding: s[a..<b], as: UTF8.self), String(decoding: s[d..<eMax], as: UTF8.self)
                            )
                        }
                    }
                }
            }
        }
    }
    return nil
}

@Suite("Randomized properties of netFilter, RFC 3339 and CNI template strings")
struct RenderPropertyTests {
    /// Upstream: api/v1/helper.go NetFilterMatch.
    @Test("netFilter parsing agrees with a backtracking run of upstream's regular expression", arguments: [1, 2, 3, 4])
    func netFilterMatchesRegex(seed: UInt64) {
        var rng = SplitMix(state: seed)
        let alphabet: [String] = [
            "a", "b", "k", ":", ":", " ", "\t", "\n", "\n", "\r", "\r\n", "\u{0B}", "\u{0C}", "#", "é", "\u{A0}", "/",
            "\u{2028}", "openstack/NetworkID", "-",
        ]
        for _ in 0..<1500 {
            let length = Int.random(in: 0...12, using: &rng)
            let text = (0..<length).map { _ in alphabet.randomElement(using: &rng)! }.joined()
            let got = NetFilter.parse(text).map { (String($0.key), String($0.value)) }
            let want = regexOracle(text)
            #expect(got?.0 == want?.0 && got?.1 == want?.1, "\(text.debugDescription)")
        }
    }

    @Test("netFilter: Go's \\s only; a vertical tab or no-break space belongs to the key")
    func goWhitespace() {
        #expect(NetFilter.parse("a\u{0B}b:c").map { String($0.key) } == "a\u{0B}b")
        #expect(NetFilter.parse("\u{A0}k:v").map { String($0.key) } == "\u{A0}k")
        #expect(NetFilter.parse("a:b:c").map { "\($0.key)|\($0.value)" } == "a:b|c")
        #expect(NetFilter.parse("k\n:\nv").map { "\($0.key)|\($0.value)" } == "k|v")
        #expect(NetFilter.parse("only words\nhere") == nil)
    }

    /// Upstream: GetKeepUntilTime (time.Parse with time.RFC3339). The reference instant is computed with
    /// Foundation's Gregorian calendar, not with ``RFC3339``.
    @Test("RFC 3339: generated timestamps parse to the instant Foundation computes", arguments: [7, 8])
    func rfc3339Valid(seed: UInt64) throws {
        var rng = SplitMix(state: seed)
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = try #require(TimeZone(identifier: "UTC"))
        for _ in 0..<500 {
            let year = Int.random(in: 1971...2999, using: &rng)
            let month = Int.random(in: 1...12, using: &rng)
            let day = Int.random(in: 1...28, using: &rng)
            let hour = Int.random(in: 0...23, using: &rng)
            let minute = Int.random(in: 0...59, using: &rng)
            let second = Int.random(in: 0...59, using: &rng)
            let fractionDigits = Int.random(in: 0...12, using: &rng)
            let fraction = (0..<fractionDigits).map { _ in String(Int.random(in: 0...9, using: &rng)) }.joined()
            let offsetMinutes = Bool.random(using: &rng) ? 0 : Int.random(in: -23 * 60...23 * 60, using: &rng)
            func two(_ v: Int) -> String { String(format: "%02d", v) }
            var text = "\(year)-\(two(month))-\(two(day))T\(two(hour)):\(two(minute)):\(two(second))"
            if !fraction.isEmpty { text += (Bool.random(using: &rng) ? "." : ",") + fraction }
            if offsetMinutes == 0, Bool.random(using: &rng) {
                text += "Z"
            } else {
                let sign = offsetMinutes < 0 ? "-" : "+"
                text += "\(sign)\(two(abs(offsetMinutes) / 60)):\(two(abs(offsetMinutes) % 60))"
            }
            let components = DateComponents(
                year: year,
                month: month,
                day: day,
                hour: hour,
                minute: minute,
                second: second
            )
            let local = try #require(calendar.date(from: components)).timeIntervalSince1970
            let expected = Int(local) - offsetMinutes * 60
            let nanos = Int((fraction + "000000000").prefix(9)) ?? 0
            #expect(RFC3339.parseInstant(text) == RFC3339.Instant(seconds: expected, nanoseconds: nanos), "\(text)")
        }
    }

    @Test(
        "RFC 3339: what Go's parser refuses is unparsable",
        arguments: [
            "2026-11-23T12:00:00", "2026-11-23t12:00:00Z", "2026-11-23T12:00:00z", "2026-11-23 12:00:00Z",
            "2026-13-01T00:00:00Z", "2026-02-29T00:00:00Z", "2026-04-31T00:00:00Z", "2026-11-23T24:00:00Z",
            "2026-11-23T12:60:00Z", "2026-11-23T12:00:60Z", "2026-11-23T12:00:00+25:00", "2026-11-23T12:00:00+0100",
            "26-11-23T12:00:00Z", "2026-1-23T12:00:00Z", "2026-11-23T12:00:00.Z", "2026-11-23T12:00:00Z ",
            " 2026-11-23T12:00:00Z", "+2026-11-23T12:00:00Z", "",
        ]
    )
    func rfc3339Invalid(text: String) {
        #expect(RFC3339.parseInstant(text) == nil)
    }

    @Test("RFC 3339: Go's leniencies are kept (one-digit hour, leap day, offset 24:00)")
    func rfc3339Lenient() {
        #expect(RFC3339.parseInstant("2026-11-23T1:00:00Z") == RFC3339.Instant(seconds: 1_795_395_600))
        #expect(RFC3339.parseInstant("2024-02-29T00:00:00Z") != nil)
        #expect(RFC3339.parseInstant("2026-11-23T12:00:00+24:00") == RFC3339.Instant(seconds: 1_795_348_800))
    }

    /// Upstream: text/template inserts the value raw; the single-quoted YAML scalar keeps every character
    /// but `'` (and folds line breaks); json.Indent keeps the text. So a value made of characters with no
    /// meaning to YAML quoting or JSON strings comes back unchanged.
    @Test("template strings with special characters come back unchanged and unescaped", arguments: [11, 12, 13])
    func templateStrings(seed: UInt64) throws {
        var rng = SplitMix(state: seed)
        let alphabet: [String] = [
            "a", "Z", "&", "<", ">", "/", " ", "é", "中", "😀", "%", "$", "{", "}", ":", ",", "''", "#",
        ]
        let renderer = NetworkRenderer(options: RenderOptions(namespace: "sriov-network-operator"))
        for _ in 0..<300 {
            let length = Int.random(in: 1...16, using: &rng)
            let value = "x" + (0..<length).map { _ in alphabet.randomElement(using: &rng)! }.joined() + "x"
            let expected = value.replacingOccurrences(of: "''", with: "'")
            var network = OVSNetwork(
                metadata: ObjectMeta(name: "o", namespace: "sriov-network-operator"),
                spec: .init(resourceName: "r", bridge: value, interfaceType: value)
            )
            network.metadata.uid = "u"
            let nad = try renderer.networkAttachment(for: network)
            let parsed = try JSONParser.parse(nad.spec.config)
            #expect(parsed["bridge"] == .string(expected), "\(value.debugDescription)")
            #expect(parsed["interface_type"] == .string(expected), "\(value.debugDescription)")
            if expected.contains("&") { #expect(nad.spec.config.contains("&")) }
        }
    }

    @Test(
        "template strings: YAML folding, quotes and control characters as upstream's parse makes them",
        arguments: [
            ("a\nb", "a b"), ("a \n  b", "a b"), ("a\n\nb", "a\nb"), ("a\r\nb", "a b"), ("it''s", "it's"),
            ("a\u{85}b", "a b"),
        ]
    )
    func templateFolding(value: String, expected: String) throws {
        #expect(try CNIConfig.templateValue(value, field: "spec.logFile") == expected)
    }

    @Test("template strings that upstream cannot render fail", arguments: ["it's", "a\u{01}b", "a\u{7F}", "a\n--- b"])
    func templateFailures(value: String) {
        #expect(throws: CNIConfigError.self) { try CNIConfig.templateValue(value, field: "spec.logFile") }
    }
}
