import Foundation
import KubeClient
import KubeCore
import KubeRuntime
import Logging
import SriovAPI
import SriovRender
import SriovTestKit
import SriovWebhook
import Testing

@testable import SriovOperator

/// RBAC is only enforced by the real kube-apiserver (which runs with `--authorization-mode=RBAC`): the operator
/// as its own ServiceAccount, with the rights `sriov manifests operator` grants it, and the webhook server as
/// the ServiceAccount the operator makes for it.
@Suite(
    "webhook deployment under RBAC",
    .enabled(if: RealAPIServer.isAvailable, "needs the real kube-apiserver (RBAC)"),
    .serialized
)
struct WebhookRBACTests {
    static let namespace = WebhookObjects.namespace

    /// POSTs `object` to the collection its kind and name belong to.
    static func create(_ client: KubeClient, _ object: JSONValue) async throws {
        let kind = object["kind"]?.stringValue ?? ""
        let collections: [String: String] = [
            "Namespace": "/api/v1/namespaces",
            "ServiceAccount": "/api/v1/namespaces/\(Self.namespace)/serviceaccounts",
            "ClusterRole": "/apis/rbac.authorization.k8s.io/v1/clusterroles",
            "ClusterRoleBinding": "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings",
            "Role": "/apis/rbac.authorization.k8s.io/v1/namespaces/\(Self.namespace)/roles",
            "RoleBinding": "/apis/rbac.authorization.k8s.io/v1/namespaces/\(Self.namespace)/rolebindings",
        ]
        let path = try #require(collections[kind], "no collection for \(kind)")
        _ = try await client.perform(
            KubeRequest(
                method: "POST",
                path: path,
                body: Array(GoJSON.encode(object).utf8),
                contentType: "application/json",
                verb: "create",
                resource: path
            )
        )
    }

    /// A client that authenticates as ServiceAccount `name` of the operator namespace (a TokenRequest token).
    static func client(as name: String, server: RealAPIServer, admin: KubeClient) async throws -> KubeClient {
        let path = "/api/v1/namespaces/\(Self.namespace)/serviceaccounts/\(name)/token"
        let request: JSONValue = [
            "apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": ["expirationSeconds": 3600],
        ]
        let answer = try JSONParser.parse(
            try await admin.perform(
                KubeRequest(
                    method: "POST",
                    path: path,
                    body: Array(GoJSON.encode(request).utf8),
                    contentType: "application/json",
                    verb: "create",
                    resource: "serviceaccounts/token"
                )
            )
        )
        let token = try #require(answer["status"]?["token"]?.stringValue)
        return try KubeClient(config: KubeConfig(server: server.url, caPEM: Array(server.caPEM.utf8), token: token))
    }

    @Test(
        "the operator as its own ServiceAccount deploys both webhooks; the webhook's ServiceAccount can watch its caches and patch the CA"
    )
    func leastPrivilege() async throws {
        let server = try RealAPIServer.start()
        defer { server.stop() }
        let admin = try KubeClient(config: try KubeConfig.load(path: server.kubeconfigPath))
        let seeder = ClusterSeeder(client: admin)
        try await seeder.installCRDs(CustomResourceDefinitions.all + [ClusterSeeder.networkAttachmentDefinitionCRD])
        let install = OperatorManifests.operatorDeployment(
            namespace: Self.namespace,
            resourcePrefix: OperatorManifests.defaultResourcePrefix,
            image: ImageSettings()
        )
        for object in install where object["kind"] != "Deployment" { try await Self.create(admin, object) }
        var snapshot = ClusterSnapshot()
        snapshot.nodes = [.worker("worker-0")]
        snapshot.nodeStates = [.fixture("worker-0", interfaces: [.n0A], namespace: Self.namespace)]
        snapshot.operatorConfigs = [
            SriovOperatorConfig(
                metadata: ObjectMeta(name: "default", namespace: Self.namespace),
                spec: .init(enableInjector: true, enableOperatorWebhook: true, logLevel: 2)
            )
        ]
        try await seeder.seed(snapshot)

        let operatorClient = try await Self.client(as: OperatorManifests.operatorName, server: server, admin: admin)
        let op = SriovOperator(
            client: operatorClient,
            settings: OperatorSettings(resyncPeriod: .seconds(1), policyDebounce: .milliseconds(50)),
            logger: Logger(label: "rbac-test")
        )
        let running = Task { await op.run() }
        do {
            let objects = WebhookObjects(client: admin)
            try await eventually("webhook Deployment, Service and RBAC created by the operator") {
                for path in WebhookObjects.workload where try await !objects.exists(path) { return false }
                return true
            }
            try await objects.markDeploymentAvailable()
            try await eventually("the three configurations registered by the operator") {
                for path in [WebhookObjects.validating, WebhookObjects.mutating, WebhookObjects.injector]
                where try await !objects.exists(path) {
                    return false
                }
                return true
            }
            let configs = admin.api(SriovOperatorConfig.self, namespace: Self.namespace)
            try await eventually("the operator config is Ready") {
                try await configs.get("default").status?.conditions.first { $0.type == "Ready" }?.status == "True"
            }

            // The webhook server as its ServiceAccount: every cache lists and watches, the CA patch is allowed.
            let webhookClient = try await Self.client(as: WebhookManifests.name, server: server, admin: admin)
            let caches = WebhookCaches(
                client: webhookClient,
                operatorNamespace: Self.namespace,
                logger: Logger(label: "rbac-test")
            )
            try await withThrowingTaskGroup(of: Void.self) { tasks in
                tasks.addTask { try await caches.run() }
                defer { tasks.cancelAll() }
                try await eventually("webhook caches synced as the webhook ServiceAccount") { caches.hasSynced }
            }
            let pair = try SelfSignedCertificate.generate(dnsNames: ["localhost"], ipAddresses: [])
            let patcher = CABundlePatcher(client: webhookClient, caPEM: pair.caPEM, logger: Logger(label: "rbac-test"))
            for target in CABundlePatcher.targets {
                #expect(try await patcher.patch(plural: target.plural, name: target.name), "\(target.name)")
            }
            try? await webhookClient.shutdown()
        } catch {
            running.cancel()
            await running.value
            try? await operatorClient.shutdown()
            try? await admin.shutdown()
            throw error
        }
        running.cancel()
        await running.value
        try? await operatorClient.shutdown()
        try? await admin.shutdown()
    }
}
