import KubeCore
import SriovAPI
import SriovRender

/// The `-o text` form of a plan: per node what changes on which PF, what resources appear, whether the
/// node drains or reboots; then networks and findings.
struct PlanTextFormatter {
    let plan: OperatorPlan
    let findings: [PlanFinding]
    let snapshot: ClusterSnapshot

    func render() -> String {
        var out = ""
        let options = self.plan.options
        let managedCount = self.plan.nodeStates.filter {
            switch $0.action {
            case .stale, .delete: return false
            default: return true
            }
        }.count
        out += "SR-IOV plan for \(managedCount) node\(managedCount == 1 ? "" : "s"), "
        out += "\(self.plan.policies.count) polic\(self.plan.policies.count == 1 ? "y" : "ies"), "
        out += "\(self.plan.networks.count) network\(self.plan.networks.count == 1 ? "" : "s")"
        out += "  (namespace \(options.namespace), resource prefix \(options.resourcePrefix))\n"
        if self.plan.assumedDefaultOperatorConfig {
            out += "note: no SriovOperatorConfig \"default\" in the input; assuming one with default settings\n"
        }
        if self.plan.appliesWebhookDefaults {
            out += "note: policies get the operator webhook's defaults (absent priority → 99, isRdma → false)"
            out += self.plan.assumedDefaultOperatorConfig ? ", assuming the webhook is deployed\n" : "\n"
        } else {
            out += "note: enableOperatorWebhook is false: policies are used as written, without webhook defaults "
            out += "(an absent priority counts as 0, the highest)\n"
        }
        if let error = self.plan.devicePluginConfigError {
            out += "note: the device-plugin ConfigMap is NOT written in this pass (node \(error.node) fails); "
            out += "nodes after it are not labelled\n"
        }
        let ignoredPolicies = self.snapshot.policies.filter { $0.metadata.namespace != options.namespace }
        for policy in ignoredPolicies {
            out +=
                "note: policy \(policy.metadata.namespace)/\(policy.metadata.name) is outside \(options.namespace) and is ignored\n"
        }
        if !self.snapshot.ignored.isEmpty {
            let kinds = self.snapshot.ignored.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }
            out += "note: ignored objects of other kinds: \(kinds.joined(separator: ", "))\n"
        }
        if self.plan.nodeStates.isEmpty {
            out += "\nNo managed nodes: no Node in the input matches \(Self.selector(options.managedNodeSelector)).\n"
        }
        for result in self.plan.nodeStates {
            out += "\n" + self.node(result)
        }
        out += self.resources()
        out += self.networks()
        out += self.findingsSection()
        out += self.summary()
        return out
    }

    static func selector(_ labels: [String: String]) -> String {
        labels.sorted { $0.key < $1.key }.map { $0.value.isEmpty ? $0.key : "\($0.key)=\($0.value)" }.joined(
            separator: ","
        )
    }

    func node(_ result: NodeStateResult) -> String {
        var out = "Node \(result.node)"
        let disruption = self.plan.disruptions[result.node]
        switch result.action {
        case .create:
            out += "  — NodeState created; waiting for the config daemon to report the node's NICs\n"
            return out
        case .waitingForStatus:
            out += "  — NodeState has no status yet; spec left alone until the config daemon reports\n"
            return out
        case .stale(let deleteAfter):
            out += "  — not managed any more: device-plugin label removed, NodeState deleted after \(deleteAfter)\n"
            return out
        case .delete:
            out += "  — not managed any more: device-plugin label removed, NodeState deleted now\n"
            return out
        case .failed:
            out += "  — NOT rendered: \(result.error.map { "\($0)" } ?? "render error")\n"
            return out
        case .update:
            out += "  — NodeState spec changes"
        case .unchanged:
            out += "  — no change"
        }
        if let disruption {
            if disruption.needsReboot {
                out += "; DRAIN + REBOOT"
            } else if disruption.needsDrain {
                out += "; DRAIN"
            } else if result.action == .update {
                out += "; no drain"
            }
        }
        out += "\n"
        let status = result.previous?.status.interfaces ?? []
        let changes = DisruptionEstimate.changes(spec: result.state.spec, status: status)
        for change in changes {
            out += self.pf(change)
        }
        if let disruption {
            for reason in disruption.reasons { out += "    why: \(reason)\n" }
        }
        if let list = self.plan.devicePluginConfigs[result.node], let resources = list.resourceList {
            let names = resources.map { "\(self.plan.options.resourcePrefix)/\($0.resourceName)" }
            out += "  device plugin: \(names.joined(separator: ", "))\n"
        }
        if let label = self.plan.labels.first(where: { $0.node == result.node }), label.changes {
            out += "  label: \(label.key)=\(label.value ?? "(removed)")"
            out += label.previous.map { " (was \($0))" } ?? " (new)"
            out += "\n"
        }
        return out
    }

    func pf(_ change: PFChange) -> String {
        let model = self.model(vendor: change.vendor, device: change.deviceID)
        var line = "  \(change.name.isEmpty ? "(no netdev)" : change.name)  \(change.pciAddress)  \(model)"
        if !change.isManaged {
            line += "  not selected by any policy"
            if change.currentVfs > 0 { line += " (has \(change.currentVfs) VF\(change.currentVfs == 1 ? "" : "s"))" }
            return line + "\n"
        }
        var facts: [String] = []
        if change.externallyManaged {
            facts.append("externally managed, \(change.currentVfs) VFs")
        } else if change.currentVfs != change.desiredVfs {
            facts.append("VFs \(change.currentVfs) → \(change.desiredVfs)")
        } else {
            facts.append("VFs \(change.desiredVfs)")
        }
        if change.totalVfs > 0 { facts[facts.count - 1] += " (max \(change.totalVfs))" }
        if change.raisesMTU {
            facts.append("MTU \(change.currentMTU) → \(change.desiredMTU)")
        } else if change.desiredMTU > 0 {
            facts.append("MTU \(change.desiredMTU)")
        }
        if change.changesESwitchMode {
            facts.append("eSwitch \(Self.mode(change.currentESwitchMode)) → \(Self.mode(change.desiredESwitchMode))")
        } else if change.desiredESwitchMode == "switchdev" {
            facts.append("switchdev")
        }
        if change.driverMismatches > 0 {
            facts.append("\(change.driverMismatches) VF\(change.driverMismatches == 1 ? "" : "s") change driver")
        }
        line += "  " + facts.joined(separator: ", ") + "\n"
        for group in change.groups.sorted(by: {
            (VfRange.parse($0.vfRange)?.lowerBound ?? 0) < (VfRange.parse($1.vfRange)?.lowerBound ?? 0)
        }) {
            let resource = "\(self.plan.options.resourcePrefix)/\(group.resourceName)"
            var extras: [String] = []
            if group.isRdma { extras.append("rdma") }
            if !group.vdpaType.isEmpty { extras.append("vdpa \(group.vdpaType)") }
            if group.mtu > 0 { extras.append("mtu \(group.mtu)") }
            let extra = extras.isEmpty ? "" : "  " + extras.joined(separator: ", ")
            line +=
                "      VFs \(Self.pad(group.vfRange, 7)) \(Self.pad(resource, 34)) \(Self.pad(group.deviceType, 9))  policy \(group.policyName)\(extra)\n"
        }
        return line
    }

    static func mode(_ m: String) -> String { m.isEmpty ? "legacy" : m }

    static func pad(_ s: String, _ width: Int) -> String {
        s.count >= width ? s : s + String(repeating: " ", count: width - s.count)
    }

    func model(vendor: String, device: String) -> String {
        let name = self.plan.options.supportedNICs.models.first { $0.vendor == vendor && $0.pfDeviceID == device }?.name
        let id = "\(vendor):\(device)"
        guard let name else { return "[\(id)]" }
        return "\(name.replacingUnderscores) [\(id)]"
    }

    func resources() -> String {
        var counts: [String: [(node: String, count: Int)]] = [:]
        for result in self.plan.nodeStates {
            switch result.action {
            case .stale, .delete: continue
            default: break
            }
            var perResource: [String: Int] = [:]
            for iface in result.state.spec.interfaces {
                for group in iface.vfGroups {
                    guard let range = VfRange.parse(group.vfRange) else { continue }
                    perResource[group.resourceName, default: 0] += range.count
                }
            }
            for (name, count) in perResource { counts[name, default: []].append((result.node, count)) }
        }
        guard !counts.isEmpty else { return "" }
        var out = "\nResources (VFs per node)\n"
        for name in counts.keys.sorted() {
            let perNode = counts[name, default: []].sorted { $0.node < $1.node }
            let total = perNode.reduce(0) { $0 + $1.count }
            out += "  \(Self.pad("\(self.plan.options.resourcePrefix)/\(name)", 36)) \(Self.pad(String(total), 4)) "
            out += perNode.map { "\($0.node): \($0.count)" }.joined(separator: ", ") + "\n"
        }
        return out
    }

    func networks() -> String {
        guard !self.plan.networks.isEmpty else { return "" }
        var out = "\nNetworks\n"
        for network in self.plan.networks {
            out += "  \(network.kind) \(network.key)"
            if let nad = network.networkAttachment {
                let action: String
                switch network.action {
                case .create: action = "create"
                case .update: action = "update"
                case .unchanged: action = "unchanged"
                case .notProvisioned: action = "not provisioned"
                }
                out += " → NAD \(nad.metadata.namespace)/\(nad.metadata.name) (\(action))"
                out += "  \(nad.metadata.annotations[NetworkAttachmentDefinition.resourceNameAnnotation] ?? "")"
                if let deletes = network.deletes { out += "; deletes old NAD \(deletes)" }
            } else {
                out += "  Ready=False \(network.ready.reason): \(network.ready.message)"
            }
            out += "\n"
        }
        return out
    }

    func findingsSection() -> String {
        guard !self.findings.isEmpty else { return "" }
        var out = "\nFindings (what the admission webhook or the controllers would reject)\n"
        for finding in self.findings { out += "  \(finding.line)\n" }
        return out
    }

    func summary() -> String {
        let changed = self.plan.nodeStates.filter { $0.action == .update || $0.action == .create }.count
        let drains = self.plan.disruptions.values.filter { $0.needsDrain && !$0.needsReboot }.count
        let reboots = self.plan.disruptions.values.filter(\.needsReboot).count
        let nads = self.plan.networks.filter { $0.action == .create || $0.action == .update }.count
        let errors = self.findings.filter(\.isError).count
        let warnings = self.findings.count - errors
        var out = "\nSummary: \(changed) NodeState\(changed == 1 ? "" : "s") change, "
        out += "\(drains) node\(drains == 1 ? "" : "s") drain, \(reboots) reboot\(reboots == 1 ? "" : "s"), "
        out += "\(nads) NAD\(nads == 1 ? "" : "s") written, \(errors) error\(errors == 1 ? "" : "s"), "
        out += "\(warnings) warning\(warnings == 1 ? "" : "s")\n"
        return out
    }
}

extension String {
    var replacingUnderscores: String { String(self.map { $0 == "_" ? " " : $0 }) }
}
