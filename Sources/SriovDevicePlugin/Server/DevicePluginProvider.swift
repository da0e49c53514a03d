public import DevicePluginAPI
public import GRPCCore
public import Logging
import SriovAPI

/// The kubelet's `v1beta1.DevicePlugin` service for one pool.
///
/// - GetDevicePluginOptions: `get_preferred_allocation_available = true` (upstream: false).
/// - ListAndWatch: the full list at once, then a full list on every change, until the pool server stops (an
///   empty list is sent first on shutdown or when the pool is removed).
/// - Allocate: envs, device specs (or CDI annotations), device-info files; unknown IDs are dropped as upstream
///   does, but an empty container request list is answered with an error.
public struct DevicePluginProvider: V1beta1_DevicePlugin.SimpleServiceProtocol {
    let state: PoolState
    let allocator: Allocator
    let deviceInfo: DeviceInfoFiles
    let useCDI: Bool
    let logger: Logger

    public init(state: PoolState, allocator: Allocator, deviceInfo: DeviceInfoFiles, useCDI: Bool, logger: Logger) {
        self.state = state
        self.allocator = allocator
        self.deviceInfo = deviceInfo
        self.useCDI = useCDI
        self.logger = logger
    }

    public func getDevicePluginOptions(
        request: V1beta1_Empty,
        context: ServerContext
    ) async throws -> V1beta1_DevicePluginOptions {
        var options = V1beta1_DevicePluginOptions()
        options.getPreferredAllocationAvailable = true
        return options
    }

    public func listAndWatch(
        request: V1beta1_Empty,
        response: RPCWriter<V1beta1_ListAndWatchResponse>,
        context: ServerContext
    ) async throws {
        self.logger.debug("listandwatch opened")
        for await list in self.state.subscribe() {
            try await response.write(Self.message(list))
        }
        self.logger.debug("listandwatch closed")
    }

    public static func message(_ list: [AdvertisedDevice]) -> V1beta1_ListAndWatchResponse {
        var message = V1beta1_ListAndWatchResponse()
        message.devices = list.map { d in
            var device = V1beta1_Device()
            device.id = d.id
            device.health = d.healthy ? "Healthy" : "Unhealthy"
            if let numa = d.numaNode {
                var node = V1beta1_NUMANode()
                node.id = Int64(numa)
                var topology = V1beta1_TopologyInfo()
                topology.nodes = [node]
                device.topology = topology
            }
            return device
        }
        return message
    }

    public func getPreferredAllocation(
        request: V1beta1_PreferredAllocationRequest,
        context: ServerContext
    ) async throws -> V1beta1_PreferredAllocationResponse {
        let pool = self.state.pool
        var out = V1beta1_PreferredAllocationResponse()
        for container in request.containerRequests {
            var answer = V1beta1_ContainerPreferredAllocationResponse()
            answer.deviceIds = PreferredAllocator.choose(
                available: container.availableDeviceIds,
                mustInclude: container.mustIncludeDeviceIds,
                size: Int(container.allocationSize),
                pool: pool
            )
            out.containerResponses.append(answer)
        }
        return out
    }

    public func allocate(
        request: V1beta1_AllocateRequest,
        context: ServerContext
    ) async throws -> V1beta1_AllocateResponse {
        guard !request.containerRequests.isEmpty else {
            throw RPCError(code: .invalidArgument, message: "AllocateRequest has no container requests")
        }
        let pool = self.state.pool
        var out = V1beta1_AllocateResponse()
        for container in request.containerRequests {
            let allocation = self.allocator.allocate(container.devicesIds, pool: pool, useCDI: self.useCDI)
            if !allocation.unknownIDs.isEmpty {
                self.logger.warning(
                    "allocate of devices not in the pool",
                    metadata: [
                        "resource": "\(pool.resourceName)",
                        "devices": "\(allocation.unknownIDs.joined(separator: ","))",
                    ]
                )
            }
            var response = V1beta1_ContainerAllocateResponse()
            response.envs = allocation.envs
            response.annotations = allocation.annotations
            response.devices = allocation.devices.map { node in
                var spec = V1beta1_DeviceSpec()
                spec.containerPath = node.containerPath
                spec.hostPath = node.hostPath
                spec.permissions = node.permissions
                return spec
            }
            do {
                try self.deviceInfo.write(container.devicesIds, pool: pool)
            } catch {
                self.logger.error(
                    "cannot write device-info file",
                    metadata: ["resource": "\(pool.resourceName)", "error": "\(error)"]
                )
            }
            out.containerResponses.append(response)
        }
        return out
    }

    public func preStartContainer(
        request: V1beta1_PreStartContainerRequest,
        context: ServerContext
    ) async throws -> V1beta1_PreStartContainerResponse {
        V1beta1_PreStartContainerResponse()
    }
}

/// The plugin-watcher `pluginregistration.Registration` service on a pool's socket in `plugins_registry/`.
public struct PluginRegistrationProvider: Pluginregistration_Registration.SimpleServiceProtocol {
    let resourceName: String
    let endpoint: String
    let onStatus: @Sendable (Bool, String) -> Void

    public init(resourceName: String, endpoint: String, onStatus: @escaping @Sendable (Bool, String) -> Void) {
        self.resourceName = resourceName
        self.endpoint = endpoint
        self.onStatus = onStatus
    }

    public func getInfo(
        request: Pluginregistration_InfoRequest,
        context: ServerContext
    ) async throws -> Pluginregistration_PluginInfo {
        var info = Pluginregistration_PluginInfo()
        info.type = "DevicePlugin"
        info.name = self.resourceName
        info.endpoint = self.endpoint
        info.supportedVersions = ["v1alpha1", "v1beta1"]
        return info
    }

    public func notifyRegistrationStatus(
        request: Pluginregistration_RegistrationStatus,
        context: ServerContext
    ) async throws -> Pluginregistration_RegistrationStatusResponse {
        self.onStatus(request.pluginRegistered, request.error)
        return Pluginregistration_RegistrationStatusResponse()
    }
}
