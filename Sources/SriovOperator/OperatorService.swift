import Foundation
import Hummingbird
import KubeClient
import KubeCore
import KubeRuntime
public import Logging
import NIOCore
import Prometheus
public import ServiceLifecycle

/// The operator as a ``Service``: runs the controllers only while holding the leader Lease (when leader
/// election is on); stops on graceful shutdown and releases the Lease.
public struct OperatorService: Service {
    public let operator_: SriovOperator
    public let leaderElection: Bool
    public let identity: String
    /// Upstream's lease name, so our operator and an upstream one never lead at the same time.
    public static let leaseName = "a56def2a.openshift.io"

    public init(operator: SriovOperator, leaderElection: Bool = true, identity: String) {
        self.operator_ = `operator`
        self.leaderElection = leaderElection
        self.identity = identity
    }

    public func run() async throws {
        let op = self.operator_
        try await cancelWhenGracefulShutdown {
            if self.leaderElection {
                let elector = LeaderElector(
                    api: op.client.api(Lease.self, namespace: op.settings.namespace),
                    name: Self.leaseName,
                    identity: self.identity,
                    logger: op.logger
                )
                await elector.run { await op.run() }
            } else {
                await op.run()
            }
        }
    }
}

/// Health (`/healthz`, `/readyz`: ready once every cache has synced) and Prometheus metrics (`/metrics`:
/// API writes by operation, cached objects by kind). Runs on every replica, leader or not.
public struct HealthService: Service {
    public let port: Int
    public let caches: OperatorCaches
    public let writes: WriteCounter
    public let logger: Logger

    public init(port: Int, caches: OperatorCaches, writes: WriteCounter, logger: Logger) {
        self.port = port
        self.caches = caches
        self.writes = writes
        self.logger = logger
    }

    public func run() async throws {
        let caches = self.caches
        let writes = self.writes
        let registry = PrometheusCollectorRegistry()
        let router = Router()
        router.get("/healthz") { _, _ in "ok" }
        router.get("/readyz") { _, _ -> Response in
            caches.hasSynced
                ? Response(status: .ok, body: ResponseBody(byteBuffer: ByteBuffer(string: "ok")))
                : Response(
                    status: .serviceUnavailable,
                    body: ResponseBody(byteBuffer: ByteBuffer(string: "caches not synced"))
                )
        }
        router.get("/metrics") { _, _ -> Response in
            for (operation, count) in writes.byOperation {
                registry.makeGauge(
                    name: "sriov_operator_api_writes",
                    labels: [("operation", operation)],
                    help: "API writes made by the operator since start"
                ).set(Double(count))
            }
            let sizes: [(String, Int)] = [
                ("Node", caches.nodes.count), ("SriovNetworkNodePolicy", caches.policies.count),
                ("SriovNetworkNodeState", caches.nodeStates.count), ("SriovNetwork", caches.networks.count),
                ("NetworkAttachmentDefinition", caches.networkAttachments.count),
            ]
            for (kind, count) in sizes {
                registry.makeGauge(
                    name: "sriov_operator_cached_objects",
                    labels: [("kind", kind)],
                    help: "Objects in the operator's caches"
                )
                .set(Double(count))
            }
            var buffer: [UInt8] = []
            registry.emit(into: &buffer)
            var response = Response(status: .ok, body: ResponseBody(byteBuffer: ByteBuffer(bytes: buffer)))
            response.headers[.contentType] = "text/plain; version=0.0.4"
            return response
        }
        let app = Application(
            router: router,
            configuration: .init(address: .hostname("0.0.0.0", port: self.port)),
            logger: self.logger
        )
        try await app.runService()
    }
}
