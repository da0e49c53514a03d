public import DevicePluginAPI
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A kubelet's device-manager side over real unix sockets, for driving a device plugin in tests.
///
/// Legacy mode: serves `v1beta1.Registration` on `<dir>/device-plugins/kubelet.sock`; on Register it checks the
/// version and the extended resource name, dials `<dir>/device-plugins/<endpoint>` and calls
/// GetDevicePluginOptions inside the call (failure fails Register, as the kubelet does), then keeps a
/// ListAndWatch stream open and records every list. Watcher mode: watches `<dir>/plugins_registry/` for sockets,
/// calls GetInfo, validates, connects to the endpoint and calls NotifyRegistrationStatus (optionally rejecting
/// the first attempts). ``restart()`` does what a kubelet restart does: drops every connection and removes the
/// socket files in `device-plugins/` (keeping the checkpoint), then serves again on a new `kubelet.sock`.
///
/// Run it with ``run()`` in a task group (or ``withFakeKubelet(directory:mode:_:)``); cancel to stop.
public final class FakeKubelet: Sendable {
    public enum Mode: Sendable {
        case legacy
        case watcher
    }

    /// What the kubelet has seen of one resource.
    public struct Resource: Sendable {
        public var name: String
        public var endpoint: String
        public var options: V1beta1_DevicePluginOptions
        /// Every ListAndWatch message received, oldest first.
        public var lists: [[V1beta1_Device]] = []
        /// Whether the ListAndWatch stream is open.
        public var streaming = false
        /// How many ListAndWatch streams ended (plugin stop, restart).
        public var streamEnds = 0
        /// The latest list, or nil before the first.
        public var devices: [V1beta1_Device]? { self.lists.last }
        /// IDs of the latest list that are Healthy (allocatable).
        public var healthyIDs: [String] { (self.devices ?? []).filter { $0.health == "Healthy" }.map(\.id) }
    }

    struct State {
        var registrations: [V1beta1_RegisterRequest] = []
        var watcherInfos: [Pluginregistration_PluginInfo] = []
        var resources: [String: Resource] = [:]
        var clients: [String: GRPCClient<HTTP2ClientTransport.Posix>] = [:]
        var rejectWatcherRegistrations = 0
        var rejections = 0
        var restarts = 0
        var seenSockets: [String: UInt64] = [:]
    }

    enum Work: Sendable {
        case connect(resource: String, socket: String)
        case restart
    }

    public let directory: String
    public let mode: Mode
    private let state = Mutex(State())
    private let work: AsyncStream<Work>.Continuation
    private let workStream: AsyncStream<Work>

    public init(directory: String, mode: Mode = .legacy) {
        self.directory = directory
        self.mode = mode
        let (stream, continuation) = AsyncStream.makeStream(of: Work.self)
        self.workStream = stream
        self.work = continuation
    }

    public var devicePluginDir: String { self.directory + "/device-plugins" }
    public var registryDir: String { self.directory + "/plugins_registry" }
    public var socketPath: String { self.devicePluginDir + "/kubelet.sock" }

    // MARK: - Observations

    public var registrations: [V1beta1_RegisterRequest] { self.state.withLock { $0.registrations } }
    public var watcherInfos: [Pluginregistration_PluginInfo] { self.state.withLock { $0.watcherInfos } }
    public var rejections: Int { self.state.withLock { $0.rejections } }
    public func resource(_ name: String) -> Resource? { self.state.withLock { $0.resources[name] } }
    public var resourceNames: [String] { self.state.withLock { $0.resources.keys.sorted() } }

    /// Rejects the next `n` plugin-watcher registrations with NotifyRegistrationStatus(false).
    public func rejectWatcherRegistrations(_ n: Int) { self.state.withLock { $0.rejectWatcherRegistrations = n } }

