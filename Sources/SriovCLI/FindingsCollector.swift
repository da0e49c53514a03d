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
        // Names the API server would refuse, in its words (metadata.name / metadata.namespace).
        for document in documents where !document.kind.isEmpty {
            let metadata = document.value["metadata"]
            let clusterScoped = ["Node", "Namespace"].contains(document.kind)
            let generated = !(metadata?["generateName"]?.stringValue ?? "").isEmpty
            for problem in KubeNames.metadataProblems(
                name: metadata?["name"]?.stringValue,
                namespace: metadata?["namespace"]?.stringValue,
                namespaced: !clusterScoped,
                nameIsLabel: document.kind == "Namespace"
            ) where !(generated && problem.message.hasPrefix("Required value")) {
                let at = Self.location(document, field: problem.field)
                findings.append(
                    PlanFinding(
                        isError: true,
                        line: "error: \(at): \(document.kind) \(QuotedValue.quote(document.name)): "
                            + "\(problem.field): \(problem.message)"
                    )
                )
            }
        }
        // The CRD schemas, as the API server checks them (enums, bounds, formats) before any webhook runs.
        let schema = SchemaValidator()
        for document in documents where CustomResourceDefinitions.definition(for: document.kind) != nil {
            for violation in schema.validate(document.value) {
                let at = Self.location(document, field: violation.path)
                findings.append(
                    PlanFinding(
                        isError: true,
                        line: QuotedValue.shorten(
                            "error: \(at): \(document.kind) \(QuotedValue.quote(document.name)): \(violation)"
                        )
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
        let index = DocumentIndex(documents)
        for finding in validator.validateAll(snapshot) {
            let prefix = index.location(
                kind: finding.kind,
                namespace: finding.namespace,
                name: finding.name,
                field: finding.field
            )
            findings.append(
                PlanFinding(
                    isError: finding.isError,
                    line: QuotedValue.shorten(
                        "\(finding.isError ? "error" : "warning"): \(prefix.map { "\($0): " } ?? "")\(finding)"
                    )
                )
            )
        }
        for error in plan.renderErrors {
            findings.append(PlanFinding(isError: true, line: QuotedValue.shorten("error: \(index.locate(error))")))
        }
        return findings
    }

    /// `file:line` of `field` in `document` (the object's line when the field has none).
    static func location(_ document: ManifestDocument, field: String) -> String {
        let line = document.line(of: Self.components(field))
        return line.map { "\(document.file):\($0)" } ?? document.file
    }

    /// Finds the document a finding is about, by kind, name and (when it matches) namespace.
    struct DocumentIndex {
        var byKey: [String: [ManifestDocument]] = [:]

        init(_ documents: [ManifestDocument]) {
            for document in documents {
                self.byKey["\(document.kind)/\(document.name)", default: []].append(document)
            }
        }

        func document(kind: String, namespace: String, name: String) -> ManifestDocument? {
            guard let candidates = self.byKey["\(kind)/\(name)"] else { return nil }
            return candidates.first { ($0.value["metadata"]?["namespace"]?.stringValue ?? "") == namespace }
                ?? candidates.first
        }

        func location(kind: String, namespace: String, name: String, field: String) -> String? {
            guard let document = self.document(kind: kind, namespace: namespace, name: name) else { return nil }
            return FindingsCollector.location(document, field: field)
        }

        /// A render error (`<Kind> <namespace>/<name>: …` or `<Kind> "<name>": …`) prefixed with its file and line.
        func locate(_ error: String) -> String {
            let words = error.split(separator: " ", maxSplits: 2)
            guard words.count >= 2 else { return error }
            let kind = String(words[0])
            var key = String(words[1])
            if key.hasSuffix(":") { key.removeLast() }
            while key.hasPrefix("\"") { key.removeFirst() }
            while key.hasSuffix("\"") { key.removeLast() }
            let parts = key.split(separator: "/", maxSplits: 1).map(String.init)
            let (namespace, name) = parts.count == 2 ? (parts[0], parts[1]) : ("", key)
            guard let at = self.location(kind: kind, namespace: namespace, name: name, field: "") else { return error }
            return "\(at): \(error)"
        }
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
