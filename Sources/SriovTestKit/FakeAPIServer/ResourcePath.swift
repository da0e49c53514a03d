/// A resource type as the fake server knows it: API group and plural name (the version only
/// selects the wire form, and the fake stores one form).
struct ResourceType: Hashable, Sendable, CustomStringConvertible {
    var group: String
    var plural: String

    /// `configmaps` or `deployments.apps`, as the API server names a resource in messages.
    var description: String { self.group.isEmpty ? self.plural : "\(self.plural).\(self.group)" }

    /// A built-in API (core or `*.k8s.io` or an unqualified group such as `apps`) as opposed to a
    /// CustomResourceDefinition. The API server treats the two differently in a few observable ways
    /// (list items without `kind`, unconditional PUT, strategic merge patch).
    var isBuiltIn: Bool {
        self.group.isEmpty || !self.group.contains(".") || self.group.hasSuffix(".k8s.io")
    }

    /// Resources whose `status` is written through the main resource: they have no status
    /// subresource (ConfigMap, Secret, …) or, for Node and Namespace, the fake accepts both.
    var statusOnMainResource: Bool {
        self.group.isEmpty
            && ["configmaps", "secrets", "nodes", "namespaces", "events", "serviceaccounts"].contains(self.plural)
    }

    /// Whether `/status` exists for this resource.
    var hasStatusSubresource: Bool {
        !(self.group.isEmpty && ["configmaps", "secrets", "events", "serviceaccounts"].contains(self.plural))
            && !(self.group == "coordination.k8s.io" && self.plural == "leases")
    }

    /// Whether the API server maintains `metadata.generation` (the strategies of these built-in
    /// kinds never set it).
    var tracksGeneration: Bool {
        if self.group.isEmpty {
            return !["configmaps", "secrets", "nodes", "namespaces", "events", "serviceaccounts", "endpoints"]
                .contains(self.plural)
        }
        return !(self.group == "coordination.k8s.io" && self.plural == "leases")
    }

    /// Whether DELETE answers with the deleted object (`ReturnDeletedObject`) rather than a Success Status.
    var returnsDeletedObject: Bool {
        self.group.isEmpty && ["pods", "services", "namespaces"].contains(self.plural)
    }

    /// Scope of well-known resources; other resources take the scope of their first write.
    var knownNamespaced: Bool? {
        switch (self.group, self.plural) {
        case ("", "nodes"), ("", "namespaces"), ("", "persistentvolumes"), ("apiextensions.k8s.io", _),
            ("rbac.authorization.k8s.io", "clusterroles"), ("rbac.authorization.k8s.io", "clusterrolebindings"),
            ("storage.k8s.io", _), ("admissionregistration.k8s.io", _), ("scheduling.k8s.io", _):
            return false
        case ("", _), ("apps", _), ("batch", _), ("coordination.k8s.io", _), ("policy", _),
            ("rbac.authorization.k8s.io", _), ("sriovnetwork.openshift.io", _), ("k8s.cni.cncf.io", _):
            return true
        default:
            return nil
        }
    }

    /// The kind served for this plural when the request body does not name one.
    var guessedKind: String {
        if let known = Self.knownKinds[self.plural] { return known }
        var singular = self.plural
        if singular.hasSuffix("ies") {
            singular = String(singular.dropLast(3)) + "y"
        } else if singular.hasSuffix("ses") || singular.hasSuffix("xes") {
            singular = String(singular.dropLast(2))
        } else if singular.hasSuffix("s") {
            singular = String(singular.dropLast())
        }
        return singular.prefix(1).uppercased() + singular.dropFirst()
    }

    private static let knownKinds: [String: String] = [
        "configmaps": "ConfigMap", "secrets": "Secret", "nodes": "Node", "namespaces": "Namespace", "pods": "Pod",
        "services": "Service", "events": "Event", "serviceaccounts": "ServiceAccount", "endpoints": "Endpoints",
        "leases": "Lease", "deployments": "Deployment", "daemonsets": "DaemonSet", "statefulsets": "StatefulSet",
        "replicasets": "ReplicaSet", "jobs": "Job", "poddisruptionbudgets": "PodDisruptionBudget",
        "customresourcedefinitions": "CustomResourceDefinition", "roles": "Role", "rolebindings": "RoleBinding",
        "clusterroles": "ClusterRole", "clusterrolebindings": "ClusterRoleBinding",
        "sriovnetworknodepolicies": "SriovNetworkNodePolicy", "sriovnetworknodestates": "SriovNetworkNodeState",
        "sriovnetworks": "SriovNetwork", "sriovibnetworks": "SriovIBNetwork", "ovsnetworks": "OVSNetwork",
        "sriovnetworkpoolconfigs": "SriovNetworkPoolConfig", "sriovoperatorconfigs": "SriovOperatorConfig",
        "network-attachment-definitions": "NetworkAttachmentDefinition",
    ]
}

/// A parsed request path under `/api/v1` or `/apis/{group}/{version}`.
struct ResourcePath: Hashable, Sendable {
    var type: ResourceType
    var version: String
    /// The namespace segment of the path; `nil` for a cluster-scoped (or all-namespaces) path.
    var namespace: String?
    var name: String?
    var subresource: String?

    /// `v1` or `apps/v1`.
    var apiVersion: String { self.type.group.isEmpty ? self.version : "\(self.type.group)/\(self.version)" }

    /// Parses a URL path; `nil` when it does not name a resource.
    init?(_ path: String) {
        var segments = path.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
        guard let root = segments.first else { return nil }
        let group: String
        if root == "api", segments.count >= 2 {
            group = ""
            self.version = segments[1]
            segments.removeFirst(2)
        } else if root == "apis", segments.count >= 3 {
            group = segments[1]
            self.version = segments[2]
            segments.removeFirst(3)
        } else {
            return nil
        }
        guard !segments.isEmpty else { return nil }
        if segments[0] == "namespaces", segments.count >= 3,
            !(group.isEmpty && segments.count == 3 && ["status", "finalize"].contains(segments[2]))
        {
            self.namespace = segments[1]
            segments.removeFirst(2)
        } else {
            self.namespace = nil
        }
        guard segments.count <= 3 else { return nil }
        self.type = ResourceType(group: group, plural: segments[0])
        self.name = segments.count > 1 ? segments[1] : nil
        self.subresource = segments.count > 2 ? segments[2] : nil
    }

    var isStatus: Bool { self.subresource == "status" }
}

/// Where one object lives: its resource type, namespace (empty when cluster-scoped) and name.
struct ObjectID: Hashable, Comparable, Sendable {
    var namespace: String
    var name: String

    static func < (lhs: ObjectID, rhs: ObjectID) -> Bool {
        lhs.storageKey.utf8.lexicographicallyPrecedes(rhs.storageKey.utf8)
    }
}
