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

/// SriovOperatorConfig `default` → the config-daemon and device-plugin DaemonSets, the operator's log level,
/// and the config's `status` (Ready condition, `injector`, `operatorWebhook`).
///
/// The API server fills defaults into a DaemonSet's spec, so the stored object never equals the rendered
/// one. The controller stamps a hash of what it rendered in an annotation, and also checks that every field
/// it rendered is still there with its value (defaults the server added are ignored): a manual edit of the
/// image, a command, a volume or the node selector is reverted on the next pass (the DaemonSets are
/// watched), while an idle resync writes nothing.
///
/// Honoured: `logLevel` (0 info, 1 debug, 2 trace), `disableDrain` (drain controller),
/// `configDaemonNodeSelector`, `configurationMode`, `disablePlugins`, `useCDI`, `configDaemonEnvVars`, the
/// known `featureGates` (render), and `enableInjector` / `enableOperatorWebhook` (the webhook server's
/// objects, `WebhookDeployer`; `status.injector`/`status.operatorWebhook` say `Enabled` or `Disabled`).
/// Rejected, reported as Ready=False reason `UnsupportedConfiguration`: unknown feature gates and a `logLevel`
/// outside 0–2. Everything honoured still applies.
public struct OperatorConfigController: Sendable {
    public static let hashAnnotation = "sriovnetwork.openshift.io/rendered-hash"

    let client: KubeClient
    let caches: OperatorCaches
    let settings: OperatorSettings
    let writes: WriteCounter
    let image: ImageSettings
    let logLevel: LogLevel?
    let baseLogLevel: Logger.Level

    public init(
        client: KubeClient,
        caches: OperatorCaches,
        settings: OperatorSettings,
        writes: WriteCounter,
        image: ImageSettings? = nil,
        logLevel: LogLevel? = nil
    ) {
        self.client = client
        self.caches = caches
        self.settings = settings
        self.writes = writes
        self.image = image ?? settings.image
        self.logLevel = logLevel
        self.baseLogLevel = logLevel?.current ?? .info
    }

    public func reconcile(logger: Logger) async throws -> ReconcileAction {
        let ns = self.settings.namespace
        guard let config = self.caches.operatorConfigs.get(namespace: ns, name: SriovOperatorConfig.defaultName) else {
            return .requeueAfter(.seconds(5))
        }
        var problems: [String] = []
        if let level = LogLevel.fromOperatorConfig(config.spec.logLevel) {
            self.logLevel?.set(level)
        } else {
            problems.append("logLevel \(config.spec.logLevel) is not 0, 1 or 2")
        }
        let known = Set(FeatureGate.allCases.map(\.rawValue))
        let unknown = config.spec.featureGates.keys.filter { !known.contains($0) }.sorted()
        if !unknown.isEmpty { problems.append("unknown featureGates \(unknown.joined(separator: ", "))") }

        let options = RenderOptions(namespace: ns, resourcePrefix: self.settings.resourcePrefix, operatorConfig: config)
        let owner = OwnerReference(
            apiVersion: SriovOperatorConfig.apiVersion,
            kind: SriovOperatorConfig.kind,
            name: config.metadata.name,
            uid: config.metadata.uid,
            controller: true,
            blockOwnerDeletion: true
        )
        var syncError: (any Error)?
        for rendered in [
            DaemonSetRenderer.configDaemon(options: options, image: self.image, components: self.settings.components),
            DaemonSetRenderer.devicePlugin(options: options, image: self.image, components: self.settings.components),
        ] {
            do {
                try await self.sync(rendered, owner: owner, logger: logger)
            } catch {
                syncError = syncError ?? error
            }
        }
        // The webhook server's objects (issue 13), kept in WebhookDeployer.swift.
        do {
            try await WebhookDeployer(client: self.client, namespace: ns, image: self.image)
                .sync(config: config, owner: owner, logger: logger)
        } catch {
            syncError = syncError ?? error
        }
        try await self.writeStatus(config, problems: problems, syncError: syncError, logger: logger)
        if let syncError { throw syncError }
        return .requeueAfter(self.settings.resyncPeriod)
    }

