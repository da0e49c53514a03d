public import KubeClient
public import KubeCore
public import KubeRuntime
public import Logging
import SriovAPI
import SriovRender

/// Identifies a network CR: its kind and key.
public struct NetworkKey: Hashable, Sendable, CustomStringConvertible {
    public var kind: String
    public var key: ObjectKey

    public init(kind: String, key: ObjectKey) {
        self.kind = kind
        self.key = key
    }

    public var description: String { "\(self.kind) \(self.key)" }
}

/// SriovNetwork / SriovIBNetwork / OVSNetwork → NetworkAttachmentDefinition.
///
/// In the operator namespace the CR gets a finalizer and the NAD is deleted with it; elsewhere the NAD
/// lives beside the CR with an ownerReference. A NAD owned by another CR (owner-ref annotation) is left
/// alone and reported on the CR's Ready condition; a deleted or edited NAD is regenerated (the NAD watch
/// enqueues its network); a change of `networkNamespace` deletes the NAD in the old namespace.
/// Upstream: controllers/generic_network_controller.go.
public struct NetworkController: Sendable {
    let client: KubeClient
    let caches: OperatorCaches
    let settings: OperatorSettings
    let writes: WriteCounter
    let events: EventRecorder?

    public init(
        client: KubeClient,
        caches: OperatorCaches,
        settings: OperatorSettings,
        writes: WriteCounter,
        events: EventRecorder? = nil
    ) {
        self.client = client
        self.caches = caches
        self.settings = settings
        self.writes = writes
        self.events = events
    }

    public func reconcile(_ key: NetworkKey, logger: Logger) async throws -> ReconcileAction {
        switch key.kind {
        case SriovNetwork.kind:
            if let network = self.caches.networks.get(key.key) {
                try await self.reconcile(network, store: self.caches.networks, logger: logger)
            }
        case SriovIBNetwork.kind:
            if let network = self.caches.ibNetworks.get(key.key) {
                try await self.reconcile(network, store: self.caches.ibNetworks, logger: logger)
            }
        case OVSNetwork.kind:
            if let network = self.caches.ovsNetworks.get(key.key) {
                try await self.reconcile(network, store: self.caches.ovsNetworks, logger: logger)
            }
        default:
            break
        }
        return .requeueAfter(self.settings.resyncPeriod)
    }

    func reconcile<N: NetworkResource>(_ network: N, store: Store<N>, logger: Logger) async throws {
        let api = self.client.api(N.self, namespace: network.metadata.namespace)
        let nads = self.client.api(NetworkAttachmentDefinition.self)
        let target = network.networkNamespace.isEmpty ? network.metadata.namespace : network.networkNamespace

        if network.metadata.deletionTimestamp != nil {
            guard network.metadata.finalizers.contains(NetworkRenderer.finalizer) else { return }
            let namespace = network.metadata.annotations[NetworkRenderer.lastNamespaceAnnotation] ?? target
            do {
                try await self.client.api(NetworkAttachmentDefinition.self, namespace: namespace).delete(
                    network.metadata.name
                )
                self.writes.record("delete", "NetworkAttachmentDefinition")
                logger.info("network attachment deleted", metadata: ["k8s.namespace": "\(namespace)"])
            } catch let error as KubeError where error.isNotFound {}
            let remaining = network.metadata.finalizers.filter { $0 != NetworkRenderer.finalizer }
            _ = try await api.mergePatch(
                network.metadata.name,
                ["metadata": ["finalizers": .array(remaining.map { .string($0) })]]
            )
            self.writes.record("patch", N.kind)
            return
        }

        let namespaces =
            self.caches.namespaces.hasSynced
            ? Set(self.caches.namespaces.list().map(\.metadata.name)) : nil
        var existing: [ObjectKey: NetworkAttachmentDefinition] = [:]
        for nad in self.caches.networkAttachments.list() { existing[nad.key] = nad }
        let renderer = NetworkRenderer(
            options: RenderOptions(
                namespace: self.settings.namespace,
                resourcePrefix: self.settings.resourcePrefix,
                now: Time.nowRFC3339()
            ),
            namespaces: namespaces,
            existing: existing
        )
        let result = renderer.render(network)
        let desired = try ValueDecoder(rejectsUnknownFields: false).decode(N.self, from: result.network)

        // CR metadata first (finalizer, last-network-namespace), so deletion always finds the finalizer.
        // Merge patches carry no resourceVersion: a cache that lags behind our own writes cannot conflict.
        if desired.metadata.finalizers != network.metadata.finalizers
            || desired.metadata.annotations != network.metadata.annotations
        {
            var annotations = JSONObject()
            for (key, value) in desired.metadata.annotations.sorted(by: { $0.key < $1.key })
            where network.metadata.annotations[key] != value {
                annotations[key] = .string(value)
            }
            _ = try await api.mergePatch(
                network.metadata.name,
                [
                    "metadata": [
                        "finalizers": .array(desired.metadata.finalizers.map { .string($0) }),
                        "annotations": .object(annotations),
                    ]
                ]
            )
            self.writes.record("patch", N.kind)
        }

        if let old = result.deletes {
            do {
                try await self.client.api(NetworkAttachmentDefinition.self, namespace: old.namespace).delete(old.name)
                self.writes.record("delete", "NetworkAttachmentDefinition")
                logger.info("network attachment moved", metadata: ["from": "\(old.namespace)", "to": "\(target)"])
            } catch let error as KubeError where error.isNotFound {}
        }

        if let nad = result.networkAttachment {
            let scoped = self.client.api(NetworkAttachmentDefinition.self, namespace: nad.metadata.namespace)
            switch result.action {
            case .create:
                do {
                    _ = try await scoped.create(nad)
                    self.writes.record("create", "NetworkAttachmentDefinition")
                    logger.info("network attachment created", metadata: ["k8s.namespace": "\(nad.metadata.namespace)"])
                } catch let error as KubeError where error.isAlreadyExists {}
            case .update:
                if var current = existing[nad.key] {
                    current.spec = nad.spec
                    current.metadata.annotations.merge(nad.metadata.annotations) { _, new in new }
                    current.metadata.ownerReferences = nad.metadata.ownerReferences
                    _ = try await scoped.update(current)
                    self.writes.record("update", "NetworkAttachmentDefinition")
                    logger.info("network attachment updated", metadata: ["k8s.namespace": "\(nad.metadata.namespace)"])
                }
            case .unchanged, .notProvisioned:
                break
            }
        }
        _ = nads

        // Status last: the Ready condition (only when it changed, so a resync writes nothing).
        let currentReady = network.networkStatus?.conditions.first { $0.type == "Ready" }
        if currentReady?.status != result.ready.status || currentReady?.reason != result.ready.reason
            || currentReady?.message != result.ready.message
            || currentReady?.observedGeneration != result.ready.observedGeneration
        {
            let status = try ValueEncoder().encode(NetworkStatus(conditions: [result.ready]))
            _ = try await api.mergePatch(network.metadata.name, ["status": status], subresource: "status")
            self.writes.record("patch status", N.kind)
            if result.ready.status != "True" {
                logger.warning(
                    "network not provisioned",
                    metadata: ["reason": "\(result.ready.reason)", "message": "\(result.ready.message)"]
                )
                await self.events?.record(
                    network,
                    type: "Warning",
                    reason: result.ready.reason,
                    message: result.ready.message
                )
            }
        }
    }
}
