public import KubeCore
public import SriovAPI

/// What the policy controller would do with one node's SriovNetworkNodeState.
public struct NodeStateResult: Sendable, Hashable {
    public enum Action: Sendable, Hashable {
        /// No NodeState exists: it is created with only `spec.system` set.
        case create
        /// The spec, owner references or annotations change.
        case update
        case unchanged
        /// `status.interfaces` is empty: the spec is left alone until the daemon reports.
        case waitingForStatus
        /// The node is gone or no longer managed: kept until the `keep-state-until` time (set now when it
        /// was missing or unparsable; ``state`` then carries it), then deleted.
        case stale(deleteAfter: String)
        /// The node is gone or no longer managed and its `keep-state-until` time has passed (or the delay is
        /// 0): the NodeState is deleted.
        case delete
        /// Rendering failed (see ``error``); the NodeState is not touched.
        case failed
    }

    public var node: String
    public var action: Action
    /// The desired object (for `.failed`, the current one).
    public var state: SriovNetworkNodeState
    public var previous: SriovNetworkNodeState?
    public var error: PolicyApplyError?
}

/// Renders SriovNetworkNodeState specs from policies: upstream's policy reconciler, as a pure function.
///
/// Upstream: controllers/sriovnetworknodepolicy_controller.go syncAllSriovNetworkNodeStates and
/// syncSriovNetworkNodeState.
public struct NodeStateRenderer: Sendable {
    public var options: RenderOptions {
        didSet { self.ownerReferences = [self.options.operatorConfigOwnerReference] }
    }
    /// The owner references every NodeState carries, built once: one array shared by all rendered states
    /// (no allocation per node, and comparing it with an equal existing one is cheap).
    private(set) var ownerReferences: [OwnerReference]
    /// Policies in the operator namespace, in `ByPriority` order.
    public let sortedPolicies: [SriovNetworkNodePolicy]
    public let poolConfigs: [SriovNetworkPoolConfig]
    let prepared: [PreparedPolicy]
    /// Every label key some policy's nodeSelector uses, sorted: two nodes with the same values for these
    /// keys are selected by the same policies.
    let selectorKeys: [String]

    public init(options: RenderOptions, policies: [SriovNetworkNodePolicy], poolConfigs: [SriovNetworkPoolConfig]) {
        self.options = options
        self.ownerReferences = [options.operatorConfigOwnerReference]
        self.sortedPolicies = policies.filter { $0.metadata.namespace == options.namespace }.sortedByPriority()
        self.poolConfigs = poolConfigs.filter { $0.metadata.namespace == options.namespace }
        self.prepared = PreparedPolicy.prepare(self.sortedPolicies)
        self.selectorKeys = Set(self.prepared.flatMap { $0.nodeSelector.map(\.key) }).sorted()
    }

    /// The node's values for ``selectorKeys``: nodes with equal keys match the same policies.
    func selectionKey(_ node: Node) -> [String?] {
        let labels = node.metadata.labels
        return self.selectorKeys.map { labels[$0] }
    }

    /// The pool a node belongs to; pools with an OVS hardware-offload name are ignored, a pool without a
    /// node selector selects every node. A node that more than one pool selects belongs to none: upstream's
    /// `findNodePoolConfig` returns an error and no pool, so no `rdmaMode` is copied (the validator reports
    /// the node, naming the pools).
    /// Upstream: controllers/helper.go findNodePoolConfig (and pkg/utils FindNodePoolConfig).
    public func pool(of node: Node) -> SriovNetworkPoolConfig? {
        let pools = self.pools(of: node)
        return pools.count == 1 ? pools[0] : nil
    }

    /// Every pool that selects the node (more than one is a configuration error).
    public func pools(of node: Node) -> [SriovNetworkPoolConfig] {
        guard !self.poolConfigs.isEmpty else { return [] }
        return self.poolConfigs.filter { pool in
            if let name = pool.spec.ovsHardwareOffloadConfig?.name, !name.isEmpty { return false }
            return pool.spec.nodeSelector?.matches(node.metadata.labels) ?? true
        }
    }

