public import KubeCore
public import SriovAPI

/// The operator's validating admission webhook (`/validating-custom-resource`) as pure functions over a
/// snapshot of the cluster.
///
/// Each `validate` method returns what the webhook would answer for a CREATE or UPDATE of one object:
/// ``Finding/Severity/error`` findings are reasons to reject it, ``Finding/Severity/warning`` findings go
/// into the admission response's `warnings`. Messages are upstream's, word for word.
///
/// Upstream stops at the first error. These functions keep going where the checks are independent and
/// report every error in upstream's check order, so the first error is always the one upstream would
/// return. The cluster-dependent ("dynamic") policy checks only run when the static ones pass, as upstream
/// would never reach them otherwise.
///
/// DELETE is not modelled: upstream admits every DELETE of these kinds except that of the `default` policy.
///
/// Upstream: pkg/webhook/validate.go.
public struct AdmissionValidator: Sendable {
    /// The namespace the operator runs in (env `NAMESPACE`); only policies, pools and the operator config in
    /// it are honoured.
    public var operatorNamespace: String {
        didSet { self.reindex() }
    }
    /// The `supported-nic-ids` table used by the vendor/device checks.
    public var supportedNICs: SupportedNICs
    /// Env `DEV_MODE=TRUE`: skips the static vendor/device support checks of `nicSelector`. The model check
    /// against discovered NICs still applies, as upstream.
    public var devMode: Bool
    public var nodes: [Node] {
        didSet { self.reindex() }
    }
    public var nodeStates: [SriovNetworkNodeState] {
        didSet {
            self.nodeStateIndex = Self.index(self.nodeStates)
            self.reindex()
        }
    }
    /// Positions in ``nodeStates`` by name: the dynamic checks look up the NodeState of every selected node.
    private(set) var nodeStateIndex: [String: [Int]]
    /// Every existing policy, for the cross-policy checks. Only those in ``operatorNamespace`` are
    /// compared against, as upstream lists policies in that namespace only.
    public var policies: [SriovNetworkNodePolicy] {
        didSet { self.reindex() }
    }
    /// Per-node lookups of the dynamic checks, derived from the four properties above and rebuilt when any of
    /// them is set (``ClusterIndex``).
    private(set) var clusterIndex = ClusterIndex()
    /// The existing `default` SriovOperatorConfig (the object before the update), if there is one.
    public var operatorConfig: SriovOperatorConfig?

    public init(
        operatorNamespace: String,
        supportedNICs: SupportedNICs,
        devMode: Bool = false,
        nodes: [Node] = [],
        nodeStates: [SriovNetworkNodeState] = [],
        policies: [SriovNetworkNodePolicy] = [],
        operatorConfig: SriovOperatorConfig? = nil
    ) {
        self.operatorNamespace = operatorNamespace
        self.supportedNICs = supportedNICs
        self.devMode = devMode
        self.nodes = nodes
        self.nodeStates = nodeStates
        self.nodeStateIndex = Self.index(nodeStates)
        self.policies = policies
        self.operatorConfig = operatorConfig
        self.reindex()
    }

    private mutating func reindex() {
        self.clusterIndex = ClusterIndex(
            nodes: self.nodes,
            nodeStates: self.nodeStates,
            policies: self.policies,
            namespace: self.operatorNamespace
        )
    }

    /// A validator whose cluster state is `snapshot`'s: its nodes, NodeStates, policies (with the mutating
    /// webhook's defaults applied, as they would be stored) and its `default` operator config.
    public init(
        operatorNamespace: String,
        supportedNICs: SupportedNICs,
        devMode: Bool = false,
        snapshot: ClusterSnapshot
    ) {
        self.init(
            operatorNamespace: operatorNamespace,
            supportedNICs: supportedNICs,
            devMode: devMode,
            nodes: snapshot.nodes,
            nodeStates: snapshot.nodeStates,
            policies: snapshot.policies.map { policy in
                var copy = policy
                copy.applyAdmissionDefaults()
                return copy
            },
            operatorConfig: snapshot.operatorConfigs.first {
                $0.metadata.name == SriovOperatorConfig.defaultName
                    && $0.metadata.namespace == operatorNamespace
            }
        )
    }
}

extension AdmissionValidator {
    static func index(_ states: [SriovNetworkNodeState]) -> [String: [Int]] {
        var index: [String: [Int]] = [:]
        index.reserveCapacity(states.count)
        for (i, state) in states.enumerated() { index[state.metadata.name, default: []].append(i) }
        return index
    }
}

// MARK: - Whole snapshot

