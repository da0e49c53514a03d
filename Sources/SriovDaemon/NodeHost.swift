public import Logging
public import SriovAPI
public import SriovHost
public import SriovRender
import Synchronization

/// The host as the daemon uses it: every part built on one root, real or simulated. All host work is
/// SriovHost's (discovery, ``HostConfigurator``, kernel arguments, host programs); this type only wires
/// it for a pass, with the platform and the supported-NIC table of that pass.
public struct NodeHost: Sendable {
    public let root: String
    public let sysfs: any SysFS
    public let links: any LinkControl
    public let modules: any KernelModules
    public let commands: any HostCommandRunner
    /// OpenStack/AWS metadata base URL (the link-local service).
    public var metadataURL: String = "http://169.254.169.254"
    let metadata = MetadataCache()

    public init(
        root: String,
        sysfs: any SysFS,
        links: any LinkControl,
        modules: any KernelModules,
        commands: any HostCommandRunner
    ) {
        self.root = root
        self.sysfs = sysfs
        self.links = links
        self.modules = modules
        self.commands = commands
    }

    /// The host seen at `root`: a simulated one (made by `sriov simulate`) or the real kernel's files,
    /// rtnetlink, `modprobe` and host programs run with chroot into `root`.
    public static func open(root: String) throws(HostError) -> NodeHost {
        if SimulatedHost.isSimulated(root: root) {
            let simulated = try SimulatedSysFS(root: root)
            return NodeHost(
                root: root,
                sysfs: simulated,
                links: SimulatedLinkControl(sysfs: simulated),
                modules: SimulatedKernelModules(sysfs: simulated),
                commands: SimulatedCommandRunner(sysfs: simulated)
            )
        }
        return NodeHost(
            root: root,
            sysfs: LinuxSysFS(root: root),
            links: RTNetlinkLinkControl(),
            modules: ModprobeKernelModules(root: root),
            commands: ChrootCommandRunner(root: root)
        )
    }

    public func discovery(nics: SupportedNICs, devMode: Bool, driverRetries: Int = 5) -> HostDiscovery {
        HostDiscovery(
            sysfs: self.sysfs,
            links: self.links,
            supportedModels: nics.models.map { (vendor: $0.vendor, device: $0.pfDeviceID) },
            devMode: devMode,
            driverRetries: driverRetries
        )
    }

    /// The NICs as NodeState status reports them; on virtual platforms through their metadata (read once
    /// and kept, as upstream reads it at start) and the checkpoint saved before the first change.
    public func discover(
        platform: NodePlatform,
        nics: SupportedNICs,
        devMode: Bool,
        driverRetries: Int = 5
    ) throws(HostError) -> [SriovNetworkNodeState.InterfaceExt] {
        let base = self.discovery(nics: nics, devMode: devMode, driverRetries: driverRetries)
        guard platform.isVirtual else { return try base.discover().interfaces }
        let root = self.root
        let url = self.metadataURL
        let cache = self.metadata
        let virtual = VirtualDiscovery(base: base, checkpoint: (try? self.checkpoint.load()) ?? nil) {
            guests throws(HostError) in
            if platform == .aws {
                let data = try cache.aws { () throws(HostError) in try AWSMetadataService(baseURL: url).fetchMetadata()
                }
                return PlatformNetFilters(aws: data, nics: guests)
            }
            let data = try cache.openStack { () throws(HostError) in
                let drive = OpenStackConfigDrive(directory: root == "/" ? "/config-drive" : root + "/config-drive")
                if let fromDrive = try? drive.fetchMetadata() { return fromDrive }
                return try OpenStackMetadataService(baseURL: url).fetchMetadata()
            }
            return PlatformNetFilters(openStack: data, nics: guests)
        }
        return try virtual.discover().interfaces
    }

    public var checkpoint: PlatformCheckpoint {
        PlatformCheckpoint(path: (self.root == "/" ? "" : self.root) + "/tmp/sno-initial-node-state.json")
    }

    /// The generic plugin for this pass; its discovery is the same as ``discover(platform:nics:devMode:driverRetries:)``.
    public func configurator(
        platform: NodePlatform,
        nics: SupportedNICs,
        devMode: Bool,
        driverRetries: Int = 5,
        logger: Logger
    ) -> HostConfigurator {
        var configurator = HostConfigurator(
            sysfs: self.sysfs,
            links: self.links,
            modules: self.modules,
            discovery: self.discovery(nics: nics, devMode: devMode, driverRetries: driverRetries),
            logger: logger,
            vfDeviceIDs: Array(Set(nics.models.map(\.vfDeviceID))).sorted(),
            isVirtual: platform.isVirtual
        )
        let host = self
        configurator.discover = { () throws(HostError) in
            try host.discover(platform: platform, nics: nics, devMode: devMode, driverRetries: driverRetries)
        }
        return configurator
    }

    public var kernel: KernelState { KernelState(sysfs: self.sysfs) }
    public var kernelArguments: KernelArgumentEditor {
        KernelArgumentEditor(sysfs: self.sysfs, commands: self.commands)
    }

    /// `shared`/`exclusive` from `ib_core`'s `netns_mode` parameter; nil when ib_core is not loaded.
    public var rdmaMode: String? {
        guard let value = self.sysfs.readIfPresent("/sys/module/ib_core/parameters/netns_mode") else { return nil }
        switch value.filter({ !$0.isWhitespace }) {
        case "1", "Y", "y": return "shared"
        case "0", "N", "n": return "exclusive"
        default: return nil
        }
    }

    /// Asks systemd on the host to stop the kubelet and reboot (upstream's transient unit).
    public func reboot() throws(HostError) {
        try self.commands.run(
            [
                "systemd-run", "--unit", "sriov-network-config-daemon-reboot", "--description",
                "sriov-network-config-daemon reboot node", "/bin/sh", "-c", "systemctl stop kubelet.service; reboot",
            ],
            step: "reboot the node"
        )
    }
}

/// Platform metadata read once per process (upstream reads it at start), so a resync costs no HTTP.
final class MetadataCache: Sendable {
    let openStackData = Mutex<OpenStackMetadata?>(nil)
    let awsData = Mutex<AWSMetadata?>(nil)

    func openStack(_ fetch: () throws(HostError) -> OpenStackMetadata) throws(HostError) -> OpenStackMetadata {
        if let cached = self.openStackData.withLock({ $0 }) { return cached }
        let fresh = try fetch()
        self.openStackData.withLock { $0 = fresh }
        return fresh
    }

    func aws(_ fetch: () throws(HostError) -> AWSMetadata) throws(HostError) -> AWSMetadata {
        if let cached = self.awsData.withLock({ $0 }) { return cached }
        let fresh = try fetch()
        self.awsData.withLock { $0 = fresh }
        return fresh
    }
}
