public import KubeCore

/// The VF state ADD found before changing anything, restored by DEL (upstream's `OrigVfState`, same JSON keys).
public struct VFOriginalState: Sendable, Hashable {
    /// The VF netdev's name in the host namespace; empty for a DPDK VF.
    public var hostIFName: String = ""
    public var spoofChk: Bool = false
    public var trust: Bool = false
    public var adminMAC: String = ""
    public var effectiveMAC: String = ""
    public var vlan: Int = 0
    public var vlanQoS: Int = 0
    /// `0x8100` or `0x88a8`; 0 when the driver did not report one.
    public var vlanProto: Int = 0
    public var minTxRate: Int = 0
    public var maxTxRate: Int = 0
    /// `IFLA_VF_LINK_STATE`: 0 auto, 1 enable, 2 disable.
    public var linkState: Int = 0
    /// The VF netdev's MTU; 0 when unknown.
    public var mtu: Int = 0

    public init() {}
}

/// What ADD leaves in `/var/lib/cni/sriov/<containerID>-<ifname>` for DEL: the configuration as ADD understood it
/// plus the original VF state, in upstream's layout (the stdin keys, then `OrigVfState`, `Master`, `MAC`, `MTU`,
/// `VFID`), so a DEL by either implementation can read a cache written by the other.
///
/// Additions (ignored by upstream's decoder): `DPDKMode` (upstream does not persist it, so its DEL of a DPDK VF
/// fails once), and `cniContainerID`/`cniIfName`/`cniNetns`, which GC uses.
public struct SriovCNICache: Sendable, Hashable {
    public var conf: SriovNetConf
    public var original: VFOriginalState
    /// The PF netdev name.
    public var master: String
    /// The MAC requested for the VF (after precedence), `""` when none.
    public var mac: String
    /// The MTU reported in the result.
    public var mtu: Int?
    public var vfID: Int
    public var dpdkMode: Bool
    public var containerID: String
    public var ifName: String
    public var netns: String

    public init(
        conf: SriovNetConf,
        original: VFOriginalState,
        master: String,
        mac: String,
        mtu: Int?,
        vfID: Int,
        dpdkMode: Bool,
        containerID: String,
        ifName: String,
        netns: String
    ) {
        self.conf = conf
        self.original = original
        self.master = master
        self.mac = mac
        self.mtu = mtu
        self.vfID = vfID
        self.dpdkMode = dpdkMode
        self.containerID = containerID
        self.ifName = ifName
        self.netns = netns
    }

    /// The cache file's JSON.
    public func encode() -> String {
        var object = JSONObject()
        for (key, value) in self.conf.raw where !Self.ownKeys.contains(key.lowercased()) {
            object[key] = value
        }
        func optional(_ value: Int?) -> JSONValue { value.map { .int($0) } ?? .null }
        object["vlan"] = optional(self.conf.vlan)
        object["vlanQoS"] = optional(self.conf.vlanQoS)
        object["vlanProto"] = self.conf.vlanProto.map { .string($0) } ?? .null
        object["deviceID"] = .string(self.conf.deviceID)
        object["min_tx_rate"] = optional(self.conf.minTxRate)
        object["max_tx_rate"] = optional(self.conf.maxTxRate)
        if !self.conf.spoofchk.isEmpty { object["spoofchk"] = .string(self.conf.spoofchk) }
        if !self.conf.trust.isEmpty { object["trust"] = .string(self.conf.trust) }
        if !self.conf.linkState.isEmpty { object["link_state"] = .string(self.conf.linkState) }
        let o = self.original
        object["OrigVfState"] = .object([
            "HostIFName": .string(o.hostIFName), "SpoofChk": .bool(o.spoofChk), "Trust": .bool(o.trust),
            "AdminMAC": .string(o.adminMAC), "EffectiveMAC": .string(o.effectiveMAC), "Vlan": .int(o.vlan),
            "VlanQoS": .int(o.vlanQoS), "VlanProto": .int(o.vlanProto), "MinTxRate": .int(o.minTxRate),
            "MaxTxRate": .int(o.maxTxRate), "LinkState": .int(o.linkState), "MTU": .int(o.mtu),
        ])
        object["DPDKMode"] = .bool(self.dpdkMode)
        object["Master"] = .string(self.master)
        object["MAC"] = .string(self.mac)
        object["MTU"] = optional(self.mtu)
        object["VFID"] = .int(self.vfID)
        object["cniContainerID"] = .string(self.containerID)
        object["cniIfName"] = .string(self.ifName)
        object["cniNetns"] = .string(self.netns)
        return GoJSON.encode(.object(object))
    }

    /// Keys this type writes itself (lower-cased, as Go would match them).
    private static let ownKeys: Set<String> = [
        "vlan", "vlanqos", "vlanproto", "deviceid", "min_tx_rate", "max_tx_rate", "spoofchk", "trust", "link_state",
        "origvfstate", "dpdkmode", "master", "mac", "mtu", "vfid", "cnicontainerid", "cniifname", "cninetns",
    ]

    /// Reads a cache file written by this plugin or by upstream sriov-cni.
    /// - Throws: a description of what is wrong.
    public static func decode(_ bytes: [UInt8]) throws(SriovNetConfDecodingError) -> SriovCNICache {
        let value: JSONValue
        do {
            value = try JSONParser.parse(bytes)
        } catch {
            throw SriovNetConfDecodingError(description: "\(error)")
        }
        guard case .object(let object) = value else {
            throw SriovNetConfDecodingError(description: "the cache holds a JSON \(value.typeName), not an object")
        }
        var conf = try SriovNetConf.decode(object)
        conf.runtimeMAC = ""
        let fields = GoFields(object: object, structName: "NetConf")
        var original = VFOriginalState()
        if let o = try fields.object("OrigVfState") {
            let f = GoFields(object: o, structName: "NetConf.OrigVfState")
            original.hostIFName = try f.string("HostIFName") ?? ""
            original.spoofChk = try f.bool("SpoofChk") ?? false
            original.trust = try f.bool("Trust") ?? false
            original.adminMAC = try f.string("AdminMAC") ?? ""
            original.effectiveMAC = try f.string("EffectiveMAC") ?? ""
            original.vlan = try f.int("Vlan") ?? 0
            original.vlanQoS = try f.int("VlanQoS") ?? 0
            original.vlanProto = try f.int("VlanProto") ?? 0
            original.minTxRate = try f.int("MinTxRate") ?? 0
            original.maxTxRate = try f.int("MaxTxRate") ?? 0
            original.linkState = try f.int("LinkState") ?? 0
            original.mtu = try f.int("MTU") ?? 0
        }
        return SriovCNICache(
            conf: conf,
            original: original,
            master: try fields.string("Master") ?? "",
            mac: conf.mac.lowercased(),
            mtu: try fields.int("MTU"),
            vfID: try fields.int("VFID") ?? 0,
            dpdkMode: try fields.bool("DPDKMode") ?? false,
            containerID: try fields.string("cniContainerID") ?? "",
            ifName: try fields.string("cniIfName") ?? "",
            netns: try fields.string("cniNetns") ?? ""
        )
    }
}

extension GoFields {
    func bool(_ key: String) throws(SriovNetConfDecodingError) -> Bool? {
        guard let value = self.value(key) else { return nil }
        switch value {
        case .null: return nil
        case .bool(let b): return b
        default: throw self.mismatch(key, value, goType: "bool")
        }
    }
}
