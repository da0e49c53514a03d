public import KubeCore
public import SriovAPI

/// The webhook server's objects, as data: `sriov manifests webhook`, and what the operator keeps from the
/// SriovOperatorConfig (`enableOperatorWebhook`, `enableInjector`).
///
/// One Deployment runs `sriov webhook --self-signed`, which serves the operator webhooks and the injector on
/// one port and patches its CA into the configurations below. With ``Options/url`` the configurations call
/// that URL instead of the Service (a server outside the cluster); with ``Options/caBundle`` they carry that
/// CA (cert-manager or a Secret).
///
/// Upstream names: Service `operator-webhook-service`; ValidatingWebhookConfiguration and
/// MutatingWebhookConfiguration `sriov-operator-webhook-config`; MutatingWebhookConfiguration
/// `network-resources-injector-config`.
public enum WebhookManifests {
    public static let name = "operator-webhook"
    public static let serviceName = "operator-webhook-service"
    public static let operatorConfigurationName = "sriov-operator-webhook-config"
    public static let injectorConfigurationName = "network-resources-injector-config"
    public static let operatorWebhookName = "operator-webhook.sriovnetwork.openshift.io"
    public static let injectorWebhookName = "network-resources-injector-config.k8s.io"
    public static let port = 9443
    public static let healthPort = 9444

    public struct Options: Sendable, Hashable {
        public var namespace: String
        public var image: ImageSettings
        /// `clientConfig.url` base (`https://host:port`) instead of the Service.
        public var url: String?
        /// The CA that signed the serving certificate (PEM); without it the server patches its own in.
        public var caBundlePEM: String?
        public var operatorWebhook: Bool
        public var injector: Bool

        public init(
            namespace: String,
            image: ImageSettings = ImageSettings(),
            url: String? = nil,
            caBundlePEM: String? = nil,
            operatorWebhook: Bool = true,
            injector: Bool = true
        ) {
            self.namespace = namespace
            self.image = image
            self.url = url
            self.caBundlePEM = caBundlePEM
            self.operatorWebhook = operatorWebhook
            self.injector = injector
        }
    }

    /// The options a SriovOperatorConfig asks for.
    public static func options(for config: SriovOperatorConfig, namespace: String, image: ImageSettings) -> Options {
        Options(
            namespace: namespace,
            image: image,
            operatorWebhook: config.spec.enableOperatorWebhook,
            injector: config.spec.enableInjector
        )
    }

    /// The webhook configurations only (`sriov manifests webhook`).
    public static func configurations(_ options: Options) -> [JSONValue] {
        var objects: [JSONValue] = []
        if options.operatorWebhook {
            objects.append(Self.validatingConfiguration(options))
            objects.append(Self.mutatingConfiguration(options))
        }
        if options.injector { objects.append(Self.injectorConfiguration(options)) }
        return objects
    }

    /// Everything for an in-cluster server: RBAC, Deployment, Service and the configurations; empty when
    /// neither part is enabled.
    public static func all(_ options: Options) -> [JSONValue] {
        guard options.operatorWebhook || options.injector else { return [] }
        return Self.rbac(options) + [Self.deployment(options), Self.service(options)] + Self.configurations(options)
    }

    // MARK: Configurations

    static func clientConfig(_ options: Options, path: String) -> JSONValue {
        var config: JSONObject = [:]
        if let url = options.url {
            let base = url.hasSuffix("/") ? String(url.dropLast()) : url
            config["url"] = .string(base + path)
        } else {
            config["service"] = [
                "name": .string(Self.serviceName), "namespace": .string(options.namespace), "path": .string(path),
                "port": 443,
            ]
        }
        if let ca = options.caBundlePEM {
            config["caBundle"] = .string(Base64.encode(Array(ca.utf8)))
        }
        return .object(config)
    }

    static func rule(
        _ operations: [String],
        _ resources: [String],
        group: String = SriovNetworkNodePolicy.group
    )
        -> JSONValue
    {
        [
            "operations": .array(operations.map { .string($0) }),
            "apiGroups": [.string(group)], "apiVersions": ["v1"],
            "resources": .array(resources.map { .string($0) }),
        ]
    }

    static func webhook(_ options: Options, name: String, path: String, rules: [JSONValue]) -> JSONObject {
        [
            "name": .string(name),
            "sideEffects": "None",
            "admissionReviewVersions": ["v1", "v1beta1"],
            "failurePolicy": "Fail",
            "timeoutSeconds": 10,
            "clientConfig": Self.clientConfig(options, path: path),
            "rules": .array(rules),
        ]
    }

