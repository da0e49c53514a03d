import Foundation
import KubeClient
import KubeCore
import Logging
import SriovAPI
import SriovRender
import SriovTestKit
import Testing

@testable import SriovOperator

/// The webhook server's objects in the API server, as the operator keeps them from the SriovOperatorConfig.
struct WebhookObjects {
    static let namespace = "sriov-network-operator"
    static let admission = "/apis/admissionregistration.k8s.io/v1"
    static let deployment = "/apis/apps/v1/namespaces/\(namespace)/deployments/\(WebhookManifests.name)"
    static let service = "/api/v1/namespaces/\(namespace)/services/\(WebhookManifests.serviceName)"
    static let serviceAccount = "/api/v1/namespaces/\(namespace)/serviceaccounts/\(WebhookManifests.name)"
    static let clusterRole = "/apis/rbac.authorization.k8s.io/v1/clusterroles/\(WebhookManifests.name)"
    static let validating =
        "\(admission)/validatingwebhookconfigurations/\(WebhookManifests.operatorConfigurationName)"
    static let mutating = "\(admission)/mutatingwebhookconfigurations/\(WebhookManifests.operatorConfigurationName)"
    static let injector = "\(admission)/mutatingwebhookconfigurations/\(WebhookManifests.injectorConfigurationName)"
    static let workload = [deployment, service, serviceAccount, clusterRole]

    let client: KubeClient

    /// The stored object at `path`, or nil when there is none.
    func get(_ path: String) async throws -> JSONValue? {
        do {
            return try JSONParser.parse(
                try await self.client.perform(KubeRequest(method: "GET", path: path, verb: "get", resource: path))
            )
        } catch let error as KubeError where error.isNotFound {
            return nil
        }
    }

    func exists(_ path: String) async throws -> Bool { try await self.get(path) != nil }

    func send(_ method: String, _ path: String, _ body: JSONValue, contentType: String) async throws {
        _ = try await self.client.perform(
            KubeRequest(
                method: method,
                path: path,
                body: Array(GoJSON.encode(body).utf8),
                contentType: contentType,
                verb: method.lowercased(),
                resource: path
            )
        )
    }

    func mergePatch(_ path: String, _ patch: JSONValue) async throws {
        try await self.send("PATCH", path, patch, contentType: "application/merge-patch+json")
    }

    func jsonPatch(_ path: String, _ operations: [JSONValue]) async throws {
        try await self.send("PATCH", path, .array(operations), contentType: "application/json-patch+json")
    }

    /// What a Deployment controller and kubelet would report once the webhook pod runs (neither runs here).
    func markDeploymentAvailable() async throws {
        try await self.mergePatch(
            Self.deployment + "/status",
            ["status": ["replicas": 1, "updatedReplicas": 1, "readyReplicas": 1, "availableReplicas": 1]]
        )
    }
}

@Suite("The operator deploys, keeps and removes the webhook server's objects", .serialized)
struct WebhookDeploymentTests {
    static let namespace = WebhookObjects.namespace

    func settings() -> OperatorSettings {
        OperatorSettings(resyncPeriod: .seconds(1), policyDebounce: .milliseconds(50))
    }

    func quietLogger() -> Logger {
        var logger = Logger(label: "test")
        logger.logLevel = .error
        return logger
    }

    /// Runs the operator for `body` over a cluster with one worker and the `default` config with `spec`.
    func withOperator(
        _ backend: Backend,
        spec: SriovOperatorConfig.Spec,
        _ body: (KubeClient, FakeAPIServer?) async throws -> Void
    ) async throws {
        let cluster = try await TestCluster.start(backend)
        var snapshot = ClusterSnapshot()
        snapshot.namespaces = [Namespace(name: Self.namespace)]
        snapshot.nodes = [.worker("worker-0")]
        snapshot.operatorConfigs = [
            SriovOperatorConfig(metadata: ObjectMeta(name: "default", namespace: Self.namespace), spec: spec)
        ]
        try await ClusterSeeder(client: cluster.client).seed(snapshot)
        let op = SriovOperator(client: cluster.client, settings: self.settings(), logger: self.quietLogger())
        let running = Task { await op.run() }
        do {
            try await body(cluster.client, cluster.fake)
        } catch {
            running.cancel()
            await cluster.stop()
            throw error
        }
        running.cancel()
        await running.value
        await cluster.stop()
    }

