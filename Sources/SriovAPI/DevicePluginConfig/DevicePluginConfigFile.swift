public import KubeCore

/// The device plugin's configuration file as the plugin reads it: `{"resourceList":[…]}` with every key
/// upstream's sriov-network-device-plugin accepts (``ResourceConfigList`` is the subset the operator writes;
/// its ``ResourceConfigList/json`` parses here unchanged).
///
/// Keys are matched as Go's `encoding/json` matches them: exact name first, then case-insensitively, so the
/// operator's `"IsRdma"`/`"NeedVhostNet"` fill `isRdma`/`needVhostNet`. Unknown keys are ignored, as upstream
/// does. Validation follows upstream's fatal checks (name syntax, duplicates, device type, `isRdma` with
/// `vdpaType`, `auxTypes`), but reports every problem with the pool and the field instead of exiting.
public struct DevicePluginConfigFile: Sendable, Hashable {
    public var resourceList: [PoolConfig]
    /// Pools that upstream skips with a warning (`"selectors":[]`), with the reason.
    public var warnings: [String]

    public init(resourceList: [PoolConfig], warnings: [String] = []) {
        self.resourceList = resourceList
        self.warnings = warnings
    }

    /// Parses and validates a configuration.
    /// - Parameters:
    ///   - defaultPrefix: the CLI's `--resource-prefix`, used for pools without `resourcePrefix` when checking
    ///     that every `<prefix>/<name>` is unique.
    /// - Throws: ``DevicePluginConfigError`` naming the file, the pool and the field.
    public static func parse(
        _ text: String,
        file: String = "config.json",
        defaultPrefix: String
    ) throws(DevicePluginConfigError) -> DevicePluginConfigFile {
        let root: JSONValue
        do {
            root = try JSONParser.parse(text)
        } catch {
            throw DevicePluginConfigError(file: file, pool: nil, field: nil, message: "\(error)")
        }
        guard let top = root.objectValue else {
            throw DevicePluginConfigError(
                file: file,
                pool: nil,
                field: nil,
                message: "expected a JSON object, found \(root.typeName)"
            )
        }
        var pools: [PoolConfig] = []
        var warnings: [String] = []
        switch goField(top, "resourceList") {
        case nil, .null?:
            break
        case .array(let items)?:
            var seen: [String: Int] = [:]
            for (index, item) in items.enumerated() {
                var parser = PoolParser(file: file, index: index)
                guard let pool = try parser.parse(item) else {
                    warnings.append(contentsOf: parser.warnings)
                    continue
                }
                warnings.append(contentsOf: parser.warnings)
                let full = (pool.resourcePrefix.isEmpty ? defaultPrefix : pool.resourcePrefix) + "/" + pool.resourceName
                if let first = seen[full] {
                    throw DevicePluginConfigError(
                        file: file,
                        pool: "resourceList[\(index)] (\(pool.resourceName))",
                        field: "resourceName",
                        message:
                            "duplicate resource \(full.debugDescription), already defined by resourceList[\(first)]"
                    )
                }
                seen[full] = index
                pools.append(pool)
            }
        case let other?:
            throw DevicePluginConfigError(
                file: file,
                pool: nil,
                field: "resourceList",
                message: "expected an array, found \(other.typeName)"
            )
        }
        return DevicePluginConfigFile(resourceList: pools, warnings: warnings)
    }
}

/// An invalid device-plugin configuration: which file, which pool (`resourceList[2] (intel_dpdk)`), which
/// field and why.
public struct DevicePluginConfigError: Error, Sendable, Hashable, CustomStringConvertible {
    public var file: String
    public var pool: String?
    public var field: String?
    public var message: String

    public init(file: String, pool: String?, field: String?, message: String) {
        self.file = file
        self.pool = pool
        self.field = field
        self.message = message
    }

    public var description: String {
        var text = self.file + ": "
        if let pool { text += "pool \(pool): " }
        if let field { text += "field \(field): " }
        return text + self.message
    }
}

/// The kind of devices a pool holds (`deviceType`).
public enum PoolDeviceType: String, Sendable, Hashable, CaseIterable {
    case netDevice
    case accelerator
    case auxNetDevice
}

/// How GetPreferredAllocation distributes a request over PFs (`allocationPolicy`; our extension, ignored
/// by upstream's parser): `spread` (default) takes devices from as many PFs as possible, `pack` fills one PF
/// first.
public enum AllocationPolicy: String, Sendable, Hashable {
    case spread
    case pack
}

