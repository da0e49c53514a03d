import ArgumentParser
import Logging
import ServiceLifecycle
import SriovDevicePlugin
import UnixSignals

struct DevicePluginCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "device-plugin",
        abstract: "Run the SR-IOV device plugin: advertise VF pools to the kubelet and allocate them to containers.",
        discussion: """
            Reads upstream's device-plugin config ({"resourceList":[…]}), wire-compatible with \
            sriov-network-device-plugin: same socket and resource names, Allocate envs (PCIDEVICE_*), device-info \
            files and CDI specs. Registers in plugin-watcher mode when <kubelet-dir>/plugins_registry exists, \
            otherwise through <kubelet-dir>/device-plugins/kubelet.sock (re-registering after kubelet restarts). \
            Config file and host changes are picked up without a restart; an invalid config is reported and the \
            last good one stays in service. SIGTERM/SIGINT/SIGHUP stop it gracefully.
            """
    )

    @Option(
        name: [.customLong("config-file"), .customLong("config-file", withSingleDash: true)],
        help: "Device-plugin configuration (JSON)."
    )
    var configFile: String = "/etc/pcidp/config.json"

    @Option(
        name: [.customLong("resource-prefix"), .customLong("resource-prefix", withSingleDash: true)],
        help: "Resource prefix of pools without their own resourcePrefix."
    )
    var resourcePrefix: String = "intel.com"

    @Flag(
        name: [.customLong("use-cdi"), .customLong("use-cdi", withSingleDash: true)],
        help: "Hand devices to containers through CDI specs and annotations instead of device specs."
    )
    var useCDI = false

    @Option(name: .customLong("host-root"), help: "Where the host's /sys, /proc and /dev are visible.")
    var hostRoot: String = "/"

    @Option(name: .customLong("kubelet-dir"), help: "The kubelet's root (device-plugins/, plugins_registry/).")
    var kubeletDir: String = "/var/lib/kubelet"

    @Option(name: .customLong("devinfo-dir"), help: "Directory of the device-info files for Multus and CNIs.")
    var devinfoDir: String = "/var/run/k8s.cni.cncf.io/devinfo/dp"

    @Option(name: .customLong("cdi-dir"), help: "Directory of the CDI spec files (with --use-cdi).")
    var cdiDir: String = "/var/run/cdi"

    @Option(name: .customLong("health-port"), help: "Port of /healthz and /readyz (0: none).")
    var healthPort: Int = 0

    func validate() throws {
        guard (0...65535).contains(self.healthPort) else {
            throw ValidationError("--health-port \(self.healthPort) is not a port number (0-65535)")
        }
        guard !self.resourcePrefix.isEmpty, !self.resourcePrefix.contains("/") else {
            throw ValidationError("--resource-prefix \(self.resourcePrefix.debugDescription) is not a DNS-style prefix")
        }
    }

    func run() async throws {
        LogSetup.bootstrap(defaultLevel: .info)
        let logger = Logger(label: "sriov.device-plugin")
        var options = DevicePlugin.Options()
        options.configFile = self.configFile
        options.resourcePrefix = self.resourcePrefix
        options.useCDI = self.useCDI
        options.hostRoot = self.hostRoot
        options.kubeletDir = self.kubeletDir
        options.deviceInfoDir = self.devinfoDir
        options.cdiDir = self.cdiDir
        options.healthPort = self.healthPort
        let plugin = DevicePlugin(options: options, logger: logger)
        let group = ServiceGroup(
            configuration: .init(
                services: [.init(service: plugin)],
                gracefulShutdownSignals: [.sigterm, .sigint, .sighup],
                logger: logger
            )
        )
        try await group.run()
    }
}