    /// Waits (polling every 20 ms, at most `timeout`) until `condition` holds.
    /// - Throws: ``FakeKubeletError`` with `what` when it does not.
    /// Polls `condition` every `poll` (benchmarks timing a change pass a short one: the poll is part of what
    /// they measure).
    public func wait(
        _ what: String,
        timeout: Duration = .seconds(60),
        poll: Duration = .milliseconds(20),
        until condition: @Sendable (FakeKubelet) -> Bool
    ) async throws {
        let deadline = ContinuousClock.now.advanced(by: timeout)
        while !condition(self) {
            if ContinuousClock.now >= deadline { throw FakeKubeletError(message: "timed out waiting for \(what)") }
            try await Task.sleep(for: poll)
        }
    }

    // MARK: - Calls to the plugin

    func client(_ resource: String) throws -> GRPCClient<HTTP2ClientTransport.Posix> {
        guard let client = self.state.withLock({ $0.clients[resource] }) else {
            throw FakeKubeletError(message: "resource \(resource) is not connected")
        }
        return client
    }

    /// Allocate for one container, as the kubelet calls it at pod admission.
    public func allocate(_ resource: String, _ ids: [String]) async throws -> V1beta1_ContainerAllocateResponse {
        var request = V1beta1_AllocateRequest()
        var container = V1beta1_ContainerAllocateRequest()
        container.devicesIds = ids
        request.containerRequests = [container]
        let response = try await V1beta1_DevicePlugin.Client(wrapping: try self.client(resource)).allocate(request)
        guard let first = response.containerResponses.first else {
            throw FakeKubeletError(message: "Allocate returned no container response")
        }
        return first
    }

    public func preferredAllocation(
        _ resource: String,
        available: [String],
        mustInclude: [String] = [],
        size: Int
    ) async throws -> [String] {
        var request = V1beta1_PreferredAllocationRequest()
        var container = V1beta1_ContainerPreferredAllocationRequest()
        container.availableDeviceIds = available
        container.mustIncludeDeviceIds = mustInclude
        container.allocationSize = Int32(size)
        request.containerRequests = [container]
        let response = try await V1beta1_DevicePlugin.Client(wrapping: try self.client(resource))
            .getPreferredAllocation(request)
        return response.containerResponses.first?.deviceIds ?? []
    }

    /// A kubelet restart: every plugin connection drops, sockets in `device-plugins/` are removed.
    public func restart() {
        self.work.yield(.restart)
    }

    // MARK: - Running

    public func run() async throws {
        try Self.makeDirectory(self.devicePluginDir)
        if self.mode == .watcher { try Self.makeDirectory(self.registryDir) }
        var iterator = self.workStream.makeAsyncIterator()
        while !Task.isCancelled {
            var restart = false
            try await withThrowingDiscardingTaskGroup { group in
                if self.mode == .legacy {
                    let server = GRPCServer(
                        transport: .http2NIOPosix(
                            address: .unixDomainSocket(path: self.socketPath),
                            transportSecurity: .plaintext
                        ),
                        services: [RegistrationService(kubelet: self)]
                    )
                    group.addTask {
                        // A restart cancels the group: the transport then throws CancellationError (wrapped in a
                        // RuntimeError), which must not escape the group or the "restarted" kubelet never serves again.
                        do { try await server.serve() } catch  where Task.isCancelled {}
                    }
                    _ = try await server.transport.listeningAddress
                } else {
                    group.addTask { try await self.watchRegistry() }
                }
                while let item = await iterator.next() {
                    switch item {
                    case .connect(let resource, let socket):
                        group.addTask { await self.runEndpoint(resource: resource, socket: socket) }
                    case .restart:
                        restart = true
                    }
                    if restart { break }
                }
                group.cancelAll()
            }
            guard restart else { break }
            self.state.withLock {
                $0.restarts += 1
                $0.clients = [:]
                $0.seenSockets = [:]
            }
            // The kubelet's device manager removes every non-directory entry but its checkpoint.
            for name in Self.list(self.devicePluginDir) where name != "kubelet_internal_checkpoint" {
                unlink(self.devicePluginDir + "/" + name)
            }
        }
    }

