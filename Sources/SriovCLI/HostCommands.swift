import ArgumentParser
import Foundation
import KubeCore
import Logging
import SriovAPI
import SriovHost
import SriovRender

/// Options shared by the commands that work on the local host.
struct HostOptions: ParsableArguments {
    @Option(
        name: .customLong("sysfs-root"),
        help:
            "Directory standing for the host's / (a copy, a container's /host, or a simulated host from `sriov simulate`)."
    )
    var sysfsRoot: String = "/"

    @Option(help: "Platform: baremetal, openstack or aws (default: the simulated profile's, else baremetal).")
    var platform: String?

    @Option(name: .customLong("metadata-url"), help: "Metadata service base URL (OpenStack/AWS).")
    var metadataURL: String = "http://169.254.169.254"

    @Flag(name: .customLong("all-nics"), help: "Report NIC models outside the supported list too (as DEV_MODE=TRUE).")
    var allNICs = false

    var isSimulated: Bool { SimulatedHost.isSimulated(root: self.sysfsRoot) }

    /// Checked while parsing, before the host is touched: a bad flag is a usage error (exit 2).
    func validate() throws {
        if let platform, !["baremetal", "openstack", "aws"].contains(platform) {
            throw ValidationError("--platform: \(QuotedValue.quote(platform)) is not one of baremetal, openstack, aws")
        }
        if self.sysfsRoot.isEmpty || self.sysfsRoot.contains("\0") {
            throw ValidationError("--sysfs-root: must be a directory path")
        }
    }

    var resolvedPlatform: String {
        if let platform { return platform }
        if self.isSimulated, let profile = try? SimulatedHost.profile(root: self.sysfsRoot), !profile.platform.isEmpty {
            return profile.platform
        }
        return "baremetal"
    }

    var isVirtual: Bool { self.resolvedPlatform == "openstack" || self.resolvedPlatform == "aws" }

    /// The host's parts: real (sysfs + rtnetlink + modprobe) or simulated.
    func host(
        supportedNICs: SupportedNICs = .upstreamDefault
    ) throws -> (HostDiscovery, any SysFS, any LinkControl, any KernelModules) {
        let sysfs: any SysFS
        let links: any LinkControl
        let modules: any KernelModules
        if self.isSimulated {
            let simulated = try HostCommandErrors.catching { try SimulatedSysFS(root: self.sysfsRoot) }
            sysfs = simulated
            links = SimulatedLinkControl(sysfs: simulated)
            modules = SimulatedKernelModules(sysfs: simulated)
        } else {
            sysfs = LinuxSysFS(root: self.sysfsRoot)
            links = RTNetlinkLinkControl()
            modules = ModprobeKernelModules(root: self.sysfsRoot)
        }
        let devMode = self.allNICs || Environment.get("DEV_MODE")?.uppercased() == "TRUE"
        let discovery = HostDiscovery(
            sysfs: sysfs,
            links: links,
            supportedModels: supportedNICs.models.map { (vendor: $0.vendor, device: $0.pfDeviceID) },
            devMode: devMode
        )
        return (discovery, sysfs, links, modules)
    }

    /// Discovers the host's NICs, through the platform metadata on virtual nodes.
    func discover(
        _ discovery: HostDiscovery
    ) throws -> (interfaces: [SriovNetworkNodeState.InterfaceExt], notes: [String]) {
        guard self.isVirtual else {
            let result = try discovery.discover()
            return (result.interfaces, result.skipped.map { "skipped \($0.pciAddress): \($0.reason)" })
        }
        let root = self.sysfsRoot
        let platform = self.resolvedPlatform
        let metadataURL = self.metadataURL
        // Host files are resolved inside the root: the host's absolute links are the host's, not ours.
        let fs = LinuxSysFS(root: root)
        func inRoot(_ path: String) throws -> String {
            (fs.root == "/" ? "" : fs.root) + (try HostCommandErrors.catching { try fs.canonicalPath(path) })
        }
        let checkpoint = PlatformCheckpoint(path: try inRoot("/tmp/sno-initial-node-state.json"))
        let configDrive = try inRoot("/config-drive")
        let virtual = VirtualDiscovery(base: discovery, checkpoint: (try? checkpoint.load()) ?? nil) {
            nics throws(HostError) in
            if platform == "aws" {
                let service = AWSMetadataService(baseURL: metadataURL)
                return PlatformNetFilters(aws: try service.fetchMetadata(), nics: nics)
            }
            let drive = OpenStackConfigDrive(directory: configDrive)
            let metadata: OpenStackMetadata
            if let fromDrive = try? drive.fetchMetadata() {
                metadata = fromDrive
            } else {
                metadata = try OpenStackMetadataService(baseURL: metadataURL).fetchMetadata()
            }
            return PlatformNetFilters(openStack: metadata, nics: nics)
        }
        let result = try virtual.discover()
        return (result.interfaces, result.warnings)
    }
}

