import KubeCore
public import SriovAPI
public import SriovHost
public import SriovRender

/// The files of systemd configuration mode (reference §4.6), with upstream's names and keys so a node can
/// switch between upstream's daemon and this one: the daemon writes the config, the boot-time units
/// (`sriov service --phase pre|post`) apply it and write the result, the daemon reports the result.
///
/// Upstream marshals these with gopkg.in/yaml.v3 and no yaml tags on the spec types, so the spec's keys
/// are the Go field names in lower case (`pciaddress`, `numvfs`, `vfgroups`); the same spelling is
/// written here, and both that and the JSON spelling are read.
public struct SystemdFiles: Sendable {
    public static let configPath = "/etc/sriov-operator/sriov-interface-config.yaml"
    public static let resultPath = "/etc/sriov-operator/sriov-interface-result.yaml"
    public static let supportedNICsPath = "/etc/sriov-operator/sriov-supported-nics-ids.yaml"
    public static let binaryPath = "/var/lib/sriov/sriov-network-config-daemon"
    public static let preUnitPath = "/etc/systemd/system/sriov-config.service"
    public static let postUnitPath = "/etc/systemd/system/sriov-config-post-network.service"
    static let wantsDirectory = "/etc/systemd/system/multi-user.target.wants"

    /// `sriov-interface-config.yaml`.
    public struct Config: Sendable, Hashable {
        public var spec: SriovNetworkNodeState.Spec
        public var unsupportedNics: Bool
        public var platformType: Int
        public var manageSoftwareBridges: Bool
        public var ovsdbSocketPath: String

        public init(
            spec: SriovNetworkNodeState.Spec,
            unsupportedNics: Bool = false,
            platformType: Int = 0,
            manageSoftwareBridges: Bool = false,
            ovsdbSocketPath: String = ""
        ) {
            self.spec = spec
            self.unsupportedNics = unsupportedNics
            self.platformType = platformType
            self.manageSoftwareBridges = manageSoftwareBridges
            self.ovsdbSocketPath = ovsdbSocketPath
        }

        public var platform: NodePlatform {
            switch self.platformType {
            case 1: return .openstack
            case 2: return .aws
            default: return .baremetal
            }
        }
    }

    /// `sriov-interface-result.yaml`.
    public struct Result: Sendable, Hashable {
        public var syncStatus: String
        public var lastSyncError: String

        public init(syncStatus: String, lastSyncError: String = "") {
            self.syncStatus = syncStatus
            self.lastSyncError = lastSyncError
        }
    }

    let sysfs: any SysFS

    public init(sysfs: any SysFS) { self.sysfs = sysfs }

    // MARK: - Config

    /// Writes the config; true when its content changed (a first file with no interfaces is not a change,
    /// as upstream avoids a reboot right after installation).
    @discardableResult
    public func writeConfig(_ config: Config) throws(HostError) -> Bool {
        let text = try Self.render(config)
        let old = self.sysfs.readIfPresent(Self.configPath)
        if old == text.trimmingTrailingNewlines { return false }
        try self.sysfs.createFile(Self.configPath, text)
        if old == nil, config.spec.interfaces.isEmpty { return false }
        return true
    }

    public func readConfig() throws(HostError) -> Config? {
        guard let text = self.sysfs.readIfPresent(Self.configPath) else { return nil }
        let value: JSONValue
        do {
            value = try ManifestReader.parse(text, file: Self.configPath).first?.value ?? .object([:])
        } catch {
            throw HostError(code: .invalidArgument, message: "unreadable: \(error)", path: Self.configPath)
        }
        let specValue = Self.camelCased(value["spec"] ?? .object([:]))
        let spec: SriovNetworkNodeState.Spec
        do {
            spec = try ValueDecoder(rejectsUnknownFields: false).decode(
                SriovNetworkNodeState.Spec.self,
                from: specValue
            )
        } catch {
            throw HostError(code: .invalidArgument, message: "spec: \(error)", path: Self.configPath)
        }
        func bool(_ key: String) -> Bool { if case .bool(let b) = value[key] { b } else { false } }
        var platform = 0
        if case .int(let n) = value["platformType"] { platform = n }
        return Config(
            spec: spec,
            unsupportedNics: bool("unsupportedNics"),
            platformType: platform,
            manageSoftwareBridges: bool("manageSoftwareBridges"),
            ovsdbSocketPath: value["ovsdbSocketPath"]?.stringValue ?? ""
        )
    }

    static func render(_ config: Config) throws(HostError) -> String {
        let spec: JSONValue
        do {
            spec = Self.lowerCased(try ValueEncoder().encode(config.spec))
        } catch {
            throw HostError(code: .io, message: "cannot encode the spec: \(error)", path: Self.configPath)
        }
        let document: JSONValue = [
            "spec": spec, "unsupportedNics": .bool(config.unsupportedNics), "platformType": .int(config.platformType),
            "manageSoftwareBridges": .bool(config.manageSoftwareBridges),
            "ovsdbSocketPath": .string(config.ovsdbSocketPath),
        ]
        return YAMLWriter.string(document)
    }

    // MARK: - Result

    public func readResult() -> Result? {
        guard let text = self.sysfs.readIfPresent(Self.resultPath),
            let value = try? ManifestReader.parse(text, file: Self.resultPath).first?.value
        else { return nil }
        return Result(
            syncStatus: value["syncStatus"]?.stringValue ?? "",
            lastSyncError: value["lastSyncError"]?.stringValue ?? ""
        )
    }

    public func writeResult(_ result: Result) throws(HostError) {
        let document: JSONValue = [
            "syncStatus": .string(result.syncStatus), "lastSyncError": .string(result.lastSyncError),
        ]
        try self.sysfs.createFile(Self.resultPath, YAMLWriter.string(document))
    }

