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
        /// The node is gone or no longer managed: kept until the `keep-state-until` time, then deleted.
        case stale(deleteAfter: String)
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
    public var options: RenderOptions
    /// Policies in the operator namespace, in `ByPriority` order.
    public let sortedPolicies: [SriovNetworkNodePolicy]
    public let poolConfigs: [SriovNetworkPoolConfig]
    let prepared: [PreparedPolicy]

    public init(options: RenderOptions, policies: [SriovNetworkNodePolicy], poolConfigs: [SriovNetworkPoolConfig]) {
        self.options = options
        self.sortedPolicies = policies.filter { $0.metadata.namespace == options.namespace }.sortedByPriority()
        self.poolConfigs = poolConfigs.filter { $0.metadata.namespace == options.namespace }
        self.prepared = PreparedPolicy.prepare(self.sortedPolicies)
    }

    /// The pool a node belongs to; pools with an OVS hardware-offload name are ignored here.
    /// Upstream: findNodePoolConfig (more than one match is an error there; the first is used here and
    /// the validator reports the conflict).
    public func pool(of node: Node) -> SriovNetworkPoolConfig? {
        self.poolConfigs.first { pool in
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
        var fresh = SriovNetworkNodeState(metadata: ObjectMeta(name: name, namespace: self.options.namespace))
        fresh.metadata.ownerReferences = [self.options.operatorConfigOwnerReference]
        if let rdmaMode = self.pool(of: node)?.spec.rdmaMode, !rdmaMode.isEmpty {
            fresh.spec.system = .init(rdmaMode: rdmaMode)
        }
        guard let existing else {
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
        desired.metadata.ownerReferences = fresh.metadata.ownerReferences
        let changed =
            desired.spec != existing.spec
            || desired.metadata.ownerReferences != existing.metadata.ownerReferences || hadKeepUntil
        return NodeStateResult(node: name, action: changed ? .update : .unchanged, state: desired, previous: existing)
    }

    /// A NodeState whose node is not managed any more.
    public func renderStale(_ existing: SriovNetworkNodeState) -> NodeStateResult {
        var desired = existing
        let key = SriovNetworkNodeState.Annotation.keepStateUntil
        let deleteAfter: String
        if let until = existing.metadata.annotations[key] {
            deleteAfter = until
        } else {
            deleteAfter = RFC3339.adding(minutes: self.options.staleNodeStateDelayMinutes, to: self.options.now)
            desired.metadata.annotations[key] = deleteAfter
        }
        return NodeStateResult(
            node: existing.metadata.name,
            action: .stale(deleteAfter: deleteAfter),
            state: desired,
            previous: existing
        )
    }
}

/// Minimal RFC 3339 arithmetic (UTC, second precision), enough for `keep-state-until`.
public enum RFC3339 {
    /// `time` plus `minutes`; an unparsable time is returned unchanged.
    public static func adding(minutes: Int, to time: String) -> String {
        guard let seconds = self.parse(time) else { return time }
        return self.format(seconds + minutes * 60)
    }

    /// Seconds since the epoch of `YYYY-MM-DDTHH:MM:SSZ`.
    public static func parse(_ text: String) -> Int? {
        let digits = text.split(whereSeparator: { "-T:Z".contains($0) }).compactMap { Int($0) }
        guard digits.count == 6, text.hasSuffix("Z") else { return nil }
        let (y, m, d) = (digits[0], digits[1], digits[2])
        // Days from civil (Howard Hinnant's algorithm).
        let yy = m <= 2 ? y - 1 : y
        let era = (yy >= 0 ? yy : yy - 399) / 400
        let yoe = yy - era * 400
        let doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        let days = era * 146097 + doe - 719468
        return days * 86400 + digits[3] * 3600 + digits[4] * 60 + digits[5]
    }

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
        return "\(y)-\(two(m))-\(two(d))T\(two(rest / 3600)):\(two(rest % 3600 / 60)):\(two(rest % 60))Z"
    }
}
