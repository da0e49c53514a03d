import KubeCore
public import SriovAPI

/// One device node handed to a container (`DeviceSpec`).
public struct DeviceNode: Sendable, Hashable {
    public var containerPath: String
    public var hostPath: String
    public var permissions: String = "rw"

    public init(containerPath: String, hostPath: String) {
        self.containerPath = containerPath
        self.hostPath = hostPath
    }
}

/// What Allocate answers for one container request, before it is put into protobuf.
public struct ContainerAllocation: Sendable, Equatable {
    public var envs: [String: String] = [:]
    public var devices: [DeviceNode] = []
    public var annotations: [String: String] = [:]
    /// Device IDs in the request that the pool does not hold (dropped, as upstream does).
    public var unknownIDs: [String] = []
}

/// Allocate semantics (upstream pkg/resources/server.go `Allocate`, pkg/resources/pool_stub.go, pkg/infoprovider).
///
/// Env keys: `PCIDEVICE_` + prefix + `_` + name with `.` → `_`, upper-cased. INFO: compact JSON keyed by device
/// ID → provider → key, every level sorted, Go's HTML-safe escaping. Device specs: per device in provider order
/// (vfio|uio, vdpa|rdma, vhost), de-duplicated by host path over the whole request. Unlike upstream, `uio.mount`
/// and `vdpa.mount` are filled on the first allocation too.
public struct Allocator: Sendable {
    /// Host root for existence checks of `/dev` nodes (`/dev/vhost-net`, `/dev/infiniband/rdma_cm`).
    public var deviceExists: @Sendable (String) -> Bool

    public init(deviceExists: @escaping @Sendable (String) -> Bool) {
        self.deviceExists = deviceExists
    }

    public static func envName(prefix: String, resourceName: String) -> String {
        ("PCIDEVICE_" + prefix + "_" + resourceName).replacingDots.uppercased()
    }

    /// The CDI kind of a pool's device type.
    public static func cdiKind(_ type: PoolDeviceType) -> String {
        switch type {
        case .netDevice: return "net-pci"
        case .accelerator: return "net-accel"
        case .auxNetDevice: return "net-sf"
        }
    }

    public func allocate(_ ids: [String], pool: Pool, useCDI: Bool) -> ContainerAllocation {
        var out = ContainerAllocation()
        var known: [PoolDevice] = []
        for id in ids {
            if let d = pool.device(id) { known.append(d) } else { out.unknownIDs.append(id) }
        }
        let key = Self.envName(prefix: pool.prefix, resourceName: pool.config.resourceName)
        out.envs[key] = known.map(\.id).joined(separator: ",")
        var info = JSONObject()
        for d in known.sorted(by: { $0.id < $1.id }) {
            if info[d.id] != nil { continue }
            info = info.appending(d.id, .object(self.info(d.device, pool: pool)))
        }
        out.envs[key + "_INFO"] = GoJSON.encode(.object(info))
        if useCDI {
            let kind = Self.cdiKind(pool.config.deviceType)
            let names = known.map { "\(pool.prefix)/\(kind)=\($0.id)" }
            out.annotations["cdi.k8s.io/\(pool.prefix)_\(kind)"] = names.joined(separator: ",")
        } else {
            var seen: Set<String> = []
            for d in known {
                for node in self.deviceNodes(d.device, pool: pool) where seen.insert(node.hostPath).inserted {
                    out.devices.append(node)
                }
            }
        }
        return out
    }

