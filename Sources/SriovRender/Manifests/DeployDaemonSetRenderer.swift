public import KubeCore
import SriovAPI

/// Renders the two DaemonSets the operator's config controller keeps in place: the config daemon and the device
/// plugin, both running the `sriov` binary of ``ImageSettings``.
///
/// The output is a function of the ``RenderOptions`` (operator namespace, resource prefix, the `default`
/// SriovOperatorConfig and the managed-node selector derived from it) only, with every map sorted, so rendering
/// twice gives equal values and the controller can compare desired with live state. The objects carry no owner
/// reference; the controller adds the one to the SriovOperatorConfig (``RenderOptions/operatorConfigOwnerReference``).
///
/// Upstream: bindata/manifests/daemon/daemonset.yaml, bindata/manifests/plugins/sriov-device-plugin.yaml and
/// controllers/sriovoperatorconfig_controller.go syncConfigDaemonSet / syncPluginDaemonObjs.
public enum DaemonSetRenderer {
    /// Name of the config-daemon DaemonSet, its ServiceAccount and its `app` label.
    public static let configDaemonName = "sriov-network-config-daemon"
    /// Name of the device-plugin DaemonSet, its ServiceAccount and its `app` label.
    public static let devicePluginName = "sriov-device-plugin"
    /// Annotation on new device-plugin pods that the config daemon removes once the node is configured
    /// (gate `blockDevicePluginUntilConfigured`).
    public static let waitForConfigAnnotation = "sriovnetwork.openshift.io/device-plugin-wait-config"
    /// Where the device plugin sees the `device-plugin-config` ConfigMap, one file per node name.
    public static let devicePluginConfigDirectory = "/etc/pcidp"
    /// `CLUSTER_TYPE` of the config daemon; OpenShift is not supported.
    public static let clusterType = "kubernetes"
    /// Upstream's `configurationMode` value that makes the daemon write systemd units instead of configuring live.
    public static let systemdConfigurationMode = "systemd"

    /// The `sriov-network-config-daemon` DaemonSet: privileged, host network and PID namespaces, the host's `/` at
    /// `/host`, on the managed nodes.
    ///
    /// - Env: `NODE_NAME`, `NAMESPACE`, `CLUSTER_TYPE`, `DEV_MODE`, then `configDaemonEnvVars` sorted by name. A
    ///   `configDaemonEnvVars` entry with a built-in name replaces the built-in one (a list with two entries of the
    ///   same name is rejected by server-side apply).
    /// - Args: `--use-systemd-service` (configurationMode `systemd`), `--disable-plugins=<a,b>`,
    ///   `--parallel-nic-config` and `--manage-software-bridges` (feature gates).
    /// - Parameter devMode: `DEV_MODE=TRUE`: the daemon also handles NIC models missing from `supported-nic-ids`.
    /// - Init container `install-cni`: `sriov install-cni --cni-bin-dir /host/opt/cni/bin` with the host's
    ///   `/opt/cni/bin` mounted there, so the node has the SR-IOV CNI before any pod asks for a VF.
    /// - Parameter components: per-component image and command overrides (``ComponentImages``).
    public static func configDaemon(
        options: RenderOptions,
        image: ImageSettings,
        devMode: Bool = false,
        components: ComponentImages = ComponentImages()
    ) -> JSONValue {
        let spec = options.operatorConfig.spec
        let builtIn: [(String, JSONValue)] = [
            ("NODE_NAME", Workload.env("NODE_NAME", fieldPath: "spec.nodeName")),
            ("NAMESPACE", Workload.env("NAMESPACE", fieldPath: "metadata.namespace")),
            ("CLUSTER_TYPE", Workload.env("CLUSTER_TYPE", Self.clusterType)),
            ("DEV_MODE", Workload.env("DEV_MODE", devMode ? "TRUE" : "FALSE")),
        ]
        let env =
            builtIn.filter { spec.configDaemonEnvVars[$0.0] == nil }.map(\.1)
            + spec.configDaemonEnvVars.sorted { $0.key < $1.key }.map { Workload.env($0.key, $0.value) }
        let container = Self.override(
            Workload.container(
                name: Self.configDaemonName,
                image: image,
                subcommand: "daemon",
                args: Self.configDaemonArguments(spec),
                env: env,
                resources: Workload.requests(cpu: "100m", memory: "100Mi"),
                securityContext: ["privileged": true],
                volumeMounts: [Workload.mount("host", at: "/host")]
            ),
            image: components.configDaemonImage,
            command: components.configDaemonCommand
        )
        let installer = Self.override(
            Workload.container(
                name: "install-cni",
                image: image,
                subcommand: "install-cni",
                args: ["--cni-bin-dir", Self.cniBinMountPath],
                securityContext: ["privileged": true],
                volumeMounts: [Workload.mount("cni-bin", at: Self.cniBinMountPath)]
            ),
            image: components.cniImage,
            command: components.cniCommand
        )
        let podSpec: JSONValue = [
            "serviceAccountName": .string(Self.configDaemonName),
            "hostNetwork": true,
            "hostPID": true,
            "nodeSelector": .object(Workload.sortedMap(options.managedNodeSelector)),
            "tolerations": Workload.tolerateEverything,
            "priorityClassName": .string(Workload.nodeCriticalPriorityClass),
            "initContainers": [installer],
            "containers": [container],
            "volumes": [
                Workload.hostPathVolume("host", path: "/"),
                Workload.hostPathVolume("cni-bin", path: "/opt/cni/bin", type: "DirectoryOrCreate"),
            ],
        ]
        return Self.daemonSet(
            name: Self.configDaemonName,
            namespace: options.namespace,
            description: "Configures SR-IOV NICs on each managed node as its SriovNetworkNodeState asks.",
            podAnnotations: ["kubectl.kubernetes.io/default-container": .string(Self.configDaemonName)],
            podSpec: podSpec
        )
    }

