import Foundation
import KubeCore
import SriovTestKit
import Testing

/// `sriov apply` / `sriov reset` (standalone mode) on the real igb driver, checked through sysfs and `ip -j` in the
/// guest. One boot runs the whole sequence: apply, a second apply (no-op), a changed policy, reset.
///
/// The 82576 is in upstream's default supported-NIC list, so no `DEV_MODE` is needed.
@Suite(
    "sriov apply and reset on real igb NICs (QEMU guest)",
    .enabled(if: RealNICGuest.isAvailable),
    .tags(.realNIC),
    .timeLimit(.minutes(30))
)
struct RealNICApplyTests {
    /// eth0: 5 VFs split into a vfio-pci range (0-1) and a netdevice range (2-4) with MTU 9000; eth1: 3 VFs, MTU 2000.
    static let policies = """
        apiVersion: sriovnetwork.openshift.io/v1
        kind: SriovNetworkNodePolicy
        metadata: {name: igb-dpdk, namespace: sriov-network-operator}
        spec:
          resourceName: igb_dpdk
          nodeSelector: {}
          priority: 10
          numVfs: 5
          nicSelector: {pfNames: ["PF0NET#0-1"]}
          deviceType: vfio-pci
        ---
        apiVersion: sriovnetwork.openshift.io/v1
        kind: SriovNetworkNodePolicy
        metadata: {name: igb-kernel, namespace: sriov-network-operator}
        spec:
          resourceName: igb_kernel
          nodeSelector: {}
          priority: 20
          numVfs: 5
          mtu: 9000
          nicSelector: {pfNames: ["PF0NET#2-4"]}
          deviceType: netdevice
        ---
        apiVersion: sriovnetwork.openshift.io/v1
        kind: SriovNetworkNodePolicy
        metadata: {name: igb-second, namespace: sriov-network-operator}
        spec:
          resourceName: igb_second
          nodeSelector: {}
          numVfs: 3
          mtu: 2000
          nicSelector: {pfNames: ["PF1NET"]}
          deviceType: netdevice
        """

    /// The changed policies: eth0's vfio range shrinks to VF 0 (VFs 1-4 netdevice), eth1 goes down to 2 VFs.
    static var changedPolicies: String {
        Self.policies
            .replacingOccurrences(of: "PF0NET#0-1", with: "PF0NET#0-0")
            .replacingOccurrences(of: "PF0NET#2-4", with: "PF0NET#1-4")
            .replacingOccurrences(of: "numVfs: 3", with: "numVfs: 2")
    }

    /// Prints `numvfs PF N`, `vf PF/N DRIVER MTU-or-- ` per VF, and each PF's `ip -j -d link show` as `link PF JSON`.
    static let snapshot = """
        for pf in $PF0 $PF1; do
            d=/sys/bus/pci/devices/$pf
            echo "numvfs $pf $(cat $d/sriov_numvfs)"
            for n in $(seq 0 $(( $(cat $d/sriov_numvfs) - 1 ))); do
                vf=$(vfpci $pf $n)
                net=$(vfnet $pf $n)
                mtu=-; mac=-
                [ -n "$net" ] && mtu=$(cat /sys/class/net/$net/mtu) && mac=$(cat /sys/class/net/$net/address)
                echo "vf $pf/$n $(basename $(readlink /sys/bus/pci/devices/$vf/driver 2>/dev/null) 2>/dev/null) $mtu $mac"
            done
            echo "link $pf $(ip -j -d link show $(ls $d/net | head -n1))"
        done
        """

    static func writePolicies(_ text: String, to path: String) -> String {
        """
        rm -rf /etc/sriov-operator /tmp/sno-initial-node-state.json
        cat > \(path).in <<'EOF'
        \(text)
        EOF
        sed -e "s/PF0NET/$PF0NET/g" -e "s/PF1NET/$PF1NET/g" \(path).in > \(path)
        """
    }

    static let boot = RealNICBatch(
        steps: [
            RealNICStep(
                "apply",
                Self.writePolicies(Self.policies, to: "/tmp/policies.yaml") + "\n$SRIOV apply -f /tmp/policies.yaml"
            ),
            RealNICStep("after-apply", Self.snapshot),
            RealNICStep("apply-again", "$SRIOV apply -f /tmp/policies.yaml"),
            RealNICStep(
                "apply-changed",
                "cat > /tmp/changed.yaml.in <<'EOF'\n\(Self.changedPolicies)\nEOF\n"
                    + "sed -e \"s/PF0NET/$PF0NET/g\" -e \"s/PF1NET/$PF1NET/g\" /tmp/changed.yaml.in > /tmp/changed.yaml\n"
                    + "$SRIOV apply -f /tmp/changed.yaml"
            ),
            RealNICStep("after-changed", Self.snapshot),
            RealNICStep("reset", "$SRIOV reset"),
            RealNICStep("after-reset", Self.snapshot + "\nls /etc/sriov-operator/pci 2>/dev/null | sed 's/^/record /'"),
        ],
        prelude: RealNIC.prelude,
        nics: 2,
        timeout: .seconds(1500)
    )

    /// The `vf PF/N DRIVER MTU MAC` rows of a snapshot, by `PF/N`.
    static func vfRows(_ step: RealNICStepResult) -> [String: [String]] {
        var rows: [String: [String]] = [:]
        for line in step.output.split(separator: "\n") where line.hasPrefix("vf ") {
            let fields = line.split(separator: " ").map(String.init)
            if fields.count == 5 { rows[fields[1]] = Array(fields.dropFirst(2)) }
        }
        return rows
    }

