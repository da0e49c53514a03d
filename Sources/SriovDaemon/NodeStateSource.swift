import KubeCore
public import SriovAPI
public import SriovRender

/// Where a node's desired state comes from and where its status goes: the Kubernetes API (the NodeState
/// object, the Node, the operator config) or, in standalone/systemd mode, files on the host.
///
/// The reconciler is written against this protocol only; it never talks HTTP or reads files for it.
public protocol NodeStateSource: Sendable {
    /// This node's NodeState; nil while it does not exist yet.
    func fetchNodeState() async throws -> SriovNetworkNodeState?
    /// The node and cluster settings the daemon follows this pass.
    func fetchContext() async throws -> NodeContext
    /// Writes `status` (the caller only calls when it changed); returns the object as stored.
    func writeStatus(
        _ status: SriovNetworkNodeState.Status,
        of state: SriovNetworkNodeState
    ) async throws -> SriovNetworkNodeState
    /// Sets (a value) or removes (nil) annotations on the NodeState and on the Node.
    func annotate(nodeState: [String: String?], node: [String: String?]) async throws
    /// Best effort: an Event about the NodeState.
    func recordEvent(_ state: SriovNetworkNodeState, type: String, reason: String, message: String) async
    /// Deletes this node's device-plugin pods (their DaemonSet recreates them; they re-read the VFs).
    func restartDevicePlugins() async throws
    /// Removes the wait annotation from this node's device-plugin pods; returns how many were released.
    func releaseDevicePlugins() async throws -> Int
    /// Runs until cancelled, calling `changed` whenever the NodeState or the Node may have changed.
    func watch(_ changed: @escaping @Sendable () -> Void) async
}

/// What the daemon needs to know besides the NodeState.
public struct NodeContext: Sendable, Hashable {
    /// The Node's annotations (the drain request `sriovnetwork.openshift.io/state`).
    public var nodeAnnotations: [String: String]
    /// `node.spec.providerID`: `openstack://…` and `aws://…` make the node virtual.
    public var providerID: String
    /// SriovOperatorConfig `default`; nil when there is none (defaults apply).
    public var operatorConfig: SriovOperatorConfig.Spec?
    /// `supported-nic-ids` (the upstream table when the ConfigMap is absent).
    public var supportedNICs: SupportedNICs

    public init(
        nodeAnnotations: [String: String] = [:],
        providerID: String = "",
        operatorConfig: SriovOperatorConfig.Spec? = nil,
        supportedNICs: SupportedNICs = .upstreamDefault
    ) {
        self.nodeAnnotations = nodeAnnotations
        self.providerID = providerID
        self.operatorConfig = operatorConfig
        self.supportedNICs = supportedNICs
    }

    public var config: SriovOperatorConfig.Spec { self.operatorConfig ?? SriovOperatorConfig.Spec() }
    public var isSystemdMode: Bool { self.config.configurationMode == "systemd" }
}

/// The platform a node runs on, from its provider ID (upstream: contains "openstack" / "aws").
public enum NodePlatform: String, Sendable, Hashable {
    case baremetal
    case openstack
    case aws

    public init(providerID: String) {
        let id = providerID.lowercased()
        if id.contains("openstack") {
            self = .openstack
        } else if id.contains("aws") {
            self = .aws
        } else {
            self = .baremetal
        }
    }

    public var isVirtual: Bool { self != .baremetal }

    /// upstream's `consts.PlatformTypes` number, used in the systemd-mode config file.
    public var upstreamType: Int {
        switch self {
        case .baremetal: return 0
        case .openstack: return 1
        case .aws: return 2
        }
    }
}

/// Wire names the daemon shares with the operator and the device plugin.
public enum DaemonWire {
    public static let nodeDrainAnnotation = "sriovnetwork.openshift.io/state"
    public static let devicePluginWaitAnnotation = "sriovnetwork.openshift.io/device-plugin-wait-config"
    public static let devicePluginLabel = "app=sriov-device-plugin"
    public static let idle = "Idle"
    public static let drainRequired = "Drain_Required"
    public static let rebootRequired = "Reboot_Required"
    public static let draining = "Draining"
    public static let drainComplete = "DrainComplete"
}
