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
public final class OperatorCaches: Sendable {
    public let nodes = Store<Node>()
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

    /// True when every store has done its first list.
    public var hasSynced: Bool {
        self.nodes.hasSynced && self.namespaces.hasSynced && self.policies.hasSynced && self.nodeStates.hasSynced
            && self.poolConfigs.hasSynced && self.operatorConfigs.hasSynced && self.configMaps.hasSynced
            && self.networks.hasSynced && self.ibNetworks.hasSynced && self.ovsNetworks.hasSynced
            && self.networkAttachments.hasSynced
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

/// Counts of API writes, for metrics and for the "an idle resync writes nothing" guarantee.
public final class WriteCounter: Sendable {
    let counts = Mutex<[String: Int]>([:])

    public init() {}

    public func record(_ verb: String, _ kind: String) {
        self.counts.withLock { $0["\(verb) \(kind)", default: 0] += 1 }
    }

    public var total: Int { self.counts.withLock { $0.values.reduce(0, +) } }
    public var byOperation: [String: Int] { self.counts.withLock { $0 } }
}

enum Time {
    static func nowRFC3339() -> String { RFC3339.format(Int(Date().timeIntervalSince1970)) }
}
