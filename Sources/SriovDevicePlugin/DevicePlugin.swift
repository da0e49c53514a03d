public import Logging
public import ServiceLifecycle
public import SriovAPI
public import SriovHost
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// `sriov device-plugin`: advertises the pools of the device-plugin configuration to the kubelet and allocates
/// their devices, wire-compatible with upstream's sriov-network-device-plugin.
///
/// A ServiceLifecycle `Service`. Every ``PluginTiming/rescan`` it re-reads the configuration file (a ConfigMap
/// update is an atomic symlink swap: the content is compared, not the mtime) and scans the host; changed pools
/// get a new ListAndWatch list without re-registering, new pools start their server and register, removed pools
/// send an empty list and close their socket. An invalid configuration is reported (pool, field) and the last
/// good one keeps being served. On graceful shutdown every stream gets an empty list, sockets are removed;
/// device-info files of allocated devices stay for the pods that use them.
public final class DevicePlugin: Service, Sendable {
    public struct Options: Sendable {
        public var configFile: String = "/etc/pcidp/config.json"
        public var resourcePrefix: String = "intel.com"
        public var useCDI: Bool = false
        /// Root of the host's `/sys`, `/proc` and `/dev` (`/` or `/host`, a simulated tree in tests).
        public var hostRoot: String = "/"
        public var kubeletDir: String = "/var/lib/kubelet"
        public var deviceInfoDir: String = "/var/run/k8s.cni.cncf.io/devinfo/dp"
        public var cdiDir: String = "/var/run/cdi"
        /// 0: no health endpoint.
        public var healthPort: Int = 0
        /// nil: plugin-watcher mode when `<kubeletDir>/plugins_registry` exists, legacy otherwise (upstream).
        public var mode: RegistrationMode?
        public var timing = PluginTiming()

        public init() {}

        public var devicePluginDir: String { self.kubeletDir + "/device-plugins" }
        public var pluginRegistryDir: String { self.kubeletDir + "/plugins_registry" }
        public var kubeletSocket: String { self.devicePluginDir + "/kubelet.sock" }
    }

    public let options: Options
    let sysfs: any SysFS
    let logger: Logger

    struct State {
        var configText: String?
        var config: DevicePluginConfigFile?
        var configError: String?
        var servers: [String: PoolServer] = [:]
        var lastSnapshot: HostSnapshot?
        var scans = 0
        var shuttingDown = false
    }

    private let state = Mutex(State())

    /// - Parameter sysfs: the host view; defaults to `LinuxSysFS(root: options.hostRoot)` (or the simulator's
    ///   when the root is a simulated host).
    public init(options: Options, sysfs: (any SysFS)? = nil, logger: Logger) {
        self.options = options
        if let sysfs {
            self.sysfs = sysfs
        } else if SimulatedHost.isSimulated(root: options.hostRoot),
            let sim = try? SimulatedSysFS(root: options.hostRoot)
        {
            self.sysfs = sim
        } else {
            self.sysfs = LinuxSysFS(root: options.hostRoot)
        }
        self.logger = logger
    }

    public var mode: RegistrationMode {
        if let mode = self.options.mode { return mode }
        var info = stat()
        return stat(self.options.pluginRegistryDir, &info) == 0 ? .watcher : .legacy
    }

    // MARK: - Introspection (tests, health)

    /// The pool servers by resource name.
    public var servers: [String: PoolServer] { self.state.withLock { $0.servers } }
    /// The last configuration error, nil when the file is valid.
    public var configError: String? { self.state.withLock { $0.configError } }
    /// The configuration being served (the last good one).
    public var activeConfig: DevicePluginConfigFile? { self.state.withLock { $0.config } }
    /// Completed reconcile passes.
    public var scanCount: Int { self.state.withLock { $0.scans } }

