#if canImport(Glibc)
import Glibc
#endif

/// Fault injection for the simulated kernel: a write to a chosen path fails with a chosen errno, the way a
/// flaky driver fails `sriov_numvfs` with `EIO`. Faults are files under the simulator's state directory, so
/// they survive a restart of the process that uses the host (a daemon killed and started again).
extension SimulatedHost {
    public static let faultDirectory = stateDirectory + "/faults"

    /// Makes writes to `path` (a host path such as `/sys/bus/pci/devices/0000:3b:00.0/sriov_numvfs`) fail
    /// with `errno`: the next `times` writes, or every write until ``clearFaults(root:)`` when nil; with
    /// `value`, only writes of that value (`"8"` fails, `"0"` still works).
    public static func injectFault(
        root: String,
        path: String,
        errno: Int32,
        times: Int? = nil,
        value: String? = nil
    ) throws(HostError) {
        let content = "\(errno) \(times ?? -1) \(value ?? "")"
        try LinuxSysFS(root: root).createFile(self.faultFile(path), content + "\n")
    }

    /// Removes every injected fault.
    public static func clearFaults(root: String) throws(HostError) {
        try LinuxSysFS(root: root).remove(self.faultDirectory)
    }

    static func faultFile(_ path: String) -> String {
        self.faultDirectory + "/" + String(path.map { $0 == "/" ? "%" : $0 })
    }
}

extension SimulatedSysFS {
    /// Throws the injected fault for a write of `value` to `path`, if any, counting it down.
    func checkFault(_ path: String, value: String) throws(HostError) {
        let file = SimulatedHost.faultFile(path)
        guard let text = self.files.readIfPresent(file) else { return }
        let fields = text.split(separator: " ", omittingEmptySubsequences: false).map {
            String($0).trimmingWhitespace
        }
        guard let code = fields.first.flatMap({ Int32($0) }) else { return }
        let remaining = fields.count > 1 ? Int(fields[1]) ?? -1 : -1
        if fields.count > 2, !fields[2].isEmpty, fields[2] != value.trimmingWhitespace { return }
        if remaining == 1 {
            try self.files.remove(file)
        } else if remaining > 1 {
            try self.files.createFile(file, "\(code) \(remaining - 1) \(fields.count > 2 ? fields[2] : "")\n")
        }
        throw HostError.system(
            "write \(value.trimmingWhitespace.debugDescription) failed (injected fault)",
            path: path,
            errno: code
        )
    }
}