extension AdmissionValidator {
    /// Validates every object of `snapshot` as if each were being created now, against the rest.
    ///
    /// Policies get the mutating webhook's defaults first (a copy; the snapshot is not changed), because
    /// that webhook runs before validation. Each policy is checked against all the others. The operator
    /// config is checked as an update of itself (no `disableDrain` transition). Also reports every node that
    /// more than one SriovNetworkPoolConfig selects, which upstream only notices when it drains.
    ///
    /// The validator's own cluster state is ignored; ``operatorNamespace``, ``supportedNICs`` and
    /// ``devMode`` are kept.
    public func validateAll(_ snapshot: ClusterSnapshot) -> [Finding] {
        let validator = AdmissionValidator(
            operatorNamespace: self.operatorNamespace,
            supportedNICs: self.supportedNICs,
            devMode: self.devMode,
            snapshot: snapshot
        )
        var findings: [Finding] = []
        var conflicts: [Finding] = []
        var seenPairs = Set<ConflictPair>()
        for policy in validator.policies {
            for finding in validator.validate(policy: policy) {
                guard !finding.conflictsWith.isEmpty else {
                    findings.append(finding)
                    continue
                }
                // Both policies of a conflicting pair report it; keep it once (from the first one checked).
                let pair = ConflictPair(finding.name, finding.conflictsWith, field: finding.field)
                if seenPairs.insert(pair).inserted { conflicts.append(finding) }
            }
        }
        findings += Self.summarised(conflicts)
        for config in snapshot.operatorConfigs {
            var asUpdate = validator
            asUpdate.operatorConfig = config
            findings += asUpdate.validate(operatorConfig: config)
        }
        for pool in snapshot.poolConfigs {
            findings += validator.validate(poolConfig: pool)
        }
        findings += validator.poolMembershipFindings(pools: snapshot.poolConfigs)
        for network in snapshot.networks {
            findings += validator.validate(network: network)
        }
        for network in snapshot.ibNetworks {
            findings += validator.validate(network: network)
        }
        for network in snapshot.ovsNetworks {
            findings += validator.validate(network: network)
        }
        return findings
    }

    /// At most this many policy-conflict findings are listed one by one; the rest are summarised.
    public static let conflictFindingLimit = 20

    /// The first ``conflictFindingLimit`` conflicts, then one finding that counts the rest and names the
    /// policies involved (at most ten), so that 300 policies overlapping on one PF give 21 lines, not 89,700.
    static func summarised(_ conflicts: [Finding]) -> [Finding] {
        guard conflicts.count > Self.conflictFindingLimit else { return conflicts }
        var out = Array(conflicts.prefix(Self.conflictFindingLimit))
        let rest = conflicts.dropFirst(Self.conflictFindingLimit)
        var involved: [String] = []
        var seen = Set<String>()
        for finding in rest {
            for name in [finding.name, finding.conflictsWith] where seen.insert(name).inserted { involved.append(name) }
        }
        let shown = involved.prefix(10).joined(separator: ", ")
        let more = involved.count > 10 ? " and \(involved.count - 10) more" : ""
        out.append(
            Finding(
                severity: .error,
                kind: SriovNetworkNodePolicy.kind,
                namespace: rest.first?.namespace ?? "",
                name: rest.first?.name ?? "",
                message: "\(rest.count) more conflicting policy pairs not listed, among \(involved.count) policies: "
                    + shown + more
            )
        )
        return out
    }

    /// One error per node that more than one pool selects. Pools outside the operator namespace, and pools
    /// that only name an OVS hardware-offload MachineConfigPool, are not considered; a pool without a
    /// selector selects every node.
    ///
    /// Upstream: pkg/utils FindNodePoolConfig.
    public func poolMembershipFindings(pools: [SriovNetworkPoolConfig]) -> [Finding] {
        let candidates = pools.filter {
            $0.metadata.namespace == self.operatorNamespace
                && ($0.spec.ovsHardwareOffloadConfig?.name ?? "").isEmpty
        }
        var findings: [Finding] = []
        for node in self.nodes {
            let names = candidates.filter { ($0.spec.nodeSelector ?? LabelSelector()).matches(node.metadata.labels) }
                .map(\.metadata.name)
            guard names.count > 1 else { continue }
            findings.append(
                Finding(
                    severity: .error,
                    kind: Node.kind,
                    name: node.metadata.name,
                    message: "node \(node.metadata.name) belongs to more than one SriovNetworkPoolConfig: "
                        + names.joined(separator: ", ")
                )
            )
        }
        return findings
    }
}

/// An unordered pair of policies and the field they conflict on.
struct ConflictPair: Hashable {
    var first: String
    var second: String
    var field: String

    init(_ a: String, _ b: String, field: String) {
        (self.first, self.second) = a < b ? (a, b) : (b, a)
        self.field = field
    }
}