    /// nil when healthy; else why not (for `/healthz`).
    public var healthProblem: String? {
        let (error, config, servers) = self.state.withLock { ($0.configError, $0.config, $0.servers) }
        if config == nil { return "no valid configuration: \(error ?? "not read yet")" }
        let unregistered = servers.values.filter { !$0.isRegistered }.map { $0.state.pool.resourceName }.sorted()
        if !unregistered.isEmpty { return "not registered with the kubelet: \(unregistered.joined(separator: ", "))" }
        return nil
    }

    // MARK: - Running

    public func run() async throws {
        self.logger.notice(
            "device plugin starting",
            metadata: [
                "config": "\(self.options.configFile)", "mode": "\(self.mode.rawValue)",
                "prefix": "\(self.options.resourcePrefix)",
            ]
        )
        if self.options.useCDI { CDISpecs(directory: self.options.cdiDir).removeAll() }
        try await withGracefulShutdownHandler {
            try await withThrowingDiscardingTaskGroup { group in
                if self.options.healthPort > 0 {
                    let endpoint = HealthEndpoint(port: self.options.healthPort) { [weak self] in
                        self?.healthProblem ?? "stopping"
                    }
                    group.addTask { try await endpoint.run(until: { [weak self] in self?.isShuttingDown ?? true }) }
                }
                let clock = ContinuousClock()
                var lastFull = clock.now
                var fingerprint: [String] = []
                var first = true
                while !self.isShuttingDown {
                    let previous = self.state.withLock { $0.lastSnapshot }
                    let now = DeviceScanner(sysfs: self.sysfs).fingerprint(previous: previous)
                    if first || now != fingerprint || self.configFileChanged()
                        || clock.now - lastFull >= self.options.timing.rescan
                    {
                        for server in self.reconcile() {
                            group.addTask { await server.run() }
                        }
                        fingerprint = now
                        lastFull = clock.now
                        first = false
                    }
                    try? await Task.sleep(for: self.options.timing.poll)
                }
                // Servers send their empty list, close their streams and remove their sockets, then return.
                self.stopAll()
            }
        } onGracefulShutdown: {
            self.state.withLock { $0.shuttingDown = true }
        }
        if self.options.useCDI { CDISpecs(directory: self.options.cdiDir).removeAll() }
        self.logger.notice("device plugin stopped")
    }

    var isShuttingDown: Bool { self.state.withLock { $0.shuttingDown } || Task.isCancelled }

    /// Stops every pool server (each sends an empty list and removes its socket).
    func stopAll() {
        let servers = self.state.withLock { $0.servers }
        for server in servers.values { server.stop(sendEmpty: true) }
    }

    /// One pass: read the config, scan the host, update pools. Returns servers to start.
    public func reconcile() -> [PoolServer] {
        self.reloadConfig()
        let snapshot = DeviceScanner(sysfs: self.sysfs).scan()
        let (config, servers) = self.state.withLock { ($0.config, $0.servers) }
        guard let config else {
            self.state.withLock { $0.scans += 1 }
            return []
        }
        let previous = servers.mapValues { $0.state.pool }
        let pools = PoolBuilder.build(
            config: config,
            snapshot: snapshot,
            defaultPrefix: self.options.resourcePrefix,
            previous: previous
        )
        let allocator = self.allocator
        let deviceInfo = DeviceInfoFiles(directory: self.options.deviceInfoDir)
        let cdi = CDISpecs(directory: self.options.cdiDir)
        var toStart: [PoolServer] = []
        var next: [String: PoolServer] = [:]
        var keepSpecs: Set<String> = []
        for pool in pools {
            if let server = servers[pool.resourceName] {
                if server.state.update(pool) {
                    self.logger.info(
                        "pool changed",
                        metadata: ["resource": "\(pool.resourceName)", "devices": "\(pool.devices.count)"]
                    )
                }
                next[pool.resourceName] = server
            } else if pool.devices.isEmpty {
                // Upstream: "no devices in device pool, skipping". A pool that is already served keeps its
                // server (and sends the empty list) so that VFs coming back need no re-registration.
                self.logger.info("no devices in device pool, skipping", metadata: ["resource": "\(pool.resourceName)"])
                continue
            } else {
                let server = self.makeServer(pool: pool, allocator: allocator, deviceInfo: deviceInfo)
                self.logger.notice(
                    "new pool",
                    metadata: ["resource": "\(pool.resourceName)", "devices": "\(pool.devices.count)"]
                )
                next[pool.resourceName] = server
                toStart.append(server)
            }
            deviceInfo.removeStale(pool: pool)
            if self.options.useCDI {
                do {
                    try cdi.write(pool: pool, allocator: allocator)
                } catch {
                    self.logger.error("cannot write CDI spec", metadata: ["error": "\(error)"])
                }
                keepSpecs.insert(cdi.path(pool: pool))
            }
        }
        for (name, server) in servers where next[name] == nil {
            self.logger.notice("pool removed", metadata: ["resource": "\(name)"])
            server.stop(sendEmpty: true)
            let pool = server.state.pool
            deviceInfo.removeAll(prefix: pool.prefix, resourceName: pool.config.resourceName)
        }
        if self.options.useCDI { cdi.removeAll(except: keepSpecs) }
        self.state.withLock {
            $0.servers = next
            $0.lastSnapshot = snapshot
            $0.scans += 1
        }
        return toStart
    }

