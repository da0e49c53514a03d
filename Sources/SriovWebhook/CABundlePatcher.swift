import Foundation
public import KubeClient
import KubeCore
public import Logging
public import ServiceLifecycle
import SriovRender

/// Keeps the self-signed CA in the `caBundle` of every webhook of the operator's and the injector's
/// configurations (`sriov webhook --self-signed`): at start, then every `interval`, so configurations
/// created or re-rendered later are fixed too. A configuration that does not exist is skipped; one whose
/// bundle is already right is not written.
public struct CABundlePatcher: Service {
    public let client: KubeClient
    public let caPEM: String
    public let interval: Duration
    public let logger: Logger

    public static let targets: [(plural: String, name: String)] = [
        ("validatingwebhookconfigurations", WebhookManifests.operatorConfigurationName),
        ("mutatingwebhookconfigurations", WebhookManifests.operatorConfigurationName),
        ("mutatingwebhookconfigurations", WebhookManifests.injectorConfigurationName),
    ]

    public init(client: KubeClient, caPEM: String, interval: Duration = .seconds(30), logger: Logger) {
        self.client = client
        self.caPEM = caPEM
        self.interval = interval
        self.logger = logger
    }

    public func run() async throws {
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            for target in Self.targets {
                do {
                    if try await self.patch(plural: target.plural, name: target.name) {
                        self.logger.info(
                            "ca bundle patched",
                            metadata: ["k8s.kind": "\(target.plural)", "k8s.name": "\(target.name)"]
                        )
                    }
                } catch {
                    self.logger.warning(
                        "ca bundle not patched, will retry",
                        metadata: ["k8s.kind": "\(target.plural)", "k8s.name": "\(target.name)", "error": "\(error)"]
                    )
                }
            }
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: self.interval) }
        }
    }

    /// Sets the bundle in one configuration; returns whether it wrote.
    public func patch(plural: String, name: String) async throws -> Bool {
        let path = "/apis/admissionregistration.k8s.io/v1/\(plural)/\(name)"
        let body: [UInt8]
        do {
            body = try await self.client.perform(
                KubeRequest(method: "GET", path: path, verb: "get", resource: "\(plural) \(name)")
            )
        } catch let error as KubeError where error.isNotFound {
            return false
        }
        guard case .object(var object) = try JSONParser.parse(body) else { return false }
        let bundle = JSONValue.string(Data(self.caPEM.utf8).base64EncodedString())
        var webhooks = object["webhooks"]?.arrayValue ?? []
        var changed = false
        for index in webhooks.indices {
            guard case .object(var hook) = webhooks[index] else { continue }
            var config = hook["clientConfig"]?.objectValue ?? JSONObject()
            guard config["caBundle"] != bundle else { continue }
            config["caBundle"] = bundle
            hook["clientConfig"] = .object(config)
            webhooks[index] = .object(hook)
            changed = true
        }
        guard changed else { return false }
        object["webhooks"] = .array(webhooks)
        _ = try await self.client.perform(
            KubeRequest(
                method: "PUT",
                path: path,
                body: Array(GoJSON.encode(.object(object)).utf8),
                contentType: "application/json",
                verb: "update",
                resource: "\(plural) \(name)"
            )
        )
        return true
    }
}
