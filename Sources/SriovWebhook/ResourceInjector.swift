import KubeCore
import SriovAPI

/// The network-resources-injector at `/mutate`: for a Pod that names networks in
/// `k8s.v1.cni.cncf.io/networks` (or `v1.multus-cni.io/default-network`), adds one unit of each NAD's
/// device-plugin resource to the requests and limits of one container, the NADs' node selectors to the
/// pod, and the `podnetinfo` Downward API volume (labels, annotations and, with `enableHugePageDownApi`,
/// hugepages) mounted read-only at `/etc/podnetinfo` in every container.
///
/// Differences from upstream, on purpose:
/// - The container that receives the resources is the one named by the pod annotation
///   ``containerAnnotation`` (`sriovnetwork.openshift.io/inject-resources-container`); without it, the first
///   container, as upstream. A name that matches no container is a denial.
/// - A referenced NAD that does not exist, and an annotation that cannot be parsed, are denials that name
///   it, instead of an HTTP error the API server reports as a webhook failure.
///
/// Upstream: network-resources-injector pkg/webhook/webhook.go MutateHandler.
public struct ResourceInjector: Sendable {
    public static let networksAnnotation = "k8s.v1.cni.cncf.io/networks"
    public static let defaultNetworkAnnotation = "v1.multus-cni.io/default-network"
    public static let nodeSelectorAnnotation = "k8s.v1.cni.cncf.io/nodeSelector"
    /// Names the container that receives the injected requests and limits.
    public static let containerAnnotation = "sriovnetwork.openshift.io/inject-resources-container"
    public static let volumeName = "podnetinfo"
    public static let mountPath = "/etc/podnetinfo"

    public let settings: WebhookSettings
    public let cluster: any ClusterView

    public init(settings: WebhookSettings, cluster: any ClusterView) {
        self.settings = settings
        self.cluster = cluster
    }

    public func mutate(_ request: AdmissionRequest) async -> AdmissionResponse {
        guard request.kind == "Pod", request.operation == "CREATE" || request.operation.isEmpty,
            let pod = request.object
        else { return .allow() }
        let annotations = pod["metadata"]?["annotations"]?.objectValue ?? JSONObject()
        let defaultNetwork = annotations[Self.defaultNetworkAnnotation]?.stringValue ?? ""
        let networks = annotations[Self.networksAnnotation]?.stringValue ?? ""
        guard annotations[Self.defaultNetworkAnnotation] != nil || annotations[Self.networksAnnotation] != nil else {
            return .allow("Pod spec doesn't have network annotations. Skipping...")
        }
        var namespace = pod["metadata"]?["namespace"]?.stringValue ?? ""
        if namespace.isEmpty { namespace = request.namespace }
        if namespace.isEmpty { namespace = "default" }

        var selections: [NetworkSelection] = []
        do {
            if !defaultNetwork.isEmpty {
                let parsed = try NetworkSelection.parse(defaultNetwork, defaultNamespace: namespace)
                if parsed.count == 1 { selections += parsed }
            }
            if !networks.isEmpty {
                selections += try NetworkSelection.parse(networks, defaultNamespace: namespace)
            }
        } catch {
            return .deny("\(error)")
        }

        var requests: [String: Int] = [:]
        var nodeSelector: [String: String] = [:]
        for selection in selections {
            let nad: NetworkAttachmentDefinition?
            do {
                nad = try await self.cluster.networkAttachment(namespace: selection.namespace, name: selection.name)
            } catch {
                return .deny(
                    "could not find network attachment definition '\(selection.namespace)/\(selection.name)': \(error)"
                )
            }
            guard let nad else {
                return .deny(
                    "could not find network attachment definition '\(selection.namespace)/\(selection.name)': "
                        + "network-attachment-definitions.k8s.cni.cncf.io \(GoJSON.quote(selection.name)) not found"
                        + " in namespace \(GoJSON.quote(selection.namespace))"
                )
            }
            for key in self.settings.resourceNameKeys {
                if let resource = nad.metadata.annotations[key] { requests[resource, default: 0] += 1 }
            }
            if let selector = nad.metadata.annotations[Self.nodeSelectorAnnotation] {
                let parts = selector.split(separator: "=", omittingEmptySubsequences: false)
                if parts.count > 2 {
                    return .deny("node selector in net-attach-def \(selection.name) has more than one label")
                }
                let key = parts[0].trimmingWhitespace()
                nodeSelector[key] = parts.count == 2 ? parts[1].trimmingWhitespace() : ""
            }
        }
        guard !requests.isEmpty else { return .allow("allowed") }

        let containers = pod["spec"]?["containers"]?.arrayValue ?? []
        guard !containers.isEmpty else { return .deny("pod has no containers to inject network resources into") }
        var target = 0
        if let wanted = annotations[Self.containerAnnotation]?.stringValue {
            guard let index = containers.firstIndex(where: { $0["name"]?.stringValue == wanted }) else {
                return .deny(
                    "container \(GoJSON.quote(wanted)) named by annotation \(Self.containerAnnotation) is not in the pod"
                )
            }
            target = index
        }
        let switches = self.cluster.injectorSwitches(initial: self.settings.injectorSwitches)
        var patch = PodPatch(containers: containers)
        patch.addResources(requests, to: target, honorExisting: switches.enableHonorExistingResources)
        let hugepages = switches.enableHugePageDownApi ? patch.addHugepageEnvironment() : []
        let existingSelector = pod["spec"]?["nodeSelector"]?.objectValue ?? JSONObject()
        patch.addNodeSelector(existing: existingSelector, desired: nodeSelector)
        let volumes = pod["spec"]?["volumes"]?.arrayValue
        patch.addPodNetInfoVolume(existingVolumes: volumes, hugepages: hugepages)
        return AdmissionResponse(allowed: true, message: "allowed", patch: patch.operations)
    }
}

extension Substring {
    func trimmingWhitespace() -> String {
        String(self.drop(while: { $0.isWhitespace }).reversed().drop(while: { $0.isWhitespace }).reversed())
    }
}
