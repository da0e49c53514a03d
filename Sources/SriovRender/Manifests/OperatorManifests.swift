public import KubeCore
import SriovAPI

/// The objects that install the operator, as data (`sriov manifests operator|all`).
///
/// Everything runs the one `sriov` image of ``ImageSettings``; the operator then renders the config-daemon and
/// device-plugin DaemonSets itself (``DaemonSetRenderer``) from the `default` SriovOperatorConfig.
///
/// ```
/// sriov manifests all | kubectl apply -f -
/// ```
///
/// The SriovOperatorConfig at the end of ``all(namespace:resourcePrefix:image:)`` can only be created once its
/// CRD is established, which takes the API server a moment after the CRD is created. On a fresh cluster the first
/// `kubectl apply` may therefore fail for that one object (`no matches for kind "SriovOperatorConfig"`); run it
/// again, or apply the CRDs first and wait:
///
/// ```
/// sriov manifests crds | kubectl apply -f -
/// kubectl wait --for condition=established crd/sriovoperatorconfigs.sriovnetwork.openshift.io
/// sriov manifests all | kubectl apply -f -
/// ```
public enum OperatorManifests {
    /// Name of the operator Deployment, its ServiceAccount and RBAC objects, and its `OPERATOR_NAME`.
    public static let operatorName = "sriov-network-operator"
    /// Upstream's Helm default namespace.
    public static let defaultNamespace = "sriov-network-operator"
    /// Upstream's Helm default `RESOURCE_PREFIX`.
    public static let defaultResourcePrefix = "openshift.io"
    /// Port of `/metrics`.
    public static let metricsPort = 8080
    /// Port of `/healthz` (liveness) and `/readyz` (readiness).
    public static let healthPort = 8081

    /// CRDs, then the operator (``operatorDeployment(namespace:resourcePrefix:image:)``), then the `default`
    /// SriovOperatorConfig (``defaultOperatorConfig(namespace:admissionControllers:)``), then the webhook server's
    /// objects that config enables (``webhookObjects(for:namespace:image:)``: none by default), in the order
    /// `kubectl apply` must create them.
    ///
    /// - Parameter admissionControllers: upstream's `ADMISSION_CONTROLLERS_ENABLED` (Helm
    ///   `operator.admissionControllers.enabled`): the config enables the operator webhook and the injector.
    public static func all(
        namespace: String,
        resourcePrefix: String,
        image: ImageSettings,
        admissionControllers: Bool = false
    ) -> [JSONValue] {
        let config = Self.defaultOperatorConfig(namespace: namespace, admissionControllers: admissionControllers)
        return CustomResourceDefinitions.all
            + Self.operatorDeployment(namespace: namespace, resourcePrefix: resourcePrefix, image: image)
            + [config]
            + Self.webhookObjects(for: config, namespace: namespace, image: image)
    }

    /// What the operator keeps for `config` (a SriovOperatorConfig as JSON): the webhook server's RBAC,
    /// Deployment, Service and the configurations its `enableOperatorWebhook` / `enableInjector` ask for, rendered
    /// by the same functions as the operator's `WebhookDeployer`. The configurations come last: they fail closed
    /// (`failurePolicy: Fail`), so the kinds they cover cannot be written until the webhook server answers.
    public static func webhookObjects(for config: JSONValue, namespace: String, image: ImageSettings) -> [JSONValue] {
        guard
            let decoded = try? ValueDecoder(rejectsUnknownFields: false).decode(SriovOperatorConfig.self, from: config)
        else { return [] }
        return WebhookManifests.all(WebhookManifests.options(for: decoded, namespace: namespace, image: image))
    }

    /// The Namespace, the three ServiceAccounts, RBAC, and the operator Deployment, in creation order.
    public static func operatorDeployment(
        namespace: String,
        resourcePrefix: String,
        image: ImageSettings
    ) -> [JSONValue] {
        [Self.namespace(namespace)]
            + [Self.operatorName, DaemonSetRenderer.configDaemonName, DaemonSetRenderer.devicePluginName].map {
                Self.serviceAccount($0, namespace: namespace)
            }
            + Self.rbac(namespace: namespace)
            + [Self.deployment(namespace: namespace, resourcePrefix: resourcePrefix, image: image)]
    }

