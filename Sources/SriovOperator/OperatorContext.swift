import Foundation
public import KubeClient
public import KubeCore
public import KubeRuntime
public import Logging
public import SriovAPI
public import SriovRender
import Synchronization

/// Settings of the operator process (flags and env: `NAMESPACE`, `RESOURCE_PREFIX`).
public struct OperatorSettings: Sendable {
    public var namespace: String
    public var resourcePrefix: String
    /// `STALE_NODE_STATE_CLEANUP_DELAY_MINUTES` (default 30).
    public var staleNodeStateDelayMinutes: Int
    /// How often every controller re-reconciles without a change (upstream: 5 min).
    public var resyncPeriod: Duration
    /// Delay between a policy change and the render (upstream: 1 s, so bursts of edits render once).
    public var policyDebounce: Duration
    /// The image of the `sriov` binary for the DaemonSets the operator deploys.
    public var image: ImageSettings = ImageSettings()
    /// Per-component images and commands (env `SRIOV_NETWORK_CONFIG_DAEMON_IMAGE`, … as upstream's operator).
    public var components: ComponentImages = ComponentImages()
    /// How long a drain may take before it is reported as failed and retried (upstream: 90 s).
    public var drainTimeout: Duration = .seconds(90)
    /// How often a draining node's pods are listed again until the evicted ones are gone.
    public var drainPollInterval: Duration = .seconds(2)
    /// Concurrent drain reconciles (upstream: 50).
    public var drainWorkers: Int = 50
    /// `USE_EXTERNAL_DRAINER=true`: NodeStates marked `sriovnetwork.openshift.io/use-external-drainer: "true"` (by
    /// their config daemon, started with the same variable) are left to an external drainer (such as NVIDIA's
    /// maintenance-operator): this operator neither cordons nor evicts nor changes their drain annotations.
    public var useExternalDrainer = false
    /// The local monotonic clock, injected by tests (drain timeouts).
    public var now: @Sendable () -> ContinuousClock.Instant = { ContinuousClock.now }

    public init(
        namespace: String = "sriov-network-operator",
        resourcePrefix: String = "openshift.io",
        staleNodeStateDelayMinutes: Int = 30,
        resyncPeriod: Duration = .seconds(300),
        policyDebounce: Duration = .seconds(1)
    ) {
        self.namespace = namespace
        self.resourcePrefix = resourcePrefix
        self.staleNodeStateDelayMinutes = staleNodeStateDelayMinutes
        self.resyncPeriod = resyncPeriod
        self.policyDebounce = policyDebounce
    }
}

/// The watched state every controller reads: one reflector-fed ``Store`` per kind.
///
/// Nodes are cached without `status` (the kubelet rewrites it every heartbeat; nothing here reads it), and
/// every object without `managedFields`.
public final class OperatorCaches: Sendable {
    public let nodes = Store<Node>(trim: { $0.status = nil })
    public let daemonSets = Store<DaemonSet>(trim: { $0.status = nil })
    public let namespaces = Store<Namespace>()
    public let policies = Store<SriovNetworkNodePolicy>()
    public let nodeStates = Store<SriovNetworkNodeState>()
    public let poolConfigs = Store<SriovNetworkPoolConfig>()
    public let operatorConfigs = Store<SriovOperatorConfig>()
    public let configMaps = Store<ConfigMap>()
    public let networks = Store<SriovNetwork>()
    public let ibNetworks = Store<SriovIBNetwork>()
    public let ovsNetworks = Store<OVSNetwork>()
    public let networkAttachments = Store<NetworkAttachmentDefinition>()

    public init() {}

    /// Empties every store (a new leadership term lists everything again).
    public func reset() {
        self.nodes.reset()
        self.daemonSets.reset()
        self.namespaces.reset()
        self.policies.reset()
        self.nodeStates.reset()
        self.poolConfigs.reset()
        self.operatorConfigs.reset()
        self.configMaps.reset()
        self.networks.reset()
        self.ibNetworks.reset()
        self.ovsNetworks.reset()
        self.networkAttachments.reset()
    }

    /// True when every store has done its first list.
    public var hasSynced: Bool {
        self.nodes.hasSynced && self.namespaces.hasSynced && self.policies.hasSynced && self.nodeStates.hasSynced
            && self.poolConfigs.hasSynced && self.operatorConfigs.hasSynced && self.configMaps.hasSynced
            && self.networks.hasSynced && self.ibNetworks.hasSynced && self.ovsNetworks.hasSynced
            && self.networkAttachments.hasSynced && self.daemonSets.hasSynced
    }

    /// The cluster as the render engine sees it (objects in the operator namespace where upstream filters).
    func snapshot() -> ClusterSnapshot {
        var snapshot = ClusterSnapshot()
        snapshot.nodes = self.nodes.list()
        snapshot.namespaces = self.namespaces.list()
        snapshot.policies = self.policies.list()
        snapshot.nodeStates = self.nodeStates.list()
        snapshot.poolConfigs = self.poolConfigs.list()
        snapshot.operatorConfigs = self.operatorConfigs.list()
        snapshot.configMaps = self.configMaps.list()
        snapshot.networks = self.networks.list()
        snapshot.ibNetworks = self.ibNetworks.list()
        snapshot.ovsNetworks = self.ovsNetworks.list()
        snapshot.networkAttachments = self.networkAttachments.list()
        return snapshot
    }
}

/// Counts of API writes, for metrics (`sriov_operator_api_writes_total`, a counter) and for the "an idle
/// resync writes nothing" guarantee.
public final class WriteCounter: Sendable {
    let counts = Mutex<[String: Int]>([:])
    let metrics: Metrics?

    public init(metrics: Metrics? = nil) { self.metrics = metrics }

    public func record(_ verb: String, _ kind: String) {
        self.counts.withLock { $0["\(verb) \(kind)", default: 0] += 1 }
        self.metrics?.increment(
            "sriov_operator_api_writes_total",
            help: "API writes made by the operator, by verb and kind",
            labels: [("verb", verb), ("kind", kind)]
        )
    }

    public var total: Int { self.counts.withLock { $0.values.reduce(0, +) } }
    public var byOperation: [String: Int] { self.counts.withLock { $0 } }
}

enum Time {
    static func nowRFC3339() -> String { RFC3339.format(Int(Date().timeIntervalSince1970)) }
}

/// The operator's log level: the command line's, until SriovOperatorConfig `logLevel` sets another
/// (0 = info, 1 = debug, 2 = trace, as upstream's 0–2 verbosity).
public final class LogLevel: Sendable {
    let level: Mutex<Logger.Level>
    public init(_ level: Logger.Level) { self.level = Mutex(level) }
    public var current: Logger.Level { self.level.withLock { $0 } }
    public func set(_ level: Logger.Level) { self.level.withLock { $0 = level } }

    /// Upstream's `logLevel` (0–2) as a swift-log level; nil outside the range.
    public static func fromOperatorConfig(_ value: Int) -> Logger.Level? {
        switch value {
        case 0: return .info
        case 1: return .debug
        case 2: return .trace
        default: return nil
        }
    }
}