    static func configurationObject(kind: String, name: String, webhooks: [JSONObject]) -> JSONValue {
        [
            "apiVersion": "admissionregistration.k8s.io/v1", "kind": .string(kind),
            "metadata": ["name": .string(name)],
            "webhooks": .array(webhooks.map { .object($0) }),
        ]
    }

    /// Policies, operator config and pool configs on CREATE/UPDATE/DELETE; the network kinds on CREATE/UPDATE.
    public static func validatingConfiguration(_ options: Options) -> JSONValue {
        let hook = Self.webhook(
            options,
            name: Self.operatorWebhookName,
            path: "/validating-custom-resource",
            rules: [
                Self.rule(
                    ["CREATE", "UPDATE", "DELETE"],
                    ["sriovnetworknodepolicies", "sriovoperatorconfigs", "sriovnetworkpoolconfigs"]
                ),
                Self.rule(["CREATE", "UPDATE"], ["sriovnetworks", "sriovibnetworks", "ovsnetworks"]),
            ]
        )
        return Self.configurationObject(
            kind: "ValidatingWebhookConfiguration",
            name: Self.operatorConfigurationName,
            webhooks: [hook]
        )
    }

    /// Policy defaults on CREATE/UPDATE.
    public static func mutatingConfiguration(_ options: Options) -> JSONValue {
        let hook = Self.webhook(
            options,
            name: Self.operatorWebhookName,
            path: "/mutating-custom-resource",
            rules: [Self.rule(["CREATE", "UPDATE"], ["sriovnetworknodepolicies"])]
        )
        return Self.configurationObject(
            kind: "MutatingWebhookConfiguration",
            name: Self.operatorConfigurationName,
            webhooks: [hook]
        )
    }

    /// Pod CREATE, failing closed, for pods that carry the networks annotation only (a CEL match condition,
    /// API servers ≥ 1.28; older ones drop the field and send every pod, which the injector admits at once),
    /// outside `kube-system`.
    public static func injectorConfiguration(_ options: Options) -> JSONValue {
        var hook = Self.webhook(
            options,
            name: Self.injectorWebhookName,
            path: "/mutate",
            rules: [Self.rule(["CREATE"], ["pods"], group: "")]
        )
        hook["reinvocationPolicy"] = "IfNeeded"
        hook["namespaceSelector"] = [
            "matchExpressions": [
                ["key": "kubernetes.io/metadata.name", "operator": "NotIn", "values": ["kube-system"]]
            ]
        ]
        hook["matchConditions"] = [
            [
                "name": "include-networks-annotation",
                "expression":
                    "has(object.metadata.annotations) && 'k8s.v1.cni.cncf.io/networks' in object.metadata.annotations",
            ]
        ]
        return Self.configurationObject(
            kind: "MutatingWebhookConfiguration",
            name: Self.injectorConfigurationName,
            webhooks: [hook]
        )
    }

    /// Whether any webhook of `object` has `matchConditions`.
    public static func hasMatchConditions(_ object: JSONValue) -> Bool {
        (object["webhooks"]?.arrayValue ?? []).contains { $0["matchConditions"] != nil }
    }

    /// `object` with no webhook's `matchConditions`, for API servers before 1.28 (which do not know the field).
    public static func withoutMatchConditions(_ object: JSONValue) -> JSONValue {
        guard case .object(var root) = object, let hooks = root["webhooks"]?.arrayValue else { return object }
        root["webhooks"] = .array(
            hooks.map { hook in
                guard case .object(var fields) = hook else { return hook }
                fields["matchConditions"] = nil
                return .object(fields)
            }
        )
        return .object(root)
    }

    // MARK: Workload

    public static func service(_ options: Options) -> JSONValue {
        [
            "apiVersion": "v1", "kind": "Service",
            "metadata": Workload.metadata(
                name: Self.serviceName,
                namespace: options.namespace,
                labels: Workload.labels(app: Self.name)
            ),
            "spec": [
                "selector": Workload.labels(app: Self.name),
                "ports": [["name": "https", "port": 443, "targetPort": .int(Self.port), "protocol": "TCP"]],
            ],
        ]
    }

