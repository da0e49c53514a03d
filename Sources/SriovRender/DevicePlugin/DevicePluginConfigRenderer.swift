public import SriovAPI
public import KubeCore

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

    public init(options: RenderOptions, sortedPolicies: [SriovNetworkNodePolicy]) {
        self.options = options
        self.sortedPolicies = sortedPolicies
    }

    /// The resource list for one node. `status` is the node's NodeState status (may be empty).
    public func render(
        node: Node,
        status: [SriovNetworkNodeState.InterfaceExt]
    ) throws(DevicePluginRenderError) -> ResourceConfigList {
        var list: [ResourceConfig] = []
        let labels = node.metadata.labels
        for policy in self.sortedPolicies where policy.metadata.name != "default" && policy.selects(nodeLabels: labels) {
            if let index = list.firstIndex(where: { $0.resourceName == policy.spec.resourceName }) {
                try self.update(&list[index], with: policy, node: node.metadata.name, status: status)
            } else {
                var resource = ResourceConfig(resourceName: policy.spec.resourceName, selectors: NetDeviceSelectors())
                resource.selectors.IsRdma = policy.spec.isRdma ?? false
                resource.selectors.NeedVhostNet = policy.spec.needVhostNet
                resource.selectors.vdpaType = policy.spec.vdpaType
                try self.update(&resource, with: policy, node: node.metadata.name, status: status)
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
        with policy: SriovNetworkNodePolicy,
        node: String,
        status: [SriovNetworkNodeState.InterfaceExt]
    ) throws(DevicePluginRenderError) {
        let nic = policy.spec.nicSelector
        var s = resource.selectors
        if !nic.vendor.isEmpty { s.vendors.appendUnique(nic.vendor) }
        if !nic.deviceID.isEmpty {
            let device =
                policy.spec.numVfs == 0 ? nic.deviceID : (self.options.supportedNICs.vfDeviceID(ofPF: nic.deviceID) ?? "")
            if !device.isEmpty { s.devices.appendUnique(device) }
        }
        if !nic.pfNames.isEmpty {
            for name in Self.resolvePfNames(nic.pfNames, status: status) { s.pfNames.appendUnique(name) }
        }
        if policy.spec.deviceType != "vfio-pci", !policy.spec.linkType.isEmpty {
            s.linkTypes.appendUnique(policy.spec.linkType.lowercased() == "ib" ? "infiniband" : "ether")
        }
        for root in nic.rootDevices { s.rootDevices.appendUnique(root) }
        if !nic.netFilter.isEmpty {
            guard !status.isEmpty else {
                throw DevicePluginRenderError(
                    node: node,
                    policy: policy.metadata.name,
                    message: "spec.nicSelector.netFilter needs the node's discovered interfaces, but its NodeState has no status.interfaces yet"
                )
            }
            for iface in status where NetFilter.matches(nic.netFilter, iface.netFilter) {
                s.pciAddresses.appendUnique(iface.pciAddress)
            }
        }
        resource.selectors = s
        resource.excludeTopology = policy.spec.excludeTopology
    }

    /// PF names with altnames replaced by the primary name found in the NodeState status; a `#a-b`
    /// suffix is kept (the device plugin understands it). Unknown names are kept as given.
    /// Upstream: resolvePfNames.
    public static func resolvePfNames(_ entries: [String], status: [SriovNetworkNodeState.InterfaceExt]) -> [String] {
        entries.map { entry in
            let name = PfNameSelector.name(of: entry)
            let suffix = entry[name.endIndex...]
            if status.contains(where: { $0.name == name }) { return entry }
            if let iface = status.first(where: { $0.altNames.contains { $0 == name } }) {
                return iface.name + suffix
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
