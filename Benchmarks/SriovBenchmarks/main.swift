// Benchmarks for the render engine. Run with: swift run -c release sriov-bench [nodes] [policies]
import Foundation
import KubeCore
import SriovAPI
import SriovRender
import SriovTestKit

let arguments = CommandLine.arguments.dropFirst().compactMap { Int($0) }
// `--profile`: only repeat the full render, for perf/valgrind.
let profileOnly = CommandLine.arguments.contains("--profile")
let nodeCount = arguments.first ?? 5000
let policyCount = arguments.dropFirst().first ?? 50
let repetitions = 7

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

print("sriov-bench: render a synthetic cluster of \(nodeCount) nodes × 4 PFs with \(policyCount) policies")
print("(\(repetitions) runs each; release build recommended: swift run -c release sriov-bench)")
let cluster = SyntheticCluster(nodeCount: nodeCount, policyCount: policyCount)
let options = RenderOptions(now: "2026-11-23T12:00:00Z")

var plan = OperatorPlan.make(snapshot: cluster.snapshot, options: options)
let changed = plan.nodeStates.filter { $0.action == .update }.count
let vfGroups = plan.nodeStates.reduce(0) { $0 + $1.state.spec.interfaces.reduce(0) { $0 + $1.vfGroups.count } }
print(
    "workload: \(changed) NodeStates change, \(vfGroups) VF groups, \(plan.devicePluginConfigMap.data.count) device-plugin entries"
)

if profileOnly {
    for _ in 0..<20 {
        plan = OperatorPlan.make(snapshot: cluster.snapshot, options: options, estimatingDisruptions: false)
    }
    exit(0)
}

_ = measure("full render (NodeStates + device-plugin ConfigMap + labels)") {
    plan = OperatorPlan.make(snapshot: cluster.snapshot, options: options, estimatingDisruptions: false)
}
_ = measure("full render + drain/reboot estimates (what `sriov plan` does)") {
    plan = OperatorPlan.make(snapshot: cluster.snapshot, options: options)
}

// Feed the rendered NodeStates back in: this is the steady state a 5-minute resync sees.
var settled = cluster.snapshot
settled.nodeStates = plan.nodeStates.map(\.state)
var unchanged = 0
_ = measure("no-change re-render (resync of a settled cluster)") {
    let again = OperatorPlan.make(snapshot: settled, options: options, estimatingDisruptions: false)
    unchanged = again.nodeStates.filter { $0.action == .unchanged }.count
}
print(
    "no-change re-render: \(unchanged) of \(nodeCount) NodeStates unchanged (writes needed: \(nodeCount - unchanged))"
)

_ = measure("NodeState specs only (policy Apply for every node)") {
    let renderer = NodeStateRenderer(options: options, policies: cluster.snapshot.policies, poolConfigs: [])
    var count = 0
    for (node, state) in zip(cluster.snapshot.nodes, cluster.snapshot.nodeStates) {
        count += renderer.render(node: node, existing: state).state.spec.interfaces.count
    }
    precondition(count > 0)
}

_ = measure("admission validation of every policy against the cluster") {
    let validator = AdmissionValidator(
        operatorNamespace: options.namespace,
        supportedNICs: options.supportedNICs,
        snapshot: cluster.snapshot
    )
    _ = validator.validateAll(cluster.snapshot)
}
