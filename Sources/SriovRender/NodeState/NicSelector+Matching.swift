public import SriovAPI

extension SriovNetworkNodePolicy.NicSelector {
    /// Whether a discovered PF is selected: every selector field that is set must match.
    ///
    /// Upstream: api/v1/helper.go SriovNetworkNicSelector.Selected — pfNames match the name or any
    /// altname after cutting `#…`; netFilter compares key and value.
    public func selects(_ iface: SriovNetworkNodeState.InterfaceExt) -> Bool {
        if !self.vendor.isEmpty, self.vendor != iface.vendor { return false }
        if !self.deviceID.isEmpty, self.deviceID != iface.deviceID { return false }
        if !self.rootDevices.isEmpty, !self.rootDevices.contains(iface.pciAddress) { return false }
        if !self.pfNames.isEmpty {
            let matched = self.pfNames.contains { entry in
                let name = PfNameSelector.name(of: entry)
                return name == iface.name || iface.altNames.contains { $0 == name }
            }
            if !matched { return false }
        }
        if !self.netFilter.isEmpty, !NetFilter.matches(self.netFilter, iface.netFilter) { return false }
        return true
    }
}

/// `netFilter` strings such as `openstack/NetworkID:<uuid>`.
public enum NetFilter {
    /// Splits a filter into key and value with upstream's regex `^\s*(\S+)\s*:\s*(\S+)`.
    public static func parse(_ text: String) -> (key: Substring, value: Substring)? {
        guard let match = text.firstMatch(of: /^\s*(\S+)\s*:\s*(\S+)/) else { return nil }
        return (match.output.1, match.output.2)
    }

    /// Both parse, and key and value are equal (case-sensitive).
    /// Upstream: api/v1/helper.go NetFilterMatch.
    public static func matches(_ selector: String, _ value: String) -> Bool {
        guard let a = self.parse(selector), let b = self.parse(value) else { return false }
        return a.key == b.key && a.value == b.value
    }
}

extension SriovNetworkNodePolicy {
    /// Whether the policy's `nodeSelector` selects a node: plain label equality, `{}` selects all.
    public func selects(nodeLabels labels: [String: String]) -> Bool {
        for (key, value) in self.spec.nodeSelector where labels[key] != value { return false }
        return true
    }
}