    public func removeResult() throws(HostError) { try self.sysfs.remove(Self.resultPath) }

    /// One `"<vendor> <pf> <vf>"` line per supported model (upstream's format).
    public func writeSupportedNICs(_ nics: SupportedNICs) throws(HostError) {
        let lines = nics.models.map { "\($0.vendor) \($0.pfDeviceID) \($0.vfDeviceID)\n" }.joined()
        if self.sysfs.readIfPresent(Self.supportedNICsPath) == lines.trimmingTrailingNewlines { return }
        try self.sysfs.createFile(Self.supportedNICsPath, lines)
    }

    public func readSupportedNICs() -> SupportedNICs? {
        guard let text = self.sysfs.readIfPresent(Self.supportedNICsPath) else { return nil }
        let models = text.split(separator: "\n").compactMap { line -> SupportedNICs.Model? in
            let f = line.split(separator: " ").map(String.init)
            guard f.count == 3 else { return nil }
            return SupportedNICs.Model(name: "", vendor: f[0], pfDeviceID: f[1], vfDeviceID: f[2])
        }
        return models.isEmpty ? nil : SupportedNICs(models: models)
    }

    // MARK: - Units

    public static let preUnit = """
        [Unit]
        Description=Configures SRIOV NIC - pre network configuration
        DefaultDependencies=no
        After=network-pre.target
        Before=network-pre.target NetworkManager.service systemd-networkd.service ovs-vswitchd.service ovsdb-server.service

        [Service]
        Type=oneshot
        ExecStart=\(binaryPath) service --phase pre
        StandardOutput=journal+console

        [Install]
        WantedBy=multi-user.target

        """

    public static let postUnit = """
        [Unit]
        Description=Configures SRIOV NIC - post network configuration
        After=systemd-networkd-wait-online.service NetworkManager-wait-online.service openvswitch-switch.service
        Before=kubelet.service

        [Service]
        Type=oneshot
        ExecStart=\(binaryPath) service --phase post
        StandardOutput=journal+console

        [Install]
        WantedBy=multi-user.target

        """

    /// Writes and enables (the `multi-user.target.wants` links `systemctl enable` makes) both units; true
    /// when anything changed.
    @discardableResult
    public func installUnits() throws(HostError) -> Bool {
        var changed = false
        for (path, content) in [(Self.preUnitPath, Self.preUnit), (Self.postUnitPath, Self.postUnit)] {
            if self.sysfs.readIfPresent(path) != content.trimmingTrailingNewlines {
                try self.sysfs.createFile(path, content)
                changed = true
            }
            let name = String(path.split(separator: "/").last ?? "")
            let link = Self.wantsDirectory + "/" + name
            if !self.sysfs.exists(link) {
                try LinuxSysFS(root: self.sysfs.root).symlink(link, to: path)
                changed = true
            }
        }
        return changed
    }

    /// Whether both units are installed (else systemd mode cannot work on this node).
    public var unitsInstalled: Bool {
        self.sysfs.exists(Self.preUnitPath) && self.sysfs.exists(Self.postUnitPath)
    }

    /// Daemon mode: removes what systemd mode left (config, result, NIC ids, the copied binary and, off
    /// OpenShift, the units), as upstream does at start.
    public func cleanUp(removeUnits: Bool = true) throws(HostError) {
        var paths = [Self.configPath, Self.resultPath, Self.supportedNICsPath, Self.binaryPath]
        if removeUnits {
            paths += [
                Self.preUnitPath, Self.postUnitPath, Self.wantsDirectory + "/sriov-config.service",
                Self.wantsDirectory + "/sriov-config-post-network.service",
            ]
        }
        for path in paths { try self.sysfs.remove(path) }
    }

    // MARK: - Key spelling

    static let knownKeys: [String] = [
        "interfaces", "bridges", "system", "pciAddress", "numVfs", "mtu", "name", "linkType", "eSwitchMode",
        "vfGroups", "externallyManaged", "resourceName", "deviceType", "vfRange", "policyName", "isRdma", "vdpaType",
        "rdmaMode", "ovs", "bridge", "uplinks", "datapathType", "externalIDs", "otherConfig", "failMode", "interface",
        "type", "options", "mtuRequest",
    ]
    static let byLowerCase: [String: String] = Dictionary(
        Self.knownKeys.map { ($0.lowercased(), $0) },
        uniquingKeysWith: { a, _ in a }
    )

    static func lowerCased(_ value: JSONValue) -> JSONValue {
        switch value {
        case .object(let object):
            // Maps with user keys (externalIDs, otherConfig, options) keep their keys.
            return .object(
                JSONObject(
                    object.map { entry -> (key: String, value: JSONValue) in
                        let keep = ["externalIDs", "otherConfig", "options"].contains(entry.key)
                        return (key: entry.key.lowercased(), value: keep ? entry.value : Self.lowerCased(entry.value))
                    }
                )
            )
        case .array(let items): return .array(items.map(Self.lowerCased))
        default: return value
        }
    }

    static func camelCased(_ value: JSONValue) -> JSONValue {
        switch value {
        case .object(let object):
            return .object(
                JSONObject(
                    object.map { entry -> (key: String, value: JSONValue) in
                        let key = Self.byLowerCase[entry.key.lowercased()] ?? entry.key
                        let keep = ["externalIDs", "otherConfig", "options"].contains(key)
                        return (key: key, value: keep ? entry.value : Self.camelCased(entry.value))
                    }
                )
            )
        case .array(let items): return .array(items.map(Self.camelCased))
        default: return value
        }
    }
}

extension String {
    var trimmingTrailingNewlines: String {
        var text = Substring(self)
        while text.last == "\n" { text = text.dropLast() }
        return String(text)
    }
}