    func setConfig(_ client: KubeClient, _ spec: JSONValue) async throws {
        _ = try await client.api(SriovOperatorConfig.self, namespace: Self.namespace)
            .mergePatch("default", ["spec": spec])
    }

    @Test(
        "enableOperatorWebhook: the Deployment, Service and RBAC at once, the configurations once the server is available; off removes them",
        arguments: Backend.available
    )
    func enableAndDisable(_ backend: Backend) async throws {
        try await self.withOperator(backend, spec: .init(logLevel: 2)) { client, _ in
            let objects = WebhookObjects(client: client)
            // Off: nothing, and the status says so.
            let configs = client.api(SriovOperatorConfig.self, namespace: Self.namespace)
            try await eventually("status Disabled") {
                try await configs.get("default").status?.operatorWebhook == "Disabled"
            }
            for path in WebhookObjects.workload + [WebhookObjects.validating, WebhookObjects.mutating] {
                #expect(try await !objects.exists(path), "\(path) exists with the webhook off")
            }

            try await self.setConfig(client, ["enableOperatorWebhook": true])
            try await eventually("Deployment, Service and RBAC") {
                for path in WebhookObjects.workload where try await !objects.exists(path) { return false }
                return true
            }
            let deployment = try #require(try await objects.get(WebhookObjects.deployment))
            let container = deployment["spec"]?["template"]?["spec"]?["containers"]?.at(0)
            #expect(container?["args"]?.arrayValue?.contains("--self-signed") == true)
            #expect(deployment["metadata"]?["ownerReferences"]?.at(0)?["kind"] == "SriovOperatorConfig")
            let service = try #require(try await objects.get(WebhookObjects.service))
            #expect(service["spec"]?["ports"]?.at(0)?["targetPort"] == .int(WebhookManifests.port))
            // failurePolicy Fail: no configuration before a webhook server can answer.
            try await Task.sleep(for: .seconds(2))
            #expect(try await !objects.exists(WebhookObjects.validating))
            #expect(try await !objects.exists(WebhookObjects.mutating))
            try await eventually("status Enabled") {
                try await configs.get("default").status?.operatorWebhook == "Enabled"
            }

            // Turned off before the server came up: everything goes.
            try await self.setConfig(client, ["enableOperatorWebhook": false])
            try await eventually("webhook objects removed") {
                for path in WebhookObjects.workload where try await objects.exists(path) { return false }
                return true
            }

            try await self.setConfig(client, ["enableOperatorWebhook": true])
            try await eventually("Deployment again") { try await objects.exists(WebhookObjects.deployment) }
            try await objects.markDeploymentAvailable()
            try await eventually("configurations registered") {
                let validating = try await objects.exists(WebhookObjects.validating)
                let mutating = try await objects.exists(WebhookObjects.mutating)
                return validating && mutating
            }
            let validating = try #require(try await objects.get(WebhookObjects.validating))
            let hook = validating["webhooks"]?.at(0)
            #expect(hook?["failurePolicy"] == "Fail")
            #expect(hook?["clientConfig"]?["service"]?["name"] == .string(WebhookManifests.serviceName))
            #expect(hook?["clientConfig"]?["service"]?["path"] == "/validating-custom-resource")
            #expect(try await !objects.exists(WebhookObjects.injector), "the injector is not enabled")

            guard backend == .fake else { return }
            // With the configurations registered, the real API server sends the SriovOperatorConfig update to
            // the webhook itself, which does not run here (failurePolicy Fail refuses it); the fake calls no
            // webhooks.
            try await self.setConfig(client, ["enableOperatorWebhook": false])
            try await eventually("everything removed") {
                for path in WebhookObjects.workload + [WebhookObjects.validating, WebhookObjects.mutating]
                where try await objects.exists(path) {
                    return false
                }
                return true
            }
        }
    }

