import Synchronization

/// A small Prometheus registry: counters, gauges and histograms with labels, rendered in the text exposition
/// format (version 0.0.4). One per process, shared by the client, the runtime and the operator.
///
/// Names and label values are escaped as the format requires; series are emitted sorted, so a scrape is
/// deterministic.
public final class Metrics: Sendable {
    public enum Kind: String, Sendable { case counter, gauge, histogram }

    struct Family: Sendable {
        var kind: Kind
        var help: String
        var values: [[String]: Double] = [:]
        var buckets: [Double] = []
        var histograms: [[String]: Histogram] = [:]
        var labelNames: [String] = []
    }

    struct Histogram: Sendable {
        var counts: [Int]
        var sum: Double = 0
        var count: Int = 0
    }

    /// Seconds: 5 ms … 60 s (controller-runtime's reconcile-time buckets, trimmed).
    public static let durationBuckets: [Double] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60]

    let families = Mutex<[String: Family]>([:])

    public init() {}

    /// Adds `by` to a counter (creating the series at 0 first).
    public func increment(_ name: String, help: String, labels: [(String, String)] = [], by: Double = 1) {
        self.update(name, kind: .counter, help: help, labels: labels) { $0 += by }
    }

    public func set(_ name: String, help: String, labels: [(String, String)] = [], to value: Double) {
        self.update(name, kind: .gauge, help: help, labels: labels) { $0 = value }
    }

    /// Declares a counter series at 0 so it is scraped before its first increment.
    public func declare(_ name: String, help: String, labels: [(String, String)] = []) {
        self.update(name, kind: .counter, help: help, labels: labels) { _ in }
    }

    public func observe(
        _ name: String,
        help: String,
        labels: [(String, String)] = [],
        seconds value: Double,
        buckets: [Double] = Metrics.durationBuckets
    ) {
        self.families.withLock { families in
            var family = families[name] ?? Family(kind: .histogram, help: help, buckets: buckets)
            family.labelNames = labels.map(\.0)
            let key = labels.map(\.1)
            var histogram =
                family.histograms[key] ?? Histogram(counts: Array(repeating: 0, count: family.buckets.count))
            for (index, bound) in family.buckets.enumerated() where value <= bound { histogram.counts[index] += 1 }
            histogram.sum += value
            histogram.count += 1
            family.histograms[key] = histogram
            families[name] = family
        }
    }

    /// The current value of a counter or gauge series (nil when never set).
    public func value(_ name: String, labels: [(String, String)] = []) -> Double? {
        self.families.withLock { $0[name]?.values[labels.map(\.1)] }
    }

    /// Sum of a counter or gauge over all its series.
    public func total(_ name: String) -> Double {
        self.families.withLock { $0[name]?.values.values.reduce(0, +) ?? 0 }
    }

    func update(
        _ name: String,
        kind: Kind,
        help: String,
        labels: [(String, String)],
        _ change: (inout Double) -> Void
    ) {
        self.families.withLock { families in
            var family = families[name] ?? Family(kind: kind, help: help)
            family.labelNames = labels.map(\.0)
            change(&family.values[labels.map(\.1), default: 0])
            families[name] = family
        }
    }

    /// The text exposition format.
    public func render() -> String {
        let snapshot = self.families.withLock { $0 }
        var out = ""
        for (name, family) in snapshot.sorted(by: { $0.key < $1.key }) {
            out += "# HELP \(name) \(Self.escapeHelp(family.help))\n# TYPE \(name) \(family.kind.rawValue)\n"
            switch family.kind {
            case .counter, .gauge:
                for (key, value) in family.values.sorted(by: { $0.key.lexicographicallyPrecedes($1.key) }) {
                    out += "\(name)\(Self.labels(family.labelNames, key)) \(Self.format(value))\n"
                }
            case .histogram:
                for (key, histogram) in family.histograms.sorted(by: { $0.key.lexicographicallyPrecedes($1.key) }) {
                    for (index, bound) in family.buckets.enumerated() {
                        let labels = Self.labels(family.labelNames + ["le"], key + [Self.format(bound)])
                        out += "\(name)_bucket\(labels) \(histogram.counts[index])\n"
                    }
                    out +=
                        "\(name)_bucket\(Self.labels(family.labelNames + ["le"], key + ["+Inf"])) \(histogram.count)\n"
                    out += "\(name)_sum\(Self.labels(family.labelNames, key)) \(Self.format(histogram.sum))\n"
                    out += "\(name)_count\(Self.labels(family.labelNames, key)) \(histogram.count)\n"
                }
            }
        }
        return out
    }

    static func labels(_ names: [String], _ values: [String]) -> String {
        guard !names.isEmpty else { return "" }
        let pairs = zip(names, values).map { "\($0)=\"\(Self.escapeLabel($1))\"" }
        return "{" + pairs.joined(separator: ",") + "}"
    }

    static func escapeLabel(_ text: String) -> String {
        var out = ""
        for character in text {
            switch character {
            case "\\": out += "\\\\"
            case "\"": out += "\\\""
            case "\n": out += "\\n"
            default: out.append(character)
            }
        }
        return out
    }

    static func escapeHelp(_ text: String) -> String {
        text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\n", with: "\\n")
    }

    static func format(_ value: Double) -> String {
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        return "\(value)"
    }
}

extension String {
    fileprivate func replacingOccurrences(of target: String, with replacement: String) -> String {
        self.split(separator: target, omittingEmptySubsequences: false).joined(separator: replacement)
    }
}
