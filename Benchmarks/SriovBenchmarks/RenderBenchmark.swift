import KubeCore
import SriovAPI
import SriovRender
import SriovTestKit

/// The render engine on a synthetic cluster: what `sriov plan`, the operator's policy reconcile and one
/// admission request cost. Selected with `sriov-bench render` (all sections run without a selector).
@MainActor
enum RenderBenchmark {
    static func run(nodes nodeCount: Int, policies policyCount: Int, profileOnly: Bool, profileAdmission: Bool) {
        print("sriov-bench: render a synthetic cluster of \(nodeCount) nodes × 4 PFs with \(policyCount) policies")
        print("(\(repetitions) runs each; release build recommended: swift run -c release sriov-bench)")
        let cluster = SyntheticCluster(nodeCount: nodeCount, policyCount: policyCount)
        let options = RenderOptions(now: "2026-11-23T12:00:00Z")

        var plan = OperatorPlan.make(snapshot: cluster.snapshot, options: options)
        let changed = plan.nodeStates.filter { $0.action == .update }.count
        let vfGroups = plan.nodeStates.reduce(0) { $0 + $1.state.spec.interfaces.reduce(0) { $0 + $1.vfGroups.count } }
        print(
            "workload: \(changed) NodeStates change, \(vfGroups) VF groups, "
                + "\(plan.devicePluginConfigMap.data.count) device-plugin entries"
        )

        // One admission request: a new policy checked against every node, NodeState and existing policy.
        let validator = AdmissionValidator(
            operatorNamespace: options.namespace,
            supportedNICs: options.supportedNICs,
            snapshot: cluster.snapshot
        )
        var candidate = cluster.snapshot.policies[0]
        candidate.metadata.name = "candidate"
        candidate.applyAdmissionDefaults()

        if profileAdmission {
            var findings = 0
            for _ in 0..<300 { findings += validator.validate(policy: candidate).count }
            precondition(findings > 0)
            return
        }
        if profileOnly {
            for _ in 0..<20 {
                plan = OperatorPlan.make(snapshot: cluster.snapshot, options: options, estimatingDisruptions: false)
            }
            return
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
            "no-change re-render: \(unchanged) of \(nodeCount) NodeStates unchanged "
                + "(writes needed: \(nodeCount - unchanged))"
        )

        _ = measure("NodeState specs only (policy Apply for every node)") {
            let renderer = NodeStateRenderer(options: options, policies: cluster.snapshot.policies, poolConfigs: [])
            var count = 0
            for (node, state) in zip(cluster.snapshot.nodes, cluster.snapshot.nodeStates) {
                count += renderer.render(node: node, existing: state).state.spec.interfaces.count
            }
            precondition(count > 0)
        }

        var findings = 0
        _ = measure("admission check of one policy against the cluster") {
            findings = validator.validate(policy: candidate).count
        }
        print("admission check: \(findings) findings for a policy overlapping policy-0")

        _ = measure("admission validation of every policy against the cluster") {
            _ = validator.validateAll(cluster.snapshot)
        }
    }
}
