import ArgumentParser
import Foundation
import KubeClient
import Logging
import ServiceLifecycle
import SriovDaemon
import SriovHost
import UnixSignals

/// Where `sriov daemon` and `sriov wait-for-config` find the cluster.
struct DaemonClusterOptions: ParsableArguments {
    @Option(help: "Path to a kubeconfig file (default: $KUBECONFIG, the pod's service account, ~/.kube/config).")
    var kubeconfig: String?

    @Option(name: .customLong("node-name"), help: "This node's name (env NODE_NAME).")
    var nodeName: String?

    @Option(help: "Operator namespace, where the NodeState lives (env NAMESPACE; default sriov-network-operator).")
    var namespace: String?

    var resolvedNamespace: String {
        if let namespace { return namespace }
        if let env = Environment.get("NAMESPACE"), !env.isEmpty { return env }
        return "sriov-network-operator"
    }

    func resolvedNodeName() throws -> String {
        if let nodeName, !nodeName.isEmpty { return nodeName }
        if let env = Environment.get("NODE_NAME"), !env.isEmpty { return env }
        throw ValidationError("the node name is required: --node-name or env NODE_NAME")
    }

    func client() throws -> (KubeClient, KubeConfig) {
        do {
            let config = try KubeConfig.resolve(explicitPath: self.kubeconfig)
            return (try KubeClient(config: config), config)
        } catch {
            StandardError.write("error: \(error)")
            throw ExitCode(1)
        }
    }
}

struct DaemonCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "daemon",
        abstract: "Run the config daemon: make this node match its SriovNetworkNodeState.",
        discussion: """
            Reports the node's SR-IOV NICs into the NodeState status, applies its spec (VFs, drivers, MTU, \
            eswitch mode, udev rules), asks the operator for a drain or a reboot when needed, and reports \
            syncStatus Succeeded, or Failed with the PF, step, file and error. --host-root is where the host's / \
            is seen (/host in the DaemonSet); every host path and host program goes through it. Env: NODE_NAME, \
            NAMESPACE, DEV_MODE=TRUE (manage NIC models outside supported-nic-ids), USE_EXTERNAL_DRAINER=true, \
            CLUSTER_TYPE=openshift (leave systemd units to the MCO). SIGTERM/SIGINT stop it between two host steps.
            """
    )

    @OptionGroup var cluster: DaemonClusterOptions

    @Option(name: .customLong("host-root"), help: "Directory where the host's / is mounted.")
    var hostRoot: String = "/host"

    @Option(name: .customLong("resync-seconds"), help: "Drift check period without changes.")
    var resyncSeconds: Int = 30

    @Option(name: .customLong("health-port"), help: "Serve /healthz on this port.")
    var healthPort: Int?

    func validate() throws {
        guard self.resyncSeconds > 0 else { throw ValidationError("--resync-seconds must be positive") }
        if let port = self.healthPort, !(1...65535).contains(port) {
            throw ValidationError("--health-port \(port) is not a TCP port")
        }
    }

    func run() async throws {
        LogSetup.bootstrap(defaultLevel: .info)
        let logger = Logger(label: "sriov.daemon")
        let nodeName = try self.cluster.resolvedNodeName()
        let host: NodeHost
        do {
            host = try NodeHost.open(root: self.hostRoot)
        } catch {
            StandardError.write("error: --host-root \(self.hostRoot): \(error)")
            throw ExitCode(1)
        }
        let (client, config) = try self.cluster.client()
        var settings = DaemonSettings(
            nodeName: nodeName,
            namespace: self.cluster.resolvedNamespace,
            hostRoot: self.hostRoot,
            resync: .seconds(self.resyncSeconds)
        )
        settings.devMode = Environment.get("DEV_MODE")?.uppercased() == "TRUE"
        settings.useExternalDrainer = Environment.get("USE_EXTERNAL_DRAINER")?.lowercased() == "true"
        settings.isOpenShift = Environment.get("CLUSTER_TYPE")?.lowercased() == "openshift"
        let source = KubernetesNodeStateSource(
            client: client,
            namespace: settings.namespace,
            nodeName: nodeName,
            logger: logger
        )
        let health = DaemonHealth()
        let daemon = SriovDaemon(settings: settings, source: source, host: host, health: health, logger: logger)
        logger.notice(
            "config daemon configured",
            metadata: [
                "k8s.node": "\(nodeName)", "k8s.namespace": "\(settings.namespace)", "host.root": "\(self.hostRoot)",
                "server": "\(config.server)",
            ]
        )
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = [.init(service: daemon)]
        if let port = self.healthPort {
            services.append(.init(service: DaemonHealthServer(port: port, health: health, logger: logger)))
        }
        let group = ServiceGroup(
            configuration: .init(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        )
        try await group.run()
        try await client.shutdown()
    }
}

