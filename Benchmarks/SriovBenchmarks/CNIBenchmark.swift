import Foundation
import SriovHost

#if canImport(Glibc)
import Glibc
#endif

/// sriov-cni against Debian's host-device plugin (which does the netns-move half of the job), in the same run, on
/// the same kind of link (a veth standing in for the VF netdev, in a private "host" namespace), plus the exec time
/// of `VERSION` (the plugin's start-up cost). Needs root, `ip netns`, containernetworking-plugins, and a built
/// `sriov-cni` beside `sriov-bench` (`swift build -c release --product sriov-cni`).
enum CNIBenchmark {
    static func run(pairs: Int = 100, versionRuns: Int = 300) {
        print("")
        print("cni: ADD+DEL pairs (\(pairs) each) of sriov-cni vs host-device on a veth; VERSION exec time")
        let bench = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        let sriovCNI = bench.appendingPathComponent("sriov-cni").path
        let hostDevice = "/usr/lib/cni/host-device"
        guard geteuid() == 0, access(sriovCNI, X_OK) == 0, access(hostDevice, X_OK) == 0 else {
            print("skipped: needs root, \(sriovCNI) (swift build -c release --product sriov-cni) and \(hostDevice)")
            return
        }
        let id = String(UInt32.random(in: 0...UInt32.max), radix: 16)
        let hostNS = "cnibh-\(id)"
        let podNS = "cnibp-\(id)"
        // The simulated sysfs lives in memory, as /sys does (on this machine's ext4, mounted with `discard`, every
        // truncating write of the simulator's VF state waited for a synchronous discard: a cost no real PF has). The
        // plugin's state directory stays on disk, as /var/lib/cni/sriov is.
        let memory = access("/dev/shm", W_OK) == 0 ? "/dev/shm/" : NSTemporaryDirectory()
        let root = memory + "sriov-cni-bench-\(id)"
        let stateDirectory = NSTemporaryDirectory() + "sriov-cni-bench-\(id)-state"
        let pf = "b" + String(id.prefix(6))
        defer {
            _ = shell(["ip", "netns", "delete", hostNS])
            _ = shell(["ip", "netns", "delete", podNS])
            try? FileManager.default.removeItem(atPath: root)
            try? FileManager.default.removeItem(atPath: stateDirectory)
        }
        do {
            var port = HostProfile.Port(pciAddress: "0000:3b:00.0", name: pf, numVfs: 2)
            port.mtu = 9000
            let nic = HostProfile.NIC(
                vendor: "8086",
                device: "1592",
                vfDevice: "1889",
                driver: "ice",
                vfDriver: "iavf",
                totalVfs: 8,
                ports: [port]
            )
            try SimulatedHost.create(profile: HostProfile(name: "bench", nics: [nic]), at: root)
        } catch {
            print("skipped: cannot build the simulated host: \(error)")
            return
        }
        guard shell(["ip", "netns", "add", hostNS]), shell(["ip", "netns", "add", podNS]),
            shell(["ip", "-n", hostNS, "link", "add", "\(pf)v1", "type", "veth", "peer", "name", "\(pf)p1"]),
            shell(["ip", "-n", hostNS, "link", "add", "hd\(pf)", "type", "veth", "peer", "name", "hp\(pf)"])
        else {
            print("skipped: cannot create namespaces and veths")
            return
        }
        let common: [String: String] = [
            "CNI_CONTAINERID": "bench", "CNI_NETNS": "/var/run/netns/\(podNS)", "CNI_IFNAME": "net1",
            "CNI_PATH": "/usr/lib/cni", "SRIOV_CNI_STATE_DIR": stateDirectory, "SRIOV_CNI_SYSFS_ROOT": root,
        ]
        let sriovConf =
            #"{"cniVersion":"1.0.0","name":"bench","type":"sriov","deviceID":"0000:3b:01.1","vlan":100,"spoofchk":"off"}"#
        let hostDeviceConf = #"{"cniVersion":"1.0.0","name":"bench-hd","type":"host-device","device":"hd\#(pf)"}"#

        // Both plugins are spawned from a thread inside the "host" namespace, so they inherit it.
        var results: [(String, Double)] = []
        do {
            try NetlinkNamespace.run(inNamespaceAt: "/var/run/netns/\(hostNS)") {
                for (label, binary, conf) in [
                    ("host-device (Debian 1.1.1, Go)", hostDevice, hostDeviceConf),
                    ("sriov-cni (PF side, one move+rename request)", sriovCNI, sriovConf),
                    ("host-device (Debian 1.1.1, Go), second round", hostDevice, hostDeviceConf),
                    ("sriov-cni, second round", sriovCNI, sriovConf),
                ] {
                    var failed = ""
                    let start = ContinuousClock.now
                    for _ in 0..<pairs {
                        for command in ["ADD", "DEL"] {
                            let (status, out) = spawn(
                                binary,
                                env: common.merging(["CNI_COMMAND": command]) { $1 },
                                stdin: conf
                            )
                            if status != 0 && failed.isEmpty { failed = "\(command) exited \(status): \(out)" }
                        }
                    }
                    let elapsed = ContinuousClock.now - start
                    if !failed.isEmpty { print("\(label): \(failed)") }
                    results.append((label, milliseconds(elapsed) / Double(pairs)))
                }
            }
        } catch {
            print("cni benchmark failed: \(error)")
            return
        }
        for (label, ms) in results {
            print(
                "\(label.padding(toLength: 58, withPad: " ", startingAt: 0)) \(String(format: "%7.2f", ms)) ms/pair  \(String(format: "%6.0f", 1000 / ms)) pairs/s"
            )
        }
        if results.count == 4 {
            let ratio = (results[1].1 + results[3].1) / (results[0].1 + results[2].1)
            print("sriov-cni / host-device time per pair: \(String(format: "%.2f", ratio)) (target ≤ 0.8)")
        }
        for (label, binary) in [
            ("sriov-cni VERSION exec", sriovCNI), ("host-local VERSION exec (Go)", "/usr/lib/cni/host-local"),
        ] {
            let start = ContinuousClock.now
            for _ in 0..<versionRuns { _ = spawn(binary, env: ["CNI_COMMAND": "VERSION"], stdin: "") }
            let mean = milliseconds(ContinuousClock.now - start) / Double(versionRuns)
            print(
                "\(label.padding(toLength: 58, withPad: " ", startingAt: 0)) mean \(String(format: "%6.3f", mean)) ms (\(versionRuns) runs)"
            )
        }
    }