    /// The spec a node's NodeState should have, rebuilt from scratch.
    public func renderSpec(
        node: Node,
        status: [SriovNetworkNodeState.InterfaceExt]
    ) throws(PolicyApplyError) -> SriovNetworkNodeState.Spec {
        try self.renderSpec(node: node, status: status, matching: self.matching(node))
    }

    /// The policies (in apply order) whose nodeSelector selects `node`, the `default` policy excluded.
    func matching(_ node: Node) -> [PreparedPolicy] {
        let labels = node.metadata.labels
        return self.prepared.filter { !$0.isDefault && $0.selects(labels) }
    }

    func renderSpec(
        node: Node,
        status: [SriovNetworkNodeState.InterfaceExt],
        matching: [PreparedPolicy]
    ) throws(PolicyApplyError) -> SriovNetworkNodeState.Spec {
        var spec = SriovNetworkNodeState.Spec()
        if let rdmaMode = self.pool(of: node)?.spec.rdmaMode, !rdmaMode.isEmpty {
            spec.system = .init(rdmaMode: rdmaMode)
        }
        let manageBridges = self.options.operatorConfig.spec.isEnabled(.manageSoftwareBridges)
        var previousPriority = 100
        for prepared in matching {
            let priority = prepared.priority
            try prepared.apply(
                to: &spec,
                status: status,
                equalPriority: previousPriority == priority,
                node: node.metadata.name
            )
            if manageBridges {
                try prepared.policy.applyBridgeConfig(to: &spec, status: status, node: node.metadata.name)
            }
            previousPriority = priority
        }
        return spec
    }

    /// What happens to a managed node's NodeState.
    public func render(node: Node, existing: SriovNetworkNodeState?) -> NodeStateResult {
        self.render(node: node, existing: existing, matching: self.matching(node))
    }

    func render(node: Node, existing: SriovNetworkNodeState?, matching: [PreparedPolicy]) -> NodeStateResult {
        let name = node.metadata.name
        guard let existing else {
            var fresh = SriovNetworkNodeState(metadata: ObjectMeta(name: name, namespace: self.options.namespace))
            fresh.metadata.ownerReferences = self.ownerReferences
            if let rdmaMode = self.pool(of: node)?.spec.rdmaMode, !rdmaMode.isEmpty {
                fresh.spec.system = .init(rdmaMode: rdmaMode)
            }
            return NodeStateResult(node: name, action: .create, state: fresh, previous: nil)
        }
        var desired = existing
        let hadKeepUntil =
            desired.metadata.annotations.removeValue(
                forKey: SriovNetworkNodeState.Annotation.keepStateUntil
            ) != nil
        if existing.status.interfaces.isEmpty {
            return NodeStateResult(
                node: name,
                action: hadKeepUntil ? .update : .waitingForStatus,
                state: desired,
                previous: existing
            )
        }
        do {
            desired.spec = try self.renderSpec(node: node, status: existing.status.interfaces, matching: matching)
        } catch {
            return NodeStateResult(node: name, action: .failed, state: existing, previous: existing, error: error)
        }
        desired.metadata.ownerReferences = self.ownerReferences
        let changed =
            desired.spec != existing.spec
            || desired.metadata.ownerReferences != existing.metadata.ownerReferences || hadKeepUntil
        return NodeStateResult(node: name, action: changed ? .update : .unchanged, state: desired, previous: existing)
    }

