// Benchmarks. Run with: swift run -c release sriov-bench [nodes] [policies] [render|host|daemon|cni|operator|device-plugin …]
import Foundation
import KubeCore
import Logging
import SriovAPI
import SriovHost
import SriovRender
import SriovTestKit

let arguments = CommandLine.arguments.dropFirst().compactMap { Int($0) }
// `--profile`: only repeat the full render, for perf/valgrind; `--profile-admission`: only repeat one policy's
// admission check.
let profileAdmission = CommandLine.arguments.contains("--profile-admission")
let profileOnly = CommandLine.arguments.contains("--profile") || profileAdmission
let nodeCount = arguments.first ?? 5000
let policyCount = arguments.dropFirst().first ?? 50
let repetitions = 7

// `--operator`: only the operator section (1,000 / 2,000 / 5,000 nodes, or the node counts given), rate limiter
// off and at its defaults.
if CommandLine.arguments.contains("--operator") {
    await OperatorBenchmark.matrix(nodeCounts: arguments.isEmpty ? [1000, 2000, 5000] : arguments, policies: 50)
    exit(0)
}

func measure(_ label: String, _ body: () -> Void) -> Double {
    var samples: [Double] = []
    for _ in 0..<repetitions {
        let start = ContinuousClock.now
        body()
        let elapsed = ContinuousClock.now - start
        samples.append(Double(elapsed.components.seconds) * 1e3 + Double(elapsed.components.attoseconds) / 1e15)
    }
    samples.sort()
    let median = samples[samples.count / 2]
    let pad = label.padding(toLength: 58, withPad: " ", startingAt: 0)
    print("\(pad) median \(String(format: "%8.2f", median)) ms   min \(String(format: "%8.2f", samples[0])) ms")
    return median
}

// `--dump-cluster FILE`: write the synthetic cluster as one `kind: List` (JSON) and stop, so that `sriov plan FILE`
// renders exactly what the render benchmark renders (to compare outputs of two builds byte for byte).
if let flag = CommandLine.arguments.firstIndex(of: "--dump-cluster"), flag + 1 < CommandLine.arguments.count {
    let snapshot = SyntheticCluster(nodeCount: nodeCount, policyCount: policyCount).snapshot
    let encoder = ValueEncoder()
    var items: [JSONValue] = []
    for node in snapshot.nodes { items.append(try encoder.encode(node)) }
    for state in snapshot.nodeStates { items.append(try encoder.encode(state)) }
    for policy in snapshot.policies { items.append(try encoder.encode(policy)) }
    for config in snapshot.operatorConfigs { items.append(try encoder.encode(config)) }
    let list: JSONValue = .object(["apiVersion": .string("v1"), "kind": .string("List"), "items": .array(items)])
    try GoJSON.encode(list).write(toFile: CommandLine.arguments[flag + 1], atomically: true, encoding: .utf8)
    exit(0)
}

// `--webhook`: only the webhook benchmark (HTTPS throughput, one-policy validation).
if CommandLine.arguments.contains("--webhook") {
    try await WebhookBenchmark.run(nodes: nodeCount, policies: policyCount)
    exit(0)
}

// Sections: `sriov-bench render cni` runs only those; no section name runs everything.
let knownSections: Set<String> = ["render", "host", "daemon", "cni", "operator", "device-plugin"]
let sections = Set(CommandLine.arguments.dropFirst().filter { Int($0) == nil && !$0.hasPrefix("--") })
if let unknown = sections.subtracting(knownSections).sorted().first {
    print("sriov-bench: unknown section \(unknown) (sections: \(knownSections.sorted().joined(separator: ", ")))")
    exit(2)
}
func wants(_ section: String) -> Bool { sections.isEmpty || sections.contains(section) }
if wants("render") {
    RenderBenchmark.run(
        nodes: nodeCount,
        policies: policyCount,
        profileOnly: profileOnly,
        profileAdmission: profileAdmission
    )
}
if profileOnly { exit(0) }

// MARK: - Host: discovery and apply on a simulated host with 4 PFs × 64 VFs

