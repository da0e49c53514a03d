import KubeCore
import SriovAPI
import SriovRender

/// One line of `sriov plan` / `sriov validate` findings.
struct PlanFinding {
    var isError: Bool
    var line: String
}

enum FindingsCollector {
    static func collect(snapshot: ClusterSnapshot, plan: OperatorPlan) -> [PlanFinding] {
        var findings: [PlanFinding] = []
        for error in plan.renderErrors { findings.append(PlanFinding(isError: true, line: "error: \(error)")) }
        return findings
    }

    static func report(_ findings: [PlanFinding]) {
        for finding in findings { StandardError.write(finding.line) }
    }
}
