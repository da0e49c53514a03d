/// Edits the kernel command line of the next boot with the host's own tool: `rpm-ostree kargs` on ostree
/// hosts, `grubby` where it is installed (Fedora/RHEL family), and on Debian/Ubuntu a drop-in
/// `/etc/default/grub.d/99-sriov-operator.cfg` followed by `update-grub` (upstream does nothing there, so
/// vfio-pci silently lacks its IOMMU arguments). Upstream: bindata/scripts/kargs.sh.
public struct KernelArgumentEditor: Sendable {
    public static let grubDropIn = "/etc/default/grub.d/99-sriov-operator.cfg"

    public enum Tool: String, Sendable, Hashable {
        case rpmOstree = "rpm-ostree"
        case grubby
        case updateGrub = "update-grub"
    }

    let sysfs: any SysFS
    let commands: any HostCommandRunner

    public init(sysfs: any SysFS, commands: any HostCommandRunner) {
        self.sysfs = sysfs
        self.commands = commands
    }

    /// The host's tool, found under the host root; nil when there is none.
    public var tool: Tool? {
        if self.sysfs.exists("/run/ostree-booted") { return .rpmOstree }
        for dir in ["/usr/sbin", "/sbin", "/usr/bin", "/bin"] where self.sysfs.exists("\(dir)/grubby") {
            return .grubby
        }
        for dir in ["/usr/sbin", "/sbin", "/usr/bin"] where self.sysfs.exists("\(dir)/update-grub") {
            return .updateGrub
        }
        if self.sysfs.exists("/etc/default/grub.d") || self.sysfs.exists("/etc/default/grub") { return .updateGrub }
        return nil
    }

    /// Makes the next boot use `add` and not `remove` (arguments already in the wanted state are left).
    /// - Throws: ``HostError`` naming the tool and its error, or that the host has no tool at all.
    public func update(add: [String], remove: [String] = []) throws(HostError) {
        guard !add.isEmpty || !remove.isEmpty else { return }
        guard let tool = self.tool else {
            throw HostError(
                code: .unsupported,
                message:
                    "no tool to edit kernel arguments on this host (looked for rpm-ostree, grubby, update-grub); add \(add.joined(separator: " ")) by hand",
                step: "edit kernel arguments"
            )
        }
        let step = "edit kernel arguments with \(tool.rawValue)"
        switch tool {
        case .rpmOstree:
            let arguments = add.map { "--append=\($0)" } + remove.map { "--delete=\($0)" }
            try self.commands.run(["rpm-ostree", "kargs"] + arguments, step: step)
        case .grubby:
            var arguments = ["grubby", "--update-kernel=ALL"]
            if !add.isEmpty { arguments.append("--args=\(add.joined(separator: " "))") }
            if !remove.isEmpty { arguments.append("--remove-args=\(remove.joined(separator: " "))") }
            try self.commands.run(arguments, step: step)
        case .updateGrub:
            var ours = self.dropInArguments.filter { !remove.contains($0) }
            for argument in add where !ours.contains(argument) { ours.append(argument) }
            if ours.isEmpty {
                try self.sysfs.remove(Self.grubDropIn)
            } else {
                let line = "GRUB_CMDLINE_LINUX_DEFAULT=\"$GRUB_CMDLINE_LINUX_DEFAULT \(ours.joined(separator: " "))\""
                try self.sysfs.createFile(
                    Self.grubDropIn,
                    "# Written by the sriov config daemon: kernel arguments SR-IOV needs.\n\(line)\n"
                )
            }
            try self.commands.run(["update-grub"], step: step)
        }
    }

    /// The arguments our grub drop-in adds.
    var dropInArguments: [String] {
        guard let text = self.sysfs.readIfPresent(Self.grubDropIn),
            let line = text.split(separator: "\n").first(where: { $0.hasPrefix("GRUB_CMDLINE_LINUX_DEFAULT=") }),
            let open = line.firstIndex(of: " "), let close = line.lastIndex(of: "\""), open < close
        else { return [] }
        return line[line.index(after: open)..<close].split(separator: " ").map(String.init)
    }
}