struct DiscoverCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "discover",
        abstract: "Show this host's SR-IOV NICs as the config daemon reports them (NodeState status)."
    )

    @OptionGroup var host: HostOptions

    @Option(name: .shortAndLong, help: "Output format: text (a tree), yaml or json (the NodeState status).")
    var output: OutputFormat = .text

    func run() throws {
        let (discovery, _, _, _) = try self.host.host()
        let (interfaces, notes) = try HostCommandErrors.catching { try self.host.discover(discovery) }
        switch self.output {
        case .text:
            StandardOutput.write(DiscoveryTextFormatter.render(interfaces))
            for note in notes { StandardError.write("note: \(note)") }
        case .json, .yaml:
            let status = SriovNetworkNodeState.Status(interfaces: interfaces)
            let value = try ValueEncoder().encode(status)
            StandardOutput.write(
                self.output == .json ? try GoJSON.indent(GoJSON.encode(value)) + "\n" : YAMLWriter.string(value)
            )
        }
    }
}

enum HostCommandErrors {
    /// Host errors end the command with exit 1 and one clear line (no backtrace).
    static func catching<T>(_ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as HostError {
            StandardError.write("error: \(error)")
            throw ExitCode(1)
        }
    }
}

enum DiscoveryTextFormatter {
    static func render(_ interfaces: [SriovNetworkNodeState.InterfaceExt]) -> String {
        guard !interfaces.isEmpty else { return "No SR-IOV capable NICs found.\n" }
        var out = ""
        for iface in interfaces {
            out += "\(iface.name)  \(iface.pciAddress)  \(iface.vendor):\(iface.deviceID)  driver \(iface.driver)"
            out += "  \(iface.mac)  mtu \(iface.mtu)  \(iface.linkType) \(iface.linkAdminState)"
            if !iface.linkSpeed.isEmpty { out += "  \(iface.linkSpeed)" }
            out += "\n"
            var facts: [String] = []
            if iface.totalvfs > 0 { facts.append("VFs \(iface.numVfs)/\(iface.totalvfs)") }
            if !iface.eSwitchMode.isEmpty { facts.append("eswitch \(iface.eSwitchMode)") }
            if !iface.altNames.isEmpty { facts.append("altnames \(iface.altNames.joined(separator: ","))") }
            if !iface.netFilter.isEmpty { facts.append("netFilter \(iface.netFilter)") }
            if iface.externallyManaged { facts.append("externally managed") }
            if !facts.isEmpty { out += "  " + facts.joined(separator: "  ") + "\n" }
            for vf in iface.Vfs {
                out += "    vf \(vf.vfID)  \(vf.pciAddress)  \(vf.driver.isEmpty ? "(no driver)" : vf.driver)"
                if !vf.name.isEmpty { out += "  \(vf.name)" }
                if !vf.mac.isEmpty { out += "  \(vf.mac)" }
                if vf.mtu > 0 { out += "  mtu \(vf.mtu)" }
                if !vf.representorName.isEmpty { out += "  rep \(vf.representorName)" }
                if !vf.vdpaType.isEmpty { out += "  vdpa \(vf.vdpaType)" }
                out += "\n"
            }
        }
        return out
    }
}

struct SimulateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "simulate",
        abstract: "Create a simulated host (a sysfs tree that behaves like the kernel) from a host profile.",
        discussion: "Profiles: hosts/profiles/*.yaml. Then use --sysfs-root DIR with discover, apply and reset."
    )

    @Argument(help: "Host profile YAML.") var profile: String
    @Argument(help: "Empty directory to create the host in.") var directory: String

    func run() throws {
        let profile: HostProfile
        do {
            profile = try SimulatedHost.loadProfile(file: self.profile)
        } catch let error as ManifestError {
            StandardError.write("error: \(error)")
            throw ExitCode(2)
        } catch let error as HostError {
            StandardError.write("error: \(error)")
            throw ExitCode(1)
        }
        // A relative directory is the working directory's, never the filesystem root's.
        let directory = LinuxSysFS.absolute(self.directory)
        try HostCommandErrors.catching { try SimulatedHost.create(profile: profile, at: directory) }
        StandardOutput.write("simulated host \(QuotedValue.cut(profile.name)) created in \(directory)\n")
    }
}
