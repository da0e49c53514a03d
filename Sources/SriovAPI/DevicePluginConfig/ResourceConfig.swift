import KubeCore

/// The device plugin's configuration file (`/etc/pcidp/<node>`): `{"resourceList":[…]}`.
///
/// The operator writes it into the `device-plugin-config` ConfigMap. ``json`` produces exactly the bytes
/// upstream's Go code marshals, including its quirks (`"SelectorObj":null`, capitalised `IsRdma` and
/// `NeedVhostNet` that are always present), so both implementations agree on the ConfigMap content.
public struct ResourceConfigList: Sendable, Hashable {
    /// nil encodes as `null` (a node with no resources), as Go's nil slice does.
    public var resourceList: [ResourceConfig]?

    public init(resourceList: [ResourceConfig]?) { self.resourceList = resourceList }

    public var json: String {
        guard let list = self.resourceList else { return #"{"resourceList":null}"# }
        var out = #"{"resourceList":["#
        out.reserveCapacity(64 + list.count * 160)
        for (i, resource) in list.enumerated() {
            if i > 0 { out += "," }
            resource.appendJSON(to: &out)
        }
        out += "]}"
        return out
    }
}

/// One pool of the device plugin.
public struct ResourceConfig: Sendable, Hashable {
    public var resourceName: String
    public var excludeTopology: Bool
    public var selectors: NetDeviceSelectors

    public init(resourceName: String, excludeTopology: Bool = false, selectors: NetDeviceSelectors) {
        self.resourceName = resourceName
        self.excludeTopology = excludeTopology
        self.selectors = selectors
    }

    func appendJSON(to out: inout String) {
        out += #"{"resourceName":"#
        GoJSON.appendString(self.resourceName, to: &out)
        if self.excludeTopology { out += #","excludeTopology":true"# }
        out += #","selectors":"#
        self.selectors.appendJSON(to: &out)
        out += #","SelectorObj":null}"#
    }
}

/// The netDevice selectors of a pool, in the device plugin's key order.
public struct NetDeviceSelectors: Sendable, Hashable {
    public var vendors: [String] = []
    public var devices: [String] = []
    public var drivers: [String] = []
    public var pciAddresses: [String] = []
    public var pfNames: [String] = []
    public var rootDevices: [String] = []
    public var linkTypes: [String] = []
    public var ddpProfiles: [String] = []
    public var IsRdma: Bool = false
    public var NeedVhostNet: Bool = false
    public var vdpaType: String = ""

    public init() {}

    func appendJSON(to out: inout String) {
        var first = true
        Self.appendList("vendors", self.vendors, &first, &out)
        Self.appendList("devices", self.devices, &first, &out)
        Self.appendList("drivers", self.drivers, &first, &out)
        Self.appendList("pciAddresses", self.pciAddresses, &first, &out)
        Self.appendList("pfNames", self.pfNames, &first, &out)
        Self.appendList("rootDevices", self.rootDevices, &first, &out)
        Self.appendList("linkTypes", self.linkTypes, &first, &out)
        Self.appendList("ddpProfiles", self.ddpProfiles, &first, &out)
        out += first ? "{" : ","
        out += self.IsRdma ? #""IsRdma":true"# : #""IsRdma":false"#
        out += self.NeedVhostNet ? #","NeedVhostNet":true"# : #","NeedVhostNet":false"#
        if !self.vdpaType.isEmpty {
            out += #","vdpaType":"#
            GoJSON.appendString(self.vdpaType, to: &out)
        }
        out += "}"
    }

    private static func appendList(_ key: String, _ values: [String], _ first: inout Bool, _ out: inout String) {
        guard !values.isEmpty else { return }
        out += first ? "{\"" : ",\""
        first = false
        out += key
        out += "\":["
        for (i, v) in values.enumerated() {
            if i > 0 { out += "," }
            GoJSON.appendString(v, to: &out)
        }
        out += "]"
    }
}