    public static func deployment(_ options: Options) -> JSONValue {
        let labels = Workload.labels(app: Self.name)
        let container = Workload.container(
            name: Self.name,
            image: options.image,
            subcommand: "webhook",
            args: ["--port", String(Self.port), "--health-port", String(Self.healthPort), "--self-signed"],
            env: [Workload.env("NAMESPACE", fieldPath: "metadata.namespace")],
            ports: [
                ["name": "https", "containerPort": .int(Self.port), "protocol": "TCP"],
                ["name": "health", "containerPort": .int(Self.healthPort), "protocol": "TCP"],
            ],
            livenessProbe: Self.probe("/healthz", delay: 10),
            readinessProbe: Self.probe("/readyz", delay: 2),
            resources: Workload.requests(cpu: "50m", memory: "64Mi"),
            securityContext: [
                "allowPrivilegeEscalation": false, "readOnlyRootFilesystem": true, "capabilities": ["drop": ["ALL"]],
            ]
        )
        return [
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": Workload.metadata(name: Self.name, namespace: options.namespace, labels: labels),
            "spec": [
                "replicas": 1,
                "selector": Workload.selector(app: Self.name),
                "template": [
                    "metadata": ["labels": labels],
                    "spec": [
                        "serviceAccountName": .string(Self.name),
                        "securityContext": ["runAsNonRoot": true, "runAsUser": 65532, "runAsGroup": 65532],
                        "nodeSelector": ["kubernetes.io/os": "linux"],
                        "containers": [container],
                    ],
                ],
            ],
        ]
    }

    static func probe(_ path: String, delay: Int) -> JSONValue {
        ["httpGet": ["path": .string(path), "port": .int(Self.healthPort)], "initialDelaySeconds": .int(delay)]
    }

    /// The webhook's ServiceAccount and what it may do, no more than the operator holds itself (the API server
    /// refuses a role that grants more than its creator has): read Nodes and NetworkAttachmentDefinitions
    /// everywhere and patch its CA into its own three configurations (ClusterRole); read the ConfigMaps,
    /// policies, NodeStates and the operator config of the operator namespace (Role), which is all its caches
    /// watch.
    static func rbac(_ options: Options) -> [JSONValue] {
        let read: JSONValue = ["get", "list", "watch"]
        let clusterRules: [JSONValue] = [
            ["apiGroups": [""], "resources": ["nodes"], "verbs": read],
            [
                "apiGroups": [.string(NetworkAttachmentDefinition.group)],
                "resources": [.string(NetworkAttachmentDefinition.plural)], "verbs": read,
            ],
            [
                "apiGroups": ["admissionregistration.k8s.io"],
                "resources": ["validatingwebhookconfigurations", "mutatingwebhookconfigurations"],
                "resourceNames": [.string(Self.operatorConfigurationName), .string(Self.injectorConfigurationName)],
                "verbs": ["get", "update", "patch"],
            ],
        ]
        let namespacedRules: [JSONValue] = [
            ["apiGroups": [""], "resources": ["configmaps"], "verbs": read],
            [
                "apiGroups": [.string(SriovNetworkNodePolicy.group)],
                "resources": [
                    .string(SriovNetworkNodePolicy.plural), .string(SriovNetworkNodeState.plural),
                    .string(SriovOperatorConfig.plural),
                ],
                "verbs": read,
            ],
        ]
        let meta = Workload.metadata(name: Self.name, namespace: options.namespace)
        let subjects: JSONValue = [
            ["kind": "ServiceAccount", "name": .string(Self.name), "namespace": .string(options.namespace)]
        ]
        func roleRef(_ kind: String) -> JSONValue {
            ["apiGroup": "rbac.authorization.k8s.io", "kind": .string(kind), "name": .string(Self.name)]
        }
        return [
            ["apiVersion": "v1", "kind": "ServiceAccount", "metadata": meta],
            [
                "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
                "metadata": ["name": .string(Self.name)], "rules": .array(clusterRules),
            ],
            [
                "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
                "metadata": ["name": .string(Self.name)], "roleRef": roleRef("ClusterRole"), "subjects": subjects,
            ],
            [
                "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": meta,
                "rules": .array(namespacedRules),
            ],
            [
                "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": meta,
                "roleRef": roleRef("Role"), "subjects": subjects,
            ],
        ]
    }
}

/// Standard base64 without Foundation (SriovRender does no I/O and imports no Foundation).
enum Base64 {
    static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    static func encode(_ bytes: [UInt8]) -> String {
        var out: [UInt8] = []
        out.reserveCapacity((bytes.count + 2) / 3 * 4)
        var index = 0
        while index < bytes.count {
            let b0 = bytes[index]
            let b1 = index + 1 < bytes.count ? bytes[index + 1] : 0
            let b2 = index + 2 < bytes.count ? bytes[index + 2] : 0
            out.append(Self.alphabet[Int(b0 >> 2)])
            out.append(Self.alphabet[Int((b0 & 0x03) << 4 | b1 >> 4)])
            out.append(index + 1 < bytes.count ? Self.alphabet[Int((b1 & 0x0f) << 2 | b2 >> 6)] : UInt8(ascii: "="))
            out.append(index + 2 < bytes.count ? Self.alphabet[Int(b2 & 0x3f)] : UInt8(ascii: "="))
            index += 3
        }
        return String(decoding: out, as: UTF8.self)
    }
}
