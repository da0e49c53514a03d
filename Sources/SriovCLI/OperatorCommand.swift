import ArgumentParser
import Foundation
import KubeClient
import KubeRuntime
import Logging
import ServiceLifecycle
import SriovOperator
import SriovRender
import UnixSignals

struct OperatorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "operator",
        abstract: "Run the operator: reconcile policies, networks, drains and the operator config in a cluster.",
        discussion: """
            Reads the cluster with --kubeconfig, $KUBECONFIG, the pod's service account, or ~/.kube/config. \
            Controllers run only on the replica holding the Lease a56def2a.openshift.io (the same lease as \
            upstream's operator, so the two never lead together); a replica that loses the lease stops its \
            controllers and campaigns again, starting a fresh term (new caches, queues, controllers) when it \
            wins. Health (/healthz; /readyz: ready on a standby, and on the leader once its caches synced) is \
            served on --health-port, Prometheus metrics (/metrics) on --metrics-port, on every replica. \
            SIGTERM/SIGINT stop it gracefully and release the lease.

            Node component images and commands: SRIOV_IMAGE (the sriov binary), and per component \
            SRIOV_NETWORK_CONFIG_DAEMON_IMAGE, SRIOV_DEVICE_PLUGIN_IMAGE, SRIOV_CNI_IMAGE, \
            SRIOV_NETWORK_CONFIG_DAEMON_COMMAND, SRIOV_DEVICE_PLUGIN_COMMAND, SRIOV_CNI_COMMAND, \
            SRIOV_WAIT_FOR_CONFIG_COMMAND (commands as words separated by spaces).
            """
    )

    @OptionGroup var operatorOptions: OperatorOptions

    @Option(help: "Path to a kubeconfig file.") var kubeconfig: String?

    @Flag(inversion: .prefixedEnableDisable, help: "Leader election (on by default).")
    var leaderElection = true

    @Option(name: .customLong("health-port"), help: "Port of /healthz and /readyz.")
    var healthPort: Int = 8081

    @Option(name: .customLong("metrics-port"), help: "Port of /metrics (may equal --health-port).")
    var metricsPort: Int = 8080

    @Option(
        name: .customLong("kube-api-qps"),
        help: "Client-side rate limit: requests per second to the API server (0: no limit)."
    )
    var kubeAPIQPS: Double = TokenBucket.defaultQPS

    @Option(name: .customLong("kube-api-burst"), help: "Client-side rate limit: burst above --kube-api-qps.")
    var kubeAPIBurst: Int = TokenBucket.defaultBurst

    @Option(name: .customLong("resync-seconds"), help: "Periodic resync of every controller.")
    var resyncSeconds: Int = 300

    @Option(
        name: .customLong("leader-elect-lease-duration"),
        help: "Seconds a standby waits, after it last saw the lease renewed, before taking over."
    )
    var leaseDurationSeconds: Int = 15

    @Option(name: .customLong("leader-elect-renew-deadline"), help: "Seconds the leader keeps trying to renew.")
    var renewDeadlineSeconds: Int = 10

    @Option(name: .customLong("leader-elect-retry-period"), help: "Seconds between lease attempts.")
    var retryPeriodSeconds: Int = 2

    func validate() throws {
        guard (1...65535).contains(self.healthPort), (1...65535).contains(self.metricsPort) else {
            throw ValidationError("--health-port and --metrics-port must be in 1…65535")
        }
        guard self.kubeAPIQPS >= 0, self.kubeAPIBurst >= 1 else {
            throw ValidationError("--kube-api-qps must be >= 0 and --kube-api-burst >= 1")
        }
        guard self.retryPeriodSeconds >= 1, self.renewDeadlineSeconds > self.retryPeriodSeconds,
            self.leaseDurationSeconds > self.renewDeadlineSeconds
        else {
            throw ValidationError(
                "leader election needs lease-duration > renew-deadline > retry-period >= 1 (got \(self.leaseDurationSeconds), \(self.renewDeadlineSeconds), \(self.retryPeriodSeconds))"
            )
        }
    }

    func run() async throws {
        LogSetup.bootstrap(defaultLevel: .info)
        let logger = Logger(label: "sriov.operator")
        let config: KubeConfig
        do {
            config = try KubeConfig.resolve(explicitPath: self.kubeconfig)
        } catch {
            StandardError.write("error: \(error)")
            throw ExitCode(1)
        }
        let metrics = Metrics()
        let client = try KubeClient(
            config: config,
            rateLimiter: TokenBucket(qps: self.kubeAPIQPS, burst: self.kubeAPIBurst),
            metrics: metrics
        )
        var settings = OperatorSettings(
            namespace: self.operatorOptions.resolvedNamespace,
            resourcePrefix: self.operatorOptions.resolvedResourcePrefix,
            resyncPeriod: .seconds(self.resyncSeconds)
        )
        if let delay = Environment.get("STALE_NODE_STATE_CLEANUP_DELAY_MINUTES").flatMap(Int.init), delay >= 0 {
            settings.staleNodeStateDelayMinutes = delay
        }
        settings.useExternalDrainer = Environment.get("USE_EXTERNAL_DRAINER")?.lowercased() == "true"
        let environment = ProcessInfo.processInfo.environment
        do {
            settings.image = try ImageSettings(environment: environment)
        } catch {
            StandardError.write("error: \(error)")
            throw ExitCode(1)
        }
        settings.components = ComponentImages(environment: environment)
        let op = SriovOperator(client: client, settings: settings, logger: logger)
        let identity = OperatorService.uniqueIdentity(
            hostname: Environment.get("POD_NAME") ?? ProcessInfo.processInfo.hostName
        )
        logger.notice(
            "operator starting",
            metadata: [
                "k8s.namespace": "\(settings.namespace)", "server": "\(config.server)", "identity": "\(identity)",
                "kube-api-qps": "\(self.kubeAPIQPS)", "kube-api-burst": "\(self.kubeAPIBurst)",
            ]
        )
        let status = LeaderStatus()
        var service = OperatorService(
            operator: op,
            leaderElection: self.leaderElection,
            identity: identity,
            status: status
        )
        service.leaseDuration = .seconds(self.leaseDurationSeconds)
        service.renewDeadline = .seconds(self.renewDeadlineSeconds)
        service.retryPeriod = .seconds(self.retryPeriodSeconds)
        let group = ServiceGroup(
            configuration: .init(
                services: [
                    .init(service: service),
                    .init(
                        service: HealthService(
                            port: self.healthPort,
                            metricsPort: self.metricsPort,
                            caches: op.caches,
                            metrics: metrics,
                            status: status,
                            logger: logger
                        )
                    ),
                ],
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger
            )
        )
        try await group.run()
        try await client.shutdown()
    }
}
