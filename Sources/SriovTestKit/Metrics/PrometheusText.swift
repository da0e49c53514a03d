/// A strict parser of the Prometheus text exposition format (0.0.4), for tests that scrape `/metrics`.
///
/// Every line must be a `# HELP`, a `# TYPE` or a sample `name{label="value",…} number`; label values are
/// unescaped; a sample whose family has no `# TYPE` before it is an error, as are histogram buckets that
/// decrease or a `+Inf` bucket that differs from `_count`.
public struct PrometheusText: Sendable {
    public struct Sample: Sendable, Hashable {
        public var name: String
        public var labels: [String: String]
        public var value: Double
    }

    public struct ParseError: Error, CustomStringConvertible {
        public var line: Int
        public var text: String
        public var why: String
        public var description: String { "line \(self.line): \(self.why): \(self.text)" }
    }

    public var samples: [Sample] = []
    public var types: [String: String] = [:]
    public var help: [String: String] = [:]

    public func value(_ name: String, _ labels: [String: String] = [:]) -> Double? {
        self.samples.first { $0.name == name && $0.labels == labels }?.value
    }

    public func all(_ name: String) -> [Sample] { self.samples.filter { $0.name == name } }

    public static func parse(_ text: String) throws -> PrometheusText {
        var result = PrometheusText()
        for (index, raw) in text.split(separator: "\n", omittingEmptySubsequences: true).enumerated() {
            let line = String(raw)
            func fail(_ why: String) -> ParseError { ParseError(line: index + 1, text: line, why: why) }
            if line.hasPrefix("# HELP ") {
                let rest = line.dropFirst(7)
                guard let space = rest.firstIndex(of: " ") else { throw fail("HELP without text") }
                result.help[String(rest[..<space])] = String(rest[rest.index(after: space)...])
                continue
            }
            if line.hasPrefix("# TYPE ") {
                let parts = line.dropFirst(7).split(separator: " ")
                guard parts.count == 2, ["counter", "gauge", "histogram", "summary", "untyped"].contains(parts[1])
                else { throw fail("bad TYPE") }
                result.types[String(parts[0])] = String(parts[1])
                continue
            }
            if line.hasPrefix("#") { continue }
            var chars = Array(line)
            var i = 0
            var name = ""
            while i < chars.count, chars[i].isLetter || chars[i].isNumber || chars[i] == "_" || chars[i] == ":" {
                name.append(chars[i])
                i += 1
            }
            guard !name.isEmpty, !(name.first?.isNumber ?? true) else { throw fail("bad metric name") }
            var labels: [String: String] = [:]
            if i < chars.count, chars[i] == "{" {
                i += 1
                while i < chars.count, chars[i] != "}" {
                    var key = ""
                    while i < chars.count, chars[i] != "=" {
                        key.append(chars[i])
                        i += 1
                    }
                    guard i + 1 < chars.count, chars[i + 1] == "\"" else { throw fail("label value not quoted") }
                    i += 2
                    var value = ""
                    while i < chars.count, chars[i] != "\"" {
                        if chars[i] == "\\", i + 1 < chars.count {
                            i += 1
                            value.append(chars[i] == "n" ? "\n" : chars[i])
                        } else {
                            value.append(chars[i])
                        }
                        i += 1
                    }
                    guard i < chars.count else { throw fail("unterminated label value") }
                    i += 1
                    labels[key] = value
                    if i < chars.count, chars[i] == "," { i += 1 }
                }
                guard i < chars.count else { throw fail("unterminated labels") }
                i += 1
            }
            guard i < chars.count, chars[i] == " " else { throw fail("no space before the value") }
            chars = Array(chars[(i + 1)...])
            let number = String(chars).split(separator: " ").first.map(String.init) ?? ""
            let value: Double? =
                switch number {
                case "+Inf": .infinity
                case "-Inf": -.infinity
                case "NaN": .nan
                default: Double(number)
                }
            guard let value else { throw fail("value is not a number") }
            let family = ["_bucket", "_sum", "_count"].reduce(name) { base, suffix in
                base.hasSuffix(suffix) && result.types[String(base.dropLast(suffix.count))] != nil
                    ? String(base.dropLast(suffix.count)) : base
            }
            guard result.types[family] != nil else { throw fail("sample before its # TYPE") }
            result.samples.append(Sample(name: name, labels: labels, value: value))
        }
        try result.checkHistograms()
        return result
    }

    func checkHistograms() throws {
        for (family, type) in self.types where type == "histogram" {
            var series: [[String: String]: [(Double, Double)]] = [:]
            for sample in self.all(family + "_bucket") {
                var labels = sample.labels
                guard let le = labels.removeValue(forKey: "le") else {
                    throw ParseError(line: 0, text: family, why: "bucket without le")
                }
                let bound = le == "+Inf" ? Double.infinity : (Double(le) ?? .nan)
                series[labels, default: []].append((bound, sample.value))
            }
            for (labels, buckets) in series {
                let sorted = buckets.sorted { $0.0 < $1.0 }
                for (a, b) in zip(sorted, sorted.dropFirst()) where b.1 < a.1 {
                    throw ParseError(line: 0, text: family, why: "buckets decrease")
                }
                guard sorted.last?.0 == .infinity, sorted.last?.1 == self.value(family + "_count", labels) else {
                    throw ParseError(line: 0, text: family, why: "+Inf bucket differs from _count")
                }
            }
        }
    }
}
