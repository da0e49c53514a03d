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
    static func collect(snapshot: ClusterSnapshot, documents: [ManifestDocument], plan: OperatorPlan) -> [PlanFinding] {
        var findings: [PlanFinding] = []
        // The CRD schemas, as the API server checks them (enums, bounds, formats) before any webhook runs.
        let schema = SchemaValidator()
        for document in documents where CustomResourceDefinitions.definition(for: document.kind) != nil {
            for violation in schema.validate(document.value) {
                let line = document.line(of: Self.components(violation.path))
                let where_ = line.map { "\(document.file):\($0)" } ?? document.file
                findings.append(
                    PlanFinding(
                        isError: true,
                        line: "error: \(where_): \(document.kind) \(GoJSON.quote(document.name)): \(violation)"
                    )
                )
            }
        }
        let validator = AdmissionValidator(
            operatorNamespace: plan.options.namespace,
            supportedNICs: plan.options.supportedNICs,
            devMode: Environment.get("DEV_MODE")?.uppercased() == "TRUE",
            snapshot: snapshot
        )
        for finding in validator.validateAll(snapshot) {
            findings.append(
                PlanFinding(isError: finding.isError, line: "\(finding.isError ? "error" : "warning"): \(finding)")
            )
        }
        for error in plan.renderErrors { findings.append(PlanFinding(isError: true, line: "error: \(error)")) }
        return findings
    }

    /// `spec.interfaces[0].pciAddress` → `["spec", "interfaces", "[0]", "pciAddress"]`
    static func components(_ path: String) -> [String] {
        var result: [String] = []
        for part in path.split(separator: ".") {
            var rest = Substring(part)
            while let open = rest.firstIndex(of: "[") {
                if open > rest.startIndex { result.append(String(rest[..<open])) }
                guard let close = rest[open...].firstIndex(of: "]") else { break }
                result.append(String(rest[open...close]))
                rest = rest[rest.index(after: close)...]
            }
            if !rest.isEmpty { result.append(String(rest)) }
        }
        return result
    }

    static func report(_ findings: [PlanFinding]) {
        for finding in findings { StandardError.write(finding.line) }
    }
}