    /// Where the config daemon's init container sees the host's CNI binary directory.
    public static let cniBinMountPath = "/host/opt/cni/bin"

    /// Replaces a rendered container's image and command (the args stay).
    static func override(_ container: JSONValue, image: String?, command: [String]?) -> JSONValue {
        guard case .object(var object) = container else { return container }
        if let image, !image.isEmpty { object["image"] = .string(image) }
        if let command, !command.isEmpty { object["command"] = .array(command.map { .string($0) }) }
        return .object(object)
    }

    /// The config daemon's flags, in upstream's order.
    static func configDaemonArguments(_ spec: SriovOperatorConfig.Spec) -> [String] {
        var args: [String] = []
        if spec.configurationMode == Self.systemdConfigurationMode { args.append("--use-systemd-service") }
        if !spec.disablePlugins.isEmpty {
            args.append("--disable-plugins=\(spec.disablePlugins.joined(separator: ","))")
        }
        if spec.isEnabled(.parallelNicConfig) { args.append("--parallel-nic-config") }
        if spec.isEnabled(.manageSoftwareBridges) { args.append("--manage-software-bridges") }
        return args
    }

    /// The `sriov-device-plugin` DaemonSet on managed nodes labelled `sriovnetwork.openshift.io/device-plugin:
    /// Enabled`: `sriov device-plugin --config-file=/etc/pcidp/$(NODE_NAME) --resource-prefix=<prefix>`, as
    /// upstream passes the node's key of the `device-plugin-config` ConfigMap (mounted at `/etc/pcidp`, one
    /// file per node name; the kubelet expands `$(NODE_NAME)` from the env). Mounts the kubelet's
    /// `device-plugins`, `plugins_registry` and `pod-resources` directories, `/sys`, `/dev`,
    /// `/var/run/k8s.cni.cncf.io/devinfo`, and the host's `/` read-only at `/host`.
    ///
    /// With `useCDI` it passes `--use-cdi` and mounts `/var/run/cdi`. With the gate
    /// `blockDevicePluginUntilConfigured` (on by default) new pods carry ``waitForConfigAnnotation`` and an init
    /// container `sriov wait-for-config` that returns once the config daemon has removed it, so the plugin never
    /// advertises VFs of a node that is still being configured.
    public static func devicePlugin(
        options: RenderOptions,
        image: ImageSettings,
        components: ComponentImages = ComponentImages()
    ) -> JSONValue {
        let spec = options.operatorConfig.spec
        let gated = spec.isEnabled(.blockDevicePluginUntilConfigured)
        var args = [
            "--config-file=\(Self.devicePluginConfigDirectory)/$(NODE_NAME)",
            "--resource-prefix=\(options.resourcePrefix)",
        ]
        var mounts = [
            Workload.mount("devicesock", at: "/var/lib/kubelet/device-plugins"),
            Workload.mount("plugins-registry", at: "/var/lib/kubelet/plugins_registry"),
            Workload.mount("pod-resources", at: "/var/lib/kubelet/pod-resources"),
            Workload.mount("sys", at: "/sys"),
            Workload.mount("dev", at: "/dev"),
            Workload.mount("config-volume", at: Self.devicePluginConfigDirectory, readOnly: true),
            Workload.mount("device-info", at: "/var/run/k8s.cni.cncf.io/devinfo"),
            Workload.mount("host", at: "/host", readOnly: true),
        ]
        var volumes = [
            Workload.hostPathVolume("devicesock", path: "/var/lib/kubelet/device-plugins"),
            Workload.hostPathVolume("plugins-registry", path: "/var/lib/kubelet/plugins_registry"),
            Workload.hostPathVolume("pod-resources", path: "/var/lib/kubelet/pod-resources"),
            Workload.hostPathVolume("sys", path: "/sys"),
            Workload.hostPathVolume("dev", path: "/dev"),
            ["name": "config-volume", "configMap": ["name": .string(OperatorNames.devicePluginConfigMap)]],
            Workload.hostPathVolume(
                "device-info",
                path: "/var/run/k8s.cni.cncf.io/devinfo",
                type: "DirectoryOrCreate"
            ),
            Workload.hostPathVolume("host", path: "/"),
        ]
        if spec.useCDI {
            args.append("--use-cdi")
            mounts.append(Workload.mount("dynamic-cdi", at: "/var/run/cdi"))
            volumes.append(Workload.hostPathVolume("dynamic-cdi", path: "/var/run/cdi", type: "DirectoryOrCreate"))
        }
        let container = Self.override(
            Workload.container(
                name: Self.devicePluginName,
                image: image,
                subcommand: "device-plugin",
                args: args,
                env: [Workload.env("NODE_NAME", fieldPath: "spec.nodeName")],
                resources: Workload.requests(cpu: "10m", memory: "50Mi"),
                securityContext: ["privileged": true],
                volumeMounts: mounts
            ),
            image: components.devicePluginImage,
            command: components.devicePluginCommand
        )
        var nodeSelector = Workload.sortedMap(options.managedNodeSelector)
        nodeSelector[OperatorNames.devicePluginLabel] = .string(OperatorNames.devicePluginEnabled)
        var podSpec: JSONObject = [
            "serviceAccountName": .string(Self.devicePluginName),
            "hostNetwork": true,
            "nodeSelector": .object(nodeSelector),
            "tolerations": Workload.tolerateEverything,
            "priorityClassName": .string(Workload.nodeCriticalPriorityClass),
        ]
        if gated {
            let waiter = Self.override(
                Workload.container(
                    name: "wait-for-config",
                    image: image,
                    subcommand: "wait-for-config",
                    env: [
                        Workload.env("NODE_NAME", fieldPath: "spec.nodeName"),
                        Workload.env("POD_NAME", fieldPath: "metadata.name"),
                        Workload.env("NAMESPACE", fieldPath: "metadata.namespace"),
                    ]
                ),
                image: components.configDaemonImage,
                command: components.waitForConfigCommand
            )
            podSpec["initContainers"] = [waiter]
        }
        podSpec["containers"] = [container]
        podSpec["volumes"] = .array(volumes)
        return Self.daemonSet(
            name: Self.devicePluginName,
            namespace: options.namespace,
            description: "Advertises the SR-IOV VF pools of each node to the kubelet.",
            podAnnotations: gated ? [Self.waitForConfigAnnotation: "true"] : [:],
            podSpec: .object(podSpec)
        )
    }

