import Foundation
import KubeCore
import Testing

@Suite("sriov simulate / discover / apply / reset, end to end on simulated hosts")
struct HostCommandTests {
    func simulated(_ profile: String) throws -> String {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "sriov-e2e-host-\(UUID().uuidString)"
        ).path
        let result = try SriovBinary.run(["simulate", "hosts/profiles/\(profile).yaml", directory])
        #expect(result.status == 0, "\(result.stderr)")
        return directory
    }

    @Test("standalone apply on an Intel E810 host: dry run, apply, no-op second run, reset")
    func applyCycle() throws {
        let root = try self.simulated("intel-e810")
        defer { try? FileManager.default.removeItem(atPath: root) }
        let policies = "hosts/policies/e810-dpdk-and-kernel.yaml"

        let dry = try SriovBinary.run(["apply", "-f", policies, "--sysfs-root", root, "--dry-run"])
        #expect(dry.status == 0, "\(dry.stderr)")
        #expect(dry.stdout.contains("4. ens1f0 (0000:3b:00.0): write sriov_numvfs 8"))
        #expect(dry.stdout.contains("add to the kernel command line and reboot: intel_iommu=on iommu=pt"))
        #expect(dry.stdout.contains("Dry run: nothing was changed."))
        let before = try SriovBinary.run(["discover", "--sysfs-root", root, "-o", "json"])
        #expect(before.stdout.contains(#""numVfs": 8"#) == false)

        let applied = try SriovBinary.run(["apply", "-f", policies, "--sysfs-root", root])
        #expect(applied.status == 0, "\(applied.stderr)")
        #expect(applied.stdout.contains("Done: 10 steps applied (apply)."))

        let after = try SriovBinary.run(["discover", "--sysfs-root", root, "-o", "json"])
        let status = try #require(try ManifestReader.parse(after.stdout, file: "status.json").first?.value)
        let ens1f0 = try #require(status["interfaces"]?.arrayValue?.first { $0["name"] == "ens1f0" })
        #expect(ens1f0["numVfs"] == 8)
        #expect(ens1f0["mtu"] == 9000)
        let drivers = (ens1f0["Vfs"]?.arrayValue ?? []).compactMap { $0["driver"]?.stringValue }
        #expect(drivers == ["vfio-pci", "vfio-pci", "vfio-pci", "vfio-pci", "iavf", "iavf", "iavf", "iavf"])

        let again = try SriovBinary.run(["apply", "-f", policies, "--sysfs-root", root])
        #expect(again.stdout.contains("Nothing to do: the host already matches."))

        let reset = try SriovBinary.run(["reset", "--sysfs-root", root])
        #expect(reset.status == 0)
        #expect(reset.stdout.contains("ens1f0 (0000:3b:00.0): write sriov_numvfs 0"))
        #expect(reset.stdout.contains("ens1f0 (0000:3b:00.0): set MTU 1500"))
        let text = try SriovBinary.run(["discover", "--sysfs-root", root])
        #expect(text.stdout.contains("VFs 0/64"))
        #expect(!text.stdout.contains("VFs 8/64"))
    }

    @Test("rejected policies change nothing and exit 1 with the webhook's message")
    func rejected() throws {
        let root = try self.simulated("intel-e810")
        defer { try? FileManager.default.removeItem(atPath: root) }
        let policy = root + "/too-many.yaml"
        try """
        apiVersion: sriovnetwork.openshift.io/v1
        kind: SriovNetworkNodePolicy
        metadata: {name: too-many, namespace: sriov-network-operator}
        spec:
          resourceName: many
          nodeSelector: {}
          numVfs: 100
          nicSelector: {pfNames: [ens1f0]}
        """.write(toFile: policy, atomically: true, encoding: .utf8)
        let result = try SriovBinary.run(["apply", "-f", policy, "--sysfs-root", root])
        #expect(result.status == 1)
        #expect(
            result.stderr.contains("numVfs(100) in CR too-many exceed the maximum allowed value(64) interface(ens1f0)")
        )
        #expect(result.stderr.contains("nothing was changed"))
        #expect(try SriovBinary.run(["discover", "--sysfs-root", root]).stdout.contains("VFs 0/64"))
    }

    @Test("OpenStack VM: netFilters from the config drive; the physnet1 port is bound to vfio-pci")
    func openstack() throws {
        let root = try self.simulated("openstack-vm")
        defer { try? FileManager.default.removeItem(atPath: root) }
        let discovered = try SriovBinary.run(["discover", "--sysfs-root", root])
        #expect(discovered.stdout.contains("netFilter openstack/NetworkID:3c1e9a52-8f7d-4b1e-9a26-6f0d2c4e7b90"))
        let applied = try SriovBinary.run([
            "apply", "-f", "hosts/policies/openstack-physnet1.yaml", "--sysfs-root", root,
        ])
        #expect(applied.status == 0, "\(applied.stderr)")
        #expect(applied.stdout.contains("load kernel module vfio enable_unsafe_noiommu_mode=1"))
        let after = try SriovBinary.run(["discover", "--sysfs-root", root])
        #expect(after.stdout.contains("ens5  0000:00:05.0  8086:154c  driver vfio-pci"))
    }

    @Test("a missing sysfs root or profile is a clear error, not a crash")
    func errors() throws {
        let missing = try SriovBinary.run(["discover", "--sysfs-root", "/nonexistent-root"])
        #expect(missing.status == 1)
        #expect(missing.stderr.contains("/sys/bus/pci/devices: cannot list directory"))
        let profile = try SriovBinary.run(["simulate", "no/such/profile.yaml", "/tmp/x"])
        #expect(profile.status != 0)
        #expect(profile.stderr.contains("no/such/profile.yaml"))
    }
}
