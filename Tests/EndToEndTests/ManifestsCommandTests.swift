import Foundation
import KubeCore
import Testing

@Suite("sriov manifests all and the webhook objects, end to end")
struct ManifestsCommandTests {
    static func kindsAndNames(_ text: String) throws -> [String] {
        try ManifestReader.parse(text, file: "all.yaml").map { "\($0.kind)/\($0.name)" }
    }

    @Test("the default config enables no webhook, so `manifests all` ends with it and holds no webhook object")
    func defaultHasNoWebhook() throws {
        let result = try SriovBinary.run(["manifests", "all"], environment: ["ADMISSION_CONTROLLERS_ENABLED": ""])
        #expect(result.status == 0, "\(result.stderr)")
        let objects = try Self.kindsAndNames(result.stdout)
        #expect(objects.last == "SriovOperatorConfig/default")
        #expect(!objects.contains { $0.hasPrefix("Service/") || $0.contains("WebhookConfiguration/") })
        let config = try #require(try ManifestReader.parse(result.stdout, file: "all.yaml").last)
        #expect(config.value["spec"]?["enableOperatorWebhook"] == false)
        #expect(config.value["spec"]?["enableInjector"] == false)
    }

    @Test(
        "ADMISSION_CONTROLLERS_ENABLED=true: the config enables both, followed by the webhook's RBAC, Deployment, Service and configurations",
        arguments: ["yaml", "json"]
    )
    func admissionControllers(_ format: String) throws {
        let result = try SriovBinary.run(
            ["manifests", "all", "-o", format, "--namespace", "sriov-e2e", "--image", "registry.example/sriov:e2e"],
            environment: ["ADMISSION_CONTROLLERS_ENABLED": "true"]
        )
        #expect(result.status == 0, "\(result.stderr)")
        let documents = try ManifestReader.parse(result.stdout, file: "all.\(format)")
        let objects = documents.map { "\($0.kind)/\($0.name)" }
        let config = try #require(objects.firstIndex(of: "SriovOperatorConfig/default"))
        #expect(documents[config].value["spec"]?["enableOperatorWebhook"] == true)
        #expect(documents[config].value["spec"]?["enableInjector"] == true)
        #expect(
            Array(objects[(config + 1)...]) == [
                "ServiceAccount/operator-webhook", "ClusterRole/operator-webhook",
                "ClusterRoleBinding/operator-webhook", "Role/operator-webhook", "RoleBinding/operator-webhook",
                "Deployment/operator-webhook", "Service/operator-webhook-service",
                "ValidatingWebhookConfiguration/sriov-operator-webhook-config",
                "MutatingWebhookConfiguration/sriov-operator-webhook-config",
                "MutatingWebhookConfiguration/network-resources-injector-config",
            ]
        )
        let deployment = try #require(documents.first { $0.kind == "Deployment" && $0.name == "operator-webhook" })
        #expect(deployment.value["metadata"]?["namespace"] == "sriov-e2e")
        let container = deployment.value["spec"]?["template"]?["spec"]?["containers"]?.arrayValue?.first
        #expect(container?["image"] == "registry.example/sriov:e2e")
        let validating = try #require(documents.first { $0.kind == "ValidatingWebhookConfiguration" })
        let service = validating.value["webhooks"]?.arrayValue?.first?["clientConfig"]?["service"]
        #expect(service?["name"] == "operator-webhook-service")
        #expect(service?["namespace"] == "sriov-e2e")
        // The configurations are the same as `sriov manifests webhook` prints for the same namespace.
        let webhook = try SriovBinary.run(["manifests", "webhook", "-o", format, "--namespace", "sriov-e2e"])
        let printed = try ManifestReader.parse(webhook.stdout, file: "webhook.\(format)").map(\.value)
        #expect(Array(documents.suffix(3).map(\.value)) == printed)
    }
}
