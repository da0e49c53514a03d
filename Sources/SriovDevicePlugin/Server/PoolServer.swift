import DevicePluginAPI
import GRPCCore
import GRPCNIOTransportHTTP2
public import Logging
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// How the plugin announces itself to the kubelet.
public enum RegistrationMode: String, Sendable {
    /// Socket in `device-plugins/`, the plugin calls `Register` on `kubelet.sock` (and again after the kubelet
    /// restarted and wiped the directory).
    case legacy
    /// Socket in `plugins_registry/`, the kubelet's plugin watcher calls `GetInfo`/`NotifyRegistrationStatus`.
    case watcher
}

/// Timing of the supervision loops; tests shorten them.
public struct PluginTiming: Sendable {
    /// How often the pool socket (and `kubelet.sock`) are checked; upstream: 5 s. Re-registration after a
    /// kubelet restart happens within this interval.
    public var socketCheck: Duration = .seconds(1)
    /// Pause between failed registration attempts (kubelet not up yet, or it refused us).
    public var registrationRetry: Duration = .seconds(2)
    /// How often the config file and a cheap fingerprint of the host (PCI device list, driver links, PF
    /// `sriov_numvfs` and carrier, default route) are checked; a difference triggers a full scan.
    public var poll: Duration = .milliseconds(50)
    /// A full scan is made at least this often even when the fingerprint did not change.
    public var rescan: Duration = .seconds(10)
    /// Timeout of the Register call (the kubelet dials us back inside it).
    public var registerTimeout: Duration = .seconds(10)

    public init() {}
}

/// Serves one pool's gRPC socket and keeps it registered, until ``stop(sendEmpty:)``.
///
/// Legacy mode: listen, then Register; every ``PluginTiming/socketCheck`` check that our socket file is still
/// the one we created and that `kubelet.sock` was not re-created; otherwise end the ListAndWatch streams, stop the
/// server, listen again on a fresh socket and Register again. Watcher mode: listen in `plugins_registry/`; a
/// registration the kubelet rejected is retried after ``PluginTiming/registrationRetry`` by re-creating the
/// socket (upstream gives up, issue #411).
public final class PoolServer: Sendable {
    public let state: PoolState
    let socketPath: String
    let kubeletSocket: String
    let mode: RegistrationMode
    let provider: DevicePluginProvider
    let timing: PluginTiming
    let logger: Logger

    struct Status {
        var stopRequested = false
        var sendEmpty = true
        var registered = false
        var registrations = 0
        var rejected: String?
        var lastError: String?
    }

    private let status = Mutex(Status())

    public init(
        state: PoolState,
        socketPath: String,
        kubeletSocket: String,
        mode: RegistrationMode,
        provider: DevicePluginProvider,
        timing: PluginTiming,
        logger: Logger
    ) {
        self.state = state
        self.socketPath = socketPath
        self.kubeletSocket = kubeletSocket
        self.mode = mode
        self.provider = provider
        self.timing = timing
        var logger = logger
        logger[metadataKey: "resource"] = "\(state.pool.resourceName)"
        self.logger = logger
    }

    public var isRegistered: Bool { self.status.withLock { $0.registered } }
    /// How many times the pool was registered (1 after start; +1 per kubelet restart).
    public var registrationCount: Int { self.status.withLock { $0.registrations } }
    public var lastError: String? { self.status.withLock { $0.lastError } }

    /// Asks the server to stop: streams get an empty list first when `sendEmpty`, the socket is removed.
    public func stop(sendEmpty: Bool = true) {
        self.status.withLock {
            $0.stopRequested = true
            $0.sendEmpty = sendEmpty
        }
    }

    var stopRequested: Bool { self.status.withLock { $0.stopRequested } || Task.isCancelled }

    public func run() async {
        defer {
            unlink(self.socketPath)
            self.status.withLock { $0.registered = false }
        }
        while !self.stopRequested {
            do {
                try await self.serveOnce()
            } catch {
                self.status.withLock { $0.lastError = "\(error)" }
                self.logger.warning("pool server failed, restarting", metadata: ["error": "\(error)"])
            }
            if self.stopRequested { break }
            try? await Task.sleep(for: .milliseconds(100))
        }
        self.logger.notice("pool server stopped")
    }

    /// NotifyRegistrationStatus from the kubelet's plugin watcher.
    func registrationStatus(ok: Bool, error: String) {
        self.status.withLock {
            $0.registered = ok
            if ok { $0.registrations += 1 }
            $0.rejected = ok ? nil : (error.isEmpty ? "rejected" : error)
        }
        if ok {
            self.logger.notice("registered with the kubelet plugin watcher")
        } else {
            self.logger.error("kubelet rejected the registration", metadata: ["error": "\(error)"])
        }
    }

