import Foundation
import KubeClient
import KubeCore
import Logging
import SriovAPI
import SriovRender
import SriovTestKit
import Synchronization
import Testing

@testable import KubeRuntime
@testable import SriovOperator

private let examplesDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().appendingPathComponent("examples").path

/// A free TCP port on loopback (bound, read, closed).
func freePort() -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = 0
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) }
    }
    _ = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
    }
    return Int(UInt16(bigEndian: address.sin_port))
}

/// GET over plain HTTP with the project's own client: status and body text.
func httpGet(_ url: String, path: String) async throws -> (Int, String) {
    let client = try KubeClient(config: KubeConfig(server: url), retry: .none)
    defer { Task { try? await client.shutdown() } }
    let response = try await client.transport.send(
        KubeRequest(method: "GET", path: path, verb: "get", resource: path),
        timeout: .seconds(5)
    )
    return (response.status, String(decoding: response.body, as: UTF8.self))
}

@Suite("Operator in production: leadership, readiness, metrics, writes", .serialized)
struct OperatorHardeningTests {
    func examples() throws -> ClusterSnapshot {
        var (snapshot, _) = ClusterSnapshot.decode(try ManifestReader.read(paths: [examplesDirectory]))
        if !snapshot.namespaces.contains(where: { $0.metadata.name == "sriov-network-operator" }) {
            snapshot.namespaces.append(Namespace(name: "sriov-network-operator"))
        }
        return snapshot
    }

    func settings() -> OperatorSettings {
        OperatorSettings(resyncPeriod: .seconds(2), policyDebounce: .milliseconds(50))
    }

    func quietLogger() -> Logger {
        var logger = Logger(label: "test")
        logger.logLevel = .error
        return logger
    }

