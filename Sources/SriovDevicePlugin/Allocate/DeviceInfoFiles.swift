import KubeCore
import SriovAPI
public import SriovHost

#if canImport(Glibc)
import Glibc
#endif

/// Device-info files for Multus/CNIs (device-info-spec 1.1.0), written during Allocate.
///
/// Upstream: pkg/resources/server.go + k8snetworkplumbingwg/network-attachment-definition-client
/// `SaveDeviceInfoForDP`: `<dir>/<prefix>-<resourceName>-<deviceID>-device.json` (every `/` → `-`), mode 0444,
/// an existing file removed first. Unlike upstream, a pool's files are not deleted when the plugin starts or
/// stops (that broke running pods' CNI DEL/ status after a plugin restart); only files of devices that left the
/// pool are removed.
public struct DeviceInfoFiles: Sendable {
    public let directory: String

    public init(directory: String) {
        self.directory = directory
    }

    public func path(prefix: String, resourceName: String, deviceID: String) -> String {
        let name = "\(prefix)-\(resourceName)-\(deviceID)-device.json"
        return self.directory + "/" + String(name.map { $0 == "/" ? "-" : $0 })
    }

    /// The file content, keys in the spec's struct order.
    public static func content(_ d: HostDevice, pool: Pool) -> String {
        let selectors = pool.selectors(for: d.id) ?? DeviceSelectors()
        if let vdpa = d.vdpa, !selectors.vdpaType.isEmpty, !vdpa.type.isEmpty {
            var inner: JSONObject = ["parent-device": .string(vdpa.name), "driver": .string(vdpa.type)]
            if vdpa.type == "vhost", let path = vdpa.path { inner = inner.appending("path", .string(path)) }
            inner = inner.appending("pci-address", .string(d.pciAddress))
            return GoJSON.encode(["type": "vdpa", "version": "1.1.0", "vdpa": .object(inner)])
        }
        var pci: JSONObject = ["pci-address": .string(d.pciAddress)]
        if selectors.isRdma, !d.rdmaDevices.isEmpty {
            pci = pci.appending("rdma-device", .string(d.rdmaDevices.joined(separator: ",")))
        }
        return GoJSON.encode(["type": "pci", "version": "1.1.0", "pci": .object(pci)])
    }

    /// Writes the files of `ids` (netDevice pools only).
    public func write(_ ids: [String], pool: Pool) throws(HostError) {
        guard pool.config.deviceType == .netDevice else { return }
        for id in ids {
            guard let d = pool.device(id) else { continue }
            let path = self.path(prefix: pool.prefix, resourceName: pool.config.resourceName, deviceID: id)
            try Self.writeFile(path, Self.content(d.device, pool: pool), mode: 0o444)
        }
    }

    /// Removes files of this pool whose device is no longer in it.
    public func removeStale(pool: Pool) {
        let start = String("\(pool.prefix)-\(pool.config.resourceName)-".map { $0 == "/" ? "-" : $0 })
        let keep = Set(
            pool.devices.map { self.path(prefix: pool.prefix, resourceName: pool.config.resourceName, deviceID: $0.id) }
        )
        for name in Self.list(self.directory) where name.hasPrefix(start) && name.hasSuffix("-device.json") {
            let full = self.directory + "/" + name
            if !keep.contains(full) { unlink(full) }
        }
    }

    /// Removes every file of a pool (a pool that was deleted from the configuration).
    public func removeAll(prefix: String, resourceName: String) {
        let start = String("\(prefix)-\(resourceName)-".map { $0 == "/" ? "-" : $0 })
        for name in Self.list(self.directory) where name.hasPrefix(start) && name.hasSuffix("-device.json") {
            unlink(self.directory + "/" + name)
        }
    }

    static func list(_ dir: String) -> [String] {
        (try? LinuxSysFS(root: "/").list(dir)) ?? []
    }

    /// Replaces `path` with `content`, creating parent directories (0755).
    static func writeFile(_ path: String, _ content: String, mode: mode_t) throws(HostError) {
        try LinuxSysFS(root: "/").makeParents(of: path)
        if unlink(path) != 0 && errno != ENOENT {
            throw HostError.system("cannot remove the old device-info file", path: path, errno: errno)
        }
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
        guard fd >= 0 else { throw HostError.system("cannot create file", path: path, errno: errno) }
        defer { close(fd) }
        let bytes = Array(content.utf8)
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw HostError.system("write failed", path: path, errno: errno)
            }
            offset += n
        }
        fchmod(fd, mode)
    }

    /// Writes `content` to a temporary file and renames it over `path` (readers never see a partial file).
    static func writeAtomically(_ path: String, _ content: String, mode: mode_t) throws(HostError) {
        let temp = path + ".tmp"
        try self.writeFile(temp, content, mode: mode)
        if rename(temp, path) != 0 {
            let e = errno
            unlink(temp)
            throw HostError.system("cannot rename into place", path: path, errno: e)
        }
    }
}

/// CDI spec files, one per pool: `<cdi dir>/sriov-dp-<prefix>-<kind>_<resourceName>.json`, kind
/// `<prefix>/net-pci` (net-accel, net-sf), one CDI device per pool device with its device nodes.
///
/// Upstream (pkg/cdi/cdi.go) names the file after a digest and leaves old specs behind when a pool changes or
/// disappears (issue #633); here the name is stable per pool, it is rewritten in place, and specs of pools that
/// left the configuration are removed.
public struct CDISpecs: Sendable {
    public static let filePrefix = "sriov-dp-"
    public let directory: String

    public init(directory: String) {
        self.directory = directory
    }

    public func path(pool: Pool) -> String {
        let kind = Allocator.cdiKind(pool.config.deviceType)
        return self.directory + "/" + Self.filePrefix + "\(pool.prefix)-\(kind)_\(pool.config.resourceName).json"
    }

    public static func content(pool: Pool, allocator: Allocator) -> String {
        var devices: [JSONValue] = []
        for d in pool.devices {
            let nodes: [JSONValue] = allocator.deviceNodes(d.device, pool: pool).map { node -> JSONValue in
                ["path": .string(node.containerPath), "hostPath": .string(node.hostPath), "permissions": "rw"]
            }
            devices.append(["name": .string(d.id), "containerEdits": ["deviceNodes": .array(nodes)]])
        }
        let spec: JSONValue = [
            "cdiVersion": "0.6.0",
            "kind": .string(pool.prefix + "/" + Allocator.cdiKind(pool.config.deviceType)),
            "devices": .array(devices),
            "containerEdits": [:],
        ]
        return GoJSON.encode(spec)
    }

    public func write(pool: Pool, allocator: Allocator) throws(HostError) {
        try DeviceInfoFiles.writeAtomically(
            self.path(pool: pool),
            Self.content(pool: pool, allocator: allocator),
            mode: 0o644
        )
    }

    /// Removes our spec files except `keep` (full paths).
    public func removeAll(except keep: Set<String> = []) {
        for name in DeviceInfoFiles.list(self.directory) where name.hasPrefix(Self.filePrefix) {
            let full = self.directory + "/" + name
            if !keep.contains(full) { unlink(full) }
        }
    }
}
