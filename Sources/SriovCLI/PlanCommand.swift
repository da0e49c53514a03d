import ArgumentParser
import Foundation
import KubeCore
import SriovAPI
import SriovRender

struct PlanCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plan",
        abstract: "Show what the operator would write for the given manifests.",
        discussion: """
            Reads any mix of Nodes, SriovNetworkNodeStates (with status), SriovNetworkNodePolicies, \
            SriovNetworks, SriovIBNetworks, OVSNetworks, SriovNetworkPoolConfigs, SriovOperatorConfig and \
            ConfigMaps (single documents, multi-document YAML, JSON, kind: List; directories recursively) and \
            prints every object the operator manages in its desired form: a SriovNetworkNodeState per node, \
            the device-plugin-config ConfigMap, NetworkAttachmentDefinitions and the labelled Nodes.

            Exit status: 0 no findings, 1 validation findings or render errors, 2 unreadable input.
            """
    )

    @OptionGroup var operatorOptions: OperatorOptions

    @Option(name: .shortAndLong, help: "Output format: text (for people), yaml or json (a kind: List).")
    var output: OutputFormat = .text

    @Argument(help: "Manifest files or directories.")
    var paths: [String]

    func run() throws {
        let (snapshot, documents) = try InputLoader.load(self.paths)
        let options = RenderOptions(
            namespace: self.operatorOptions.resolvedNamespace,
            resourcePrefix: self.operatorOptions.resolvedResourcePrefix,
            now: Clock.nowRFC3339()
        )
        let plan = OperatorPlan.make(snapshot: snapshot, options: options)
        let findings = FindingsCollector.collect(snapshot: snapshot, documents: documents, plan: plan)
        switch self.output {
        case .text:
            StandardOutput.write(PlanTextFormatter(plan: plan, findings: findings, snapshot: snapshot).render())
        case .json:
            StandardOutput.write(try GoJSON.indent(GoJSON.encode(plan.objects()), indent: "    ") + "\n")
            FindingsCollector.report(findings)
        case .yaml:
            StandardOutput.write(YAMLWriter.string(try plan.objects()))
            FindingsCollector.report(findings)
        }
        if findings.contains(where: \.isError) { throw ExitCode(1) }
    }
}

struct ValidateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate",
        abstract: "Check manifests with the operator's admission rules against the cluster state given.",
        discussion: "Exit status: 0 no errors (warnings allowed), 1 errors, 2 unreadable input."
    )

    @OptionGroup var operatorOptions: OperatorOptions

    @Argument(help: "Manifest files or directories.")
    var paths: [String]

    func run() throws {
        let (snapshot, documents) = try InputLoader.load(self.paths)
        let options = RenderOptions(
            namespace: self.operatorOptions.resolvedNamespace,
            resourcePrefix: self.operatorOptions.resolvedResourcePrefix,
            now: Clock.nowRFC3339()
        )
        let plan = OperatorPlan.make(snapshot: snapshot, options: options)
        let findings = FindingsCollector.collect(snapshot: snapshot, documents: documents, plan: plan)
        for finding in findings { StandardOutput.write("\(finding.line)\n") }
        let errors = findings.filter(\.isError).count
        let warnings = findings.count - errors
        StandardError.write("\(errors) error\(errors == 1 ? "" : "s"), \(warnings) warning\(warnings == 1 ? "" : "s")")
        if errors > 0 { throw ExitCode(1) }
    }
}

enum Clock {
    static func nowRFC3339() -> String {
        RFC3339.format(Int(Date().timeIntervalSince1970))
    }
}
