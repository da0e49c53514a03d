/// Runs programs of the host (kernel-argument tools, `systemd-run`, `update-grub`): inside the host's root
/// when the daemon sees the host's `/` elsewhere (`/host` in the DaemonSet), as upstream does with chroot.
public protocol HostCommandRunner: Sendable {
    /// Runs `arguments` (program first) in the host root; `step` names the work for the error message.
    /// - Throws: ``HostError`` with the command, exit status and stderr when it fails or times out.
    func run(_ arguments: [String], step: String) throws(HostError)
}

/// Runs host programs with `chroot <root>` (directly when the root is `/`).
public struct ChrootCommandRunner: HostCommandRunner {
    public let root: String
    public var timeout: Duration

    public init(root: String, timeout: Duration = .seconds(120)) {
        self.root = root
        self.timeout = timeout
    }

    public func run(_ arguments: [String], step: String) throws(HostError) {
        let command = self.root == "/" ? arguments : ["chroot", self.root] + arguments
        try Command.run(command, step: step, timeout: self.timeout)
    }
}

/// The simulated host's programs: every command is appended to `/.sriov-simulator/commands.log`, and the
/// ones that change the boot behave as on a host: the kernel-argument tools record the arguments for the
/// next boot, and `systemd-run … reboot` boots with them (`/proc/cmdline` gains them; VFs are gone, as after
/// a real reboot). A program named in `/.sriov-simulator/missing-commands` fails as if not installed; with
/// `/.sriov-simulator/ignore-kernel-args` present a reboot keeps the old command line.
public struct SimulatedCommandRunner: HostCommandRunner {
    public static let logFile = SimulatedHost.stateDirectory + "/commands.log"
    public static let nextBootFile = SimulatedHost.stateDirectory + "/next-boot-cmdline"
    public static let rebootCountFile = SimulatedHost.stateDirectory + "/reboots"
    let sysfs: SimulatedSysFS

    public init(sysfs: SimulatedSysFS) { self.sysfs = sysfs }

    public func run(_ arguments: [String], step: String) throws(HostError) {
        let files = self.sysfs.files
        let log = (files.readIfPresent(Self.logFile) ?? "") + arguments.joined(separator: " ") + "\n"
        try files.createFile(Self.logFile, log)
        guard let program = arguments.first else { return }
        let missing = (files.readIfPresent(SimulatedHost.stateDirectory + "/missing-commands") ?? "")
            .split(whereSeparator: \.isWhitespace).map(String.init)
        if missing.contains(program) {
            throw HostError(code: .notFound, message: "\(program): command not found", step: step)
        }
        var next = (files.readIfPresent(Self.nextBootFile) ?? self.sysfs.readIfPresent("/proc/cmdline") ?? "")
            .split(whereSeparator: \.isWhitespace).map(String.init)
        func add(_ argument: String) { if !next.contains(argument) { next.append(argument) } }
        func remove(_ argument: String) { next.removeAll { $0 == argument } }
        switch program {
        case "grubby":
            for argument in arguments.dropFirst() {
                if argument.hasPrefix("--args=") {
                    for part in argument.dropFirst(7).split(separator: " ") { add(String(part)) }
                } else if argument.hasPrefix("--remove-args=") {
                    for part in argument.dropFirst(14).split(separator: " ") { remove(String(part)) }
                }
            }
        case "rpm-ostree":
            for argument in arguments.dropFirst() {
                if argument.hasPrefix("--append=") { add(String(argument.dropFirst(9))) }
                if argument.hasPrefix("--delete=") { remove(String(argument.dropFirst(9))) }
            }
        case "update-grub":
            for part in KernelArgumentEditor(sysfs: self.sysfs, commands: self).dropInArguments { add(part) }
        case "systemd-run" where arguments.contains(where: { $0.contains("reboot") }):
            // `ignore-kernel-args`: a boot loader that does not pick the edit up (a reboot-loop test).
            if !files.exists(SimulatedHost.stateDirectory + "/ignore-kernel-args") {
                try self.sysfs.createFile("/proc/cmdline", next.joined(separator: " ") + "\n")
            }
            try files.remove(Self.nextBootFile)
            for pf in (try? self.sysfs.list("/sys/bus/pci/devices")) ?? [] {
                let path = "/sys/bus/pci/devices/\(pf)/sriov_numvfs"
                if (try? self.sysfs.readInt(path)) ?? 0 > 0 { try self.sysfs.write(path, "0") }
            }
            let count = (try? files.readInt(Self.rebootCountFile)) ?? 0
            try files.createFile(Self.rebootCountFile, "\(count + 1)\n")
            return
        default:
            return
        }
        try files.createFile(Self.nextBootFile, next.joined(separator: " ") + "\n")
    }
}