    /// A NodeState whose node is not managed any more, upstream's `handleStaleNodeState`.
    ///
    /// With a delay of 0 minutes it is deleted at once. Otherwise its `keep-state-until` annotation is read as
    /// RFC 3339 (Go's `time.Parse`, see ``RFC3339``): a time that has passed (or is now) deletes it; a time
    /// still ahead keeps it untouched; a missing or unparsable annotation (or Go's zero time) gets a new
    /// deadline, now plus the delay, and the NodeState is kept. A negative delay counts as the default 30
    /// minutes, as upstream treats an invalid `STALE_NODE_STATE_CLEANUP_DELAY_MINUTES`.
    /// Upstream: controllers/sriovnetworknodepolicy_controller.go handleStaleNodeState.
    public func renderStale(_ existing: SriovNetworkNodeState) -> NodeStateResult {
        let key = SriovNetworkNodeState.Annotation.keepStateUntil
        let name = existing.metadata.name
        let delay = self.options.staleNodeStateDelayMinutes < 0 ? 30 : self.options.staleNodeStateDelayMinutes
        guard delay != 0 else {
            return NodeStateResult(node: name, action: .delete, state: existing, previous: existing)
        }
        let now = RFC3339.parseInstant(self.options.now) ?? RFC3339.Instant(seconds: 0)
        if let text = existing.metadata.annotations[key], let until = RFC3339.parseInstant(text), !until.isGoZero {
            if now < until {
                return NodeStateResult(
                    node: name,
                    action: .stale(deleteAfter: text),
                    state: existing,
                    previous: existing
                )
            }
            return NodeStateResult(node: name, action: .delete, state: existing, previous: existing)
        }
        var desired = existing
        let deleteAfter = RFC3339.format(now.seconds + delay * 60)
        desired.metadata.annotations[key] = deleteAfter
        return NodeStateResult(node: name, action: .stale(deleteAfter: deleteAfter), state: desired, previous: existing)
    }
}

/// RFC 3339 timestamps as the operator writes and reads `keep-state-until`: Go's
/// `time.Parse(time.RFC3339, …)` and `Time.Format(time.RFC3339)`.
///
/// Parsing accepts what Go's parser accepts for the layout `2006-01-02T15:04:05Z07:00`: a four-digit year,
/// two-digit month (1–12) and day (valid for the month, leap years included), a one- or two-digit hour
/// (0–23), two-digit minutes and seconds (0–59, no leap second), an optional fraction of any length after
/// `.` or `,` (nanoseconds from its first nine digits), then `Z` (upper case) or `±hh:mm` (hh ≤ 24, mm ≤ 60),
/// and nothing after. Anything else is "unparsable", which upstream treats like a missing annotation.
/// Upstream: SriovNetworkNodeState GetKeepUntilTime/SetKeepUntilTime (time.RFC3339); Go src/time/format.go.
public enum RFC3339 {
    /// A point in time: seconds since the Unix epoch and nanoseconds within that second.
    public struct Instant: Sendable, Hashable, Comparable {
        public var seconds: Int
        public var nanoseconds: Int

        public init(seconds: Int, nanoseconds: Int = 0) {
            self.seconds = seconds
            self.nanoseconds = nanoseconds
        }

        public static func < (a: Instant, b: Instant) -> Bool {
            (a.seconds, a.nanoseconds) < (b.seconds, b.nanoseconds)
        }

        /// Go's `Time.IsZero`: January 1, year 1, 00:00:00 UTC.
        public var isGoZero: Bool { self.seconds == RFC3339.goZeroSeconds && self.nanoseconds == 0 }
    }

    /// Seconds of `0001-01-01T00:00:00Z` since the Unix epoch.
    static let goZeroSeconds = RFC3339.daysFromCivil(1, 1, 1) * 86400

    /// `time` plus `minutes`, formatted as Go formats a UTC time (whole seconds); an unparsable time is
    /// returned unchanged.
    public static func adding(minutes: Int, to time: String) -> String {
        guard let instant = self.parseInstant(time) else { return time }
        return self.format(instant.seconds + minutes * 60)
    }

    /// Whole seconds since the epoch (the fraction dropped, rounding down), or nil when unparsable.
    public static func parse(_ text: String) -> Int? { self.parseInstant(text)?.seconds }