    /// The `apps/v1` DaemonSet around a pod spec, rolling out at most a third of the nodes at a time (upstream).
    static func daemonSet(
        name: String,
        namespace: String,
        description: String,
        podAnnotations: JSONObject,
        podSpec: JSONValue
    ) -> JSONValue {
        let labels = Workload.labels(app: name)
        return [
            "apiVersion": "apps/v1",
            "kind": "DaemonSet",
            "metadata": Workload.metadata(
                name: name,
                namespace: namespace,
                labels: labels,
                annotations: ["kubernetes.io/description": .string(description)]
            ),
            "spec": [
                "selector": Workload.selector(app: name),
                "updateStrategy": ["type": "RollingUpdate", "rollingUpdate": ["maxUnavailable": "33%"]],
                "template": [
                    "metadata": Self.podMetadata(labels: labels, annotations: podAnnotations),
                    "spec": podSpec,
                ],
            ],
        ]
    }

    static func podMetadata(labels: JSONValue, annotations: JSONObject) -> JSONValue {
        var object: JSONObject = ["labels": labels]
        if !annotations.isEmpty { object["annotations"] = .object(annotations) }
        return .object(object)
    }
}

/// Images and commands of the node components, settable one by one so this operator can be paired with
/// upstream's node components (env variables as upstream's operator Deployment uses for its images:
/// `SRIOV_NETWORK_CONFIG_DAEMON_IMAGE`, `SRIOV_DEVICE_PLUGIN_IMAGE`, `SRIOV_CNI_IMAGE`). A command variable
/// holds the command as words separated by spaces (`SRIOV_NETWORK_CONFIG_DAEMON_COMMAND="sriov-network-config-daemon
/// start"`). Unset: the single `sriov` image of ``ImageSettings`` with its subcommands.
public struct ComponentImages: Sendable, Hashable {
    public static let configDaemonImageVariable = "SRIOV_NETWORK_CONFIG_DAEMON_IMAGE"
    public static let devicePluginImageVariable = "SRIOV_DEVICE_PLUGIN_IMAGE"
    public static let cniImageVariable = "SRIOV_CNI_IMAGE"
    public static let configDaemonCommandVariable = "SRIOV_NETWORK_CONFIG_DAEMON_COMMAND"
    public static let devicePluginCommandVariable = "SRIOV_DEVICE_PLUGIN_COMMAND"
    public static let cniCommandVariable = "SRIOV_CNI_COMMAND"
    public static let waitForConfigCommandVariable = "SRIOV_WAIT_FOR_CONFIG_COMMAND"

