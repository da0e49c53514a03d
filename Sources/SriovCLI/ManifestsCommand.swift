import ArgumentParser
import Foundation
import KubeCore
import SriovRender

struct ManifestsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "manifests",
        abstract: "Print deployment manifests (for `kubectl apply -f -`).",
        discussion: """
            crds: the seven CustomResourceDefinitions of sriovnetwork.openshift.io/v1.
            operator: Namespace, ServiceAccounts, least-privilege RBAC and the operator Deployment.
            daemonsets: the config-daemon and device-plugin DaemonSets the operator deploys for the default \
            SriovOperatorConfig (images and commands from SRIOV_IMAGE and SRIOV_NETWORK_CONFIG_DAEMON_IMAGE, … as \
            the operator reads them); the operator creates these itself.
            all: CRDs, then the operator, then the default SriovOperatorConfig, then the webhook server's objects \
            that config enables (the operator would deploy the same); `sriov manifests all | kubectl apply -f -` \
            installs it (run it twice, or wait for the CRDs to be Established, before the SriovOperatorConfig is \
            accepted). The default config enables neither webhook, as upstream's chart; \
            ADMISSION_CONTROLLERS_ENABLED=true (upstream's variable) enables both, and the webhook's RBAC, \
            Deployment, Service and configurations follow it.
            webhook: the webhook configurations only (--url, --ca-file for a server outside the cluster).
            """
    )

    enum Set: String, ExpressibleByArgument, CaseIterable {
        case crds
        case `operator`
        case daemonsets
        case all
        case webhook
    }

    @OptionGroup var webhookOptions: WebhookManifestOptions

    @OptionGroup var operatorOptions: OperatorOptions

    @Option(help: "Image of the sriov binary (env SRIOV_IMAGE).") var image: String?

    @Argument(help: "Which manifests: \(Set.allCases.map(\.rawValue).joined(separator: ", ")).")
    var set: Set = .crds

    @Option(name: .shortAndLong, help: "Output format: yaml or json.")
    var output: OutputFormat = .yaml

    func run() throws {
        var settings = (try? ImageSettings(environment: ProcessInfo.processInfo.environment)) ?? ImageSettings()
        if let image = self.image { settings.image = image }
        let namespace = self.operatorOptions.resolvedNamespace
        let prefix = self.operatorOptions.resolvedResourcePrefix
        let objects: [JSONValue]
        switch self.set {
        case .crds: objects = CustomResourceDefinitions.all
        case .operator:
            objects = OperatorManifests.operatorDeployment(
                namespace: namespace,
                resourcePrefix: prefix,
                image: settings
            )
        case .daemonsets:
            let environment = ProcessInfo.processInfo.environment
            let components = ComponentImages(environment: environment)
            let options = RenderOptions(namespace: namespace, resourcePrefix: prefix)
            objects = [
                DaemonSetRenderer.configDaemon(options: options, image: settings, components: components),
                DaemonSetRenderer.devicePlugin(options: options, image: settings, components: components),
            ]
        case .all:
            // Upstream: ADMISSION_CONTROLLERS_ENABLED == "true" enables both parts in the default config.
            let admission = ProcessInfo.processInfo.environment["ADMISSION_CONTROLLERS_ENABLED"]?.lowercased() == "true"
            objects = OperatorManifests.all(
                namespace: namespace,
                resourcePrefix: prefix,
                image: settings,
                admissionControllers: admission
            )
        case .webhook: objects = try self.webhookOptions.configurations(namespace: namespace)
        }
        switch self.output {
        case .json:
            let list: JSONValue = .object(["apiVersion": "v1", "kind": "List", "items": .array(objects)])
            StandardOutput.write(try GoJSON.indent(GoJSON.encode(list), indent: "    ") + "\n")
        case .yaml, .text:
            StandardOutput.write(objects.map { "---\n" + YAMLWriter.string($0) }.joined())
        }
    }
}
