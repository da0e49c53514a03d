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
        let target = network.networkNamespace.isEmpty ? network.metadata.namespace : network.networkNamespace

        if network.metadata.deletionTimestamp != nil {
            guard let index = network.metadata.finalizers.firstIndex(of: NetworkRenderer.finalizer) else { return }
            let namespace = network.metadata.annotations[NetworkRenderer.lastNamespaceAnnotation] ?? target
            try await self.deleteOwnedNAD(
                namespace: namespace,
                name: network.metadata.name,
                of: network,
                logger: logger
            )
            // Remove exactly our finalizer, and only from the version we read: another controller's
            // finalizer added meanwhile is never dropped (the test op fails and the key is retried).
            _ = try await api.jsonPatch(
                network.metadata.name,
                [
                    [
                        "op": "test", "path": "/metadata/resourceVersion",
                        "value": .string(network.metadata.resourceVersion),
                    ],
                    [
                        "op": "test", "path": .string("/metadata/finalizers/\(index)"),
                        "value": .string(NetworkRenderer.finalizer),
                    ],
                    ["op": "remove", "path": .string("/metadata/finalizers/\(index)")],
                ]
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

        // CR metadata first (finalizer, last-network-namespace), so deletion always finds the finalizer. A
        // JSON patch guarded by the resourceVersion read: the finalizer list is never replaced from the cache.
        var operations: [JSONValue] = []
        let addFinalizer =
            desired.metadata.finalizers.contains(NetworkRenderer.finalizer)
            && !network.metadata.finalizers.contains(NetworkRenderer.finalizer)
        if addFinalizer {
            operations.append(
                network.metadata.finalizers.isEmpty
                    ? ["op": "add", "path": "/metadata/finalizers", "value": [.string(NetworkRenderer.finalizer)]]
                    : ["op": "add", "path": "/metadata/finalizers/-", "value": .string(NetworkRenderer.finalizer)]
            )
        }
        let changed = desired.metadata.annotations.sorted(by: { $0.key < $1.key }).filter {
            network.metadata.annotations[$0.key] != $0.value
        }
        if !changed.isEmpty {
            if network.metadata.annotations.isEmpty {
                var all = JSONObject()
                for (key, value) in changed { all[key] = .string(value) }
                operations.append(["op": "add", "path": "/metadata/annotations", "value": .object(all)])
            } else {
                for (key, value) in changed {
                    operations.append(
                        [
                            "op": "add", "path": .string("/metadata/annotations/\(Self.pointer(key))"),
                            "value": .string(value),
                        ]
                    )
                }
            }
        }
        if !operations.isEmpty {
            let guarded: [JSONValue] =
                [
                    [
                        "op": "test", "path": "/metadata/resourceVersion",
                        "value": .string(network.metadata.resourceVersion),
                    ]
                ]
                + operations
            store.recordWrite(try await api.jsonPatch(network.metadata.name, guarded))
            self.writes.record("patch", N.kind)
        }

        if let old = result.deletes {
            if try await self.deleteOwnedNAD(namespace: old.namespace, name: old.name, of: network, logger: logger) {
                logger.info("network attachment moved", metadata: ["from": "\(old.namespace)", "to": "\(target)"])
            }
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

    /// Deletes the NAD `namespace/name` only if `network` owns it (its owner annotation, or an ownerReference
    /// with the network's uid), with a uid precondition so a NAD recreated meanwhile is not deleted. A NAD owned
    /// by another CR or created by hand is left alone (logged). Returns whether it deleted.
    @discardableResult
    func deleteOwnedNAD<N: NetworkResource>(
        namespace: String,
        name: String,
        of network: N,
        logger: Logger
    ) async throws -> Bool {
        let api = self.client.api(NetworkAttachmentDefinition.self, namespace: namespace)
        let key = ObjectKey(namespace: namespace, name: name)
        var found = self.caches.networkAttachments.get(key)
        if found == nil { found = try await api.getIfPresent(name) }
        guard let nad = found else { return false }
        let annotation = nad.metadata.annotations[NetworkAttachmentDefinition.ownerRefAnnotation] ?? ""
        let owned =
            annotation == NetworkRenderer.ownerAnnotation(for: network)
            || (!network.metadata.uid.isEmpty
                && nad.metadata.ownerReferences.contains { $0.uid == network.metadata.uid })
        guard owned else {
            logger.warning(
                "network attachment not owned by this network, left in place",
                metadata: ["k8s.namespace": "\(namespace)", "k8s.name": "\(name)", "owner": "\(annotation)"]
            )
            return false
        }
        do {
            try await api.delete(name, uid: nad.metadata.uid.isEmpty ? nil : nad.metadata.uid)
            self.writes.record("delete", "NetworkAttachmentDefinition")
            logger.info("network attachment deleted", metadata: ["k8s.namespace": "\(namespace)"])
            return true
        } catch let error as KubeError where error.isNotFound {
            return false
        }
    }

    /// A JSON-pointer path segment (RFC 6901: `~` → `~0`, `/` → `~1`).
    static func pointer(_ key: String) -> String {
        key.replacing("~", with: "~0").replacing("/", with: "~1")
    }
}
