public import KubeCore
public import SriovAPI

/// The three network kinds, seen the same way by the NAD renderer.
public protocol NetworkResource: Resource {
    var networkNamespace: String { get }
    var resourceName: String { get }
    var networkStatus: NetworkStatus? { get set }
    /// The compact CNI configuration (``CNIConfig``).
    func compactCNIConfig() throws(CNIConfigError) -> String
}

extension SriovNetwork: NetworkResource {
    public var networkNamespace: String { self.spec.networkNamespace }
    public var resourceName: String { self.spec.resourceName }
    public var networkStatus: NetworkStatus? {
        get { self.status }
        set { self.status = newValue }
    }
    public func compactCNIConfig() throws(CNIConfigError) -> String { try CNIConfig.compact(self) }
}

extension SriovIBNetwork: NetworkResource {
    public var networkNamespace: String { self.spec.networkNamespace }
    public var resourceName: String { self.spec.resourceName }
    public var networkStatus: NetworkStatus? {
        get { self.status }
        set { self.status = newValue }
    }
    public func compactCNIConfig() throws(CNIConfigError) -> String { try CNIConfig.compact(self) }
}

extension OVSNetwork: NetworkResource {
    public var networkNamespace: String { self.spec.networkNamespace }
    public var resourceName: String { self.spec.resourceName }
    public var networkStatus: NetworkStatus? {
        get { self.status }
        set { self.status = newValue }
    }
    public func compactCNIConfig() throws(CNIConfigError) -> String { try CNIConfig.compact(self) }
}

/// What the network controller would do for one SriovNetwork / SriovIBNetwork / OVSNetwork.
public struct NetworkResult: Sendable {
    public enum Action: Sendable, Hashable {
        case create
        case update
        case unchanged
        /// No NAD is written; the CR's Ready condition says why.
        case notProvisioned
    }

    public var kind: String
    public var key: ObjectKey
    public var action: Action
    /// The NAD as it should be (nil when not provisioned).
    public var networkAttachment: NetworkAttachmentDefinition?
    /// A NAD in the previous target namespace that is deleted (the network moved).
    public var deletes: ObjectKey?
    /// The network CR with the finalizer, annotation and Ready condition the controller writes.
    public var network: JSONValue
    public var ready: Condition
}

/// Renders NetworkAttachmentDefinitions and the Ready condition of network CRs.
/// Upstream: controllers/generic_network_controller.go and api/v1/helper.go RenderNetAttDef.
public struct NetworkRenderer: Sendable {
    public static let finalizer = "netattdef.finalizers.sriovnetwork.openshift.io"
    public static let lastNamespaceAnnotation = "operator.sriovnetwork.openshift.io/last-network-namespace"
    /// Why a network with `resourceName: ""` gets no NAD.
    public static let emptyResourceNameMessage =
        "spec.resourceName must not be empty: the NetworkAttachmentDefinition would name the resource "
        + "\"<prefix>/\", which no device plugin advertises"

    public var options: RenderOptions
    /// Namespaces known to exist; nil when unknown (then every target namespace is assumed to exist).
    public var namespaces: Set<String>?
    /// NADs that exist already, by namespace/name.
    public var existing: [ObjectKey: NetworkAttachmentDefinition]

    public init(
        options: RenderOptions,
        namespaces: Set<String>? = nil,
        existing: [ObjectKey: NetworkAttachmentDefinition] = [:]
    ) {
        self.options = options
        self.namespaces = namespaces
        self.existing = existing
    }

    /// The desired NAD for a network (without checking namespaces or ownership).
    /// - Throws: ``CNIConfigError`` when the raw JSON fields make the config invalid.
    public func networkAttachment<N: NetworkResource>(
        for network: N
    ) throws(CNIConfigError) -> NetworkAttachmentDefinition {
        let target = network.networkNamespace.isEmpty ? network.metadata.namespace : network.networkNamespace
        var metadata = ObjectMeta(name: network.metadata.name, namespace: target)
        metadata.annotations = [
            NetworkAttachmentDefinition.resourceNameAnnotation:
                "\(self.options.resourcePrefix)/\(network.resourceName)",
            NetworkAttachmentDefinition.ownerRefAnnotation: Self.ownerAnnotation(for: network),
        ]
        // Upstream sets an owner reference whenever the NAD lands in the CR's own namespace (a CR outside the
        // operator namespace, or one in it without networkNamespace), with controller-runtime's
        // SetOwnerReference: apiVersion, kind, name and uid only, no `controller`, no `blockOwnerDeletion`.
        // Upstream: controllers/generic_network_controller.go Reconcile (controllerutil.SetOwnerReference).
        if network.metadata.namespace == target {
            metadata.ownerReferences = [Self.ownerReference(for: network)]
        }
        let config = try CNIConfig.pretty(try network.compactCNIConfig())
        return NetworkAttachmentDefinition(metadata: metadata, spec: .init(config: config))
    }