    /// Every variable read, for `sriov operator --help` and the Deployment.
    public static let variables = [
        configDaemonImageVariable, devicePluginImageVariable, cniImageVariable, configDaemonCommandVariable,
        devicePluginCommandVariable, cniCommandVariable, waitForConfigCommandVariable,
    ]

    public var configDaemonImage: String?
    public var devicePluginImage: String?
    public var cniImage: String?
    public var configDaemonCommand: [String]?
    public var devicePluginCommand: [String]?
    public var cniCommand: [String]?
    public var waitForConfigCommand: [String]?

    public init() {}

    public init(environment: [String: String]) {
        func value(_ name: String) -> String? {
            guard let text = environment[name]?.trimmingSpaces, !text.isEmpty else { return nil }
            return text
        }
        func words(_ name: String) -> [String]? {
            value(name).map { $0.split(separator: " ", omittingEmptySubsequences: true).map(String.init) }
        }
        self.configDaemonImage = value(Self.configDaemonImageVariable)
        self.devicePluginImage = value(Self.devicePluginImageVariable)
        self.cniImage = value(Self.cniImageVariable)
        self.configDaemonCommand = words(Self.configDaemonCommandVariable)
        self.devicePluginCommand = words(Self.devicePluginCommandVariable)
        self.cniCommand = words(Self.cniCommandVariable)
        self.waitForConfigCommand = words(Self.waitForConfigCommandVariable)
    }
}

extension String {
    fileprivate var trimmingSpaces: String {
        var slice = Substring(self)
        while let first = slice.first, first.isWhitespace { slice.removeFirst() }
        while let last = slice.last, last.isWhitespace { slice.removeLast() }
        return String(slice)
    }
}