    var allocator: Allocator {
        let fs = self.sysfs
        return Allocator(deviceExists: { fs.exists($0) })
    }

    func makeServer(pool: Pool, allocator: Allocator, deviceInfo: DeviceInfoFiles) -> PoolServer {
        let mode = self.mode
        let dir = mode == .watcher ? self.options.pluginRegistryDir : self.options.devicePluginDir
        let state = PoolState(pool: pool)
        var logger = self.logger
        logger[metadataKey: "resource"] = "\(pool.resourceName)"
        let provider = DevicePluginProvider(
            state: state,
            allocator: allocator,
            deviceInfo: deviceInfo,
            useCDI: self.options.useCDI,
            logger: logger
        )
        return PoolServer(
            state: state,
            socketPath: dir + "/" + pool.socketName,
            kubeletSocket: self.options.kubeletSocket,
            mode: mode,
            provider: provider,
            timing: self.options.timing,
            logger: self.logger
        )
    }

    /// Whether the config file's content differs from the last one read (a ConfigMap update swaps a symlink,
    /// so the content is compared, not the mtime of a path).
    func configFileChanged() -> Bool {
        let text = try? LinuxSysFS(root: "/").read(self.options.configFile)
        return self.state.withLock { $0.configText != text }
    }

    /// Re-reads the config file when its content changed; an invalid file keeps the last good config.
    func reloadConfig() {
        let path = self.options.configFile
        let text: String
        do {
            text = try LinuxSysFS(root: "/").read(path)
        } catch {
            let message = "cannot read \(path): \(error)"
            let changed = self.state.withLock { s -> Bool in
                defer { s.configError = message }
                return s.configError != message
            }
            if changed { self.logger.error("cannot read the configuration", metadata: ["error": "\(error)"]) }
            return
        }
        guard self.state.withLock({ $0.configText != text }) else { return }
        do {
            let config = try DevicePluginConfigFile.parse(
                text,
                file: path,
                defaultPrefix: self.options.resourcePrefix
            )
            for warning in config.warnings { self.logger.warning("configuration", metadata: ["warning": "\(warning)"]) }
            self.state.withLock {
                $0.configText = text
                $0.config = config
                $0.configError = nil
            }
            self.logger.notice("configuration loaded", metadata: ["pools": "\(config.resourceList.count)"])
        } catch {
            let kept = self.state.withLock { s -> Bool in
                s.configText = text
                s.configError = "\(error)"
                return s.config != nil
            }
            self.logger.error(
                kept ? "invalid configuration, still serving the last good one" : "invalid configuration",
                metadata: ["error": "\(error)"]
            )
        }
    }
}