    /// The reference controller-runtime's `SetOwnerReference` writes: no controller or blockOwnerDeletion flag.
    public static func ownerReference<N: NetworkResource>(for network: N) -> OwnerReference {
        OwnerReference(apiVersion: N.apiVersion, kind: N.kind, name: network.metadata.name, uid: network.metadata.uid)
    }

    /// `<Kind>.sriovnetwork.openshift.io/<namespace>/<name>`
    public static func ownerAnnotation<N: NetworkResource>(for network: N) -> String {
        "\(N.kind).\(sriovGroup)/\(network.metadata.namespace)/\(network.metadata.name)"
    }

    /// The full reconcile outcome for one network.
    public func render<N: NetworkResource>(_ network: N) -> NetworkResult {
        var desired = network
        let key = network.key
        let operatorNamespace = self.options.namespace
        func result(
            _ action: NetworkResult.Action,
            _ nad: NetworkAttachmentDefinition?,
            _ deletes: ObjectKey?,
            status: String,
            reason: String,
            message: String
        ) -> NetworkResult {
            let condition = Condition(
                type: "Ready",
                status: status,
                observedGeneration: network.metadata.generation,
                lastTransitionTime: self.transitionTime(network, status: status, reason: reason),
                reason: reason,
                message: message
            )
            desired.networkStatus = NetworkStatus(conditions: [condition])
            let encoded = (try? ValueEncoder().encode(desired)) ?? .null
            return NetworkResult(
                kind: N.kind,
                key: key,
                action: action,
                networkAttachment: nad,
                deletes: deletes,
                network: encoded,
                ready: condition
            )
        }
        if network.metadata.namespace != operatorNamespace, !network.networkNamespace.isEmpty {
            return result(
                .notProvisioned,
                nil,
                nil,
                status: "False",
                reason: "NetworkAttachmentDefinitionInvalid",
                message:
                    "spec.networkNamespace cannot be set when the \(N.kind) is not in the operator namespace \(GoJSON.quote(operatorNamespace))"
            )
        }
        // Upstream renders an empty resourceName into the resource `<prefix>/`, which no device plugin
        // advertises, so pods using the network never schedule. We refuse it instead (the validator reports
        // the same as an admission error).
        if network.resourceName.isEmpty {
            return result(
                .notProvisioned,
                nil,
                nil,
                status: "False",
                reason: "NetworkAttachmentDefinitionInvalid",
                message: Self.emptyResourceNameMessage
            )
        }
        if network.metadata.namespace == operatorNamespace, !desired.metadata.finalizers.contains(Self.finalizer) {
            desired.metadata.finalizers.append(Self.finalizer)
        }
        let nad: NetworkAttachmentDefinition
        do {
            nad = try self.networkAttachment(for: network)
        } catch {
            return result(
                .notProvisioned,
                nil,
                nil,
                status: "False",
                reason: "ProvisioningFailed",
                message: error.message
            )
        }
        let target = nad.metadata.namespace
        if let namespaces = self.namespaces, !namespaces.contains(target) {
            return result(
                .notProvisioned,
                nil,
                nil,
                status: "False",
                reason: "NamespaceNotFound",
                message: "target namespace \(GoJSON.quote(target)) does not exist"
            )
        }
        let nadKey = ObjectKey(namespace: target, name: nad.metadata.name)
        var action = NetworkResult.Action.create
        if let current = self.existing[nadKey] {
            let owner = current.metadata.annotations[NetworkAttachmentDefinition.ownerRefAnnotation] ?? ""
            if !owner.isEmpty, owner != Self.ownerAnnotation(for: network) {
                return result(
                    .notProvisioned,
                    nil,
                    nil,
                    status: "False",
                    reason: "ProvisioningFailed",
                    message: "NetworkAttachmentDefinition \(nadKey) already exists and is owned by \(owner)"
                )
            }
            let sameConfig = (try? GoJSON.compact(current.spec.config)) == (try? GoJSON.compact(nad.spec.config))
            let sameAnnotations = nad.metadata.annotations.allSatisfy {
                current.metadata.annotations[$0.key] == $0.value
            }
            action =
                sameConfig && sameAnnotations && current.metadata.ownerReferences == nad.metadata.ownerReferences
                ? .unchanged : .update
        }
        var deletes: ObjectKey?
        if let last = network.metadata.annotations[Self.lastNamespaceAnnotation], !last.isEmpty, last != target {
            deletes = ObjectKey(namespace: last, name: nad.metadata.name)
        }
        desired.metadata.annotations[Self.lastNamespaceAnnotation] = target
        return result(
            action,
            nad,
            deletes,
            status: "True",
            reason: "NetworkReady",
            message: "NetworkAttachmentDefinition is provisioned and ready"
        )
    }

    /// Keeps the previous transition time when the condition does not change.
    func transitionTime<N: NetworkResource>(_ network: N, status: String, reason: String) -> String {
        if let previous = network.networkStatus?.conditions.first(where: { $0.type == "Ready" }),
            previous.status == status, previous.reason == reason
        {
            return previous.lastTransitionTime
        }
        return self.options.now
    }
}
