import Foundation
import Hummingbird
public import KubeClient
import KubeCore
public import KubeRuntime
public import Logging
import NIOCore
public import ServiceLifecycle

/// The operator as a ``Service``: runs the controllers only while holding the leader Lease (when leader
/// election is on); stops on graceful shutdown and releases the Lease.
///
/// A lost lease ends the term: the controllers are cancelled, and the replica goes back to campaigning.
/// When it wins again, ``SriovOperator/run()`` starts a new term with fresh caches, queues and controllers.
/// (controller-runtime exits the process instead; staying up keeps `/healthz`, `/metrics` and the HTTP
/// connections, fails over without a pod restart and its CrashLoopBackOff, and a new term is exactly as
/// clean as a new process because nothing of the old one is reused.)
public struct OperatorService: Service {
    public let operator_: SriovOperator
    public let leaderElection: Bool
    public let identity: String
    public let status: LeaderStatus
    /// Upstream's lease name, so our operator and an upstream one never lead at the same time.
    public static let leaseName = "a56def2a.openshift.io"
    public var leaseDuration: Duration = .seconds(15)
    public var renewDeadline: Duration = .seconds(10)
    public var retryPeriod: Duration = .seconds(2)

    public init(
        operator: SriovOperator,
        leaderElection: Bool = true,
        identity: String,
        status: LeaderStatus = LeaderStatus()
    ) {
        self.operator_ = `operator`
        self.leaderElection = leaderElection
        self.identity = identity
        self.status = status
    }

    /// `<hostname>-<8 random hex digits>`: unique even for two replicas on one machine (tests) or a pod
    /// restarted with the same name while its old lease record is still there.
    public static func uniqueIdentity() -> String { Self.uniqueIdentity(hostname: ProcessInfo.processInfo.hostName) }

    public static func uniqueIdentity(hostname: String) -> String {
        let suffix = String(UInt32.random(in: 0...UInt32.max), radix: 16)
        return "\(hostname)-\(String(repeating: "0", count: 8 - suffix.count))\(suffix)"
    }

    public func run() async throws {
        let op = self.operator_
        await cancelWhenGracefulShutdown {
            if self.leaderElection {
                var elector = LeaderElector(
                    api: op.client.api(Lease.self, namespace: op.settings.namespace),
                    name: Self.leaseName,
                    identity: self.identity,
                    logger: op.logger
                )
                elector.status = self.status
                elector.leaseDuration = self.leaseDuration
                elector.renewDeadline = self.renewDeadline
                elector.retryPeriod = self.retryPeriod
                await elector.run { await op.run() }
            } else {
                self.status.set(leading: true)
                await op.run()
            }
        }
    }
}

extension LeaderStatus {
    /// Without leader election the process always leads.
    func set(leading: Bool) { self.force(leading) }
}

/// Health and metrics, on every replica, leader or not (controller-runtime's split).
///
/// `/healthz`: the process is alive. `/readyz`: a standby replica is ready (it serves and campaigns, so a
/// rolling update can proceed); the leader is ready once every cache has synced. `/metrics`: Prometheus text
/// format of ``Metrics`` plus the cache sizes. `port` and `metricsPort` may be equal (one listener) or
/// differ (two).
public struct HealthService: Service {
    public let port: Int
    public let metricsPort: Int
    public let caches: OperatorCaches
    public let metrics: Metrics
    public let status: LeaderStatus
    public let logger: Logger

    public init(
        port: Int,
        metricsPort: Int? = nil,
        caches: OperatorCaches,
        metrics: Metrics,
        status: LeaderStatus,
        logger: Logger
    ) {
        self.port = port
        self.metricsPort = metricsPort ?? port
        self.caches = caches
        self.metrics = metrics
        self.status = status
        self.logger = logger
    }

    /// Whether `/readyz` answers 200.
    public static func isReady(leading: Bool, synced: Bool) -> Bool { !leading || synced }

    public func run() async throws {
        if self.metricsPort == self.port {
            let health = self.healthRouter()
            self.addMetrics(to: health)
            try await self.serve(health, port: self.port)
        } else {
            try await withThrowingDiscardingTaskGroup { group in
                group.addTask { try await self.serve(self.healthRouter(), port: self.port) }
                group.addTask { try await self.serve(self.metricsRouter(), port: self.metricsPort) }
            }
        }
    }

    func serve(_ router: Router<BasicRequestContext>, port: Int) async throws {
        let app = Application(
            router: router,
            configuration: .init(address: .hostname("0.0.0.0", port: port)),
            logger: self.logger
        )
        try await app.runService()
    }

    func healthRouter() -> Router<BasicRequestContext> {
        let caches = self.caches
        let status = self.status
        let router = Router()
        router.get("/healthz") { _, _ in "ok" }
        router.get("/readyz") { _, _ -> Response in
            let leading = status.isLeading
            let synced = caches.hasSynced
            if Self.isReady(leading: leading, synced: synced) {
                return Response(
                    status: .ok,
                    body: ResponseBody(byteBuffer: ByteBuffer(string: leading ? "ok: leading" : "ok: standby"))
                )
            }
            return Response(
                status: .serviceUnavailable,
                body: ResponseBody(byteBuffer: ByteBuffer(string: "leading, caches not synced"))
            )
        }
        return router
    }

    func metricsRouter() -> Router<BasicRequestContext> {
        let router = Router()
        self.addMetrics(to: router)
        return router
    }

    func addMetrics(to router: Router<BasicRequestContext>) {
        let caches = self.caches
        let metrics = self.metrics
        let status = self.status
        router.get("/metrics") { _, _ -> Response in
            let sizes: [(String, Int)] = [
                ("Node", caches.nodes.count), ("SriovNetworkNodePolicy", caches.policies.count),
                ("SriovNetworkNodeState", caches.nodeStates.count), ("SriovNetwork", caches.networks.count),
                ("NetworkAttachmentDefinition", caches.networkAttachments.count),
            ]
            for (kind, count) in sizes {
                metrics.set(
                    "sriov_operator_cached_objects",
                    help: "Objects in the operator's caches",
                    labels: [("kind", kind)],
                    to: Double(count)
                )
            }
            metrics.set(
                "sriov_operator_leader",
                help: "1 while this replica leads",
                to: status.isLeading ? 1 : 0
            )
            var response = Response(
                status: .ok,
                body: ResponseBody(byteBuffer: ByteBuffer(string: metrics.render()))
            )
            response.headers[.contentType] = "text/plain; version=0.0.4; charset=utf-8"
            return response
        }
    }
}