    @Test("a leader that loses its lease (renewals fail) and wins it back starts a fresh term that still works")
    func loseAndReacquire() async throws {
        let cluster = try await TestCluster.start(.fake)
        let fake = try #require(cluster.fake)
        try await ClusterSeeder(client: cluster.client).seed(try self.examples())
        let op = SriovOperator(client: cluster.client, settings: self.settings(), logger: self.quietLogger())
        var service = OperatorService(operator: op, identity: "replica-a")
        service.leaseDuration = .seconds(3)
        service.renewDeadline = .seconds(2)
        service.retryPeriod = .milliseconds(200)
        let status = service.status
        let configured = service
        let running = Task { try? await configured.run() }
        do {
            let states = cluster.client.api(SriovNetworkNodeState.self, namespace: "sriov-network-operator")
            try await eventually("leading and rendering") {
                let rendered = try await states.getIfPresent("worker-0") != nil
                return status.isLeading && rendered
            }
            #expect(status.terms == 1)
            // Every lease request fails: after the renew deadline the term ends.
            fake.faults.failNext(100_000, pathContains: "/leases", status: 500)
            try await eventually("leadership lost", timeout: .seconds(90)) { !status.isLeading }
            #expect(
                op.metrics.value("leader_election_master_status", labels: [("name", OperatorService.leaseName)]) == 0
            )
            fake.faults.reset()
            try await eventually("leadership regained", timeout: .seconds(90)) { status.isLeading && status.terms == 2 }
            // The second term's queues hand out keys: a new node gets its NodeState.
            _ = try await cluster.client.api(Node.self).create(Node.worker("late-node"))
            try await eventually("second term renders a new node") {
                try await states.getIfPresent("late-node") != nil
            }
        } catch {
            running.cancel()
            await cluster.stop()
            throw error
        }
        running.cancel()
        _ = await running.value
        await cluster.stop()
    }

    @Test("lease expiry is judged on the candidate's own clock, never by the holder's renewTime")
    func localObservation() async throws {
        let cluster = try await TestCluster.start(.fake)
        let leases = cluster.client.api(Lease.self, namespace: "default")
        // Held by a replica whose clock is an hour behind: its renewTime looks long expired.
        var lease = Lease(metadata: ObjectMeta(name: "lock", namespace: "default"))
        lease.spec = Lease.Spec(
            holderIdentity: "other",
            leaseDurationSeconds: 15,
            acquireTime: "2020-01-01T00:00:00.000000Z",
            renewTime: "2020-01-01T00:00:00.000000Z",
            leaseTransitions: 0
        )
        _ = try await leases.create(lease)
        let clock = TestClock()
        var elector = LeaderElector(api: leases, name: "lock", identity: "me", logger: self.quietLogger())
        elector.now = { clock.now }
        let observation = LeaderElector.Observation()
        #expect(await elector.tryAcquireOrRenew(observation) == false)
        clock.advance(.seconds(14))
        #expect(await elector.tryAcquireOrRenew(observation) == false)
        // The holder renews (its record changes): the wait starts over.
        var renewed = try await leases.get("lock")
        renewed.spec.renewTime = "2020-01-01T00:00:10.000000Z"
        _ = try await leases.update(renewed)
        clock.advance(.seconds(2))
        #expect(await elector.tryAcquireOrRenew(observation) == false)
        clock.advance(.seconds(15))
        #expect(await elector.tryAcquireOrRenew(observation) == true)
        #expect(try await leases.get("lock").spec.holderIdentity == "me")
        #expect(try await leases.get("lock").spec.leaseTransitions == 1)
        await cluster.stop()
    }

    @Test("each renewal has its own deadline: a hung lease request ends leadership at the renew deadline")
    func renewDeadline() async throws {
        let cluster = try await TestCluster.start(.fake)
        let fake = try #require(cluster.fake)
        let leases = cluster.client.api(Lease.self, namespace: "default")
        var elector = LeaderElector(api: leases, name: "hang", identity: "me", logger: self.quietLogger())
        elector.leaseDuration = .seconds(4)
        elector.renewDeadline = .seconds(2)
        elector.retryPeriod = .milliseconds(200)
        let status = elector.status
        let configured = elector
        let running = Task { await configured.run { await RuntimeIntegrationTests.forever() } }
        try await eventually("leading") { status.isLeading }
        fake.faults.delay(.seconds(60), pathContains: "/leases/hang")
        let hung = ContinuousClock.now
        try await eventually("gave up leading", timeout: .seconds(40)) { !status.isLeading }
        // The lease request hangs for 60 s: giving up well before that (renew deadline 2 s, plus a retry period
        // and the cancelled request's teardown on a loaded machine) shows the per-attempt deadline fired.
        #expect(ContinuousClock.now - hung < .seconds(40))
        fake.faults.reset()
        running.cancel()
        await running.value
        await cluster.stop()
    }

    @Test("readiness: a standby replica is ready; the leader only once its caches have synced")
    func readiness() async throws {
        #expect(HealthService.isReady(leading: false, synced: false))
        #expect(!HealthService.isReady(leading: true, synced: false))
        #expect(HealthService.isReady(leading: true, synced: true))
        let status = LeaderStatus()
        let caches = OperatorCaches()
        let port = freePort()
        let health = HealthService(
            port: port,
            caches: caches,
            metrics: Metrics(),
            status: status,
            logger: self.quietLogger()
        )
        let serving = Task { try await health.run() }
        defer { serving.cancel() }
        let url = "http://127.0.0.1:\(port)"
        try await eventually("serving") { try await httpGet(url, path: "/healthz").0 == 200 }
        #expect(try await httpGet(url, path: "/readyz").0 == 200)
        status.force(true)
        #expect(try await httpGet(url, path: "/readyz").0 == 503)
    }

    @Test("/metrics on --metrics-port: counters of API writes, reconcile histograms, queue and leader metrics")
    func metricsScrape() async throws {
        let cluster = try await TestCluster.start(.fake)
        try await ClusterSeeder(client: cluster.client).seed(try self.examples())
        let op = SriovOperator(client: cluster.client, settings: self.settings(), logger: self.quietLogger())
        var service = OperatorService(operator: op, identity: OperatorService.uniqueIdentity(hostname: "test"))
        service.retryPeriod = .milliseconds(200)
        let healthPort = freePort()
        let metricsPort = freePort()
        let health = HealthService(
            port: healthPort,
            metricsPort: metricsPort,
            caches: op.caches,
            metrics: op.metrics,
            status: service.status,
            logger: self.quietLogger()
        )
        let configured = service
        let running = Task {
            try await withThrowingDiscardingTaskGroup { group in
                group.addTask { try await configured.run() }
                group.addTask { try await health.run() }
            }
        }
        do {
            let states = cluster.client.api(SriovNetworkNodeState.self, namespace: "sriov-network-operator")
            try await eventually("rendered") { try await states.getIfPresent("worker-0") != nil }
            let url = "http://127.0.0.1:\(metricsPort)"
            var text = ""
            try await eventually("scraped") {
                let (code, body) = try await httpGet(url, path: "/metrics")
                text = body
                return code == 200 && body.contains("sriov_operator_api_writes_total")
            }
            let scrape = try PrometheusText.parse(text)
            #expect(scrape.types["sriov_operator_api_writes_total"] == "counter")
            #expect(scrape.all("sriov_operator_api_writes_total").reduce(0) { $0 + $1.value } >= 1)
            #expect(scrape.types["controller_runtime_reconcile_time_seconds"] == "histogram")
            for controller in ["policy", "network", "operator-config", "drain"] {
                #expect(
                    scrape.value("controller_runtime_reconcile_errors_total", ["controller": controller]) != nil,
                    "\(controller)"
                )
                #expect(
                    scrape.value("workqueue_adds_total", ["name": controller]) != nil,
                    "\(controller)"
                )
            }
            #expect(scrape.types["workqueue_retries_total"] == "counter")
            #expect(scrape.types["workqueue_depth"] == "gauge")
            #expect(scrape.value("leader_election_master_status", ["name": OperatorService.leaseName]) == 1)
            #expect(scrape.types["kube_client_requests_total"] == "counter")
            // Health is on its own port; /metrics is not served there.
            #expect(try await httpGet("http://127.0.0.1:\(healthPort)", path: "/readyz").0 == 200)
            #expect(try await httpGet("http://127.0.0.1:\(healthPort)", path: "/metrics").0 == 404)
        } catch {
            running.cancel()
            await cluster.stop()
            throw error
        }
        running.cancel()
        _ = try? await running.value
        await cluster.stop()
    }

    @Test("leader identities are unique per process (hostname plus a random suffix)")
    func identities() {
        let a = OperatorService.uniqueIdentity(hostname: "node-1")
        let b = OperatorService.uniqueIdentity(hostname: "node-1")
        #expect(a != b)
        #expect(a.hasPrefix("node-1-") && a.count == "node-1-".count + 8)
    }

    @Test(
        "a finalizer is removed by a guarded JSON patch: another controller's finalizer on the network survives",
        arguments: Backend.available
    )
    func finalizers(_ backend: Backend) async throws {
        let cluster = try await TestCluster.start(backend)
        try await ClusterSeeder(client: cluster.client).seed(try self.examples())
        let op = SriovOperator(client: cluster.client, settings: self.settings(), logger: self.quietLogger())
        let running = Task { await op.run() }
        do {
            let networks = cluster.client.api(SriovNetwork.self, namespace: "sriov-network-operator")
            let nads = cluster.client.api(NetworkAttachmentDefinition.self, namespace: "telco-app")
            try await eventually("our finalizer") {
                try await networks.get("data-net").metadata.finalizers == [NetworkRenderer.finalizer]
            }
            try await eventually("NAD") { try await nads.getIfPresent("data-net") != nil }
            _ = try await networks.jsonPatch(
                "data-net",
                [["op": "add", "path": "/metadata/finalizers/-", "value": "example.com/keep"]]
            )
            try await networks.delete("data-net")
            try await eventually("NAD deleted, our finalizer gone") {
                let nad = try await nads.getIfPresent("data-net")
                let finalizers = try await networks.get("data-net").metadata.finalizers
                return nad == nil && finalizers == ["example.com/keep"]
            }
            if let fake = cluster.fake {
                #expect(!fake.requests.contains { $0.method == "PUT" && $0.path.contains("/sriovnetworks/data-net") })
            }
        } catch {
            running.cancel()
            await cluster.stop()
            throw error
        }
        running.cancel()
        await running.value
        await cluster.stop()
    }

    @Test(
        "a NAD owned by another network is reported on the Ready condition and left alone when ours is deleted",
        arguments: Backend.available
    )
    func nadOwnership(_ backend: Backend) async throws {
        let cluster = try await TestCluster.start(backend)
        try await ClusterSeeder(client: cluster.client).seed(try self.examples())
        // Someone else's NAD where data-net would put its own.
        var foreign = NetworkAttachmentDefinition(
            metadata: ObjectMeta(name: "data-net", namespace: "telco-app"),
            spec: .init(config: #"{"cniVersion":"1.0.0","type":"bridge"}"#)
        )
        foreign.metadata.annotations[NetworkAttachmentDefinition.ownerRefAnnotation] =
            "sriovnetwork.openshift.io/v1, Kind=SriovNetwork, Namespace=other, Name=data-net"
        let nads = cluster.client.api(NetworkAttachmentDefinition.self, namespace: "telco-app")
        _ = try await nads.create(foreign)
        let op = SriovOperator(client: cluster.client, settings: self.settings(), logger: self.quietLogger())
        let running = Task { await op.run() }
        do {
            let networks = cluster.client.api(SriovNetwork.self, namespace: "sriov-network-operator")
            try await eventually("conflict reported") {
                let ready = try await networks.get("data-net").status?.conditions.first { $0.type == "Ready" }
                return ready?.status == "False"
            }
            try await networks.delete("data-net")
            try await eventually("network gone") { try await networks.getIfPresent("data-net") == nil }
            let kept = try await nads.get("data-net")
            #expect(kept.spec.config == foreign.spec.config)
        } catch {
            running.cancel()
            await cluster.stop()
            throw error
        }
        running.cancel()
        await running.value
        await cluster.stop()
    }

    @Test(
        "DaemonSets: images settable by env; a manual edit of the image is reverted; the config's status says Ready",
        arguments: Backend.available
    )
    func daemonSets(_ backend: Backend) async throws {
        let cluster = try await TestCluster.start(backend)
        try await ClusterSeeder(client: cluster.client).seed(try self.examples())
        var settings = self.settings()
        settings.components = ComponentImages(environment: [
            ComponentImages.configDaemonImageVariable: "quay.io/example/config-daemon:v1",
            ComponentImages.configDaemonCommandVariable: "sriov-network-config-daemon start",
        ])
        let op = SriovOperator(client: cluster.client, settings: settings, logger: self.quietLogger())
        let running = Task { await op.run() }
        do {
            let daemonSets = cluster.client.api(DaemonSet.self, namespace: "sriov-network-operator")
            func container(_ ds: DaemonSet) -> JSONValue? {
                ds.spec?["template"]?["spec"]?["containers"]?.arrayValue?.first
            }
            try await eventually("config daemon") {
                try await daemonSets.getIfPresent("sriov-network-config-daemon") != nil
            }
            let ds = try await daemonSets.get("sriov-network-config-daemon")
            #expect(container(ds)?["image"] == "quay.io/example/config-daemon:v1")
            #expect(container(ds)?["command"] == ["sriov-network-config-daemon", "start"])
            var edited = ds
            if case .object(var spec)? = edited.spec, case .object(var template)? = spec["template"],
                case .object(var podSpec)? = template["spec"], case .array(var containers)? = podSpec["containers"],
                case .object(var first)? = containers.first
            {
                first["image"] = "evil/image:1"
                containers[0] = .object(first)
                podSpec["containers"] = .array(containers)
                template["spec"] = .object(podSpec)
                spec["template"] = .object(template)
                edited.spec = .object(spec)
            }
            _ = try await daemonSets.update(edited)
            try await eventually("edit reverted") {
                container(try await daemonSets.get("sriov-network-config-daemon"))?["image"]
                    == "quay.io/example/config-daemon:v1"
            }
            let configs = cluster.client.api(SriovOperatorConfig.self, namespace: "sriov-network-operator")
            try await eventually("Ready condition") {
                let config = try await configs.get("default")
                return config.status?.conditions.first { $0.type == "Ready" }?.status != nil
            }
        } catch {
            running.cancel()
            await cluster.stop()
            throw error
        }
        running.cancel()
        await running.value
        await cluster.stop()
    }

    @Test("SriovOperatorConfig: logLevel sets the level; an unknown gate is rejected; enableInjector is honoured")
    func operatorConfig() async throws {
        let cluster = try await TestCluster.start(.fake)
        var snapshot = try self.examples()
        snapshot.operatorConfigs = [
            SriovOperatorConfig(
                metadata: ObjectMeta(name: "default", namespace: "sriov-network-operator"),
                spec: .init(enableInjector: true, logLevel: 1, featureGates: ["noSuchGate": true])
            )
        ]
        try await ClusterSeeder(client: cluster.client).seed(snapshot)
        let op = SriovOperator(client: cluster.client, settings: self.settings(), logger: self.quietLogger())
        let running = Task { await op.run() }
        do {
            let configs = cluster.client.api(SriovOperatorConfig.self, namespace: "sriov-network-operator")
            try await eventually("status written") {
                try await configs.get("default").status?.conditions.first { $0.type == "Ready" } != nil
            }
            let config = try await configs.get("default")
            let ready = try #require(config.status?.conditions.first { $0.type == "Ready" })
            #expect(ready.status == "False")
            #expect(ready.reason == "UnsupportedConfiguration")
            #expect(!ready.message.contains("enableInjector"))
            #expect(ready.message.contains("noSuchGate"))
            #expect(config.status?.injector == "Enabled")
            #expect(op.logLevel.current == .debug)
            // Fixing the config turns Ready true.
            _ = try await configs.mergePatch(
                "default",
                ["spec": ["enableInjector": false, "featureGates": .null, "logLevel": 0]]
            )
            try await eventually("Ready") {
                try await configs.get("default").status?.conditions.first { $0.type == "Ready" }?.status == "True"
            }
            #expect(op.logLevel.current == .info)
        } catch {
            running.cancel()
            await cluster.stop()
            throw error
        }
        running.cancel()
        await running.value
        await cluster.stop()
    }

    @Test(
        "the operator's caches hold no managedFields and no Node status",
        .enabled(if: RealAPIServer.isAvailable, "needs the real kube-apiserver (it writes managedFields)")
    )
    func cacheTrimming() async throws {
        let cluster = try await TestCluster.start(.real)
        try await ClusterSeeder(client: cluster.client).seed(try self.examples())
        let op = SriovOperator(client: cluster.client, settings: self.settings(), logger: self.quietLogger())
        let running = Task { await op.run() }
        do {
            try await eventually("synced") { op.caches.hasSynced && op.caches.nodes.count > 0 }
            #expect(try await cluster.client.api(Node.self).list().items.first?.metadata.managedFields != nil)
            #expect(op.caches.nodes.list().allSatisfy { $0.metadata.managedFields == nil && $0.status == nil })
            #expect(op.caches.policies.list().allSatisfy { $0.metadata.managedFields == nil })
        } catch {
            running.cancel()
            await cluster.stop()
            throw error
        }
        running.cancel()
        await running.value
        await cluster.stop()
    }
}
