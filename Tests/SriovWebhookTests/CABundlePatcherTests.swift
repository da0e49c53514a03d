import Foundation
import KubeClient
import KubeCore
import Logging
import SriovRender
import SriovTestKit
import SriovWebhook
import Testing

/// `sriov webhook --self-signed` keeps its CA in every webhook of the three configurations, in the API server.
@Suite("the CA bundle patcher", .serialized)
struct CABundlePatcherTests {
    static let admission = "/apis/admissionregistration.k8s.io/v1"

    static func path(_ target: (plural: String, name: String)) -> String {
        "\(Self.admission)/\(target.plural)/\(target.name)"
    }

    static func get(_ client: KubeClient, _ path: String) async throws -> JSONValue {
        try JSONParser.parse(
            try await client.perform(KubeRequest(method: "GET", path: path, verb: "get", resource: path))
        )
    }

    static func send(
        _ client: KubeClient,
        _ method: String,
        _ path: String,
        _ body: JSONValue,
        type: String
    ) async throws {
        _ = try await client.perform(
            KubeRequest(
                method: method,
                path: path,
                body: Array(GoJSON.encode(body).utf8),
                contentType: type,
                verb: method.lowercased(),
                resource: path
            )
        )
    }

    /// Every webhook's `clientConfig.caBundle` in the stored configuration at `path`.
    static func bundles(_ client: KubeClient, _ path: String) async throws -> [JSONValue?] {
        (try await Self.get(client, path)["webhooks"]?.arrayValue ?? []).map { $0["clientConfig"]?["caBundle"] }
    }

    /// The three configurations as `sriov manifests webhook` prints them (no CA), with a second webhook added
    /// to the validating one, so "every webhook" means more than the first.
    static func createConfigurations(_ client: KubeClient) async throws {
        for var configuration in WebhookManifests.configurations(WebhookManifests.Options(namespace: "sriov")) {
            let kind = configuration["kind"]?.stringValue ?? ""
            if kind == "ValidatingWebhookConfiguration", case .object(var root) = configuration,
                var hooks = root["webhooks"]?.arrayValue, case .object(var second) = hooks[0]
            {
                second["name"] = "second.sriovnetwork.openshift.io"
                hooks.append(.object(second))
                root["webhooks"] = .array(hooks)
                configuration = .object(root)
            }
            let plural = kind.lowercased() + "s"
            try await Self.send(client, "POST", "\(Self.admission)/\(plural)", configuration, type: "application/json")
        }
    }

    @Test(
        "writes the CA into every webhook's clientConfig.caBundle, and again after someone blanks it",
        arguments: Backend.available
    )
    func patchesAndRepatches(_ backend: Backend) async throws {
        try await withAPIServer(backend) { client in
            try await Self.createConfigurations(client)
            let pair = try SelfSignedCertificate.generate(dnsNames: ["localhost"], ipAddresses: ["127.0.0.1"])
            let expected = JSONValue.string(Data(pair.caPEM.utf8).base64EncodedString())
            let patcher = CABundlePatcher(
                client: client,
                caPEM: pair.caPEM,
                interval: .milliseconds(200),
                logger: Logger(label: "ca-bundle-test")
            )
            try await withThrowingTaskGroup(of: Void.self) { tasks in
                tasks.addTask { try await patcher.run() }
                defer { tasks.cancelAll() }
                let paths = CABundlePatcher.targets.map(Self.path)
                try await eventually("every webhook carries the CA", poll: .milliseconds(50)) {
                    for path in paths where try await Self.bundles(client, path).contains(where: { $0 != expected }) {
                        return false
                    }
                    return true
                }
                #expect(try await Self.bundles(client, paths[0]).count == 2)

                // Blanked by hand (or by an apply of manifests without a CA): patched again.
                try await Self.send(
                    client,
                    "PATCH",
                    paths[0],
                    [
                        ["op": "replace", "path": "/webhooks/1/clientConfig/caBundle", "value": ""]
                    ],
                    type: "application/json-patch+json"
                )
                try await Self.send(
                    client,
                    "PATCH",
                    paths[2],
                    [["op": "remove", "path": "/webhooks/0/clientConfig/caBundle"]],
                    type: "application/json-patch+json"
                )
                try await eventually("the blanked bundles are patched again", poll: .milliseconds(50)) {
                    let validating = try await Self.bundles(client, paths[0])
                    let injector = try await Self.bundles(client, paths[2])
                    return validating == [expected, expected] && injector == [expected]
                }

                // A bundle that is right is not rewritten.
                let version = try await Self.get(client, paths[1])["metadata"]?["resourceVersion"]
                #expect(
                    try await patcher.patch(
                        plural: CABundlePatcher.targets[1].plural,
                        name: CABundlePatcher.targets[1].name
                    ) == false
                )
                try await Task.sleep(for: .milliseconds(500))
                #expect(try await Self.get(client, paths[1])["metadata"]?["resourceVersion"] == version)
            }
        }
    }

    @Test("a configuration that does not exist yet is patched once it is created")
    func laterConfiguration() async throws {
        try await withAPIServer(.fake) { client in
            let pair = try SelfSignedCertificate.generate(dnsNames: ["localhost"], ipAddresses: [])
            let expected = JSONValue.string(Data(pair.caPEM.utf8).base64EncodedString())
            let patcher = CABundlePatcher(
                client: client,
                caPEM: pair.caPEM,
                interval: .milliseconds(100),
                logger: Logger(label: "ca-bundle-test")
            )
            try await withThrowingTaskGroup(of: Void.self) { tasks in
                tasks.addTask { try await patcher.run() }
                defer { tasks.cancelAll() }
                try await Task.sleep(for: .milliseconds(300))
                try await Self.createConfigurations(client)
                try await eventually("patched after creation", poll: .milliseconds(50)) {
                    try await Self.bundles(client, Self.path(CABundlePatcher.targets[2])) == [expected]
                }
            }
        }
    }
}