/// One pool (`resourceList[i]`).
public struct PoolConfig: Sendable, Hashable {
    public var resourceName: String
    /// Empty: the CLI's prefix.
    public var resourcePrefix: String = ""
    public var deviceType: PoolDeviceType = .netDevice
    public var excludeTopology: Bool = false
    /// Selector objects, applied independently and unioned in order.
    public var selectors: [DeviceSelectors]
    /// `additionalInfo`: `"*"` for every device, a device ID for one device.
    public var additionalInfo: [String: [String: String]] = [:]
    /// Our extensions (unknown to upstream, which ignores them).
    public var allocationPolicy: AllocationPolicy = .spread
    /// Report a device Unhealthy while its PF has no carrier (`checkHealthOnPf`, default true).
    public var checkHealthOnPf: Bool = true
    /// Keep a device that vanished or lost its pool's driver in the list as Unhealthy instead of dropping it
    /// (`checkHealthOnDeviceExist`, default true).
    public var checkHealthOnDeviceExist: Bool = true

    public init(resourceName: String, selectors: [DeviceSelectors]) {
        self.resourceName = resourceName
        self.selectors = selectors
    }
}

/// One selector object. Empty lists do not filter.
public struct DeviceSelectors: Sendable, Hashable {
    public var vendors: [String] = []
    public var devices: [String] = []
    public var drivers: [String] = []
    public var pciAddresses: [String] = []
    public var acpiIndexes: [String] = []
    public var pfNames: [String] = []
    public var rootDevices: [String] = []
    public var linkTypes: [String] = []
    public var ddpProfiles: [String] = []
    public var pKeys: [String] = []
    public var auxTypes: [String] = []
    public var isRdma: Bool = false
    public var needVhostNet: Bool = false
    /// `""`, `"vhost"` or `"virtio"`.
    public var vdpaType: String = ""

    public init() {}
}

/// Go's `encoding/json` field lookup: exact key first, then the first case-insensitive match.
func goField(_ object: JSONObject, _ name: String) -> JSONValue? {
    if let exact = object[name] { return exact }
    let lower = name.lowercased()
    return object.entries.first { $0.key.lowercased() == lower }?.value
}

private struct PoolParser {
    let file: String
    let index: Int
    var name: String?
    var warnings: [String] = []

    init(file: String, index: Int) {
        self.file = file
        self.index = index
    }

    var poolLabel: String { self.name.map { "resourceList[\(self.index)] (\($0))" } ?? "resourceList[\(self.index)]" }

    func error(_ field: String?, _ message: String) -> DevicePluginConfigError {
        DevicePluginConfigError(file: self.file, pool: self.poolLabel, field: field, message: message)
    }

    mutating func parse(_ value: JSONValue) throws(DevicePluginConfigError) -> PoolConfig? {
        guard let object = value.objectValue else {
            throw self.error(nil, "expected an object, found \(value.typeName)")
        }
        let name = try self.string(object, "resourceName") ?? ""
        self.name = name
        guard !name.isEmpty else { throw self.error("resourceName", "is required") }
        guard name.utf8.allSatisfy(Self.isNameByte) else {
            throw self.error("resourceName", "\(name.debugDescription) must match ^[a-zA-Z0-9_-]+$")
        }
        let prefix = try self.string(object, "resourcePrefix") ?? ""
        if !prefix.isEmpty, prefix.contains("/") || prefix.utf8.contains(where: { $0 <= 0x20 }) {
            throw self.error("resourcePrefix", "\(prefix.debugDescription) is not a DNS-style resource prefix")
        }
        let typeText = try self.string(object, "deviceType") ?? ""
        let deviceType: PoolDeviceType
        if typeText.isEmpty {
            deviceType = .netDevice
        } else if let parsed = PoolDeviceType(rawValue: typeText) {
            deviceType = parsed
        } else {
            throw self.error(
                "deviceType",
                "\(typeText.debugDescription) is not one of netDevice, accelerator, auxNetDevice"
            )
        }
        var selectorValues: [(String, JSONObject)] = []
        switch goField(object, "selectors") {
        case nil, .null?:
            throw self.error("selectors", "is required (an object or an array of objects)")
        case .object(let one)?:
            selectorValues = [("selectors", one)]
        case .array(let many)?:
            for (i, item) in many.enumerated() {
                guard let o = item.objectValue else {
                    throw self.error("selectors[\(i)]", "expected an object, found \(item.typeName)")
                }
                selectorValues.append(("selectors[\(i)]", o))
            }
        case let other?:
            throw self.error("selectors", "expected an object or an array, found \(other.typeName)")
        }
        if selectorValues.isEmpty {
            self.warnings.append("\(self.file): pool \(self.poolLabel): empty selectors list, pool skipped")
            return nil
        }
        var selectors: [DeviceSelectors] = []
        for (field, o) in selectorValues {
            selectors.append(try self.selectors(o, field: field, deviceType: deviceType))
        }
        var pool = PoolConfig(resourceName: name, selectors: selectors)
        pool.resourcePrefix = prefix
        pool.deviceType = deviceType
        pool.excludeTopology = try self.bool(object, "excludeTopology") ?? false
        pool.checkHealthOnPf = try self.bool(object, "checkHealthOnPf") ?? true
        pool.checkHealthOnDeviceExist = try self.bool(object, "checkHealthOnDeviceExist") ?? true
        if let policy = try self.string(object, "allocationPolicy"), !policy.isEmpty {
            guard let parsed = AllocationPolicy(rawValue: policy) else {
                throw self.error("allocationPolicy", "\(policy.debugDescription) is not spread or pack")
            }
            pool.allocationPolicy = parsed
        }
        switch goField(object, "additionalInfo") {
        case nil, .null?: break
        case .object(let info)?:
            for (key, value) in info {
                guard let inner = value.objectValue else {
                    throw self.error("additionalInfo.\(key)", "expected an object, found \(value.typeName)")
                }
                var map: [String: String] = [:]
                for (k, v) in inner {
                    guard let s = v.stringValue else {
                        throw self.error("additionalInfo.\(key).\(k)", "expected a string, found \(v.typeName)")
                    }
                    map[k] = s
                }
                pool.additionalInfo[key] = map
            }
        case let other?:
            throw self.error("additionalInfo", "expected an object, found \(other.typeName)")
        }
        return pool
    }

