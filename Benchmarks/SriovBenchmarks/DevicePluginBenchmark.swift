import DevicePluginAPI
import Foundation
import Logging
import SriovDevicePlugin
import SriovHost
import SriovTestKit

#if canImport(Glibc)
import Glibc
#endif

/// Device plugin over real unix sockets with the fake kubelet, on a simulated host with one PF × 64 VFs:
/// Allocate latency (p50/p99), time from a VF or config change to the kubelet's new ListAndWatch list, and the
/// idle RSS of a `sriov device-plugin` process (when the `sriov` binary is next to `sriov-bench`).
enum DevicePluginBenchmark {
    static let resource = "intel.com/bench"
    static let config =
        #"{"resourceList":[{"resourceName":"bench","selectors":[{"vendors":["8086"],"drivers":["iavf"]}]}]}"#

    static func run() async throws {
        print("")
        print("device plugin: 1 PF × 64 VFs, pool of 64 devices, fake kubelet over unix sockets")
        // In memory, as on a node: the simulated sysfs stands for /sys, and the device-info files go to
        // /var/run/k8s.cni.cncf.io/devinfo (tmpfs). On this machine's ext4 (mounted with `discard`) every replaced
        // file waited for a synchronous discard, which no node pays.
        let base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : NSTemporaryDirectory()
        let work = base + "/dp-\(UUID().uuidString.prefix(8))"
        defer { try? FileManager.default.removeItem(atPath: work) }
        let root = work + "/host"
        try SimulatedHost.create(profile: Self.profile, at: root)
        let sysfs = try SimulatedSysFS(root: root)
        try FileManager.default.createDirectory(atPath: work + "/etc", withIntermediateDirectories: true)
        try Self.config.write(toFile: work + "/etc/config.json", atomically: true, encoding: .utf8)
        var options = DevicePlugin.Options()
        options.configFile = work + "/etc/config.json"
        options.hostRoot = root
        options.kubeletDir = work + "/k"
        options.deviceInfoDir = work + "/devinfo"
        options.mode = .legacy
        let logger = Logger(label: "bench", factory: { _ in SwiftLogNoOpLogHandler() })
        let plugin = DevicePlugin(options: options, sysfs: sysfs, logger: logger)
        let configFile = options.configFile
        try await withFakeKubelet(directory: work + "/k") { kubelet in
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await plugin.run() }
                try await kubelet.wait("registration") { $0.resource(Self.resource)?.devices?.count == 64 }
                let ids = kubelet.resource(Self.resource)?.devices?.map(\.id) ?? []
                var samples: [Double] = []
                for i in 0..<2000 {
                    let start = ContinuousClock.now
                    _ = try await kubelet.allocate(Self.resource, [ids[i % ids.count]])
                    samples.append(Self.ms(ContinuousClock.now - start))
                }
                samples.sort()
                print(
                    "Allocate (1 device, devinfo file written), 2000 calls:".padding(
                        toLength: 58,
                        withPad: " ",
                        startingAt: 0
                    )
                        + " p50 \(Self.f(samples[1000])) ms   p99 \(Self.f(samples[1980])) ms"
                )
                var changes: [Double] = []
                for i in 0..<10 {
                    let before = kubelet.resource(Self.resource)?.lists.count ?? 0
                    let vf = ids[i]
                    let start = ContinuousClock.now
                    try sysfs.write("/sys/bus/pci/drivers/iavf/unbind", vf)
                    try await kubelet.wait("list after unbind", poll: .milliseconds(1)) {
                        ($0.resource(Self.resource)?.lists.count ?? 0) > before
                    }
                    changes.append(Self.ms(ContinuousClock.now - start))
                    try sysfs.write("/sys/bus/pci/drivers_probe", vf)
                    try await kubelet.wait("recovered") {
                        $0.resource(Self.resource)?.healthyIDs.count == 64
                    }
                }
                changes.sort()
                print(
                    "VF driver unbind → new ListAndWatch list (10 changes):".padding(
                        toLength: 58,
                        withPad: " ",
                        startingAt: 0
                    )
                        + " p50 \(Self.f(changes[5])) ms   max \(Self.f(changes[9])) ms"
                )
                var configChanges: [Double] = []
                for i in 0..<10 {
                    let before = kubelet.resource(Self.resource)?.lists.count ?? 0
                    let text = Self.config.replacingOccurrences(
                        of: "[\"iavf\"]",
                        with: i % 2 == 0 ? "[\"iavf\"],\"pfNames\":[\"ens1f0#0-31\"]" : "[\"iavf\"]"
                    )
                    let start = ContinuousClock.now
                    try text.write(toFile: configFile, atomically: true, encoding: .utf8)
                    try await kubelet.wait("list after config change", poll: .milliseconds(1)) {
                        ($0.resource(Self.resource)?.lists.count ?? 0) > before
                    }
                    configChanges.append(Self.ms(ContinuousClock.now - start))
                }
                configChanges.sort()
                print(
                    "config file change → new ListAndWatch list (10 changes):".padding(
                        toLength: 58,
                        withPad: " ",
                        startingAt: 0
                    )
                        + " p50 \(Self.f(configChanges[5])) ms   max \(Self.f(configChanges[9])) ms"
                )
                group.cancelAll()
            }
        }
        try await Self.idleRSS(work: work, root: root)
    }

    /// Starts the real `sriov device-plugin` against the simulated host, waits for it to register, idles 2 s
    /// and reads its VmRSS.
    static func idleRSS(work: String, root: String) async throws {
        let binary = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent(
            "sriov"
        ).path
        guard FileManager.default.isExecutableFile(atPath: binary) else {
            print("idle RSS: skipped (no \(binary); build the sriov product too)")
            return
        }
        try await withFakeKubelet(directory: work + "/k2") { kubelet in
            let process = Process()
            process.executableURL = URL(fileURLWithPath: binary)
            process.arguments = [
                "device-plugin", "-config-file", work + "/etc/config.json", "--host-root", root,
                "--kubelet-dir", work + "/k2", "--devinfo-dir", work + "/devinfo2",
            ]
            process.environment = ["SRIOV_LOG_LEVEL": "error"]
            try process.run()
            defer {
                process.terminate()
                process.waitUntilExit()
            }
            try await kubelet.wait("registration", timeout: .seconds(30)) {
                ($0.resource(Self.resource)?.devices?.count ?? 0) > 0
            }
            try await Task.sleep(for: .seconds(2))
            let status =
                (try? String(contentsOfFile: "/proc/\(process.processIdentifier)/status", encoding: .utf8)) ?? ""
            let rss = status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") } ?? "VmRSS: ?"
            print(
                "idle RSS of `sriov device-plugin` (1 pool of 64 VFs, registered):".padding(
                    toLength: 58,
                    withPad: " ",
                    startingAt: 0
                ) + " " + rss.dropFirst(6).trimmingCharacters(in: .whitespaces)
            )
        }
    }

    static var profile: HostProfile {
        HostProfile(
            name: "dp-bench",
            nics: [
                HostProfile.NIC(
                    vendor: "8086",
                    device: "1572",
                    vfDevice: "154c",
                    driver: "i40e",
                    vfDriver: "iavf",
                    totalVfs: 64,
                    ports: [HostProfile.Port(pciAddress: "0000:3b:00.0", name: "ens1f0", numVfs: 64)]
                )
            ]
        )
    }

    static func ms(_ d: Duration) -> Double {
        Double(d.components.seconds) * 1e3 + Double(d.components.attoseconds) / 1e15
    }

    static func f(_ v: Double) -> String { String(format: "%7.3f", v) }
}
