import Foundation
import KubeCore
import SriovTestKit
import Testing

/// What the real-NIC suites share: the built binaries as the guest sees them, a prelude for every step, and JSON
/// helpers for `sriov … -o json`, `ip -j` and `sriov-nl-probe` output.
enum RealNIC {
    /// The two igb PFs of a default guest (one per PCIe root port), and their netdevs.
    static let pf0 = "0000:01:00.0"
    static let pf1 = "0000:02:00.0"

    /// Shell variables for every step: `$SRIOV`, `$PROBE` (absolute paths of this build), `$PF0`, `$PF1` and
    /// `$PF0NET`/`$PF1NET` (the PFs' netdev names read from sysfs), plus `vfnet PF N` (VF N's netdev) and
    /// `vfpci PF N` (VF N's PCI address). A missing binary makes the steps that use it fail with a clear message.
    static var prelude: String {
        let sriov = (try? RealNICGuest.builtExecutable("sriov")) ?? "/missing/sriov (not built)"
        let probe = (try? RealNICGuest.builtExecutable("sriov-nl-probe")) ?? "/missing/sriov-nl-probe (not built)"
        return """
            SRIOV='\(sriov)'
            PROBE='\(probe)'
            PF0=\(Self.pf0)
            PF1=\(Self.pf1)
            PF0NET=$(ls /sys/bus/pci/devices/$PF0/net 2>/dev/null | head -n1)
            PF1NET=$(ls /sys/bus/pci/devices/$PF1/net 2>/dev/null | head -n1)
            vfnet() { ls "/sys/bus/pci/devices/$1/virtfn$2/net" 2>/dev/null | head -n1; }
            vfpci() { basename "$(readlink "/sys/bus/pci/devices/$1/virtfn$2")"; }
            """
    }

    /// Parses a step's output as JSON.
    static func json(_ step: RealNICStepResult) throws -> JSONValue {
        do {
            return try JSONParser.parse(step.output)
        } catch {
            throw RealNICError(message: "\(error) in the output of \(step)")
        }
    }

    /// `sriov discover -o json`'s interfaces, by PCI address.
    static func interfaces(_ step: RealNICStepResult) throws -> [String: JSONValue] {
        let status = try Self.json(step)
        var byAddress: [String: JSONValue] = [:]
        for interface in status["interfaces"]?.arrayValue ?? [] {
            if let address = interface["pciAddress"]?.stringValue { byAddress[address] = interface }
        }
        return byAddress
    }

    /// Lines of `KEY VALUE…` printed by a step, as a dictionary of the first word to the rest of the line.
    static func facts(_ step: RealNICStepResult) -> [String: String] {
        var facts: [String: String] = [:]
        for line in step.output.split(separator: "\n") {
            let parts = line.split(separator: " ", maxSplits: 1)
            if parts.count == 2 { facts[String(parts[0])] = String(parts[1]) }
        }
        return facts
    }
}

extension JSONValue {
    /// The integer of an `.int`, else nil.
    var intValue: Int? {
        if case .int(let value) = self { return value }
        return nil
    }

    var boolValue: Bool? {
        if case .bool(let value) = self { return value }
        return nil
    }
}
