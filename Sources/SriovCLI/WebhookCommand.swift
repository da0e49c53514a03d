import ArgumentParser
import Foundation
import KubeClient
import KubeCore
import Logging
import ServiceLifecycle
import SriovRender
import SriovWebhook
import UnixSignals

struct WebhookCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "webhook",
        abstract: "Serve the operator's admission webhooks and the network-resources injector over HTTPS.",
        discussion: """
            Paths: /validating-custom-resource and /mutating-custom-resource (SR-IOV kinds), /mutate (Pods). \
            Admission reads Nodes, NodeStates, policies, NADs and ConfigMaps from watch caches. The certificate \
            comes from --cert-dir (tls.crt, tls.key; re-read when they change) or --self-signed (a CA and a \
            serving certificate for the operator-webhook-service names, 127.0.0.1 and localhost, generated at \
            start, with the CA patched into the webhook configurations). /healthz and /readyz on --health-port.
            """
    )

    @Option(help: "Path to a kubeconfig file.") var kubeconfig: String?

    @Option(help: "Operator namespace (env NAMESPACE; default sriov-network-operator).") var namespace: String?

    @Option(help: "HTTPS port of the webhooks.") var port: Int = 9443

    @Option(name: .customLong("cert-dir"), help: "Directory holding tls.crt and tls.key.") var certDir: String?

    @Flag(name: .customLong("self-signed"), help: "Generate a CA and a serving certificate at start.")
    var selfSigned = false

    @Option(name: .customLong("health-port"), help: "Plain-HTTP port of /healthz and /readyz.")
    var healthPort: Int = 9444

    func validate() throws {
        if self.selfSigned == (self.certDir != nil) {
            throw ValidationError("give exactly one of --cert-dir DIR and --self-signed")
        }
        for (flag, value) in [("--port", self.port), ("--health-port", self.healthPort)] where !(1...65535 ~= value) {
            throw ValidationError("\(flag) \(value) is not a TCP port (1-65535)")
        }
    }

    func run() async throws {
        LogSetup.bootstrap(defaultLevel: .info)
        let logger = Logger(label: "sriov.webhook")
        let namespace =
            self.namespace ?? Environment.get("NAMESPACE").flatMap { $0.isEmpty ? nil : $0 }
            ?? OperatorManifests.defaultNamespace
        let client: KubeClient
        let certificate: ServingCertificate
        var caPEM: String?
        do {
            client = try KubeClient(config: try KubeConfig.resolve(explicitPath: self.kubeconfig))
            if let certDir = self.certDir {
                certificate = try ServingCertificate(directory: certDir)
            } else {
                let service = WebhookManifests.serviceName
                let generated = try SelfSignedCertificate.generate(dnsNames: [
                    "\(service).\(namespace).svc", "\(service).\(namespace).svc.cluster.local",
                    "\(service).\(namespace)", service, "localhost",
                ])
                certificate = try ServingCertificate(certificatePEM: generated.certificatePEM, keyPEM: generated.keyPEM)
                caPEM = generated.caPEM
            }
        } catch {
            StandardError.write("error: \(error)")
            throw ExitCode(1)
        }
        let settings = WebhookSettings(
            operatorNamespace: namespace,
            devMode: Environment.get("DEV_MODE") == "TRUE"
        )
        let caches = WebhookCaches(client: client, operatorNamespace: namespace, logger: logger)
        let handler = WebhookHandler(settings: settings, cluster: caches, logger: logger)
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = [
            .init(service: caches),
            .init(service: WebhookServer(handler: handler, certificate: certificate, port: self.port)),
            .init(service: WebhookHealthServer(port: self.healthPort, logger: logger) { caches.hasSynced }),
            .init(service: CertificateReloader(certificate: certificate, logger: logger)),
        ]
        if let caPEM {
            services.append(.init(service: CABundlePatcher(client: client, caPEM: caPEM, logger: logger)))
        }
        logger.notice(
            "webhook starting",
            metadata: ["k8s.namespace": "\(namespace)", "port": "\(self.port)", "self-signed": "\(self.selfSigned)"]
        )
        let group = ServiceGroup(
            configuration: .init(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        )
        try await group.run()
        try await client.shutdown()
    }
}

/// `sriov manifests webhook [--url URL --ca-file FILE]`: the Validating and Mutating WebhookConfigurations.
struct WebhookManifestOptions: ParsableArguments {
    @Option(
        name: .customLong("url"),
        help: "Webhook base URL for clientConfig.url (a server outside the cluster); default: the Service."
    )
    var url: String?

    @Option(name: .customLong("ca-file"), help: "PEM CA of the serving certificate, for clientConfig.caBundle.")
    var caFile: String?

    func configurations(namespace: String) throws -> [JSONValue] {
        var caPEM: String?
        if let caFile = self.caFile {
            guard let data = FileManager.default.contents(atPath: caFile) else {
                throw ValidationError("--ca-file \(caFile): cannot read the file")
            }
            caPEM = String(decoding: data, as: UTF8.self)
        }
        if let url = self.url, !url.hasPrefix("https://") {
            throw ValidationError("--url \(url): the API server calls webhooks over https only")
        }
        return WebhookManifests.configurations(
            WebhookManifests.Options(namespace: namespace, url: self.url, caBundlePEM: caPEM)
        )
    }
}
