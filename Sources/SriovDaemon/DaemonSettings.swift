public import SriovHost

/// Settings of one config daemon (flags and env of `sriov daemon`).
public struct DaemonSettings: Sendable {
    /// This node's name (env `NODE_NAME`); the NodeState has the same name.
    public var nodeName: String
    /// The operator namespace (env `NAMESPACE`), where the NodeState lives.
    public var namespace: String
    /// Where the host's `/` is seen (`/host` in the DaemonSet).
    public var hostRoot: String
    /// How often the host is checked for drift without a change (upstream: 30 s).
    public var resync: Duration
    /// How often to look again while waiting for something another party does (NodeState creation, drain).
    /// Changes seen by the watch wake the daemon earlier.
    public var waitPoll: Duration
    /// `DEV_MODE=TRUE`: NIC models outside `supported-nic-ids` are managed too.
    public var devMode: Bool
    /// `USE_EXTERNAL_DRAINER=true`: mark the NodeState so the operator leaves draining to an external tool.
    public var useExternalDrainer: Bool
    /// After an apply, delete this node's device-plugin pods so they re-read the VFs (upstream behaviour).
    /// The one switch to turn off once the device plugin picks up new VFs by itself.
    public var restartDevicePluginPods: Bool
    /// At most this many reboots for the same NodeState generation; then Failed instead of another reboot.
    public var maxRebootsPerGeneration: Int
    /// First and largest delay of the retry backoff after an error (jittered).
    public var backoffBase: Duration
    public var backoffMax: Duration
    /// How often discovery re-reads an empty VF driver link (upstream 5 × 200 ms).
    public var driverRetries: Int
    /// `CLUSTER_TYPE=openshift`: systemd units belong to the machine-config operator, never removed here.
    public var isOpenShift: Bool = false
    /// False at boot in systemd mode (`sriov service`): a reboot need is reported, never acted on.
    public var mayReboot: Bool = true
    /// Called before each host step of an apply (progress; tests use it to stop the daemon mid-apply).
    public var onHostStep: (@Sendable (HostStep) -> Void)?

    public init(
        nodeName: String,
        namespace: String = "sriov-network-operator",
        hostRoot: String = "/host",
        resync: Duration = .seconds(30),
        waitPoll: Duration = .seconds(5),
        devMode: Bool = false,
        useExternalDrainer: Bool = false,
        restartDevicePluginPods: Bool = true,
        maxRebootsPerGeneration: Int = 3,
        backoffBase: Duration = .seconds(1),
        backoffMax: Duration = .seconds(300),
        driverRetries: Int = 5
    ) {
        self.nodeName = nodeName
        self.namespace = namespace
        self.hostRoot = hostRoot
        self.resync = resync
        self.waitPoll = waitPoll
        self.devMode = devMode
        self.useExternalDrainer = useExternalDrainer
        self.restartDevicePluginPods = restartDevicePluginPods
        self.maxRebootsPerGeneration = maxRebootsPerGeneration
        self.backoffBase = backoffBase
        self.backoffMax = backoffMax
        self.driverRetries = driverRetries
    }
}

/// Exponential backoff with ±25 % jitter, so daemons failing together do not retry together.
enum Backoff {
    static func delay(attempt: Int, base: Duration, max: Duration) -> Duration {
        let factor = 1 << Swift.min(Swift.max(attempt - 1, 0), 20)
        let raw = Swift.min(base * factor, max)
        let jitter = Double.random(in: 0.75...1.25)
        return Swift.min(raw * jitter, max)
    }
}
