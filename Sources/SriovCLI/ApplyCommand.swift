import ArgumentParser
import Foundation
import KubeCore
import Logging
import SriovAPI
import SriovHost
import SriovRender

/// Standalone mode: configure this host from policy files, without Kubernetes.
struct ApplyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "apply",
        abstract: "Configure this host from SriovNetworkNodePolicy files (standalone mode, no Kubernetes).",
        discussion: """
            Renders the policies for this host exactly as the operator would for its node (policies of any \
            namespace count; nodeSelector is matched against --node-labels), checks them with the admission \
            rules, then applies the result: VFs, drivers, MTU, eswitch mode, udev rules. Each step is printed \
            as it happens. What was applied is recorded per PF under /etc/sriov-operator/pci, so a second run \
            is a no-op and a later run (or `sriov reset`) resets PFs no policy selects any more.

            Exit status: 0 applied (or nothing to do), 1 rejected policies or a failed step, 2 unreadable input or a \
            usage error (checked before the host is touched).
            """
    )

    @Option(name: .shortAndLong, help: "Policy files or directories (repeatable).")
    var file: [String]

    @OptionGroup var host: HostOptions

    @Option(name: .customLong("node-name"), help: "This node's name (default: the hostname).")
    var nodeName: String?

    @Option(name: .customLong("node-labels"), help: "Labels for nodeSelector matching: k=v,k2=v2.")
    var nodeLabels: String = ""

    @Flag(name: .customLong("dry-run"), help: "Print the steps and the drain/reboot verdict; change nothing.")
    var dryRun = false

    func run() throws {
        LogSetup.bootstrap()
        let (snapshot, _) = try InputLoader.load(self.file)
        let options = RenderOptions(now: Clock.nowRFC3339())
        var nics = SupportedNICs.upstreamDefault
        if let map = snapshot.configMaps.first(where: { $0.metadata.name == SupportedNICs.configMapName }) {
            nics = SupportedNICs(configMap: map)
        }
        let (discovery, sysfs, links, modules) = try self.host.host(supportedNICs: nics)
        let (status, notes) = try HostCommandErrors.catching { try self.host.discover(discovery) }
        for note in notes { StandardError.write("note: \(note)") }

        let node = try self.node()
        let policies = snapshot.policies.map { policy -> SriovNetworkNodePolicy in
            var copy = policy
            copy.metadata.namespace = options.namespace
            copy.applyAdmissionDefaults()
            return copy
        }
        var state = SriovNetworkNodeState(metadata: ObjectMeta(name: node.metadata.name, namespace: options.namespace))
        state.status.interfaces = status
        var checked = ClusterSnapshot()
        checked.nodes = [node]
        checked.nodeStates = [state]
        checked.policies = policies
        let findings = AdmissionValidator(
            operatorNamespace: options.namespace,
            supportedNICs: nics,
            devMode: self.host.allNICs || Environment.get("DEV_MODE")?.uppercased() == "TRUE",
            snapshot: checked
        ).validateAll(checked)
        for finding in findings { StandardError.write("\(finding.isError ? "error" : "warning"): \(finding)") }
        if findings.contains(where: \.isError) {
            StandardError.write("policies rejected; nothing was changed")
            throw ExitCode(1)
        }

        let renderer = NodeStateRenderer(options: options, policies: policies, poolConfigs: snapshot.poolConfigs)
        let spec: SriovNetworkNodeState.Spec
        do {
            spec = try renderer.renderSpec(node: node, status: status)
        } catch {
            StandardError.write("error: \(error)")
            throw ExitCode(1)
        }
        var configurator = HostConfigurator(
            sysfs: sysfs,
            links: links,
            modules: modules,
            discovery: discovery,
            logger: Logger(label: "sriov.apply"),
            vfDeviceIDs: Array(Set(nics.models.map(\.vfDeviceID))).sorted(),
            isVirtual: self.host.isVirtual
        )
        let host = self.host
        configurator.discover = { () throws(HostError) in
            do {
                return try host.discover(discovery).interfaces
            } catch let error as HostError {
                throw error
            } catch {
                throw HostError(code: .io, message: "\(error)")
            }
        }
        try Self.run(configurator: configurator, spec: spec, status: status, dryRun: self.dryRun, what: "apply")
    }

    /// Checked while parsing, before the host is touched: a bad flag is a usage error (exit 2).
    func validate() throws {
        _ = try Self.labels(self.nodeLabels)
        if let nodeName {
            if let problem = KubeNames.dnsSubdomainProblem(nodeName) {
                throw ValidationError("--node-name: \(QuotedValue.quote(nodeName)): \(problem)")
            }
        }
    }

    /// `k=v,k2=v2` with Kubernetes label syntax (qualified-name keys, ≤ 63-character values).
    static func labels(_ text: String) throws -> [String: String] {
        var labels: [String: String] = [:]
        for pair in text.split(separator: ",", omittingEmptySubsequences: false) {
            if pair.isEmpty { continue }
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard parts.count == 2, !parts[0].isEmpty else {
                throw ValidationError("--node-labels: \(QuotedValue.quote(String(pair))) is not key=value")
            }
            let key = String(parts[0])
            let value = String(parts[1])
            if let problem = KubeNames.labelKeyProblem(key) {
                throw ValidationError("--node-labels: key \(QuotedValue.quote(key)): \(problem)")
            }
            if let problem = KubeNames.labelValueProblem(value) {
                throw ValidationError("--node-labels: value \(QuotedValue.quote(value)) of \(key): \(problem)")
            }
            guard labels.updateValue(value, forKey: key) == nil else {
                throw ValidationError("--node-labels: key \(QuotedValue.quote(key)) appears twice")
            }
        }
        return labels
    }

    func node() throws -> Node {
        var labels = try Self.labels(self.nodeLabels)
        let name = self.nodeName ?? ProcessInfo.processInfo.hostName
        labels["kubernetes.io/hostname"] = labels["kubernetes.io/hostname"] ?? name
        // The admission rules recognise virtual nodes by their provider ID, as the operator does.
        let providerID = self.host.isVirtual ? "\(self.host.resolvedPlatform):///\(name)" : ""
        return Node(name: name, labels: labels, providerID: providerID)
    }

    /// Prints the plan, then (unless dry-run) applies it step by step.
    static func run(
        configurator: HostConfigurator,
        spec: SriovNetworkNodeState.Spec,
        status: [SriovNetworkNodeState.InterfaceExt],
        dryRun: Bool,
        what: String
    ) throws {
        let plan = try HostCommandErrors.catching { try configurator.plan(spec: spec, status: status) }
        let verdict = plan.disruption
        if plan.steps.isEmpty {
            var out = "Nothing to do: the host already matches.\n"
            if !plan.missingKernelArguments.isEmpty {
                out +=
                    "note: vfio-pci needs \(plan.missingKernelArguments.joined(separator: " ")) on the kernel command line (reboot)\n"
            }
            StandardOutput.write(out)
            return
        }
        var out = "\(plan.steps.count) step\(plan.steps.count == 1 ? "" : "s")"
        out += "; drain: \(verdict.needsDrain ? "yes" : "no"); reboot: \(verdict.needsReboot ? "yes" : "no")\n"
        for reason in verdict.reasons { out += "  why: \(reason)\n" }
        if !plan.missingKernelArguments.isEmpty {
            out +=
                "  add to the kernel command line and reboot: \(plan.missingKernelArguments.joined(separator: " "))\n"
        }
        if dryRun {
            for (i, step) in plan.steps.enumerated() { out += "  \(i + 1). \(step)\n" }
            StandardOutput.write(out + "Dry run: nothing was changed.\n")
            return
        }
        if verdict.needsDrain {
            out += "note: standalone mode does not drain; stop workloads that use these VFs first\n"
        }
        StandardOutput.write(out)
        var count = 0
        try HostCommandErrors.catching {
            try configurator.apply(spec: spec) { step in
                count += 1
                StandardOutput.write("  \(count). \(step)\n")
            }
        }
        StandardOutput.write("Done: \(count) step\(count == 1 ? "" : "s") applied (\(what)).\n")
    }
}

struct ResetCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reset",
        abstract: "Undo `sriov apply`: reset every PF it configured (0 VFs, legacy eswitch, udev rules removed)."
    )

    @OptionGroup var host: HostOptions

    @Flag(name: .customLong("dry-run"), help: "Print the steps; change nothing.")
    var dryRun = false

    func run() throws {
        LogSetup.bootstrap()
        let (discovery, sysfs, links, modules) = try self.host.host()
        let (status, _) = try HostCommandErrors.catching { try self.host.discover(discovery) }
        var configurator = HostConfigurator(
            sysfs: sysfs,
            links: links,
            modules: modules,
            discovery: discovery,
            logger: Logger(label: "sriov.reset"),
            isVirtual: self.host.isVirtual
        )
        let host = self.host
        configurator.discover = { () throws(HostError) in
            do {
                return try host.discover(discovery).interfaces
            } catch let error as HostError {
                throw error
            } catch {
                throw HostError(code: .io, message: "\(error)")
            }
        }
        try ApplyCommand.run(
            configurator: configurator,
            spec: SriovNetworkNodeState.Spec(),
            status: status,
            dryRun: self.dryRun,
            what: "reset"
        )
    }
}
