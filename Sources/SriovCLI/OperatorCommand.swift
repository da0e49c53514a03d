import ArgumentParser
import Foundation
import KubeClient
import Logging
import ServiceLifecycle
import SriovOperator
import SriovRender
import UnixSignals

struct OperatorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "operator",
        abstract: "Run the operator: reconcile policies, networks and the operator config in a cluster.",
        discussion: """
            Reads the cluster with --kubeconfig, $KUBECONFIG, the pod's service account, or ~/.kube/config. \
            Controllers run only on the replica holding the Lease a56def2a.openshift.io (the same lease as \
            upstream's operator, so the two never lead together); health (/healthz, /readyz) and Prometheus \
            metrics (/metrics) are served on every replica. SIGTERM/SIGINT stop it gracefully and release the lease.
            """
    )

    @OptionGroup var operatorOptions: OperatorOptions

    @Option(help: "Path to a kubeconfig file.") var kubeconfig: String?

    @Flag(inversion: .prefixedEnableDisable, help: "Leader election (on by default).")
    var leaderElection = true

    @Option(name: .customLong("health-port"), help: "Port of /healthz, /readyz and /metrics.")
    var healthPort: Int = 8081

    @Option(name: .customLong("resync-seconds"), help: "Periodic resync of every controller.")
    var resyncSeconds: Int = 300

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
        let client = try KubeClient(config: config)
        var settings = OperatorSettings(
            namespace: self.operatorOptions.resolvedNamespace,
            resourcePrefix: self.operatorOptions.resolvedResourcePrefix,
            resyncPeriod: .seconds(self.resyncSeconds)
        )
        if let delay = Environment.get("STALE_NODE_STATE_CLEANUP_DELAY_MINUTES").flatMap(Int.init), delay >= 0 {
            settings.staleNodeStateDelayMinutes = delay
        }
        do {
            settings.image = try ImageSettings(environment: ProcessInfo.processInfo.environment)
        } catch {
            StandardError.write("error: \(error)")
            throw ExitCode(1)
        }
        let op = SriovOperator(client: client, settings: settings, logger: logger)
        let identity = Environment.get("POD_NAME") ?? ProcessInfo.processInfo.hostName
        logger.notice(
            "operator starting",
            metadata: [
                "k8s.namespace": "\(settings.namespace)", "server": "\(config.server)", "identity": "\(identity)",
            ]
        )
        let group = ServiceGroup(
            configuration: .init(
                services: [
                    .init(
                        service: OperatorService(operator: op, leaderElection: self.leaderElection, identity: identity)
                    ),
                    .init(
                        service: HealthService(
                            port: self.healthPort,
                            caches: op.caches,
                            writes: op.writes,
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