struct WaitForConfigCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "wait-for-config",
        abstract: "Device-plugin init container: block until the config daemon has configured this node.",
        discussion: """
            Marks this pod with sriovnetwork.openshift.io/device-plugin-wait-config and returns once the \
            config daemon removed the mark after a successful apply (feature gate \
            blockDevicePluginUntilConfigured). The pod comes from --pod-name/--pod-namespace or env \
            POD_NAME/POD_NAMESPACE (the downward API).
            """
    )

    @OptionGroup var cluster: DaemonClusterOptions

    @Option(name: .customLong("pod-name"), help: "This pod's name (env POD_NAME).")
    var podName: String?

    @Option(name: .customLong("pod-namespace"), help: "This pod's namespace (env POD_NAMESPACE; default: --namespace).")
    var podNamespace: String?

    func run() async throws {
        LogSetup.bootstrap(defaultLevel: .info)
        var logger = Logger(label: "sriov.wait-for-config")
        guard let pod = self.podName ?? Environment.get("POD_NAME"), !pod.isEmpty else {
            throw ValidationError("the pod name is required: --pod-name or env POD_NAME")
        }
        let namespace =
            self.podNamespace ?? Environment.get("POD_NAMESPACE").flatMap { $0.isEmpty ? nil : $0 }
            ?? self.cluster.resolvedNamespace
        if let node = try? self.cluster.resolvedNodeName() { logger[metadataKey: "k8s.node"] = "\(node)" }
        let (client, _) = try self.cluster.client()
        let gate = DevicePluginGate(client: client, podName: pod, podNamespace: namespace, logger: logger)
        do {
            try await gate.run()
        } catch {
            try? await client.shutdown()
            StandardError.write("error: \(error)")
            throw ExitCode(1)
        }
        try await client.shutdown()
    }
}

struct ServiceCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "service",
        abstract: "Systemd configuration mode: apply the daemon's configuration at boot.",
        discussion: """
            Run by sriov-config.service (--phase pre, before the network services) and \
            sriov-config-post-network.service (--phase post, before the kubelet). Reads \
            /etc/sriov-operator/sriov-interface-config.yaml and writes sriov-interface-result.yaml (upstream's \
            files and keys). Exit status 1 when the phase failed (the result file says why).
            """
    )

    @Option(help: "pre or post.") var phase: String

    @Option(name: .customLong("host-root"), help: "Directory where the host's / is seen (default /: on the host).")
    var hostRoot: String = "/"

    @Option(name: .customLong("node-name"), help: "This node's name (env NODE_NAME; default the hostname).")
    var nodeName: String?

    func validate() throws {
        guard SystemdService.Phase(rawValue: self.phase) != nil else {
            throw ValidationError("--phase must be pre or post, not \(self.phase.debugDescription)")
        }
    }

    func run() async throws {
        LogSetup.bootstrap(defaultLevel: .info)
        let logger = Logger(label: "sriov.service")
        guard let phase = SystemdService.Phase(rawValue: self.phase) else { throw ExitCode(2) }
        let name = self.nodeName ?? Environment.get("NODE_NAME") ?? ProcessInfo.processInfo.hostName
        let host: NodeHost
        do {
            host = try NodeHost.open(root: self.hostRoot)
        } catch {
            StandardError.write("error: --host-root \(self.hostRoot): \(error)")
            throw ExitCode(1)
        }
        let result: SystemdFiles.Result?
        do {
            result = try await SystemdService(host: host, nodeName: name, logger: logger).run(phase)
        } catch {
            StandardError.write("error: \(error)")
            throw ExitCode(1)
        }
        if let result {
            StandardOutput.write("\(phase.rawValue): \(result.syncStatus)\n")
            if result.syncStatus == "Failed" {
                StandardError.write("error: \(result.lastSyncError)")
                throw ExitCode(1)
            }
        }
    }
}