    @Test(
        "a hand edit of the Deployment or of a configuration is reverted; the CA bundle patched in is kept",
        arguments: Backend.available
    )
    func editsReverted(_ backend: Backend) async throws {
        try await self.withOperator(backend, spec: .init(enableOperatorWebhook: true, logLevel: 2)) { client, fake in
            let objects = WebhookObjects(client: client)
            try await eventually("Deployment") { try await objects.exists(WebhookObjects.deployment) }
            try await objects.markDeploymentAvailable()
            try await eventually("configurations") { try await objects.exists(WebhookObjects.validating) }

            try await objects.jsonPatch(
                WebhookObjects.deployment,
                [
                    ["op": "replace", "path": "/spec/template/spec/containers/0/image", "value": "evil/image:1"],
                    ["op": "replace", "path": "/spec/replicas", "value": 0],
                ]
            )
            try await eventually("Deployment edit reverted") {
                let stored = try await objects.get(WebhookObjects.deployment)
                return stored?["spec"]?["template"]?["spec"]?["containers"]?.at(0)?["image"] != "evil/image:1"
                    && stored?["spec"]?["replicas"] == 1
            }

            // What `sriov webhook --self-signed` does (CABundlePatcher), then a hand edit of the configuration.
            let bundle = JSONValue.string(Data("-----BEGIN CERTIFICATE-----\nMIIB\n".utf8).base64EncodedString())
            try await objects.jsonPatch(
                WebhookObjects.validating,
                [["op": "add", "path": "/webhooks/0/clientConfig/caBundle", "value": bundle]]
            )
            try await objects.jsonPatch(
                WebhookObjects.validating,
                [
                    ["op": "replace", "path": "/webhooks/0/failurePolicy", "value": "Ignore"],
                    ["op": "remove", "path": "/webhooks/0/rules/1"],
                ]
            )
            try await eventually("configuration edit reverted") {
                let hook = try await objects.get(WebhookObjects.validating)?["webhooks"]?.at(0)
                return hook?["failurePolicy"] == "Fail" && hook?["rules"]?.arrayValue?.count == 2
            }
            let hook = try await objects.get(WebhookObjects.validating)?["webhooks"]?.at(0)
            #expect(hook?["clientConfig"]?["caBundle"] == bundle, "the patched-in CA bundle was dropped")

            // The configuration deleted by hand comes back.
            try await objects.send("DELETE", WebhookObjects.mutating, [:], contentType: "application/json")
            try await eventually("deleted configuration recreated") {
                try await objects.exists(WebhookObjects.mutating)
            }

            // Settled: resyncs (every second here) write none of the webhook objects.
            try await Task.sleep(for: .seconds(2))
            let paths = WebhookObjects.workload + [WebhookObjects.validating, WebhookObjects.mutating]
            let versions = try await paths.asyncMap { try await objects.get($0)?["metadata"]?["resourceVersion"] }
            fake?.clearRequests()
            try await Task.sleep(for: .seconds(3))
            #expect(
                try await paths.asyncMap { try await objects.get($0)?["metadata"]?["resourceVersion"] } == versions
            )
            if let fake {
                let writes = fake.requests.filter { $0.method != "GET" && paths.contains($0.path) }
                #expect(writes.isEmpty, "idle resyncs wrote \(writes)")
            }
        }
    }

    @Test(
        "enableInjector alone: the server and the injector's configuration, none of the operator's; off removes them",
        arguments: Backend.available
    )
    func injectorAlone(_ backend: Backend) async throws {
        try await self.withOperator(backend, spec: .init(logLevel: 2)) { client, _ in
            let objects = WebhookObjects(client: client)
            try await self.setConfig(client, ["enableInjector": true])
            try await eventually("Deployment") { try await objects.exists(WebhookObjects.deployment) }
            try await objects.markDeploymentAvailable()
            try await eventually("injector configuration") { try await objects.exists(WebhookObjects.injector) }
            let injector = try #require(try await objects.get(WebhookObjects.injector))
            let hook = injector["webhooks"]?.at(0)
            #expect(hook?["clientConfig"]?["service"]?["path"] == "/mutate")
            #expect(hook?["failurePolicy"] == "Fail")
            #expect(hook?["rules"]?.at(0)?["resources"] == ["pods"])
            // The fake is 1.33; the real server here is older than 1.28 and has no matchConditions, so it gets
            // the configuration without them instead of refusing it.
            #expect((hook?["matchConditions"] != nil) == (backend == .fake))
            #expect(try await objects.exists(WebhookObjects.service))
            #expect(try await !objects.exists(WebhookObjects.validating))
            #expect(try await !objects.exists(WebhookObjects.mutating))
            try await eventually("status.injector Enabled") {
                try await client.api(SriovOperatorConfig.self, namespace: Self.namespace).get("default").status?
                    .injector == "Enabled"
            }

            try await self.setConfig(client, ["enableInjector": false])
            try await eventually("injector configuration and server removed") {
                let injector = try await objects.exists(WebhookObjects.injector)
                let deployment = try await objects.exists(WebhookObjects.deployment)
                return !injector && !deployment
            }
        }
    }

    // Fake API server only: on the real one, with the operator's validating configuration registered, the
    // SriovOperatorConfig update goes to that webhook, which does not run here (failurePolicy Fail refuses it).
    @Test("enableInjector beside enableOperatorWebhook toggles the injector's configuration alone")
    func injectorBesideOperatorWebhook() async throws {
        try await self.withOperator(.fake, spec: .init(enableOperatorWebhook: true, logLevel: 2)) { client, _ in
            let objects = WebhookObjects(client: client)
            try await eventually("Deployment") { try await objects.exists(WebhookObjects.deployment) }
            try await objects.markDeploymentAvailable()
            try await eventually("operator configurations") {
                let validating = try await objects.exists(WebhookObjects.validating)
                let mutating = try await objects.exists(WebhookObjects.mutating)
                return validating && mutating
            }
            #expect(try await !objects.exists(WebhookObjects.injector))
            let versions = try await [WebhookObjects.validating, WebhookObjects.mutating, WebhookObjects.deployment]
                .asyncMap { try await objects.get($0)?["metadata"]?["resourceVersion"] }

            try await self.setConfig(client, ["enableInjector": true])
            try await eventually("injector configuration") { try await objects.exists(WebhookObjects.injector) }
            try await self.setConfig(client, ["enableInjector": false])
            try await eventually("injector configuration removed") {
                try await !objects.exists(WebhookObjects.injector)
            }
            let after = try await [WebhookObjects.validating, WebhookObjects.mutating, WebhookObjects.deployment]
                .asyncMap { try await objects.get($0)?["metadata"]?["resourceVersion"] }
            #expect(after == versions, "the operator's configurations or the Deployment were rewritten or removed")
        }
    }
}

extension JSONValue {
    /// Element `index` of an array, or nil.
    func at(_ index: Int) -> JSONValue? {
        guard let array = self.arrayValue, array.indices.contains(index) else { return nil }
        return array[index]
    }
}

extension Array {
    func asyncMap<T>(_ transform: (Element) async throws -> T) async rethrows -> [T] {
        var out: [T] = []
        for element in self { out.append(try await transform(element)) }
        return out
    }
}