    /// One server lifetime: listen, register, supervise.
    func serveOnce() async throws {
        let directory = String(self.socketPath[..<(self.socketPath.lastIndex(of: "/") ?? self.socketPath.endIndex)])
        if !directory.isEmpty { mkdir(directory, 0o755) }
        unlink(self.socketPath)
        self.state.reopen()
        var services: [any RegistrableRPCService] = [self.provider]
        if self.mode == .watcher {
            services.append(
                PluginRegistrationProvider(
                    resourceName: self.state.pool.resourceName,
                    endpoint: self.socketPath,
                    onStatus: { [self] ok, error in self.registrationStatus(ok: ok, error: error) }
                )
            )
        }
        let server = GRPCServer(
            transport: .http2NIOPosix(
                address: .unixDomainSocket(path: self.socketPath),
                transportSecurity: .plaintext
            ),
            services: services
        )
        try await withThrowingDiscardingTaskGroup { group in
            group.addTask { try await server.serve() }
            defer { server.beginGracefulShutdown() }
            _ = try await server.transport.listeningAddress
            let socketInode = Self.inode(self.socketPath)
            self.logger.info("pool socket listening", metadata: ["socket": "\(self.socketPath)"])
            var kubeletInode: UInt64?
            if self.mode == .legacy {
                kubeletInode = try await self.registerUntilDone(socketInode: socketInode)
                guard kubeletInode != nil else {
                    self.state.close(sendEmpty: self.status.withLock { $0.sendEmpty })
                    return
                }
            }
            while !self.stopRequested {
                try? await Task.sleep(for: self.timing.socketCheck)
                if Self.inode(self.socketPath) != socketInode {
                    self.logger.notice("pool socket removed (kubelet restart?), serving again")
                    break
                }
                if self.mode == .legacy, Self.inode(self.kubeletSocket) != kubeletInode {
                    self.logger.notice("kubelet socket re-created, registering again")
                    break
                }
                if self.mode == .watcher, let rejected = self.status.withLock({ $0.rejected }) {
                    self.logger.warning("retrying rejected registration", metadata: ["error": "\(rejected)"])
                    self.status.withLock { $0.rejected = nil }
                    try? await Task.sleep(for: self.timing.registrationRetry)
                    break
                }
            }
            self.status.withLock { $0.registered = false }
            let stopping = self.stopRequested
            self.state.close(sendEmpty: stopping && self.status.withLock { $0.sendEmpty })
        }
    }

    /// Calls Register until it succeeds; returns the inode of `kubelet.sock` it registered with, or nil when
    /// stopped (or our socket vanished) first.
    func registerUntilDone(socketInode: UInt64?) async throws -> UInt64? {
        let pool = self.state.pool
        var request = V1beta1_RegisterRequest()
        request.version = "v1beta1"
        request.endpoint = String(self.socketPath.split(separator: "/").last ?? "")
        request.resourceName = pool.resourceName
        var options = V1beta1_DevicePluginOptions()
        options.getPreferredAllocationAvailable = true
        request.options = options
        while !self.stopRequested, Self.inode(self.socketPath) == socketInode {
            let kubeletInode = Self.inode(self.kubeletSocket)
            if kubeletInode != nil {
                do {
                    try await self.register(request)
                    self.status.withLock {
                        $0.registered = true
                        $0.registrations += 1
                        $0.lastError = nil
                    }
                    self.logger.notice("registered with the kubelet", metadata: ["endpoint": "\(request.endpoint)"])
                    return kubeletInode
                } catch {
                    self.status.withLock { $0.lastError = "register: \(error)" }
                    self.logger.warning("registration failed, retrying", metadata: ["error": "\(error)"])
                }
            }
            try? await Task.sleep(for: self.timing.registrationRetry)
        }
        return nil
    }

    func register(_ request: V1beta1_RegisterRequest) async throws {
        let timeout = self.timing.registerTimeout
        try await withGRPCClient(
            transport: .http2NIOPosix(
                target: .unixDomainSocket(path: self.kubeletSocket, authority: "localhost"),
                transportSecurity: .plaintext
            )
        ) { client in
            var options = CallOptions.defaults
            options.timeout = timeout
            _ = try await V1beta1_Registration.Client(wrapping: client).register(request, options: options)
        }
    }

    /// The identity of the file at `path`: its inode number mixed with its modification time (set when a socket
    /// is created; unlike the change time, a chmod leaves it alone). The inode number alone is not enough: a
    /// socket removed and created again (a kubelet restart) often gets the same number back.
    static func inode(_ path: String) -> UInt64? {
        var info = stat()
        guard lstat(path, &info) == 0 else { return nil }
        var identity = UInt64(info.st_ino)
        identity = identity &* 0x100_0000_01B3 ^ UInt64(bitPattern: Int64(info.st_mtim.tv_sec))
        identity = identity &* 0x100_0000_01B3 ^ UInt64(bitPattern: Int64(info.st_mtim.tv_nsec))
        return identity
    }
}
