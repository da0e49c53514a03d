import KubeCore
import SriovAPI

/// Least-privilege RBAC for the three ServiceAccounts. Every verb is spelled out (no `*`), namespaced rights live in
/// Roles in the operator namespace, and only what must span namespaces or is cluster-scoped is in a ClusterRole.
///
/// Upstream (deploy/role.yaml, deploy/clusterrole.yaml) grants `*` on pods, configmaps and every SR-IOV kind; the
/// rules here are the verbs our controllers actually use.
extension OperatorManifests {
    static let readVerbs: [String] = ["get", "list", "watch"]
    static let writeVerbs: [String] = ["create", "delete", "get", "list", "patch", "update", "watch"]
    static let statusVerbs: [String] = ["get", "patch", "update"]
    /// `<kind>/finalizers` is checked on owner-reference writes (OwnerReferencesPermissionEnforcement).
    static let finalizerVerbs: [String] = ["update"]

    /// The three network kinds, which live in any namespace.
    static let networkPlurals = [SriovNetwork.plural, SriovIBNetwork.plural, OVSNetwork.plural]
    /// Every SR-IOV kind.
    static let sriovPlurals = [
        SriovNetworkNodePolicy.plural, SriovNetworkNodeState.plural, SriovNetwork.plural, SriovIBNetwork.plural,
        OVSNetwork.plural, SriovOperatorConfig.plural, SriovNetworkPoolConfig.plural,
    ]

    /// RBAC objects in apply order: ClusterRoles, ClusterRoleBindings, Roles, RoleBindings.
    static func rbac(namespace: String) -> [JSONValue] {
        let operatorName = Self.operatorName
        let daemon = DaemonSetRenderer.configDaemonName
        let plugin = DaemonSetRenderer.devicePluginName
        return [
            Self.role(cluster: true, name: operatorName, namespace: namespace, rules: Self.operatorClusterRules),
            Self.role(cluster: true, name: daemon, namespace: namespace, rules: Self.configDaemonClusterRules),
            Self.binding(cluster: true, name: operatorName, namespace: namespace),
            Self.binding(cluster: true, name: daemon, namespace: namespace),
            Self.role(cluster: false, name: operatorName, namespace: namespace, rules: Self.operatorRules),
            Self.role(cluster: false, name: daemon, namespace: namespace, rules: Self.configDaemonRules),
            Self.role(cluster: false, name: plugin, namespace: namespace, rules: Self.devicePluginRules),
            Self.binding(cluster: false, name: operatorName, namespace: namespace),
            Self.binding(cluster: false, name: daemon, namespace: namespace),
            Self.binding(cluster: false, name: plugin, namespace: namespace),
        ]
    }

    /// Cluster-wide: nodes (labels, cordon), drain (pods, evictions, PDBs), the network kinds and the NADs they
    /// render in any namespace, and events on objects anywhere.
    static var operatorClusterRules: [JSONValue] {
        [
            Self.rule("", ["nodes"], ["get", "list", "watch", "patch", "update"]),
            Self.rule("", ["pods"], ["get", "list", "watch", "delete"]),
            Self.rule("", ["pods/eviction"], ["create"]),
            Self.rule("", ["namespaces"], Self.readVerbs),
            Self.rule("", ["events"], ["create", "patch"]),
            Self.rule("policy", ["poddisruptionbudgets"], Self.readVerbs),
            Self.rule(NetworkAttachmentDefinition.group, [NetworkAttachmentDefinition.plural], Self.writeVerbs),
            Self.rule(sriovGroup, Self.networkPlurals, Self.writeVerbs),
            Self.rule(sriovGroup, Self.networkPlurals.map { "\($0)/status" }, Self.statusVerbs),
            Self.rule(sriovGroup, Self.networkPlurals.map { "\($0)/finalizers" }, Self.finalizerVerbs),
            // The webhook server's objects, when SriovOperatorConfig enables them (WebhookDeployer).
            Self.rule(
                "admissionregistration.k8s.io",
                ["validatingwebhookconfigurations", "mutatingwebhookconfigurations"],
                Self.writeVerbs
            ),
            Self.rule("rbac.authorization.k8s.io", ["clusterroles", "clusterrolebindings"], Self.writeVerbs),
        ]
    }

