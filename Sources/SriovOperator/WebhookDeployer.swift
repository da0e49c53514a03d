public import KubeClient
public import KubeCore
public import Logging
public import SriovAPI
public import SriovRender

/// Keeps the webhook server's objects (``SriovRender/WebhookManifests``) as the `default` SriovOperatorConfig
/// asks: `enableOperatorWebhook` → the operator's Validating and Mutating configurations, `enableInjector` →
/// the injector's configuration, either → the `operator-webhook` Deployment, Service and RBAC. What is not
/// asked for is deleted.
///
/// Objects are written with server-side apply (field manager `sriov-network-operator`) only when the stored one
/// lacks the rendered hash annotation or a rendered field (a hand edit, reverted on the next resync), so an idle
/// resync writes nothing; the webhook configurations are
/// registered only once the webhook Deployment has an available replica. A `caBundle` already in a configuration (patched in by
/// `sriov webhook --self-signed`, or by cert-manager) is kept when the rendered one has none. Namespaced
/// objects are owned by the SriovOperatorConfig.
///
/// Called by ``OperatorConfigController/reconcile(logger:)``.
public struct WebhookDeployer: Sendable {
    public static let fieldManager = "sriov-network-operator"

    let client: KubeClient
    let namespace: String
    let image: ImageSettings

    public init(client: KubeClient, namespace: String, image: ImageSettings) {
        self.client = client
        self.namespace = namespace
        self.image = image
    }

    public func sync(config: SriovOperatorConfig, owner: OwnerReference, logger: Logger) async throws {
        let options = WebhookManifests.options(for: config, namespace: self.namespace, image: self.image)
        var wanted = WebhookManifests.all(options)
        // An API server before 1.28 has no `matchConditions`: it refuses to server-side apply a configuration
        // that has them ("field not declared in schema"), which would fail every reconcile. Such a server
        // gets the configuration without them (the injector then sees every pod and admits those without the
        // networks annotation at once), and a later upgrade gets them on the next resync.
        if wanted.contains(where: WebhookManifests.hasMatchConditions), try await !self.serverHasMatchConditions() {
            wanted = wanted.map(WebhookManifests.withoutMatchConditions)
        }
        var keep = Set<String>()
        // Webhook configurations go last, and only once the webhook Deployment has an available replica: a
        // configuration with `failurePolicy: Fail` whose server is not running would refuse every write of the
        // kinds it covers (upstream registers them at once; an unpullable image then blocks the cluster).
        let configurations = wanted.filter { $0["webhooks"] != nil }
        for object in wanted where object["webhooks"] == nil {
            keep.insert(try await self.write(object, owner: owner, logger: logger))
        }
        if !configurations.isEmpty {
            if try await self.webhookServerAvailable() {
                for object in configurations { keep.insert(try await self.write(object, owner: owner, logger: logger)) }
            } else {
                // Keep what is registered already (a rollout of the Deployment must not drop admission).
                for object in configurations {
                    keep.insert(try Self.location(of: object, namespace: self.namespace).path)
                }
                logger.info("webhook configurations wait for an available webhook server")
            }
        }
        let everything = WebhookManifests.all(
            WebhookManifests.Options(
                namespace: self.namespace,
                image: self.image,
                operatorWebhook: true,
                injector: true
            )
        )
        for object in everything {
            let location = try Self.location(of: object, namespace: self.namespace)
            guard !keep.contains(location.path) else { continue }
            // Look before deleting, so that a resync with the webhooks off writes nothing.
            do {
                _ = try await self.client.perform(
                    KubeRequest(method: "GET", path: location.path, verb: "get", resource: location.path)
                )
                _ = try await self.client.perform(
                    KubeRequest(method: "DELETE", path: location.path, verb: "delete", resource: location.path)
                )
                logger.info("webhook object deleted", metadata: ["k8s.path": "\(location.path)"])
            } catch let error as KubeError where error.isNotFound {}
        }
    }

    public static let hashAnnotation = "sriovnetwork.openshift.io/rendered-hash"

    /// Writes `object` with server-side apply unless the stored one carries the same rendered hash (an idle
    /// resync writes nothing); returns its path.
    func write(_ rendered: JSONValue, owner: OwnerReference, logger: Logger) async throws -> String {
        let location = try Self.location(of: rendered, namespace: self.namespace)
        var object = rendered
        guard case .object(var root) = object, case .object(var meta) = root["metadata"] else { return location.path }
        if location.namespaced { meta["ownerReferences"] = .array([try ValueEncoder().encode(owner)]) }
        let hash = OperatorConfigController.hash(GoJSON.encode(rendered))
        var annotations = meta["annotations"]?.objectValue ?? [:]
        annotations[Self.hashAnnotation] = .string(hash)
        meta["annotations"] = .object(annotations)
        root["metadata"] = .object(meta)
        object = .object(root)
        let stored: JSONValue?
        do {
            stored = try JSONParser.parse(
                try await self.client.perform(
                    KubeRequest(method: "GET", path: location.path, verb: "get", resource: location.path)
                )
            )
        } catch let error as KubeError where error.isNotFound {
            stored = nil
        }
        // The hash alone would keep a hand edit (an edit keeps the annotation): also check that every rendered
        // field is still there with its value, ignoring what the server added (defaults, status, a caBundle).
        if let stored, stored["metadata"]?["annotations"]?[Self.hashAnnotation]?.stringValue == hash,
            OperatorConfigController.contains(stored, object)
        {
            return location.path
        }
        if object["webhooks"] != nil { object = try await self.keepingCABundle(object, path: location.path) }
        _ = try await self.client.perform(
            KubeRequest(
                method: "PATCH",
                path: location.path,
                query: [("fieldManager", Self.fieldManager), ("force", "true")],
                body: Array(GoJSON.encode(object).utf8),
                contentType: "application/apply-patch+yaml",
                verb: "apply",
                resource: location.path
            )
        )
        logger.info("webhook object applied", metadata: ["k8s.path": "\(location.path)"])
        return location.path
    }

