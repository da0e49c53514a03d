import Foundation
import KubeCore
import SriovTestKit
import Testing

@Suite("sriov plan / validate / manifests, end to end")
struct PlanCommandTests {
    @Test("the README's main command: a readable plan of the bundled examples, exit 0")
    func examplesText() throws {
        let result = try SriovBinary.run(["plan", "examples"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("SR-IOV plan for 3 nodes, 6 policies, 5 networks"))
        #expect(result.stdout.contains("Node worker-0  — NodeState spec changes; DRAIN"))
        #expect(result.stdout.contains("ens1f1: VF count 4 → 8 while VFs exist (drain)"))
        #expect(result.stdout.contains("VFs 0-7     openshift.io/intel_dpdk"))
        #expect(result.stdout.contains("eSwitch legacy → switchdev"))
        #expect(result.stdout.contains("SriovNetwork telco-app/backend-net → NAD telco-app/backend-net (create)"))
        #expect(
            result.stdout.contains("Summary: 3 NodeStates change, 1 node drain, 0 reboots, 5 NADs written, 0 errors")
        )
        #expect(!result.stdout.contains("master-0"))
    }

    @Test("-o json prints every managed object as one kind: List, identical to the reviewed golden file")
    func examplesJSON() throws {
        let result = try SriovBinary.run(["plan", "-o", "json", "examples"])
        #expect(result.status == 0, "\(result.stderr)")
        let golden = try GoldenFile.check(
            result.stdout,
            name: "examples-plan.json",
            directory: GoldenFile.directory(besides: #filePath)
        )
        #expect(golden == result.stdout, "golden mismatch: run with SRIOV_UPDATE_GOLDEN=1 and review the diff")
        #expect(result.stdout.hasPrefix("{\n    \"apiVersion\": \"v1\",\n    \"kind\": \"List\","))
        // The reader expands a List into its items.
        let kinds = try ManifestReader.parse(result.stdout, file: "plan.json").map(\.kind)
        #expect(kinds.filter { $0 == "SriovNetworkNodeState" }.count == 3)
        #expect(kinds.filter { $0 == "ConfigMap" }.count == 1)
        #expect(kinds.filter { $0 == "NetworkAttachmentDefinition" }.count == 5)
        #expect(kinds.filter { $0 == "Node" }.count == 3)
    }

    @Test("-o yaml carries the same objects as -o json")
    func yamlEqualsJSON() throws {
        let json = try SriovBinary.run(["plan", "-o", "json", "examples"])
        let yaml = try SriovBinary.run(["plan", "-o", "yaml", "examples"])
        #expect(yaml.status == 0)
        let fromJSON = try ManifestReader.parse(json.stdout, file: "plan.json").map(\.value)
        let fromYAML = try ManifestReader.parse(yaml.stdout, file: "plan.yaml").map(\.value)
        #expect(fromJSON.count == 12)
        #expect(fromJSON == fromYAML)
    }

    @Test("the device-plugin ConfigMap in the plan holds upstream's exact JSON per node")
    func configMapBytes() throws {
        let result = try SriovBinary.run(["plan", "-o", "json", "examples"])
        let items = try ManifestReader.parse(result.stdout, file: "plan.json")
        let configMap = try #require(items.first { $0.kind == "ConfigMap" }?.value)
        #expect(configMap["metadata"]?["name"] == "device-plugin-config")
        #expect(
            configMap["data"]?["worker-2"]
                == #"{"resourceList":[{"resourceName":"physnet1_dpdk","selectors":{"pciAddresses":["0000:00:05.0"],"IsRdma":false,"NeedVhostNet":false},"SelectorObj":null}]}"#
        )
        #expect(
            configMap["data"]?["worker-1"]
                == #"{"resourceList":[{"resourceName":"mlx_switchdev","selectors":{"vendors":["15b3"],"devices":["101e"],"pfNames":["ens2f0np0"],"linkTypes":["ether"],"IsRdma":true,"NeedVhostNet":false},"SelectorObj":null},{"resourceName":"mlx_vdpa","selectors":{"vendors":["15b3"],"pfNames":["ens2f1np1"],"IsRdma":false,"NeedVhostNet":false,"vdpaType":"vhost"},"SelectorObj":null}]}"#
        )
    }

    @Test("NAMESPACE and RESOURCE_PREFIX come from the environment; flags win over it")
    func environment() throws {
        let env = try SriovBinary.run(["plan", "examples"], environment: ["RESOURCE_PREFIX": "intel.com"])
        #expect(env.stdout.contains("resource prefix intel.com"))
        #expect(env.stdout.contains("intel.com/intel_dpdk"))
        let flag = try SriovBinary.run(
            ["plan", "--resource-prefix", "example.org", "examples"],
            environment: ["RESOURCE_PREFIX": "intel.com"]
        )
        #expect(flag.stdout.contains("example.org/intel_dpdk"))
        let otherNamespace = try SriovBinary.run(["plan", "--namespace", "elsewhere", "examples"])
        #expect(otherNamespace.stdout.contains("is outside elsewhere and is ignored"))
        #expect(otherNamespace.stdout.contains("no SriovOperatorConfig \"default\" in the input"))
    }

    @Test("admission findings: printed, counted, exit 1; json output still goes to stdout and findings to stderr")
    func findingsExitOne() throws {
        let directory = try SriovBinary.examplesCopy()
        defer { try? FileManager.default.removeItem(at: directory) }
        let policy = directory.appendingPathComponent("policies/intel-dpdk.yaml")
        let text = try String(contentsOf: policy, encoding: .utf8).replacingOccurrences(
            of: "numVfs: 16",
            with: "numVfs: 100"
        )
        try text.write(to: policy, atomically: true, encoding: .utf8)
        let result = try SriovBinary.run(["plan", directory.path])
        #expect(result.status == 1)
        #expect(
            result.stdout.contains(
                "numVfs(100) in CR intel-dpdk exceed the maximum allowed value(64) interface(ens1f0)"
            )
        )
        let json = try SriovBinary.run(["plan", "-o", "json", directory.path])
        #expect(json.status == 1)
        #expect(json.stderr.contains("numVfs(100)"))
        #expect(try ManifestReader.parse(json.stdout, file: "plan.json").count == 12)
        let validate = try SriovBinary.run(["validate", directory.path])
        #expect(validate.status == 1)
        // Every finding names the file and line of the object.
        #expect(validate.stdout.contains("policies/intel-dpdk.yaml:12: SriovNetworkNodePolicy \"intel-dpdk\""))
    }

    @Test("schema violations are reported in the API server's words with file and line")
    func schemaViolation() throws {
        let directory = try SriovBinary.examplesCopy()
        defer { try? FileManager.default.removeItem(at: directory) }
        let policy = directory.appendingPathComponent("policies/intel-dpdk.yaml")
        let text = try String(contentsOf: policy, encoding: .utf8)
            .replacingOccurrences(of: "deviceType: vfio-pci", with: "deviceType: vfio")
        try text.write(to: policy, atomically: true, encoding: .utf8)
        let result = try SriovBinary.run(["validate", directory.path])
        #expect(result.status == 1)
        #expect(
            result.stdout.contains(
                #"intel-dpdk.yaml:17: SriovNetworkNodePolicy "intel-dpdk": spec.deviceType: Unsupported value: "vfio": supported values: "netdevice", "vfio-pci""#
            )
        )
    }

    @Test("unreadable input: unknown field, YAML syntax, missing path → exit 2 with file:line, nothing planned")
    func unreadableExitTwo() throws {
        let directory = try SriovBinary.examplesCopy()
        defer { try? FileManager.default.removeItem(at: directory) }
        let policy = directory.appendingPathComponent("policies/intel-ens1f1.yaml")
        let text = try String(contentsOf: policy, encoding: .utf8).replacingOccurrences(
            of: "numVfs: 8",
            with: "numVF: 8"
        )
        try text.write(to: policy, atomically: true, encoding: .utf8)
        let unknown = try SriovBinary.run(["plan", directory.path])
        #expect(unknown.status == 2)
        #expect(unknown.stdout.isEmpty)
        #expect(
            unknown.stderr.contains(
                #"intel-ens1f1.yaml:11: SriovNetworkNodePolicy "intel-ens1f1": spec.numVF: unknown field, did you mean numVfs?"#
            )
        )

        try "kind: Node\nmetadata:\n  name: [broken\n".write(to: policy, atomically: true, encoding: .utf8)
        let syntax = try SriovBinary.run(["plan", directory.path])
        #expect(syntax.status == 2)
        #expect(syntax.stderr.contains("intel-ens1f1.yaml:"))
        #expect(syntax.stderr.contains("YAML syntax error"))

        let missing = try SriovBinary.run(["plan", "no/such/dir"])
        #expect(missing.status == 2)
        #expect(missing.stderr.contains("no/such/dir: no such file or directory"))
    }

    @Test("sriov manifests crds prints seven CRDs that read back as apiextensions.k8s.io/v1 objects")
    func manifestsCRDs() throws {
        let result = try SriovBinary.run(["manifests", "crds"])
        #expect(result.status == 0)
        let documents = try ManifestReader.parse(result.stdout, file: "crds.yaml")
        #expect(documents.count == 7)
        #expect(Set(documents.map(\.apiVersion)) == ["apiextensions.k8s.io/v1"])
        #expect(documents.map(\.name).contains("sriovnetworknodepolicies.sriovnetwork.openshift.io"))
        let committed = try String(
            contentsOf: SriovBinary.packageRoot.appendingPathComponent("deploy/crds.yaml"),
            encoding: .utf8
        )
        #expect(
            committed == result.stdout,
            "deploy/crds.yaml is stale: run `swift run sriov manifests crds > deploy/crds.yaml`"
        )
    }
}
