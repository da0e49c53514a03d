import Foundation
import KubeClient
import KubeCore
import KubeRuntime
import Logging
import ServiceLifecycle
import SriovAPI
import SriovRender
import SriovTestKit
import SriovWebhook
import Testing

/// The webhooks registered with a real kube-apiserver (v1.20, admission plugins ValidatingAdmissionWebhook and
/// MutatingAdmissionWebhook on by default) through `clientConfig.url` on loopback, driven with `kubectl`.
@Suite("webhooks on a real kube-apiserver", .enabled(if: RealAPIServer.isAvailable), .serialized)
struct RealAPIServerWebhookTests {
    static let namespace = Fixture.namespace
    static let apps = "apps"

    static func policyYAML(_ name: String, pf: String, numVfs: Int = 4, nodeSelector: String = "") -> String {
        """
        apiVersion: sriovnetwork.openshift.io/v1
        kind: SriovNetworkNodePolicy
        metadata:
          name: \(name)
          namespace: \(Self.namespace)
        spec:
          resourceName: \(name.replacingOccurrences(of: "-", with: "_"))
          numVfs: \(numVfs)
          nodeSelector: {\(nodeSelector)}
          nicSelector:
            pfNames: ["\(pf)"]
        """
    }

    static func podYAML(_ name: String, networks: String) -> String {
        """
        apiVersion: v1
        kind: Pod
        metadata:
          name: \(name)
          namespace: \(Self.apps)
          annotations:
            k8s.v1.cni.cncf.io/networks: "\(networks)"
        spec:
          automountServiceAccountToken: false
          containers:
          - name: app
            image: busybox
        """
    }

