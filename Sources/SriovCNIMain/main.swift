// The `sriov-cni` executable: installed as `sriov` (and `ib-sriov`) in the CNI bin dir and exec'd once per pod
// attachment. Reads the CNI environment and stdin, prints one result or error JSON in a single write, exits.
//
// Environment beyond the CNI spec (for tests and non-standard hosts):
// - SRIOV_CNI_STATE_DIR: state directory (default /var/lib/cni/sriov);
// - SRIOV_CNI_SYSFS_ROOT: root under which /sys is read (default /); a simulated root made by `sriov simulate`
//   also switches the PF side to the simulator's VF state;
// - SRIOV_CNI_LOCK_TIMEOUT_MS: how long to wait for another invocation holding the VF (default 60000).
import SriovCNI
import SriovHost

#if canImport(Glibc)
import Glibc
#endif

func environment() -> [String: String] {
    var out: [String: String] = [:]
    var pointer = environ
    while let entry = pointer.pointee {
        let text = String(cString: entry)
        if let eq = text.firstIndex(of: "=") {
            out[String(text[..<eq])] = String(text[text.index(after: eq)...])
        }
        pointer += 1
    }
    return out
}

func readStandardInput() -> [UInt8] {
    var out: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 65536)
    while true {
        let n = buffer.withUnsafeMutableBytes { read(0, $0.baseAddress, $0.count) }
        if n < 0 && errno == EINTR { continue }
        if n <= 0 { break }
        out.append(contentsOf: buffer[0..<n])
    }
    return out
}

func writeAll(_ text: String) {
    var bytes = Array(text.utf8)
    var offset = 0
    while offset < bytes.count {
        let n = bytes.withUnsafeMutableBytes { write(1, $0.baseAddress! + offset, $0.count - offset) }
        if n < 0 && errno == EINTR { continue }
        if n <= 0 { return }
        offset += n
    }
}

let env = environment()
let invokedAs = CommandLine.arguments.first.map { String($0.split(separator: "/").last ?? "") } ?? ""
let sysfsRoot = env["SRIOV_CNI_SYSFS_ROOT"].flatMap { $0.isEmpty ? nil : $0 } ?? "/"
let vfControl: any VFControl =
    sysfsRoot != "/" && SimulatedHost.isSimulated(root: sysfsRoot)
    ? SimulatedVFControl(root: sysfsRoot) : RTNetlinkVFControl()
let lockTimeout = env["SRIOV_CNI_LOCK_TIMEOUT_MS"].flatMap(Int.init).map { Duration.milliseconds($0) } ?? .seconds(60)
let plugin = SriovCNIPlugin(
    flavor: invokedAs == "ib-sriov" ? .ibSriov : .sriov,
    stateDirectory: env["SRIOV_CNI_STATE_DIR"].flatMap { $0.isEmpty ? nil : $0 } ?? "/var/lib/cni/sriov",
    sysfs: LinuxSysFS(root: sysfsRoot),
    vfControl: vfControl,
    lockTimeout: lockTimeout,
    hangAt: env["SRIOV_CNI_TEST_HANG_AT"] ?? ""
)
let command = env["CNI_COMMAND"] ?? ""
let input = CNIRequest.readsStdin(command: command) && !command.isEmpty ? readStandardInput() : []
let output = plugin.run(CNIRequest(environment: env, stdin: input))
writeAll(output.stdout)
exit(output.exitCode)
