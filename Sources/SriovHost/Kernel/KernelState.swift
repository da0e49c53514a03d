/// Kernel arguments and modules the node needs, read from `/proc/cmdline`, `/proc/cpuinfo` and
/// `/sys/module` under the host root.
public struct KernelState: Sendable {
    let sysfs: any SysFS

    public init(sysfs: any SysFS) { self.sysfs = sysfs }

    public var commandLine: [String] {
        (self.sysfs.readIfPresent("/proc/cmdline") ?? "").split(whereSeparator: \.isWhitespace).map(String.init)
    }

    public var isAMD: Bool {
        (self.sysfs.readIfPresent("/proc/cpuinfo") ?? "").contains("AuthenticAMD")
    }

    /// The IOMMU arguments vfio-pci needs: `intel_iommu=on iommu=pt` on Intel, `iommu=pt` on AMD.
    public var iommuArguments: [String] { self.isAMD ? ["iommu=pt"] : ["intel_iommu=on", "iommu=pt"] }

    /// Arguments of `wanted` that the running kernel was not booted with.
    public func missing(_ wanted: [String]) -> [String] {
        let current = Set(self.commandLine)
        return wanted.filter { !current.contains($0) }
    }

    public func isLoaded(_ module: String) -> Bool {
        self.sysfs.exists("/sys/module/\(module.replacingDashes)")
    }
}

/// Loads kernel modules.
public protocol KernelModules: Sendable {
    func load(_ module: String, parameters: String) throws(HostError)
}

/// Runs `modprobe` (in the host's mount namespace when the root is not `/`, through `chroot`).
public struct ModprobeKernelModules: KernelModules {
    public let root: String

    public init(root: String = "/") { self.root = root }

    public func load(_ module: String, parameters: String) throws(HostError) {
        var arguments = [module]
        arguments += parameters.split(separator: " ").map(String.init)
        let command: [String] =
            self.root == "/" ? ["modprobe"] + arguments : ["chroot", self.root, "modprobe"] + arguments
        try Command.run(command, step: "load kernel module \(module)")
    }
}

/// The simulator's modules: loading creates `/sys/module/<name>` (with `parameters/` files), as the kernel does.
public struct SimulatedKernelModules: KernelModules {
    let sysfs: any SysFS

    public init(sysfs: any SysFS) { self.sysfs = sysfs }

    public func load(_ module: String, parameters: String) throws(HostError) {
        let base = "/sys/module/\(module.replacingDashes)"
        try self.sysfs.createFile(base + "/refcnt", "0\n")
        for parameter in parameters.split(separator: " ") {
            let pair = parameter.split(separator: "=", maxSplits: 1)
            guard pair.count == 2 else { continue }
            try self.sysfs.createFile(base + "/parameters/\(pair[0])", "\(pair[1])\n")
        }
    }
}

extension String {
    var replacingDashes: String { String(self.map { $0 == "-" ? "_" : $0 }) }
}