    /// Called by the Registration service inside Register.
    func handleRegister(_ request: V1beta1_RegisterRequest) async throws {
        guard request.version == "v1beta1" else {
            throw RPCError(code: .invalidArgument, message: "unsupported version \(request.version)")
        }
        try Self.checkExtendedResourceName(request.resourceName)
        let socket = self.devicePluginDir + "/" + request.endpoint
        let options = try await Self.getOptions(socket: socket)
        self.state.withLock {
            $0.registrations.append(request)
            var resource =
                $0.resources[request.resourceName]
                ?? Resource(name: request.resourceName, endpoint: request.endpoint, options: options)
            resource.endpoint = request.endpoint
            resource.options = options
            $0.resources[request.resourceName] = resource
        }
        self.work.yield(.connect(resource: request.resourceName, socket: socket))
    }

    static func checkExtendedResourceName(_ name: String) throws {
        let parts = name.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty, !parts[0].hasSuffix("kubernetes.io") else {
            throw RPCError(code: .invalidArgument, message: "invalid extended resource name \(name)")
        }
    }

    static func getOptions(socket: String) async throws -> V1beta1_DevicePluginOptions {
        try await withGRPCClient(
            transport: .http2NIOPosix(
                target: .unixDomainSocket(path: socket, authority: "localhost"),
                transportSecurity: .plaintext
            )
        ) { client in
            var options = CallOptions.defaults
            options.timeout = .seconds(10)
            return try await V1beta1_DevicePlugin.Client(wrapping: client).getDevicePluginOptions(
                V1beta1_Empty(),
                options: options
            )
        }
    }

    /// One connection to a plugin: ListAndWatch until the stream ends or the kubelet restarts.
    func runEndpoint(resource: String, socket: String) async {
        guard
            let client = try? GRPCClient(
                transport: .http2NIOPosix(
                    target: .unixDomainSocket(path: socket, authority: "localhost"),
                    transportSecurity: .plaintext
                )
            )
        else { return }
        try? await withThrowingDiscardingTaskGroup { group in
            group.addTask { try await client.runConnections() }
            self.state.withLock {
                $0.clients[resource] = client
                $0.resources[resource]?.streaming = true
            }
            let plugin = V1beta1_DevicePlugin.Client(wrapping: client)
            _ = try? await plugin.listAndWatch(V1beta1_Empty()) { response in
                for try await message in response.messages {
                    self.state.withLock { $0.resources[resource]?.lists.append(message.devices) }
                }
            }
            self.state.withLock {
                $0.resources[resource]?.streaming = false
                $0.resources[resource]?.streamEnds += 1
                if let current = $0.clients[resource], current === client { $0.clients[resource] = nil }
            }
            client.beginGracefulShutdown()
        }
    }

    /// The plugin watcher: new sockets in `plugins_registry/` are registered (GetInfo → connect → Notify).
    func watchRegistry() async throws {
        while !Task.isCancelled {
            for name in Self.list(self.registryDir) where name.hasSuffix(".sock") {
                let path = self.registryDir + "/" + name
                guard let inode = Self.inode(path), self.state.withLock({ $0.seenSockets[path] }) != inode else {
                    continue
                }
                self.state.withLock { $0.seenSockets[path] = inode }
                try? await self.registerWatched(socket: path)
            }
            try await Task.sleep(for: .milliseconds(50))
        }
    }

