import AsyncHTTPClient
import Foundation
import KubeCore
import Logging
import NIOCore
import NIOHTTP1
import NIOSSL
import ServiceLifecycle
import SriovAPI
import SriovRender
import SriovTestKit
import SriovWebhook

/// The webhook server over HTTPS on loopback: AdmissionReviews per second and latency percentiles with 50
/// concurrent clients (one keep-alive connection each), and the time to validate one policy against the cache
/// of a `nodes`-node cluster.
enum WebhookBenchmark {
    static let clients = 50
    static let requestsPerClient = 40

    static func run(nodes nodeCount: Int, policies policyCount: Int) async throws {
        print("")
        print(
            "webhook: \(nodeCount) nodes × 4 PFs, \(policyCount) policies in the cache; HTTPS (TLS 1.3, P-256) on loopback"
        )
        let namespace = "sriov-network-operator"
        var snapshot = SyntheticCluster(nodeCount: nodeCount, policyCount: policyCount).snapshot
        var nadMeta = ObjectMeta(name: "net-a", namespace: "apps")
        nadMeta.annotations[NetworkAttachmentDefinition.resourceNameAnnotation] = "openshift.io/intel_netdev"
        snapshot.networkAttachments = [NetworkAttachmentDefinition(metadata: nadMeta, spec: .init(config: "{}"))]
        let cluster = SnapshotClusterView(snapshot)
        let settings = WebhookSettings(operatorNamespace: namespace)

        // One policy (an existing one re-submitted as an update) against the whole cache, in process.
        var policy = snapshot.policies[0]
        policy.setTypeMeta()
        let validator = cluster.validator(settings: settings)
        var findings: [Finding] = []
        _ = measure("validate one policy against the \(nodeCount)-node cache") {
            findings = validator.validate(policy: policy)
        }
        // A fresh view each time: the view remembers its validator, as the webhook's caches do between changes.
        _ = measure("build the validator from the cache + validate one policy") {
            findings = SnapshotClusterView(snapshot).validator(settings: settings).validate(policy: policy)
        }
        print("one policy: \(findings.filter(\.isError).count) errors (the synthetic policies are valid)")

        let pair = try SelfSignedCertificate.generate(dnsNames: ["localhost"], ipAddresses: ["127.0.0.1"])
        let certificate = try ServingCertificate(certificatePEM: pair.certificatePEM, keyPEM: pair.keyPEM)
        let logger = Logger(label: "bench", factory: { _ in SwiftLogNoOpLogHandler() })
        let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
        let server = WebhookServer(
            handler: WebhookHandler(settings: settings, cluster: cluster, logger: logger),
            certificate: certificate,
            host: "127.0.0.1",
            port: 0,
            onListening: { port in
                continuation.yield(port)
                continuation.finish()
            }
        )
        let group = ServiceGroup(configuration: .init(services: [server], logger: logger))
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            defer { tasks.cancelAll() }
            guard let port = await ports.first(where: { _ in true }) else { return }
            var tls = TLSConfiguration.makeClientConfiguration()
            tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMBytes(Array(pair.caPEM.utf8)))
            var configuration = HTTPClient.Configuration(tlsConfiguration: tls)
            configuration.connectionPool = .init(
                idleTimeout: .seconds(60),
                concurrentHTTP1ConnectionsPerHostSoftLimit: Self.clients
            )
            let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
            defer { _ = client.shutdown() }

            let pod: JSONValue = [
                "apiVersion": "v1", "kind": "Pod",
                "metadata": [
                    "name": "p", "namespace": "apps", "annotations": ["k8s.v1.cni.cncf.io/networks": "net-a"],
                ],
                "spec": ["containers": [["name": "app", "image": "busybox", "resources": [:]]]],
            ]
            let podReview = Self.review(kind: "Pod", object: pod)
            let policyReview = Self.review(kind: SriovNetworkNodePolicy.kind, object: try ValueEncoder().encode(policy))
            try await Self.load(client, port: port, path: "/mutate", body: podReview, label: "injector /mutate (Pod)")
            try await Self.load(
                client,
                port: port,
                path: "/validating-custom-resource",
                body: policyReview,
                label: "validating policy vs \(nodeCount) nodes"
            )
            await group.triggerGracefulShutdown()
        }
    }

    static func review(kind: String, object: JSONValue) -> String {
        GoJSON.encode([
            "apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
            "request": [
                "uid": "bench", "kind": ["group": "", "version": "v1", "kind": .string(kind)], "operation": "CREATE",
                "namespace": "apps", "object": object,
            ],
        ])
    }

    static func load(_ client: HTTPClient, port: Int, path: String, body: String, label: String) async throws {
        let url = "https://127.0.0.1:\(port)\(path)"
        func once() async throws -> Double {
            var request = HTTPClientRequest(url: url)
            request.method = .POST
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(string: body))
            let start = ContinuousClock.now
            let response = try await client.execute(request, timeout: .seconds(30))
            _ = try await response.body.collect(upTo: 1 << 20)
            guard response.status == .ok else { throw WebhookBenchmarkError(status: Int(response.status.code)) }
            let elapsed = ContinuousClock.now - start
            return Double(elapsed.components.seconds) * 1e3 + Double(elapsed.components.attoseconds) / 1e15
        }
        // Warm up: open the connections (TLS handshakes are not part of the steady state).
        try await withThrowingTaskGroup(of: Double.self) { group in
            for _ in 0..<Self.clients { group.addTask { try await once() } }
            for try await _ in group {}
        }
        let start = ContinuousClock.now
        let latencies = try await withThrowingTaskGroup(of: [Double].self) { group in
            for _ in 0..<Self.clients {
                group.addTask {
                    var samples: [Double] = []
                    for _ in 0..<Self.requestsPerClient { samples.append(try await once()) }
                    return samples
                }
            }
            var all: [Double] = []
            for try await samples in group { all += samples }
            return all.sorted()
        }
        let elapsed = ContinuousClock.now - start
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        func percentile(_ p: Double) -> Double { latencies[min(latencies.count - 1, Int(Double(latencies.count) * p))] }
        let pad = label.padding(toLength: 40, withPad: " ", startingAt: 0)
        print(
            "\(pad) \(String(format: "%7.0f", Double(latencies.count) / seconds)) reviews/s  "
                + "p50 \(String(format: "%6.2f", percentile(0.5))) ms  p99 \(String(format: "%6.2f", percentile(0.99))) ms"
                + "  (\(Self.clients) clients × \(Self.requestsPerClient))"
        )
    }
}

struct WebhookBenchmarkError: Error, CustomStringConvertible {
    var status: Int
    var description: String { "webhook answered HTTP \(self.status)" }
}