    /// The `ip -j -d link show` object of a PF's netdev in a snapshot.
    static func link(_ step: RealNICStepResult, _ pf: String) throws -> JSONValue {
        let line = try #require(
            step.output.split(separator: "\n").first { $0.hasPrefix("link \(pf) ") },
            "\(step)"
        )
        let json = try JSONParser.parse(String(line.dropFirst("link \(pf) ".count)))
        return try #require(json.arrayValue?.first)
    }

    @Test("apply creates the VF counts on both PFs and partitions the first into vfio-pci and netdevice ranges")
    func vfCountsAndPartition() async throws {
        let run = try await Self.boot.run()
        let apply = try run.step("apply")
        #expect(apply.status == 0, "\(apply)")
        #expect(apply.output.contains("applied (apply)"), "\(apply)")
        let after = try run.step("after-apply")
        #expect(after.output.contains("numvfs \(RealNIC.pf0) 5"), "\(after)")
        #expect(after.output.contains("numvfs \(RealNIC.pf1) 3"), "\(after)")
        let rows = Self.vfRows(after)
        for n in 0...1 { #expect(rows["\(RealNIC.pf0)/\(n)"]?.first == "vfio-pci", "\(after)") }
        for n in 2...4 { #expect(rows["\(RealNIC.pf0)/\(n)"]?.first == "igbvf", "\(after)") }
        for n in 0...2 { #expect(rows["\(RealNIC.pf1)/\(n)"]?.first == "igbvf", "\(after)") }
    }

    @Test("apply sets the PF and VF MTUs, the VF admin MACs and brings the PFs up")
    func mtuMacAndLink() async throws {
        let run = try await Self.boot.run()
        let after = try run.step("after-apply")
        let rows = Self.vfRows(after)
        let pf0 = try Self.link(after, RealNIC.pf0)
        let pf1 = try Self.link(after, RealNIC.pf1)
        // A PF's MTU rises to its largest policy MTU; the netdevice VFs get their policy's MTU.
        #expect(pf0["mtu"] == 9000, "\(pf0)")
        #expect(pf1["mtu"] == 2000, "\(pf1)")
        for n in 2...4 { #expect(rows["\(RealNIC.pf0)/\(n)"]?[1] == "9000", "\(after)") }
        for n in 0...2 { #expect(rows["\(RealNIC.pf1)/\(n)"]?[1] == "2000", "\(after)") }
        for pf in [pf0, pf1] {
            let flags = (pf["flags"]?.arrayValue ?? []).compactMap(\.stringValue)
            #expect(flags.contains("UP"), "\(pf)")
        }
        // The admin MAC of each netdevice VF is pinned to the MAC its netdev has (upstream does this so the VF keeps
        // its MAC across driver rebinds); ip reads it back through the PF.
        let vfinfo = pf0["vfinfo_list"]?.arrayValue ?? []
        #expect(vfinfo.count == 5, "\(pf0)")
        for n in 2...4 {
            let mac = try #require(rows["\(RealNIC.pf0)/\(n)"]?[2])
            #expect(mac != "-" && mac != "00:00:00:00:00:00")
            #expect(vfinfo.first { $0["vf"]?.intValue == n }?["address"]?.stringValue == mac, "\(pf0)")
        }
    }

    @Test("a second apply of the same policies changes nothing")
    func secondApplyIsNoOp() async throws {
        let run = try await Self.boot.run()
        let again = try run.step("apply-again")
        #expect(again.status == 0, "\(again)")
        #expect(again.output.contains("Nothing to do: the host already matches."), "\(again)")
    }

    @Test("a changed policy moves VF 1 from vfio-pci back to igbvf and lowers the second PF to 2 VFs")
    func changedPolicy() async throws {
        let run = try await Self.boot.run()
        let changed = try run.step("apply-changed")
        #expect(changed.status == 0, "\(changed)")
        let after = try run.step("after-changed")
        #expect(after.output.contains("numvfs \(RealNIC.pf0) 5"), "\(after)")
        #expect(after.output.contains("numvfs \(RealNIC.pf1) 2"), "\(after)")
        let rows = Self.vfRows(after)
        #expect(rows["\(RealNIC.pf0)/0"]?.first == "vfio-pci", "\(after)")
        for n in 1...4 {
            #expect(rows["\(RealNIC.pf0)/\(n)"]?.first == "igbvf", "\(after)")
            #expect(rows["\(RealNIC.pf0)/\(n)"]?[1] == "9000", "\(after)")
        }
        for n in 0...1 { #expect(rows["\(RealNIC.pf1)/\(n)"]?[1] == "2000", "\(after)") }
    }

    @Test("sriov reset removes every VF, restores the PF MTU and forgets what was applied")
    func reset() async throws {
        let run = try await Self.boot.run()
        let reset = try run.step("reset")
        #expect(reset.status == 0, "\(reset)")
        #expect(reset.output.contains("applied (reset)"), "\(reset)")
        let after = try run.step("after-reset")
        #expect(after.output.contains("numvfs \(RealNIC.pf0) 0"), "\(after)")
        #expect(after.output.contains("numvfs \(RealNIC.pf1) 0"), "\(after)")
        #expect(Self.vfRows(after).isEmpty, "\(after)")
        #expect(try Self.link(after, RealNIC.pf0)["mtu"] == 1500)
        #expect(try Self.link(after, RealNIC.pf1)["mtu"] == 1500)
        #expect(!after.output.contains("record "), "\(after)")
    }
}