    /// In the operator namespace: the DaemonSets and ConfigMaps it renders, every SR-IOV kind, the leader-election
    /// Lease, the webhook Deployment, Service, ServiceAccount, Role and RoleBinding, and (read-only) Secrets.
    static var operatorRules: [JSONValue] {
        [
            Self.rule("", ["configmaps", "services"], Self.writeVerbs),
            Self.rule("", ["secrets"], Self.readVerbs),
            Self.rule("apps", ["daemonsets", "deployments"], Self.writeVerbs),
            Self.rule("", ["serviceaccounts"], Self.writeVerbs),
            Self.rule(sriovGroup, Self.sriovPlurals, Self.writeVerbs),
            Self.rule(sriovGroup, Self.sriovPlurals.map { "\($0)/status" }, Self.statusVerbs),
            Self.rule(sriovGroup, Self.sriovPlurals.map { "\($0)/finalizers" }, Self.finalizerVerbs),
            Self.rule("coordination.k8s.io", ["leases"], Self.writeVerbs),
            // The webhook server's Role and RoleBinding (WebhookDeployer).
            Self.rule("rbac.authorization.k8s.io", ["roles", "rolebindings"], Self.writeVerbs),
        ]
    }

    /// The config daemon reads and annotates its own Node and records events (Node events go to `default`). It
    /// never evicts: draining is the operator's job.
    static var configDaemonClusterRules: [JSONValue] {
        [
            Self.rule("", ["nodes"], ["get", "list", "watch", "patch"]),
            Self.rule("", ["events"], ["create", "patch"]),
        ]
    }

    /// In the operator namespace: its NodeState (spec read, status written), the operator config (log level, feature
    /// gates), `supported-nic-ids`, and the device-plugin pods it restarts and un-gates.
    static var configDaemonRules: [JSONValue] {
        [
            Self.rule(sriovGroup, [SriovNetworkNodeState.plural], ["get", "list", "watch", "update", "patch"]),
            Self.rule(sriovGroup, ["\(SriovNetworkNodeState.plural)/status"], Self.statusVerbs),
            Self.rule(sriovGroup, [SriovOperatorConfig.plural], Self.readVerbs),
            Self.rule("", ["pods"], ["get", "list", "watch", "delete", "patch"]),
            Self.rule("", ["configmaps"], Self.readVerbs),
        ]
    }

    /// The device plugin's `wait-for-config` init container watches (and may annotate) its own pod.
    static var devicePluginRules: [JSONValue] {
        [Self.rule("", ["pods"], ["get", "list", "watch", "patch"])]
    }

    static func rule(_ group: String, _ resources: [String], _ verbs: [String]) -> JSONValue {
        [
            "apiGroups": [.string(group)],
            "resources": .array(resources.map { .string($0) }),
            "verbs": .array(verbs.map { .string($0) }),
        ]
    }

    /// A ClusterRole or (namespaced) Role.
    static func role(cluster: Bool, name: String, namespace: String, rules: [JSONValue]) -> JSONValue {
        [
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": cluster ? "ClusterRole" : "Role",
            "metadata": Workload.metadata(name: name, namespace: cluster ? nil : namespace),
            "rules": .array(rules),
        ]
    }

    /// Binds the role `name` to the ServiceAccount `name` in `namespace`.
    static func binding(cluster: Bool, name: String, namespace: String) -> JSONValue {
        [
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": cluster ? "ClusterRoleBinding" : "RoleBinding",
            "metadata": Workload.metadata(name: name, namespace: cluster ? nil : namespace),
            "roleRef": [
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": cluster ? "ClusterRole" : "Role",
                "name": .string(name),
            ],
            "subjects": [["kind": "ServiceAccount", "name": .string(name), "namespace": .string(namespace)]],
        ]
    }
}