// MARK: - SriovOperatorConfig

extension AdmissionValidator {
    /// Validates a CREATE or UPDATE of a SriovOperatorConfig.
    ///
    /// - Only `default` in the operator namespace is accepted.
    /// - `disableDrain: true` gives a warning.
    /// - Turning `disableDrain` from false to true is rejected while any NodeState is `InProgress`, because
    ///   the operator could then not uncordon the node it is draining. ``operatorConfig`` is the object
    ///   before the update; when it is nil (a create) the previous value counts as false.
    ///
    /// Upstream: pkg/webhook/validate.go validateSriovOperatorConfig, validateSriovOperatorConfigDisableDrain.
    public func validate(operatorConfig config: SriovOperatorConfig) -> [Finding] {
        func finding(_ severity: Finding.Severity, _ field: String, _ message: String) -> Finding {
            Finding(
                severity: severity,
                kind: SriovOperatorConfig.kind,
                namespace: config.metadata.namespace,
                name: config.metadata.name,
                field: field,
                message: message
            )
        }
        guard config.metadata.name == SriovOperatorConfig.defaultName,
            config.metadata.namespace == self.operatorNamespace
        else {
            return [
                finding(
                    .error,
                    "metadata.name",
                    "only default SriovOperatorConfig in \(self.operatorNamespace) namespace is used"
                )
            ]
        }
        guard config.spec.disableDrain else { return [] }
        var findings: [Finding] = []
        if self.operatorConfig?.spec.disableDrain != true {
            let updating = self.nodeStates.first {
                $0.metadata.namespace == self.operatorNamespace && $0.status.syncStatus == "InProgress"
            }
            if let updating {
                findings.append(
                    finding(
                        .error,
                        "spec.disableDrain",
                        "can't set Spec.DisableDrain = true while node[\(updating.metadata.name)] is updating"
                    )
                )
            }
        }
        findings.append(
            finding(
                .warning,
                "spec.disableDrain",
                "Node draining is disabled for applying SriovNetworkNodePolicy, it may result in workload interruption."
            )
        )
        return findings
    }
}

// MARK: - Networks

extension AdmissionValidator {
    /// A SriovNetwork outside the operator namespace may not name another namespace for its
    /// NetworkAttachmentDefinition. Upstream: pkg/webhook/validate.go validateSriovNetwork (and siblings).
    public func validate(network: SriovNetwork) -> [Finding] {
        self.networkNamespaceFindings(kind: SriovNetwork.kind, network.metadata, network.spec.networkNamespace)
            + Self.resourceNameFindings(kind: SriovNetwork.kind, network.metadata, network.spec.resourceName)
    }

    /// As ``validate(network:)-(SriovNetwork)`` for a SriovIBNetwork.
    public func validate(network: SriovIBNetwork) -> [Finding] {
        self.networkNamespaceFindings(kind: SriovIBNetwork.kind, network.metadata, network.spec.networkNamespace)
            + Self.resourceNameFindings(kind: SriovIBNetwork.kind, network.metadata, network.spec.resourceName)
    }

    /// As ``validate(network:)-(SriovNetwork)`` for an OVSNetwork.
    public func validate(network: OVSNetwork) -> [Finding] {
        self.networkNamespaceFindings(kind: OVSNetwork.kind, network.metadata, network.spec.networkNamespace)
            + Self.resourceNameFindings(kind: OVSNetwork.kind, network.metadata, network.spec.resourceName)
    }

    /// `resourceName: ""` is refused (upstream would render a NAD for the resource `<prefix>/`); see
    /// ``NetworkRenderer/emptyResourceNameMessage``.
    static func resourceNameFindings(kind: String, _ metadata: ObjectMeta, _ resourceName: String) -> [Finding] {
        guard resourceName.isEmpty else { return [] }
        return [
            Finding(
                severity: .error,
                kind: kind,
                namespace: metadata.namespace,
                name: metadata.name,
                field: "spec.resourceName",
                message: NetworkRenderer.emptyResourceNameMessage
            )
        ]
    }

    private func networkNamespaceFindings(kind: String, _ metadata: ObjectMeta, _ networkNamespace: String) -> [Finding]
    {
        guard metadata.namespace != self.operatorNamespace, !networkNamespace.isEmpty else { return [] }
        return [
            Finding(
                severity: .error,
                kind: kind,
                namespace: metadata.namespace,
                name: metadata.name,
                field: "spec.networkNamespace",
                message: ".Spec.NetworkNamespace field can't be specified if the resource is not in the "
                    + "\(self.operatorNamespace) namespace"
            )
        ]
    }
}
