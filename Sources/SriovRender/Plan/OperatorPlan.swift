public import KubeCore
public import SriovAPI

/// A label the operator sets on (or removes from) a node.
public struct NodeLabelChange: Sendable, Hashable {
    public var node: String
    public var key: String
    /// nil removes the label.
    public var value: String?
    public var previous: String?
    public var changes: Bool { self.value != self.previous }
}

/// Everything the operator would write for a given cluster state: the result of `sriov plan`.
public struct OperatorPlan: Sendable {
    public var options: RenderOptions
    /// True when the input had no SriovOperatorConfig `default` and one with default settings was assumed.
    public var assumedDefaultOperatorConfig: Bool
    /// Policies in the operator namespace after the mutating webhook, in `ByPriority` order.
    public var policies: [SriovNetworkNodePolicy]
    public var nodeStates: [NodeStateResult]
    public var disruptions: [String: NodeDisruption]
    /// Device-plugin config per managed node (nil when rendering failed for that node).
    public var devicePluginConfigs: [String: ResourceConfigList]
    public var devicePluginConfigMap: ConfigMap
    public var labels: [NodeLabelChange]
    /// Nodes with the labels the operator sets.
    public var nodes: [Node]
    public var networks: [NetworkResult]
    /// Render failures (bad pfNames ranges, netFilter without status, invalid CNI JSON).
    public var renderErrors: [String]