    func registerWatched(socket: String) async throws {
        try await withGRPCClient(
            transport: .http2NIOPosix(
                target: .unixDomainSocket(path: socket, authority: "localhost"),
                transportSecurity: .plaintext
            )
        ) { client in
            let registration = Pluginregistration_Registration.Client(wrapping: client)
            let info = try await registration.getInfo(Pluginregistration_InfoRequest())
            self.state.withLock { $0.watcherInfos.append(info) }
            var status = Pluginregistration_RegistrationStatus()
            let reject = self.state.withLock { s -> Bool in
                guard s.rejectWatcherRegistrations > 0 else { return false }
                s.rejectWatcherRegistrations -= 1
                s.rejections += 1
                return true
            }
            do {
                guard info.type == "DevicePlugin", info.supportedVersions.contains("v1beta1") else {
                    throw RPCError(code: .invalidArgument, message: "unsupported plugin \(info.type)")
                }
                try Self.checkExtendedResourceName(info.name)
                if reject { throw RPCError(code: .unavailable, message: "registration rejected by the test") }
                let options = try await Self.getOptions(socket: info.endpoint)
                self.state.withLock {
                    var request = V1beta1_RegisterRequest()
                    request.version = "v1beta1"
                    request.endpoint = info.endpoint
                    request.resourceName = info.name
                    request.options = options
                    $0.registrations.append(request)
                    var resource =
                        $0.resources[info.name]
                        ?? Resource(name: info.name, endpoint: info.endpoint, options: options)
                    resource.options = options
                    $0.resources[info.name] = resource
                }
                self.work.yield(.connect(resource: info.name, socket: info.endpoint))
                status.pluginRegistered = true
            } catch {
                status.pluginRegistered = false
                status.error = "\(error)"
            }
            _ = try await registration.notifyRegistrationStatus(status)
        }
    }

    // MARK: - Files

    static func makeDirectory(_ path: String) throws {
        var current = ""
        for part in path.split(separator: "/") {
            current += "/" + part
            if mkdir(current, 0o755) != 0 && errno != EEXIST {
                throw FakeKubeletError(message: "cannot create \(current): errno \(errno)")
            }
        }
    }

    static func list(_ dir: String) -> [String] {
        guard let d = opendir(dir) else { return [] }
        defer { closedir(d) }
        var names: [String] = []
        while let entry = readdir(d) {
            let name = withUnsafePointer(to: entry.pointee.d_name) {
                $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted()
    }

    static func inode(_ path: String) -> UInt64? {
        // FileManager instead of lstat(2): the `stat` struct belongs to another clang module here.
        // Mixed with the modification time: a socket created again often gets the same inode number back,
        // while the real kubelet's plugin watcher sees every creation (fsnotify).
        let attributes = try? FileManager.default.attributesOfItem(atPath: path)
        guard let number = (attributes?[.systemFileNumber] as? NSNumber)?.uint64Value else { return nil }
        let modified = (attributes?[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0
        return number &* 0x100_0000_01B3 ^ UInt64(bitPattern: Int64(modified * 1e9))
    }
}

public struct FakeKubeletError: Error, CustomStringConvertible, Sendable {
    public var message: String
    public init(message: String) { self.message = message }
    public var description: String { self.message }
}

/// The kubelet's `v1beta1.Registration` service.
struct RegistrationService: V1beta1_Registration.SimpleServiceProtocol {
    let kubelet: FakeKubelet

    func register(request: V1beta1_RegisterRequest, context: ServerContext) async throws -> V1beta1_Empty {
        try await self.kubelet.handleRegister(request)
        return V1beta1_Empty()
    }
}

/// Runs a fake kubelet for the duration of `body`.
public func withFakeKubelet<T: Sendable>(
    directory: String,
    mode: FakeKubelet.Mode = .legacy,
    _ body: @Sendable (FakeKubelet) async throws -> T
) async throws -> T {
    let kubelet = FakeKubelet(directory: directory, mode: mode)
    return try await withThrowingTaskGroup(of: T?.self) { group in
        group.addTask {
            try await kubelet.run()
            return nil
        }
        if mode == .legacy {
            try await kubelet.wait("kubelet.sock") { FakeKubelet.inode($0.socketPath) != nil }
        }
        let result = try await body(kubelet)
        group.cancelAll()
        try? await group.waitForAll()
        return result
    }
}
