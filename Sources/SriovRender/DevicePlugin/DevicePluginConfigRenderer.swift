public import KubeCore
public import SriovAPI

/// A node's device-plugin configuration could not be rendered.
public struct DevicePluginRenderError: Error, Sendable, Hashable, CustomStringConvertible {
    public var node: String
    public var policy: String
    public var message: String
    public var description: String {
        "device plugin config for node \(GoJSON.quote(self.node)), policy \(GoJSON.quote(self.policy)): \(self.message)"
    }
}

/// Renders the `device-plugin-config` ConfigMap: one `{"resourceList":[…]}` per managed node.
///
/// Upstream: controllers/sriovnetworknodepolicy_controller.go syncDevicePluginConfigMap,
/// renderDevicePluginConfigData, createDevicePluginResource, updateDevicePluginResource.
public struct DevicePluginConfigRenderer: Sendable {
    public var options: RenderOptions
    public let sortedPolicies: [SriovNetworkNodePolicy]
    let prepared: [PreparedPolicy]

    public init(options: RenderOptions, sortedPolicies: [SriovNetworkNodePolicy]) {
        self.options = options
        self.sortedPolicies = sortedPolicies
        self.prepared = PreparedPolicy.prepare(sortedPolicies)
    }

    /// The resource list for one node. `status` is the node's NodeState status (may be empty).
    public func render(
        node: Node,
        status: [SriovNetworkNodeState.InterfaceExt]
    ) throws(DevicePluginRenderError) -> ResourceConfigList {
        let labels = node.metadata.labels
        return try self.render(
            node: node.metadata.name,
            status: status,
            matching: self.prepared.filter { !$0.isDefault && $0.selects(labels) }
        )
    }

    func render(
        node: String,
        status: [SriovNetworkNodeState.InterfaceExt],
        matching: [PreparedPolicy]
    ) throws(DevicePluginRenderError) -> ResourceConfigList {
        var list: [ResourceConfig] = []
        for prepared in matching {
            if let index = list.firstIndex(where: { $0.resourceName == prepared.groupTemplate.resourceName }) {
                try self.update(&list[index], with: prepared, node: node, status: status)
            } else {
                var resource = ResourceConfig(
                    resourceName: prepared.groupTemplate.resourceName,
                    selectors: NetDeviceSelectors()
                )
                resource.selectors.IsRdma = prepared.groupTemplate.isRdma
                resource.selectors.NeedVhostNet = prepared.needVhostNet
                resource.selectors.vdpaType = prepared.groupTemplate.vdpaType
                try self.update(&resource, with: prepared, node: node, status: status)
                list.append(resource)
            }
        }
        return ResourceConfigList(resourceList: list.isEmpty ? nil : list)
    }

    /// Merges one policy's selectors into a resource: lists are appended uniquely; `IsRdma`,
    /// `NeedVhostNet` and `vdpaType` stay those of the first policy (an upstream quirk);
    /// `excludeTopology` is the last policy's.
    func update(
        _ resource: inout ResourceConfig,
        with policy: PreparedPolicy,
        node: String,
        status: [SriovNetworkNodeState.InterfaceExt]
    ) throws(DevicePluginRenderError) {
        if !policy.vendor.isEmpty { resource.selectors.vendors.appendUnique(policy.vendor) }
        if !policy.deviceID.isEmpty {
            let device =
                policy.numVfs == 0
                ? policy.deviceID : (self.options.supportedNICs.vfDeviceID(ofPF: policy.deviceID) ?? "")
            if !device.isEmpty { resource.selectors.devices.appendUnique(device) }
        }
        if !policy.pfNameEntries.isEmpty {
            for name in Self.resolvePfNames(policy.pfNameEntries, status: status) {
                resource.selectors.pfNames.appendUnique(name)
            }
        }
        if policy.groupTemplate.deviceType != "vfio-pci", !policy.linkType.isEmpty {
            resource.selectors.linkTypes.appendUnique(policy.linkType.lowercased() == "ib" ? "infiniband" : "ether")
        }
        for root in policy.rootDevices { resource.selectors.rootDevices.appendUnique(root) }
        if !policy.netFilter.isEmpty {
            guard !status.isEmpty else {
                throw DevicePluginRenderError(
                    node: node,
                    policy: policy.name,
                    message:
                        "spec.nicSelector.netFilter needs the node's discovered interfaces, but its NodeState has no status.interfaces yet"
                )
            }
            for index in status.indices where NetFilter.matches(policy.netFilter, status[index].netFilter) {
                resource.selectors.pciAddresses.appendUnique(status[index].pciAddress)
            }
        }
        resource.excludeTopology = policy.excludeTopology
    }

    /// PF names with altnames replaced by the primary name found in the NodeState status; a `#a-b`
    /// suffix is kept (the device plugin understands it). Unknown names are kept as given.
    /// Upstream: resolvePfNames.
    public static func resolvePfNames(_ entries: [String], status: [SriovNetworkNodeState.InterfaceExt]) -> [String] {
        entries.map { entry in
            let name = PfNameSelector.name(of: entry)
            if status.contains(where: { $0.name == name }) { return entry }
            if let index = status.firstIndex(where: { $0.altNames.contains { $0 == name } }) {
                return status[index].name + entry[name.endIndex...]
            }
            return entry
        }
    }

    /// The ConfigMap object with `data[node] = json` for every node given.
    public func configMap(data: [String: String]) -> ConfigMap {
        var metadata = ObjectMeta(name: OperatorNames.devicePluginConfigMap, namespace: self.options.namespace)
        metadata.ownerReferences = [self.options.operatorConfigOwnerReference]
        return ConfigMap(metadata: metadata, data: data)
    }
}

extension Array where Element: Equatable {
    mutating func appendUnique(_ element: Element) {
        if !self.contains(element) { self.append(element) }
    }
}