    /// Ready condition as upstream: OperatorConfigReady, OperatorConfigSyncFailed, UnsupportedConfiguration;
    /// written only when it changes.
    func writeStatus(
        _ config: SriovOperatorConfig,
        problems: [String],
        syncError: (any Error)?,
        logger: Logger
    ) async throws {
        let (status, reason, message): (String, String, String) =
            if let syncError {
                ("False", "OperatorConfigSyncFailed", "\(syncError)")
            } else if !problems.isEmpty {
                ("False", "UnsupportedConfiguration", problems.joined(separator: "; "))
            } else {
                ("True", "OperatorConfigReady", "the operator config is applied")
            }
        let current = config.status?.conditions.first { $0.type == "Ready" }
        let injector = config.spec.enableInjector ? "Enabled" : "Disabled"
        let webhook = config.spec.enableOperatorWebhook ? "Enabled" : "Disabled"
        if current?.status == status, current?.reason == reason, current?.message == message,
            current?.observedGeneration == config.metadata.generation, config.status?.injector == injector,
            config.status?.operatorWebhook == webhook
        {
            return
        }
        let transition =
            current?.status == status ? (current?.lastTransitionTime ?? Time.nowRFC3339()) : Time.nowRFC3339()
        let condition = Condition(
            type: "Ready",
            status: status,
            observedGeneration: config.metadata.generation,
            lastTransitionTime: transition,
            reason: reason,
            message: message
        )
        let others = (config.status?.conditions ?? []).filter { $0.type != "Ready" }
        let body: JSONValue = [
            "status": [
                "conditions": try ValueEncoder().encode(others + [condition]),
                "injector": .string(injector),
                "operatorWebhook": .string(webhook),
            ]
        ]
        let api = self.client.api(SriovOperatorConfig.self, namespace: self.settings.namespace)
        self.caches.operatorConfigs.recordWrite(
            try await api.mergePatch(config.metadata.name, body, subresource: "status")
        )
        self.writes.record("patch status", SriovOperatorConfig.kind)
        if status != "True" {
            logger.warning(
                "operator config not fully applied",
                metadata: ["reason": "\(reason)", "message": "\(message)"]
            )
        }
    }

    func sync(_ rendered: JSONValue, owner: OwnerReference, logger: Logger) async throws {
        var desired = try ValueDecoder(rejectsUnknownFields: false).decode(DaemonSet.self, from: rendered)
        desired.metadata.namespace = self.settings.namespace
        desired.metadata.ownerReferences = [owner]
        let hash = Self.hash(GoJSON.encode(rendered))
        desired.metadata.annotations[Self.hashAnnotation] = hash
        let api = self.client.api(DaemonSet.self, namespace: self.settings.namespace)
        let cached =
            self.caches.daemonSets.hasSynced
            ? self.caches.daemonSets.get(namespace: self.settings.namespace, name: desired.metadata.name)
            : try await api.getIfPresent(desired.metadata.name)
        guard var current = cached else {
            do {
                self.caches.daemonSets.recordWrite(try await api.create(desired))
                self.writes.record("create", "DaemonSet")
                logger.info("daemonset created", metadata: ["k8s.name": "\(desired.metadata.name)"])
            } catch let error as KubeError where error.isAlreadyExists {}
            return
        }
        let edited = !Self.contains(current.spec ?? .null, desired.spec ?? .null)
        guard
            current.metadata.annotations[Self.hashAnnotation] != hash || edited
                || current.metadata.ownerReferences != desired.metadata.ownerReferences
        else { return }
        current.spec = desired.spec
        current.metadata.labels = desired.metadata.labels
        current.metadata.annotations.merge(desired.metadata.annotations) { _, new in new }
        current.metadata.ownerReferences = desired.metadata.ownerReferences
        self.caches.daemonSets.recordWrite(try await api.update(current))
        self.writes.record("update", "DaemonSet")
        logger.info(
            edited ? "daemonset edited by hand, reverted" : "daemonset updated",
            metadata: ["k8s.name": "\(desired.metadata.name)"]
        )
    }

    /// Whether `live` holds every field of `desired` with the same value: objects may have extra keys (server
    /// defaults), arrays must have the same length with each element contained in the one at its index.
    static func contains(_ live: JSONValue, _ desired: JSONValue) -> Bool {
        switch (live, desired) {
        case (.object(let l), .object(let d)):
            return d.allSatisfy { key, value in l[key].map { Self.contains($0, value) } ?? Self.isEmpty(value) }
        case (.array(let l), .array(let d)):
            return l.count == d.count && zip(l, d).allSatisfy { Self.contains($0, $1) }
        case (.int(let a), .double(let b)), (.double(let b), .int(let a)):
            return Double(a) == b
        default:
            return live == desired
        }
    }

    static func isEmpty(_ value: JSONValue) -> Bool {
        switch value {
        case .null: return true
        case .object(let o): return o.isEmpty
        case .array(let a): return a.isEmpty
        default: return false
        }
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