    static func isNameByte(_ b: UInt8) -> Bool {
        (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) || b == 0x5F || b == 0x2D
    }

    func selectors(
        _ o: JSONObject,
        field: String,
        deviceType: PoolDeviceType
    ) throws(DevicePluginConfigError) -> DeviceSelectors {
        var s = DeviceSelectors()
        func list(_ key: String) throws(DevicePluginConfigError) -> [String] {
            switch goField(o, key) {
            case nil, .null?: return []
            case .array(let items)?:
                var out: [String] = []
                for (i, item) in items.enumerated() {
                    guard let text = item.stringValue else {
                        throw self.error("\(field).\(key)[\(i)]", "expected a string, found \(item.typeName)")
                    }
                    out.append(text)
                }
                return out
            case let other?:
                throw self.error("\(field).\(key)", "expected an array of strings, found \(other.typeName)")
            }
        }
        func flag(_ key: String) throws(DevicePluginConfigError) -> Bool {
            switch goField(o, key) {
            case nil, .null?: return false
            case .bool(let b)?: return b
            case let other?: throw self.error("\(field).\(key)", "expected a boolean, found \(other.typeName)")
            }
        }
        s.vendors = try list("vendors")
        s.devices = try list("devices")
        s.drivers = try list("drivers")
        s.pciAddresses = try list("pciAddresses")
        s.acpiIndexes = try list("acpiIndexes")
        s.pfNames = try list("pfNames")
        s.rootDevices = try list("rootDevices")
        s.linkTypes = try list("linkTypes")
        s.ddpProfiles = try list("ddpProfiles")
        s.pKeys = try list("pKeys")
        s.auxTypes = try list("auxTypes")
        s.isRdma = try flag("isRdma")
        s.needVhostNet = try flag("needVhostNet")
        switch goField(o, "vdpaType") {
        case nil, .null?: break
        case .string(let t)?:
            guard t.isEmpty || t == "vhost" || t == "virtio" else {
                throw self.error("\(field).vdpaType", "\(t.debugDescription) is not vhost or virtio")
            }
            s.vdpaType = t
        case let other?: throw self.error("\(field).vdpaType", "expected a string, found \(other.typeName)")
        }
        if s.isRdma && !s.vdpaType.isEmpty {
            throw self.error("\(field).vdpaType", "isRdma and vdpaType cannot be used together")
        }
        if deviceType == .auxNetDevice {
            guard !s.auxTypes.isEmpty else {
                throw self.error("\(field).auxTypes", "is required for deviceType auxNetDevice (only \"sf\")")
            }
            for (i, t) in s.auxTypes.enumerated() where t != "sf" {
                throw self.error("\(field).auxTypes[\(i)]", "\(t.debugDescription) is not supported (only \"sf\")")
            }
        }
        return s
    }

    func string(_ o: JSONObject, _ key: String) throws(DevicePluginConfigError) -> String? {
        switch goField(o, key) {
        case nil, .null?: return nil
        case .string(let s)?: return s
        case let other?: throw self.error(key, "expected a string, found \(other.typeName)")
        }
    }

    func bool(_ o: JSONObject, _ key: String) throws(DevicePluginConfigError) -> Bool? {
        switch goField(o, key) {
        case nil, .null?: return nil
        case .bool(let b)?: return b
        case let other?: throw self.error(key, "expected a boolean, found \(other.typeName)")
        }
    }
}
