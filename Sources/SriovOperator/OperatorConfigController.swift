public import KubeClient
public import KubeCore
public import KubeRuntime
public import Logging
import SriovAPI
public import SriovRender

/// `apps/v1` DaemonSet, modelled only as far as the operator writes it; the rest is kept verbatim.
public struct DaemonSet: Resource, LenientDecodable {
    public static let group = "apps"
    public static let version = "v1"
    public static let kind = "DaemonSet"
    public static let plural = "daemonsets"
    public static let scope = ResourceScope.namespaced

    public var apiVersion: String = DaemonSet.apiVersion
    public var kind: String = DaemonSet.kind
    public var metadata: ObjectMeta
    public var spec: JSONValue?
    public var status: JSONValue?

    public init(metadata: ObjectMeta, spec: JSONValue?) {
        self.metadata = metadata
        self.spec = spec
    }
}

/// SriovOperatorConfig `default` → the config-daemon and device-plugin DaemonSets.
///
/// The API server fills defaults into a DaemonSet's spec, so the stored object never equals the rendered
/// one; the controller stamps a hash of what it rendered in an annotation and updates only when that hash
/// changes, so an idle resync writes nothing.
public struct OperatorConfigController: Sendable {
    public static let hashAnnotation = "sriovnetwork.openshift.io/rendered-hash"

    let client: KubeClient
    let caches: OperatorCaches
    let settings: OperatorSettings
    let writes: WriteCounter
    let image: ImageSettings

    public init(
        client: KubeClient,
        caches: OperatorCaches,
        settings: OperatorSettings,
        writes: WriteCounter,
        image: ImageSettings? = nil
    ) {
        self.client = client
        self.caches = caches
        self.settings = settings
        self.writes = writes
        self.image = image ?? settings.image
    }

    public func reconcile(logger: Logger) async throws -> ReconcileAction {
        let ns = self.settings.namespace
        guard let config = self.caches.operatorConfigs.get(namespace: ns, name: SriovOperatorConfig.defaultName) else {
            return .requeueAfter(.seconds(5))
        }
        let options = RenderOptions(namespace: ns, resourcePrefix: self.settings.resourcePrefix, operatorConfig: config)
        let owner = OwnerReference(
            apiVersion: SriovOperatorConfig.apiVersion,
            kind: SriovOperatorConfig.kind,
            name: config.metadata.name,
            uid: config.metadata.uid,
            controller: true,
            blockOwnerDeletion: true
        )
        for rendered in [
            DaemonSetRenderer.configDaemon(options: options, image: self.image),
            DaemonSetRenderer.devicePlugin(options: options, image: self.image),
        ] {
            try await self.sync(rendered, owner: owner, logger: logger)
        }
        // The webhook server's objects (issue 13), kept in WebhookDeployer.swift.
        try await WebhookDeployer(client: self.client, namespace: ns, image: self.image)
            .sync(config: config, owner: owner, logger: logger)
        return .requeueAfter(self.settings.resyncPeriod)
    }

    func sync(_ rendered: JSONValue, owner: OwnerReference, logger: Logger) async throws {
        var desired = try ValueDecoder(rejectsUnknownFields: false).decode(DaemonSet.self, from: rendered)
        desired.metadata.namespace = self.settings.namespace
        desired.metadata.ownerReferences = [owner]
        let hash = Self.hash(GoJSON.encode(rendered))
        desired.metadata.annotations[Self.hashAnnotation] = hash
        let api = self.client.api(DaemonSet.self, namespace: self.settings.namespace)
        guard var current = try await api.getIfPresent(desired.metadata.name) else {
            _ = try await api.create(desired)
            self.writes.record("create", "DaemonSet")
            logger.info("daemonset created", metadata: ["k8s.name": "\(desired.metadata.name)"])
            return
        }
        guard current.metadata.annotations[Self.hashAnnotation] != hash else { return }
        current.spec = desired.spec
        current.metadata.labels = desired.metadata.labels
        current.metadata.annotations.merge(desired.metadata.annotations) { _, new in new }
        current.metadata.ownerReferences = desired.metadata.ownerReferences
        _ = try await api.update(current)
        self.writes.record("update", "DaemonSet")
        logger.info("daemonset updated", metadata: ["k8s.name": "\(desired.metadata.name)"])
    }

    /// FNV-1a 64 of the rendered JSON, hex.
    static func hash(_ text: String) -> String {
        var value: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in text.utf8 {
            value ^= UInt64(byte)
            value = value &* 0x100_0000_01b3
        }
        return String(value, radix: 16)
    }
}