print("")
print(
    "host: simulated sysfs with 2 NICs × 2 ports (4 PFs), 64 VFs each, in \(FileManager.default.temporaryDirectory.path)"
)
let hostProfile = HostProfile(
    name: "bench",
    nics: (0..<2).map { n in
        HostProfile.NIC(
            vendor: "8086",
            device: "159b",
            vfDevice: "1889",
            driver: "ice",
            vfDriver: "iavf",
            totalVfs: 64,
            ports: (0..<2).map { p in
                HostProfile.Port(pciAddress: "0000:\(n == 0 ? "3b" : "af"):00.\(p)", name: "ens\(n + 1)f\(p)")
            }
        )
    },
    cmdline: "BOOT_IMAGE=/vmlinuz intel_iommu=on iommu=pt"
)
let hostSpec = SriovNetworkNodeState.Spec(
    interfaces: hostProfile.nics.flatMap(\.ports).map { port in
        SriovNetworkNodeState.Interface(
            pciAddress: port.pciAddress,
            numVfs: 64,
            name: port.name,
            vfGroups: [
                .init(resourceName: "dpdk", deviceType: "vfio-pci", vfRange: "0-31", policyName: "dpdk"),
                .init(resourceName: "kernel", deviceType: "netdevice", vfRange: "32-63", policyName: "kernel"),
            ]
        )
    }
)

func makeHost() throws -> (root: String, configurator: HostConfigurator, discovery: HostDiscovery) {
    let root = FileManager.default.temporaryDirectory.appendingPathComponent("sriov-bench-\(UUID().uuidString)").path
    try SimulatedHost.create(profile: hostProfile, at: root)
    let sysfs = try SimulatedSysFS(root: root)
    let links = SimulatedLinkControl(sysfs: sysfs)
    let discovery = HostDiscovery(sysfs: sysfs, links: links, driverRetries: 1, retryPause: .zero)
    let configurator = HostConfigurator(
        sysfs: sysfs,
        links: links,
        modules: SimulatedKernelModules(sysfs: sysfs),
        discovery: discovery,
        logger: Logger(label: "bench", factory: { _ in SwiftLogNoOpLogHandler() })
    )
    return (root, configurator, discovery)
}

if wants("host") {
    do {
        let applied = try makeHost()
        defer { try? FileManager.default.removeItem(atPath: applied.root) }
        try applied.configurator.apply(spec: hostSpec)
        let status = try applied.discovery.discover().interfaces
        print(
            "workload: \(status.count) PFs, \(status.reduce(0) { $0 + $1.Vfs.count }) VFs (128 on vfio-pci, 128 with netdevs)"
        )
        _ = measure("discovery of 4 PFs × 64 VFs") {
            _ = try? applied.discovery.discover()
        }
        _ = measure("drift check: plan on the configured host (0 steps)") {
            let plan = try? applied.configurator.plan(spec: hostSpec)
            precondition(plan?.steps.isEmpty == true)
        }
        var samples: [Double] = []
        for _ in 0..<repetitions {
            let fresh = try makeHost()
            let start = ContinuousClock.now
            try fresh.configurator.apply(spec: hostSpec)
            let elapsed = ContinuousClock.now - start
            samples.append(Double(elapsed.components.seconds) * 1e3 + Double(elapsed.components.attoseconds) / 1e15)
            try? FileManager.default.removeItem(atPath: fresh.root)
        }
        samples.sort()
        let label = "full apply: 0 → 4 × 64 VFs, drivers per group".padding(toLength: 58, withPad: " ", startingAt: 0)
        print(
            "\(label) median \(String(format: "%8.2f", samples[samples.count / 2])) ms   min \(String(format: "%8.2f", samples[0])) ms"
        )
    } catch {
        print("host benchmark failed: \(error)")
    }
}

// MARK: - Config daemon on the simulated host

if wants("daemon") {
    do {
        try await DaemonBenchmark.run(profile: hostProfile, spec: hostSpec)
    } catch {
        print("daemon benchmark failed: \(error)")
    }
}

// MARK: - CNI plugin (needs root and a built sriov-cni)

if wants("cni") { CNIBenchmark.run() }

// MARK: - Operator against the fake API server

if wants("operator") {
    do {
        try await OperatorBenchmark.run(nodes: nodeCount, policies: policyCount)
    } catch {
        print("operator benchmark failed: \(error)")
    }
}

// MARK: - Device plugin over unix sockets with the fake kubelet

if wants("device-plugin") {
    do {
        try await DevicePluginBenchmark.run()
    } catch {
        print("device plugin benchmark failed: \(error)")
    }
}
