import KubeCore
import SriovAPI
import SriovRender

/// One line of `sriov plan` / `sriov validate` findings.
struct PlanFinding {
    var isError: Bool
    var line: String
}

/// Gathers what would be rejected or fail: the admission webhook's rules and the controllers' render errors.
enum FindingsCollector {
    static func collect(snapshot: ClusterSnapshot, plan: OperatorPlan) -> [PlanFinding] {
        var findings: [PlanFinding] = []
        let validator = AdmissionValidator(
            operatorNamespace: plan.options.namespace,
            supportedNICs: plan.options.supportedNICs,
            devMode: Environment.get("DEV_MODE")?.uppercased() == "TRUE",
            snapshot: snapshot
        )
        for finding in validator.validateAll(snapshot) {
            findings.append(PlanFinding(isError: finding.isError, line: "\(finding.isError ? "error" : "warning"): \(finding)"))
        }
        for error in plan.renderErrors { findings.append(PlanFinding(isError: true, line: "error: \(error)")) }
        return findings
    }

    static func report(_ findings: [PlanFinding]) {
        for finding in findings { StandardError.write(finding.line) }
    }
}