    /// The device nodes of one device, in upstream's provider order.
    public func deviceNodes(_ d: HostDevice, pool: Pool) -> [DeviceNode] {
        var nodes: [DeviceNode] = []
        if let vfio = self.vfio(d) {
            nodes.append(DeviceNode(containerPath: "/dev/vfio/vfio", hostPath: "/dev/vfio/vfio"))
            nodes.append(DeviceNode(containerPath: vfio.container, hostPath: vfio.host))
        } else if let uio = d.uioDevice {
            nodes.append(DeviceNode(containerPath: "/dev/" + uio, hostPath: "/dev/" + uio))
        }
        let selectors = pool.selectors(for: d.id) ?? DeviceSelectors()
        if let vdpa = d.vdpa, !selectors.vdpaType.isEmpty {
            if vdpa.type == "vhost", let path = vdpa.path {
                nodes.append(DeviceNode(containerPath: path, hostPath: path))
            }
        } else if selectors.isRdma {
            for (_, path) in d.rdmaCharDevices { nodes.append(DeviceNode(containerPath: path, hostPath: path)) }
            if !d.rdmaCharDevices.isEmpty || !d.rdmaDevices.isEmpty, self.deviceExists("/dev/infiniband/rdma_cm") {
                nodes.append(DeviceNode(containerPath: "/dev/infiniband/rdma_cm", hostPath: "/dev/infiniband/rdma_cm"))
            }
        }
        if selectors.needVhostNet, self.vhostAvailable {
            nodes.append(DeviceNode(containerPath: "/dev/vhost-net", hostPath: "/dev/vhost-net"))
            nodes.append(DeviceNode(containerPath: "/dev/net/tun", hostPath: "/dev/net/tun"))
        }
        return nodes
    }

    var vhostAvailable: Bool { self.deviceExists("/dev/vhost-net") && self.deviceExists("/dev/net/tun") }

    /// `(host, container)` of the vfio group device; no-IOMMU groups live at `/dev/vfio/noiommu-<g>` on the host.
    func vfio(_ d: HostDevice) -> (host: String, container: String)? {
        guard d.driver == "vfio-pci", let group = d.iommuGroup else { return nil }
        let container = "/dev/vfio/" + group
        return (d.noIOMMU ? "/dev/vfio/noiommu-" + group : container, container)
    }

    /// The INFO object of one device: provider → key → value, sorted.
    func info(_ d: HostDevice, pool: Pool) -> JSONObject {
        var providers: [(String, [(String, String)])] = [("generic", [("deviceID", d.id)])]
        if let vfio = self.vfio(d) {
            providers.append(("vfio", [("dev-mount", vfio.container), ("mount", "/dev/vfio/vfio")]))
        } else if let uio = d.uioDevice {
            providers.append(("uio", [("mount", "/dev/" + uio)]))
        }
        let selectors = pool.selectors(for: d.id) ?? DeviceSelectors()
        if let vdpa = d.vdpa, !selectors.vdpaType.isEmpty {
            if let path = vdpa.path { providers.append(("vdpa", [("mount", path)])) }
        } else if selectors.isRdma, let rdma = d.rdmaDevices.first {
            var keys: [(String, String)] = [("rdma_dev", rdma)]
            for (key, path) in d.rdmaCharDevices where key != "ucm" { keys.append((key, path)) }
            if self.deviceExists("/dev/infiniband/rdma_cm") { keys.append(("rdma_cm", "/dev/infiniband/rdma_cm")) }
            providers.append(("rdma", keys))
        }
        if selectors.needVhostNet, self.vhostAvailable {
            providers.append(("vhost", [("net-mount", "/dev/vhost-net"), ("tun-mount", "/dev/net/tun")]))
        }
        var extra = pool.config.additionalInfo["*"] ?? [:]
        if let specific = pool.config.additionalInfo[d.id] {
            extra.merge(specific) { _, new in new }
        }
        if !extra.isEmpty { providers.append(("extra", extra.map { ($0.key, $0.value) })) }
        var object = JSONObject()
        for (name, keys) in providers.sorted(by: { $0.0 < $1.0 }) {
            var inner = JSONObject()
            var seen: Set<String> = []
            for (k, v) in keys.sorted(by: { $0.0 < $1.0 }) where seen.insert(k).inserted {
                inner = inner.appending(k, .string(v))
            }
            object = object.appending(name, .object(inner))
        }
        return object
    }
}

extension JSONObject {
    func appending(_ key: String, _ value: JSONValue) -> JSONObject {
        JSONObject(self.entries + [(key: key, value: value)])
    }
}

extension String {
    var replacingDots: String { String(self.map { $0 == "." ? "_" : $0 }) }
}