    @Test("kubectl apply is admitted, defaulted and refused by our webhooks; pods get their resources")
    func endToEnd() async throws {
        let server = try RealAPIServer.start()
        defer { server.stop() }
        let client = try KubeClient(config: try KubeConfig.load(path: server.kubeconfigPath))
        let seeder = ClusterSeeder(client: client)
        try await seeder.installCRDs(CustomResourceDefinitions.all + [ClusterSeeder.networkAttachmentDefinitionCRD])
        var snapshot = Fixture.cluster
        snapshot.namespaces = [Namespace(name: Self.namespace), Namespace(name: Self.apps)]
        try await seeder.seed(snapshot)
        _ = try await client.api(NetworkAttachmentDefinition.self, namespace: Self.apps)
            .create(Fixture.nad("net-a", namespace: Self.apps, resource: "openshift.io/intel_netdev"))
        let account: JSONValue = ["apiVersion": "v1", "kind": "ServiceAccount", "metadata": ["name": "default"]]
        _ = try await client.perform(
            KubeRequest(
                method: "POST",
                path: "/api/v1/namespaces/\(Self.apps)/serviceaccounts",
                body: Array(GoJSON.encode(account).utf8),
                contentType: "application/json",
                verb: "create",
                resource: "serviceaccounts"
            )
        )

        let pair = try SelfSignedCertificate.generate(dnsNames: ["localhost"], ipAddresses: ["127.0.0.1"])
        let certificate = try ServingCertificate(certificatePEM: pair.certificatePEM, keyPEM: pair.keyPEM)
        let logger = Logger(label: "webhook-e2e")
        let caches = WebhookCaches(client: client, operatorNamespace: Self.namespace, logger: logger)
        let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
        let webhook = WebhookServer(
            handler: WebhookHandler(
                settings: WebhookSettings(operatorNamespace: Self.namespace),
                cluster: caches,
                logger: logger
            ),
            certificate: certificate,
            host: "127.0.0.1",
            port: 0,
            onListening: { port in
                continuation.yield(port)
                continuation.finish()
            }
        )
        let group = ServiceGroup(configuration: .init(services: [caches, webhook], logger: logger))
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            defer { tasks.cancelAll() }
            let port = try #require(await ports.first(where: { _ in true }))
            try await eventually("caches synced with the NodeState status", poll: .milliseconds(200)) {
                caches.hasSynced && caches.nodeStates.list().first?.status.interfaces.isEmpty == false
            }
            let options = WebhookManifests.Options(
                namespace: Self.namespace,
                url: "https://127.0.0.1:\(port)",
                caBundlePEM: pair.caPEM
            )
            for rendered in WebhookManifests.configurations(options) {
                let configuration = Self.withMaximumTimeout(rendered)
                let plural = (configuration["kind"]?.stringValue ?? "").lowercased() + "s"
                _ = try await client.perform(
                    KubeRequest(
                        method: "POST",
                        path: "/apis/admissionregistration.k8s.io/v1/\(plural)",
                        body: Array(GoJSON.encode(configuration).utf8),
                        contentType: "application/json",
                        verb: "create",
                        resource: plural
                    )
                )
            }
            try await self.run(server: server, caches: caches)
            await group.triggerGracefulShutdown()
        }
        try? await client.shutdown()
    }

    func run(server: RealAPIServer, caches: WebhookCaches) async throws {
        let badRange = Self.policyYAML("bad-range", pf: "ens803f0#0-7")
        let expected = "failed to parse ens803f0#0-7 PF name nicSelector, end range exceeds the maximum VF index"
        // The API server picks up new webhook configurations within a second or so; a server-side dry run
        // calls the webhooks without storing anything.
        try await eventually("webhook configurations active", poll: .milliseconds(200)) {
            let result = try await server.kubectlAsync(["apply", "--dry-run=server", "-f", "-"], stdin: badRange)
            return result.status != 0 && result.stderr.contains(expected)
        }
        let refused = try await server.kubectlAsync(["apply", "-f", "-"], stdin: badRange)
        #expect(refused.status != 0)
        #expect(refused.stderr.contains("denied the request: \(expected)"), "\(refused.stderr)")

        let accepted = try await server.kubectlAsync(
            ["apply", "-f", "-"],
            stdin: Self.policyYAML("good", pf: "ens803f0")
        )
        #expect(accepted.status == 0, "\(accepted.stderr)")
        let priority = try await server.kubectlAsync([
            "get", "sriovnetworknodepolicy", "good", "-n", Self.namespace, "-o", "jsonpath={.spec.priority}",
        ])
        #expect(priority.stdout == "99")

        let nowhere = try await server.kubectlAsync(
            ["apply", "-f", "-"],
            stdin: Self.policyYAML("nowhere", pf: "ens803f1", nodeSelector: "no-such-label: x")
        )
        #expect(nowhere.status != 0)
        #expect(
            nowhere.stderr.contains("no matched node is selected by the nodeSelector in CR nowhere"),
            "\(nowhere.stderr)"
        )

        let deleted = try await server.kubectlAsync(["delete", "sriovnetworknodepolicy", "good", "-n", Self.namespace])
        #expect(deleted.status == 0, "\(deleted.stderr)")

        let pod = try await server.kubectlAsync(
            ["apply", "-f", "-"],
            stdin: Self.podYAML("with-net", networks: "net-a")
        )
        #expect(pod.status == 0, "\(pod.stderr)")
        let requests = try await server.kubectlAsync([
            "get", "pod", "with-net", "-n", Self.apps, "-o", "jsonpath={.spec.containers[0].resources.requests}",
        ])
        #expect(requests.stdout.contains("\"openshift.io/intel_netdev\":\"1\""), "\(requests.stdout)")
        let volumes = try await server.kubectlAsync([
            "get", "pod", "with-net", "-n", Self.apps, "-o", "jsonpath={.spec.volumes[*].name}",
        ])
        #expect(volumes.stdout.contains("podnetinfo"))

        let ghost = try await server.kubectlAsync(
            ["apply", "-f", "-"],
            stdin: Self.podYAML("ghost-net", networks: "net-a,ghost")
        )
        #expect(ghost.status != 0)
        #expect(ghost.stderr.contains("could not find network attachment definition 'apps/ghost'"), "\(ghost.stderr)")
    }

    /// `configuration` with every webhook's `timeoutSeconds` at the API's maximum (30): the webhook under test
    /// shares a 2-core machine with the whole parallel suite, so the API server must wait longer than the
    /// production default of 10 s before it gives up on a call.
    static func withMaximumTimeout(_ configuration: JSONValue) -> JSONValue {
        guard case .object(var root) = configuration, let hooks = root["webhooks"]?.arrayValue else {
            return configuration
        }
        root["webhooks"] = .array(
            hooks.map { hook in
                guard case .object(var object) = hook else { return hook }
                object["timeoutSeconds"] = .int(30)
                return .object(object)
            }
        )
        return .object(root)
    }
}