    static func milliseconds(_ d: Duration) -> Double {
        Double(d.components.seconds) * 1e3 + Double(d.components.attoseconds) / 1e15
    }

    static func shell(_ arguments: [String]) -> Bool {
        let candidates: [String] = ["/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip"]
        let binary = candidates.first { (path: String) in access(path, X_OK) == 0 } ?? "/usr/sbin/ip"
        return spawn(binary, arguments: Array(arguments.dropFirst()), env: ["PATH": "/usr/sbin:/usr/bin"], stdin: "").0
            == 0
    }

    /// posix_spawn from the calling thread (so the child inherits its network namespace), stdin fed, stdout read.
    static func spawn(_ path: String, arguments: [String] = [], env: [String: String], stdin: String) -> (Int32, String)
    {
        var input: [Int32] = [-1, -1]
        var output: [Int32] = [-1, -1]
        guard pipe(&input) == 0, pipe(&output) == 0 else { return (-1, "pipe failed") }
        for fd in input + output { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, input[0], 0)
        posix_spawn_file_actions_adddup2(&actions, output[1], 1)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        let argv: [UnsafeMutablePointer<CChar>?] = ([path] + arguments).map { strdup($0) } + [nil]
        let envp: [UnsafeMutablePointer<CChar>?] = env.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            for p in argv { free(p) }
            for p in envp { free(p) }
        }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, path, &actions, nil, argv, envp)
        close(input[0])
        close(output[1])
        guard spawned == 0 else {
            close(input[1])
            close(output[0])
            return (-1, "spawn failed")
        }
        var bytes = Array(stdin.utf8)
        _ = bytes.withUnsafeMutableBytes { write(input[1], $0.baseAddress, $0.count) }
        close(input[1])
        var out: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(output[0], $0.baseAddress, $0.count) }
            if n <= 0 { break }
            out.append(contentsOf: buffer[0..<n])
        }
        close(output[0])
        var status: Int32 = 0
        waitpid(pid, &status, 0)
        return ((status >> 8) & 0xff, String(decoding: out, as: UTF8.self))
    }
}