    /// Renders what the operator would write.
    /// - Parameter estimatingDisruptions: also estimate per-node drain/reboot (for people; the operator
    ///   itself does not need it).
    public static func make(
        snapshot: ClusterSnapshot,
        options baseOptions: RenderOptions,
        estimatingDisruptions: Bool = true
    ) -> OperatorPlan {
        var options = baseOptions
        let config = snapshot.operatorConfigs.first {
            $0.metadata.name == SriovOperatorConfig.defaultName && $0.metadata.namespace == options.namespace
        }
        if let config { options.operatorConfig = config }
        if let nicMap = snapshot.configMaps.first(where: {
            $0.metadata.name == SupportedNICs.configMapName && $0.metadata.namespace == options.namespace
        }) {
            options.supportedNICs = SupportedNICs(configMap: nicMap)
        }
        var policies = snapshot.policies
        for i in policies.indices { policies[i].applyAdmissionDefaults() }
        let renderer = NodeStateRenderer(options: options, policies: policies, poolConfigs: snapshot.poolConfigs)
        let dpRenderer = DevicePluginConfigRenderer(options: options, sortedPolicies: renderer.sortedPolicies)

        var renderErrors: [String] = []
        let existingStates = Dictionary(
            snapshot.nodeStates.filter { $0.metadata.namespace == options.namespace }.map { ($0.metadata.name, $0) },
            uniquingKeysWith: { first, _ in first }
        )
        let managed = snapshot.nodes.filter { options.isManaged($0) }.sorted { $0.metadata.name < $1.metadata.name }
        let managedNames = Set(managed.map(\.metadata.name))

        var results: [NodeStateResult] = []
        var disruptions: [String: NodeDisruption] = [:]
        var dpConfigs: [String: ResourceConfigList] = [:]
        var dpData: [String: String] = [:]
        var labels: [NodeLabelChange] = []
        var nodes: [Node] = []
        for node in managed {
            let name = node.metadata.name
            let existing = existingStates[name]
            // The node's matching policies are computed once for both the NodeState and the ConfigMap.
            let matching = renderer.matching(node)
            let result = renderer.render(node: node, existing: existing, matching: matching)
            if let error = result.error { renderErrors.append(error.description) }
            results.append(result)
            if estimatingDisruptions, let existing, !existing.status.interfaces.isEmpty {
                disruptions[name] = DisruptionEstimate.estimate(
                    spec: result.state.spec,
                    status: existing.status,
                    previousSpec: existing.spec,
                    isVirtual: Self.isVirtual(providerID: node.spec?.providerID ?? "")
                )
            }
            var label = OperatorNames.devicePluginDisabled
            do {
                let list = try dpRenderer.render(
                    node: name,
                    status: existing?.status.interfaces ?? [],
                    matching: matching
                )
                dpConfigs[name] = list
                dpData[name] = list.json
                if list.resourceList != nil { label = OperatorNames.devicePluginEnabled }
            } catch {
                renderErrors.append(error.description)
            }
            let previous = node.metadata.labels[OperatorNames.devicePluginLabel]
            labels.append(
                NodeLabelChange(node: name, key: OperatorNames.devicePluginLabel, value: label, previous: previous)
            )
            var labelled = node
            labelled.metadata.labels[OperatorNames.devicePluginLabel] = label
            nodes.append(labelled)
        }
        for state in existingStates.values.sorted(by: { $0.metadata.name < $1.metadata.name })
        where !managedNames.contains(state.metadata.name) {
            results.append(renderer.renderStale(state))
            if var node = snapshot.nodes.first(where: { $0.metadata.name == state.metadata.name }) {
                let previous = node.metadata.labels.removeValue(forKey: OperatorNames.devicePluginLabel)
                labels.append(
                    NodeLabelChange(
                        node: node.metadata.name,
                        key: OperatorNames.devicePluginLabel,
                        value: nil,
                        previous: previous
                    )
                )
                nodes.append(node)
            }
        }

        let networkRenderer = NetworkRenderer(
            options: options,
            namespaces: snapshot.namespaces.isEmpty
                ? nil : Set(snapshot.namespaces.map(\.metadata.name) + [options.namespace]),
            existing: Dictionary(
                snapshot.networkAttachments.map { ($0.key, $0) },
                uniquingKeysWith: { first, _ in first }
            )
        )
        var networks: [NetworkResult] = []
        networks += snapshot.networks.map { networkRenderer.render($0) }
        networks += snapshot.ibNetworks.map { networkRenderer.render($0) }
        networks += snapshot.ovsNetworks.map { networkRenderer.render($0) }
        // An invalid networkNamespace is an admission error too; the validator reports that one.
        for network in networks
        where network.ready.status != "True" && network.ready.reason != "NetworkAttachmentDefinitionInvalid" {
            renderErrors.append("\(network.kind) \(network.key): \(network.ready.reason): \(network.ready.message)")
        }

        return OperatorPlan(
            options: options,
            assumedDefaultOperatorConfig: config == nil,
            policies: renderer.sortedPolicies,
            nodeStates: results,
            disruptions: disruptions,
            devicePluginConfigs: dpConfigs,
            devicePluginConfigMap: dpRenderer.configMap(data: dpData),
            labels: labels,
            nodes: nodes,
            networks: networks,
            renderErrors: renderErrors
        )
    }

    /// Upstream picks the platform from `node.spec.providerID`: "openstack" or "aws" in it means a VM.
    public static func isVirtual(providerID: String) -> Bool {
        guard !providerID.isEmpty else { return false }
        let lowered = Array(providerID.lowercased().utf8)
        func contains(_ word: String) -> Bool {
            let w = Array(word.utf8)
            guard lowered.count >= w.count else { return false }
            return (0...(lowered.count - w.count)).contains { lowered[$0..<$0 + w.count].elementsEqual(w) }
        }
        return contains("openstack") || contains("aws")
    }

    /// Every object the operator manages, in its desired form, as one `kind: List`: NodeStates, the
    /// device-plugin ConfigMap, NADs and the labelled Nodes.
    public func objects() throws -> JSONValue {
        let encoder = ValueEncoder()
        var items: [JSONValue] = []
        for result in self.nodeStates { items.append(try encoder.encode(result.state)) }
        items.append(try encoder.encode(self.devicePluginConfigMap))
        for network in self.networks {
            if let nad = network.networkAttachment { items.append(try encoder.encode(nad)) }
        }
        for node in self.nodes { items.append(try encoder.encode(node)) }
        return .object([
            "apiVersion": .string("v1"),
            "kind": .string("List"),
            "metadata": .object([:]),
            "items": .array(items),
        ])
    }
}