    /// The instant `text` names, or nil when Go's `time.Parse(time.RFC3339, text)` would fail.
    public static func parseInstant(_ text: String) -> Instant? {
        let b = Array(text.utf8)
        var i = 0
        func digit(_ at: Int) -> Int? {
            guard at < b.count, b[at] >= 0x30, b[at] <= 0x39 else { return nil }
            return Int(b[at] - 0x30)
        }
        func fixed(_ n: Int) -> Int? {
            var v = 0
            for k in 0..<n {
                guard let d = digit(i + k) else { return nil }
                v = v * 10 + d
            }
            i += n
            return v
        }
        func literal(_ c: UInt8) -> Bool {
            guard i < b.count, b[i] == c else { return false }
            i += 1
            return true
        }
        guard let year = fixed(4), literal(0x2D), let month = fixed(2), literal(0x2D), let day = fixed(2),
            literal(0x54)
        else { return nil }
        // The hour is `15` in the layout: one or two digits.
        guard let h1 = digit(i) else { return nil }
        var hour = h1
        i += 1
        if let h2 = digit(i) {
            hour = hour * 10 + h2
            i += 1
        }
        guard literal(0x3A), let minute = fixed(2), literal(0x3A), let second = fixed(2) else { return nil }
        var nanos = 0
        if i + 1 < b.count, b[i] == 0x2E || b[i] == 0x2C, digit(i + 1) != nil {
            i += 1
            var scale = 100_000_000
            while let d = digit(i) {
                nanos += d * scale
                scale /= 10
                i += 1
            }
        }
        var offset = 0
        if literal(0x5A) {
            offset = 0
        } else {
            guard i + 6 <= b.count, b[i + 3] == 0x3A, b[i] == 0x2B || b[i] == 0x2D else { return nil }
            let negative = b[i] == 0x2D
            i += 1
            guard let hh = fixed(2) else { return nil }
            i += 1
            guard let mm = fixed(2), hh <= 24, mm <= 60 else { return nil }
            offset = (hh * 60 + mm) * 60 * (negative ? -1 : 1)
        }
        guard i == b.count else { return nil }
        guard (1...12).contains(month), (1...self.daysIn(month, year)).contains(day), hour < 24, minute < 60,
            second < 60
        else { return nil }
        let seconds = self.daysFromCivil(year, month, day) * 86400 + hour * 3600 + minute * 60 + second - offset
        return Instant(seconds: seconds, nanoseconds: nanos)
    }

    static func daysIn(_ month: Int, _ year: Int) -> Int {
        switch month {
        case 2: return (year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)) ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    /// Days since the Unix epoch of a proleptic Gregorian date (Howard Hinnant's algorithm).
    static func daysFromCivil(_ y: Int, _ m: Int, _ d: Int) -> Int {
        let yy = m <= 2 ? y - 1 : y
        let era = (yy >= 0 ? yy : yy - 399) / 400
        let yoe = yy - era * 400
        let doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146097 + doe - 719468
    }

    /// `YYYY-MM-DDTHH:MM:SSZ`, as Go formats a UTC time with `time.RFC3339`.
    public static func format(_ seconds: Int) -> String {
        let days = seconds >= 0 ? seconds / 86400 : (seconds - 86399) / 86400
        let rest = seconds - days * 86400
        let z = days + 719468
        let era = (z >= 0 ? z : z - 146096) / 146097
        let doe = z - era * 146097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        let y = yoe + era * 400 + (m <= 2 ? 1 : 0)
        func two(_ v: Int) -> String { v < 10 ? "0\(v)" : "\(v)" }
        func four(_ v: Int) -> String { String(repeating: "0", count: max(0, 4 - String(v).count)) + String(v) }
        return "\(four(y))-\(two(m))-\(two(d))T\(two(rest / 3600)):\(two(rest % 3600 / 60)):\(two(rest % 60))Z"
    }
}