    /// The `default` SriovOperatorConfig upstream's Helm chart creates: log level 2, no `configDaemonNodeSelector`
    /// (so the managed nodes are the Linux workers), and the injector and operator webhook both as
    /// `admissionControllers` says (the chart's `operator.admissionControllers.enabled`, false by default).
    public static func defaultOperatorConfig(namespace: String, admissionControllers: Bool = false) -> JSONValue {
        [
            "apiVersion": .string(SriovOperatorConfig.apiVersion),
            "kind": .string(SriovOperatorConfig.kind),
            "metadata": Workload.metadata(name: SriovOperatorConfig.defaultName, namespace: namespace),
            "spec": [
                "enableInjector": .bool(admissionControllers), "enableOperatorWebhook": .bool(admissionControllers),
                "logLevel": 2,
            ],
        ]
    }

    /// The operator namespace. The config daemon is privileged, so Pod Security Admission must allow it there.
    static func namespace(_ name: String) -> JSONValue {
        [
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": Workload.metadata(
                name: name,
                labels: [
                    "pod-security.kubernetes.io/enforce": "privileged",
                    "pod-security.kubernetes.io/audit": "privileged",
                    "pod-security.kubernetes.io/warn": "privileged",
                ]
            ),
        ]
    }

    static func serviceAccount(_ name: String, namespace: String) -> JSONValue {
        ["apiVersion": "v1", "kind": "ServiceAccount", "metadata": Workload.metadata(name: name, namespace: namespace)]
    }

    /// One leader-elected replica of `sriov operator`, unprivileged: it only talks to the API server.
    static func deployment(namespace: String, resourcePrefix: String, image: ImageSettings) -> JSONValue {
        let labels = Workload.labels(app: Self.operatorName)
        let container = Workload.container(
            name: Self.operatorName,
            image: image,
            subcommand: "operator",
            env: [
                Workload.env("NAMESPACE", fieldPath: "metadata.namespace"),
                Workload.env("RESOURCE_PREFIX", resourcePrefix),
                Workload.env("OPERATOR_NAME", Self.operatorName),
                Workload.env(ImageSettings.imageVariable, image.image),
                Workload.env(ImageSettings.pullPolicyVariable, image.imagePullPolicy.rawValue),
                Workload.env("POD_NAME", fieldPath: "metadata.name"),
            ],
            ports: [
                ["name": "metrics", "containerPort": .int(Self.metricsPort), "protocol": "TCP"],
                ["name": "health", "containerPort": .int(Self.healthPort), "protocol": "TCP"],
            ],
            livenessProbe: Self.probe(path: "/healthz", initialDelaySeconds: 15, periodSeconds: 20),
            readinessProbe: Self.probe(path: "/readyz", initialDelaySeconds: 5, periodSeconds: 10),
            resources: Workload.requests(cpu: "100m", memory: "100Mi"),
            securityContext: [
                "allowPrivilegeEscalation": false,
                "readOnlyRootFilesystem": true,
                "capabilities": ["drop": ["ALL"]],
            ]
        )
        return [
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": Workload.metadata(name: Self.operatorName, namespace: namespace, labels: labels),
            "spec": [
                "replicas": 1,
                "selector": Workload.selector(app: Self.operatorName),
                "template": [
                    "metadata": [
                        "labels": labels,
                        "annotations": ["kubectl.kubernetes.io/default-container": .string(Self.operatorName)],
                    ],
                    "spec": [
                        "serviceAccountName": .string(Self.operatorName),
                        "securityContext": [
                            "runAsNonRoot": true,
                            "runAsUser": 65532,
                            "runAsGroup": 65532,
                            "seccompProfile": ["type": "RuntimeDefault"],
                        ],
                        "nodeSelector": ["kubernetes.io/os": "linux"],
                        "containers": [container],
                    ],
                ],
            ],
        ]
    }

    static func probe(path: String, initialDelaySeconds: Int, periodSeconds: Int) -> JSONValue {
        [
            "httpGet": ["path": .string(path), "port": .int(Self.healthPort)],
            "initialDelaySeconds": .int(initialDelaySeconds),
            "periodSeconds": .int(periodSeconds),
        ]
    }
}