    /// Whether the API server knows webhook `matchConditions` (beta and on by default from 1.28). A version
    /// that cannot be read or parsed counts as new (the apply then says what is wrong).
    func serverHasMatchConditions() async throws -> Bool {
        let version: JSONValue
        do {
            version = try JSONParser.parse(
                try await self.client.perform(
                    KubeRequest(method: "GET", path: "/version", verb: "get", resource: "version")
                )
            )
        } catch let error as KubeError where error.isNotFound {
            return true
        }
        guard let major = Self.leadingNumber(version["major"]?.stringValue),
            let minor = Self.leadingNumber(version["minor"]?.stringValue)
        else { return true }
        return major > 1 || (major == 1 && minor >= 28)
    }

    /// The leading digits of `text` ("28+" on some managed clusters) as a number.
    static func leadingNumber(_ text: String?) -> Int? {
        Int(String((text ?? "").prefix { $0.isNumber }))
    }

    /// Whether the `operator-webhook` Deployment reports an available replica.
    func webhookServerAvailable() async throws -> Bool {
        let path = "/apis/apps/v1/namespaces/\(self.namespace)/deployments/\(WebhookManifests.name)"
        do {
            let stored = try JSONParser.parse(
                try await self.client.perform(KubeRequest(method: "GET", path: path, verb: "get", resource: path))
            )
            if case .int(let available) = stored["status"]?["availableReplicas"] { return available > 0 }
            return false
        } catch let error as KubeError where error.isNotFound {
            return false
        }
    }

    /// `object` with each webhook's `caBundle` taken from the stored configuration when it has none.
    func keepingCABundle(_ object: JSONValue, path: String) async throws -> JSONValue {
        let stored: JSONValue
        do {
            stored = try JSONParser.parse(
                try await self.client.perform(KubeRequest(method: "GET", path: path, verb: "get", resource: path))
            )
        } catch let error as KubeError where error.isNotFound {
            return object
        }
        var bundles: [String: JSONValue] = [:]
        for hook in stored["webhooks"]?.arrayValue ?? [] {
            if let name = hook["name"]?.stringValue, let bundle = hook["clientConfig"]?["caBundle"] {
                bundles[name] = bundle
            }
        }
        guard case .object(var root) = object else { return object }
        var hooks = root["webhooks"]?.arrayValue ?? []
        for index in hooks.indices {
            guard case .object(var hook) = hooks[index], let name = hook["name"]?.stringValue,
                var client = hook["clientConfig"]?.objectValue, client["caBundle"] == nil, let bundle = bundles[name]
            else { continue }
            client["caBundle"] = bundle
            hook["clientConfig"] = .object(client)
            hooks[index] = .object(hook)
        }
        root["webhooks"] = .array(hooks)
        return .object(root)
    }

    struct Location {
        var path: String
        var namespaced: Bool
    }

    static func location(of object: JSONValue, namespace: String) throws -> Location {
        let kind = object["kind"]?.stringValue ?? ""
        let name = object["metadata"]?["name"]?.stringValue ?? ""
        let table: [String: (prefix: String, plural: String, namespaced: Bool)] = [
            "ServiceAccount": ("/api/v1", "serviceaccounts", true),
            "Service": ("/api/v1", "services", true),
            "Deployment": ("/apis/apps/v1", "deployments", true),
            "ClusterRole": ("/apis/rbac.authorization.k8s.io/v1", "clusterroles", false),
            "ClusterRoleBinding": ("/apis/rbac.authorization.k8s.io/v1", "clusterrolebindings", false),
            "Role": ("/apis/rbac.authorization.k8s.io/v1", "roles", true),
            "RoleBinding": ("/apis/rbac.authorization.k8s.io/v1", "rolebindings", true),
            "ValidatingWebhookConfiguration": (
                "/apis/admissionregistration.k8s.io/v1", "validatingwebhookconfigurations", false
            ),
            "MutatingWebhookConfiguration": (
                "/apis/admissionregistration.k8s.io/v1", "mutatingwebhookconfigurations", false
            ),
        ]
        guard let entry = table[kind], !name.isEmpty else {
            throw KubeError(
                status: 0,
                reason: "Invalid",
                message: "webhook manifest of kind \(kind) named \(GoJSON.quote(name)) has no known API path",
                verb: "apply",
                resource: kind
            )
        }
        let path =
            entry.namespaced
            ? "\(entry.prefix)/namespaces/\(namespace)/\(entry.plural)/\(name)"
            : "\(entry.prefix)/\(entry.plural)/\(name)"
        return Location(path: path, namespaced: entry.namespaced)
    }
}
