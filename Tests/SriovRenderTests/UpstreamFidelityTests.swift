import KubeCore
import SriovAPI
import SriovTestKit
import Testing

@testable import SriovRender

private let ns = "sriov-network-operator"

/// A managed worker with a NodeState whose status holds `interfaces`.
private func cluster(
    nodes: [(String, [SriovNetworkNodeState.InterfaceExt])],
    policies: [SriovNetworkNodePolicy],
    webhook: Bool? = true
) -> ClusterSnapshot {
    var snapshot = ClusterSnapshot()
    for (name, interfaces) in nodes {
        snapshot.nodes.append(.worker(name))
        snapshot.nodeStates.append(.fixture(name, interfaces: interfaces))
    }
    snapshot.policies = policies
    if let webhook {
        var config = SriovOperatorConfig(metadata: ObjectMeta(name: "default", namespace: ns))
        config.spec.enableOperatorWebhook = webhook
        snapshot.operatorConfigs = [config]
    }
    return snapshot
}

private func openstackVF(_ pci: String, network: String) -> SriovNetworkNodeState.InterfaceExt {
    SriovNetworkNodeState.InterfaceExt(
        name: "eth\(pci.suffix(1))",
        driver: "iavf",
        pciAddress: pci,
        vendor: "8086",
        deviceID: "154c",
        netFilter: network,
        mtu: 1500,
        numVfs: 1,
        totalvfs: 1
    )
}

/// One test per item of issue 8 (and item 13 of issue 14). The expected values are written from the upstream
/// function named in each test, not produced by this code.
@Suite("Upstream fidelity of the render engine (issue 8)")
struct UpstreamFidelityTests {
    // MARK: 1. NAD ownerReferences

    /// Upstream: controllers/generic_network_controller.go Reconcile — `if instance.GetNamespace() ==
    /// netAttDef.Namespace { controllerutil.SetOwnerReference(...) }`; SetOwnerReference sets no controller
    /// and no blockOwnerDeletion.
    @Test("1: a NAD in its CR's namespace gets a plain owner reference, also in the operator namespace")
    func ownerReferences() throws {
        let renderer = NetworkRenderer(options: RenderOptions(namespace: ns))
        var inOperatorNS = SriovNetwork(
            metadata: ObjectMeta(name: "net-a", namespace: ns),
            spec: .init(resourceName: "r")
        )
        inOperatorNS.metadata.uid = "uid-a"
        let nad = try #require(renderer.render(inOperatorNS).networkAttachment)
        #expect(
            nad.metadata.ownerReferences == [
                OwnerReference(
                    apiVersion: "sriovnetwork.openshift.io/v1",
                    kind: "SriovNetwork",
                    name: "net-a",
                    uid: "uid-a"
                )
            ]
        )
        let encoded = try ValueEncoder().encode(nad)
        let reference = try #require(encoded["metadata"]?["ownerReferences"]?.arrayValue?.first)
        #expect(reference["controller"] == nil)
        #expect(reference["blockOwnerDeletion"] == nil)
        // networkNamespace elsewhere: a finalizer, no owner reference (GC cannot cross namespaces).
        var elsewhere = inOperatorNS
        elsewhere.spec.networkNamespace = "app"
        #expect(try #require(renderer.render(elsewhere).networkAttachment).metadata.ownerReferences.isEmpty)
        var ovs = OVSNetwork(metadata: ObjectMeta(name: "ovs-a", namespace: "team"), spec: .init(resourceName: "r"))
        ovs.metadata.uid = "uid-o"
        #expect(
            try #require(renderer.render(ovs).networkAttachment).metadata.ownerReferences
                == [
                    OwnerReference(
                        apiVersion: "sriovnetwork.openshift.io/v1",
                        kind: "OVSNetwork",
                        name: "ovs-a",
                        uid: "uid-o"
                    )
                ]
        )
    }

    // MARK: 2. Whitespace-only ipam

    /// Upstream: api/v1/helper.go RenderNetAttDef — `if cr.Spec.IPAM != ""` then `"ipam":` + the stripped
    /// value, i.e. `"ipam":}`; formatJSON fails and no NAD is written.
    @Test("2: ipam of only whitespace renders \"ipam\":} and no NAD is written", arguments: ["   ", "\n\t ", "\u{A0}"])
    func whitespaceIPAM(ipam: String) throws {
        let network = SriovNetwork(
            metadata: ObjectMeta(name: "n", namespace: ns),
            spec: .init(resourceName: "r", ipam: ipam)
        )
        #expect(try CNIConfig.compact(network).hasSuffix(#""ipam":}"#))
        let result = NetworkRenderer(options: RenderOptions(namespace: ns)).render(network)
        #expect(result.networkAttachment == nil)
        #expect(result.action == .notProvisioned)
        #expect(result.ready.status == "False")
        #expect(result.ready.reason == "ProvisioningFailed")
    }

    // MARK: 3. Raw template strings

    /// Upstream: bindata/manifests/cni-config/{sriov,ovs} filled by text/template — values go in unescaped.
    @Test("3: logFile, bridge and interfaceType keep &, < and > as they are")
    func rawTemplateStrings() throws {
        let sriov = SriovNetwork(
            metadata: ObjectMeta(name: "n", namespace: ns),
            spec: .init(resourceName: "r", logFile: "/var/log/a&b<c>.log")
        )
        #expect(try CNIConfig.compact(sriov).contains(#""logFile":"/var/log/a&b<c>.log""#))
        let ovs = OVSNetwork(
            metadata: ObjectMeta(name: "o", namespace: ns),
            spec: .init(resourceName: "r", bridge: "br<&>0", interfaceType: "dpdk&x")
        )
        let compact = try CNIConfig.compact(ovs)
        #expect(
            compact
                == #"{"cniVersion":"1.0.0","name":"o","type":"ovs","bridge":"br<&>0","interface_type":"dpdk&x","ipam":{}}"#
        )
        let nad = try NetworkRenderer(options: RenderOptions(namespace: ns)).networkAttachment(for: ovs)
        #expect(nad.spec.config.contains(#""bridge": "br<&>0""#))
        #expect(!nad.spec.config.contains(#"\u0026"#))
    }

    @Test("3: a quote in a templated string breaks the JSON (no NAD); a backslash becomes a JSON escape")
    func quotesAndBackslashes() throws {
        let renderer = NetworkRenderer(options: RenderOptions(namespace: ns))
        let quoted = SriovNetwork(
            metadata: ObjectMeta(name: "n", namespace: ns),
            spec: .init(resourceName: "r", logFile: #"/tmp/a"b"#)
        )
        #expect(renderer.render(quoted).networkAttachment == nil)
        let windows = SriovNetwork(
            metadata: ObjectMeta(name: "n", namespace: ns),
            spec: .init(resourceName: "r", logFile: #"C:\temp"#)
        )
        let nad = try #require(renderer.render(windows).networkAttachment)
        #expect(try JSONParser.parse(nad.spec.config)["logFile"] == .string("C:\temp"))
    }

    // MARK: 4. Duplicate rootDevices

    /// Upstream: createDevicePluginResource — `RootDevices = append(RootDevices, p.Spec.NicSelector.RootDevices...)`.
    @Test("4: rootDevices listed twice stay twice in the device-plugin config")
    func duplicateRootDevices() throws {
        let policy = SriovNetworkNodePolicy.fixture("p").rootDevices("0000:86:00.0", "0000:86:00.0").numVfs(2)
            .resourceName("r")
        let plan = OperatorPlan.make(
            snapshot: cluster(nodes: [("w", [.n0A])], policies: [policy]),
            options: RenderOptions(namespace: ns)
        )
        #expect(
            plan.devicePluginConfigMap.data["w"]
                == #"{"resourceList":[{"resourceName":"r","selectors":{"rootDevices":["0000:86:00.0","0000:86:00.0"],"IsRdma":false,"NeedVhostNet":false},"SelectorObj":null}]}"#
        )
    }

    // MARK: 5. Stale NodeStates

    /// Upstream: handleStaleNodeState — keep-until passed → Delete; GetKeepUntilTime zero (missing or
    /// unparsable) → SetKeepUntilTime(now + delay) and keep.
    @Test(
        "5: a stale NodeState whose keep-state-until has passed is deleted and not printed",
        arguments: [
            "2026-11-23T11:59:59Z", "2026-11-23T12:00:00Z", "2026-11-23T13:59:59.999+02:00", "2026-11-23T11:30:00,5Z",
        ]
    )
    func staleDeleted(until: String) throws {
        var snapshot = cluster(nodes: [], policies: [])
        var state = SriovNetworkNodeState.fixture("gone", interfaces: [])
        state.metadata.annotations[SriovNetworkNodeState.Annotation.keepStateUntil] = until
        snapshot.nodeStates = [state]
        let plan = OperatorPlan.make(
            snapshot: snapshot,
            options: RenderOptions(namespace: ns, now: "2026-11-23T12:00:00Z")
        )
        #expect(plan.nodeStates.map(\.action) == [.delete])
        let kinds = try #require(plan.objects()["items"]?.arrayValue).compactMap { $0["kind"]?.stringValue }
        #expect(!kinds.contains("SriovNetworkNodeState"))
    }

    @Test(
        "5: a stale NodeState with a future or unparsable keep-state-until is kept",
        arguments: [
            ("2026-11-23T12:00:00.5Z", "2026-11-23T12:00:00.5Z"),
            ("2026-11-23T13:00:01+01:00", "2026-11-23T13:00:01+01:00"),
            ("tomorrow", "2026-11-23T12:30:00Z"),
            ("2026-11-23 12:00:00Z", "2026-11-23T12:30:00Z"),
            ("2026-02-30T00:00:00Z", "2026-11-23T12:30:00Z"),
            ("0001-01-01T00:00:00Z", "2026-11-23T12:30:00Z"),
        ]
    )
    func staleKept(until: String, expected: String) {
        var state = SriovNetworkNodeState.fixture("gone", interfaces: [])
        state.metadata.annotations[SriovNetworkNodeState.Annotation.keepStateUntil] = until
        let renderer = NodeStateRenderer(
            options: RenderOptions(namespace: ns, now: "2026-11-23T12:00:00Z", staleNodeStateDelayMinutes: 30),
            policies: [],
            poolConfigs: []
        )
        let result = renderer.renderStale(state)
        #expect(result.action == .stale(deleteAfter: expected))
        #expect(result.state.metadata.annotations[SriovNetworkNodeState.Annotation.keepStateUntil] == expected)
    }

    @Test("5: a delay of 0 deletes at once")
    func staleNoDelay() {
        let renderer = NodeStateRenderer(
            options: RenderOptions(namespace: ns, staleNodeStateDelayMinutes: 0),
            policies: [],
            poolConfigs: []
        )
        #expect(renderer.renderStale(.fixture("gone", interfaces: [])).action == .delete)
    }

    // MARK: 6. A node in two pools

    /// Upstream: findNodePoolConfig — more than one pool selects the node → error, nil pool → no rdmaMode.
    @Test("6: a node in two SriovNetworkPoolConfigs gets no rdmaMode; the finding names both pools")
    func twoPools() throws {
        var snapshot = cluster(nodes: [("w", [.n0A])], policies: [])
        for name in ["pool-a", "pool-b"] {
            var pool = SriovNetworkPoolConfig(metadata: ObjectMeta(name: name, namespace: ns))
            pool.spec.rdmaMode = name == "pool-a" ? "shared" : "exclusive"
            snapshot.poolConfigs.append(pool)
        }
        let plan = OperatorPlan.make(snapshot: snapshot, options: RenderOptions(namespace: ns))
        #expect(plan.nodeStates.first?.state.spec.system == nil)
        let findings = AdmissionValidator(operatorNamespace: ns, supportedNICs: .upstreamDefault)
            .validateAll(snapshot)
        #expect(findings.contains { $0.message.contains("pool-a") && $0.message.contains("pool-b") && $0.isError })
    }

    // MARK: 7. Multi-line netFilter

    /// Upstream: NetFilterMatch — `(?m)^\s*([^\s]+)\s*:\s*([^\s]+)`, first match anywhere.
    @Test("7: a config-drive netFilter after a comment line selects the VF")
    func multilineNetFilter() throws {
        let uuid = "b3ba899a-e06c-49da-93c5-c992048390b2"
        let vf = openstackVF("0000:04:00.0", network: "openstack/NetworkID:\(uuid)")
        var snapshot = cluster(
            nodes: [("vm", [vf])],
            policies: [
                SriovNetworkNodePolicy.fixture("os").netFilter("# network\nopenstack/NetworkID:\(uuid)").numVfs(1)
                    .resourceName("osnet")
            ]
        )
        snapshot.nodes[0] = .worker("vm", providerID: "openstack:///abc")
        let plan = OperatorPlan.make(snapshot: snapshot, options: RenderOptions(namespace: ns))
        #expect(plan.nodeStates.first?.state.spec.interfaces.map(\.pciAddress) == ["0000:04:00.0"])
        #expect(plan.devicePluginConfigMap.data["vm"]?.contains(#""pciAddresses":["0000:04:00.0"]"#) == true)
        #expect(NetFilter.matches("openstack/NetworkID:\(uuid)", "  \n\n openstack/NetworkID : \(uuid) trailing"))
        #expect(
            !NetFilter.matches("openstack/NetworkID:\(uuid)", "openstack/NetworkID:other\nopenstack/NetworkID:\(uuid)")
        )
    }

    // MARK: 8. Admission for netFilter policies

    /// Upstream: validateNicModel ignores netFilter; validatePolicyForNodeState checks numVfs against
    /// totalvfs of every supported Intel PF of the node.
    @Test("8: a netFilter policy counts every supported PF of a selected node for the numVfs check")
    func netFilterAdmission() {
        let policy = SriovNetworkNodePolicy.fixture("nf").netFilter("openstack/NetworkID:x").numVfs(100)
        // n0A is a supported Intel PF (158b) with totalvfs 64 and no netFilter at all.
        let validator = AdmissionValidator(
            operatorNamespace: ns,
            supportedNICs: .upstreamDefault,
            nodes: [.worker("w")],
            nodeStates: [.fixture("w", interfaces: [.n0A])]
        )
        let messages = validator.validate(policy: policy).map(\.message)
        #expect(messages == ["numVfs(100) in CR nf exceed the maximum allowed value(64) interface(ens803f0)"])
    }

    // MARK: 9. netFilter with an empty status, when updating

    /// Upstream: updateDevicePluginResource has no empty-status check (createDevicePluginResource has).
    @Test("9: a netFilter policy merging into an existing resource on a node without status keeps the node Enabled")
    func netFilterUpdateWithoutStatus() {
        let first = SriovNetworkNodePolicy.fixture("a", priority: 20).vendor("8086").numVfs(2).resourceName("shared")
        let second = SriovNetworkNodePolicy.fixture("b", priority: 10).netFilter("openstack/NetworkID:x").numVfs(1)
            .resourceName("shared")
        let plan = OperatorPlan.make(
            snapshot: cluster(nodes: [("w", [])], policies: [first, second]),
            options: RenderOptions(namespace: ns)
        )
        #expect(plan.writesDevicePluginConfigMap)
        #expect(
            plan.devicePluginConfigMap.data["w"]
                == #"{"resourceList":[{"resourceName":"shared","selectors":{"vendors":["8086"],"IsRdma":false,"NeedVhostNet":false},"SelectorObj":null}]}"#
        )
        #expect(plan.labels.first { $0.node == "w" }?.value == "Enabled")
    }

    // MARK: 10. Error path of the ConfigMap sync

    /// Upstream: syncDevicePluginConfigMap returns at the first renderDevicePluginConfigData error: no
    /// ConfigMap, nodes after the failing one not labelled (nodes before it were).
    @Test("10: a failing node stops the ConfigMap sync: no ConfigMap, later nodes not labelled")
    func configMapErrorPath() throws {
        let plain = SriovNetworkNodePolicy.fixture("plain").vendor("8086").numVfs(2).resourceName("plain")
            .nodeSelector(["kubernetes.io/hostname": "a"])
        let filter = SriovNetworkNodePolicy.fixture("nf").netFilter("openstack/NetworkID:x").numVfs(1)
            .nodeSelector(["kubernetes.io/hostname": "b"])
        let snapshot = cluster(nodes: [("a", [.n0A]), ("b", []), ("c", [.n0A])], policies: [plain, filter])
        let plan = OperatorPlan.make(snapshot: snapshot, options: RenderOptions(namespace: ns))
        #expect(!plan.writesDevicePluginConfigMap)
        #expect(plan.devicePluginConfigError?.node == "b")
        #expect(plan.labels.map(\.node) == ["a"])
        #expect(plan.renderErrors.contains { $0.contains("node state b doesn't contain interfaces data") })
        let kinds = try #require(plan.objects()["items"]?.arrayValue).compactMap { $0["kind"]?.stringValue }
        #expect(!kinds.contains("ConfigMap"))
        #expect(kinds.filter { $0 == "SriovNetworkNodeState" }.count == 3)
    }

    // MARK: 11. Supported NICs

    /// Upstream: deployment/sriov-network-operator-chart/templates/configmap.yaml (commit 32f7fe12).
    @Test(
        "11: the built-in NIC table has the chart's newer models",
        arguments: [
            ("8086", "0d58", "154c"), ("8086", "1599", "1889"), ("8086", "579c", "1889"), ("8086", "579d", "1889"),
            ("8086", "579e", "1889"), ("8086", "12d2", "1889"), ("8086", "12d3", "1889"), ("1d0f", "ec20", "ec20"),
        ]
    )
    func supportedNICs(vendor: String, pf: String, vf: String) {
        #expect(SupportedNICs.upstreamDefault.isSupported(vendor: vendor, pfDeviceID: pf))
        #expect(SupportedNICs.upstreamDefault.vfDeviceID(ofPF: pf) == vf)
    }

    @Test("11: E823-L names follow the chart (SFP 124d, backplane 124c); 45 models")
    func e823() {
        let models = SupportedNICs.upstreamDefault.models
        #expect(models.count == 45)
        #expect(models.first { $0.pfDeviceID == "124d" }?.name == "Intel_ice_Columbiapark_E823L_SFP")
    }

    // MARK: 12. One NeedToUpdateSriov

    /// Upstream: api/v1/helper.go NeedToUpdateSriov; pkg/plugins/generic needToUpdateVFs drains when it is
    /// true for a PF that has VFs.
    @Test(
        "12: plan drains for every NeedToUpdateSriov condition",
        arguments: [
            (
                "vf mtu", SriovNetworkNodeState.VirtualFunction(driver: "iavf", pciAddress: "v", mtu: 1500, vfID: 0),
                9000, "", false, "ETH", "up"
            ),
            (
                "vdpa", .init(driver: "iavf", pciAddress: "v", mtu: 1500, vfID: 0, vdpaType: "virtio"), 0, "", false,
                "ETH", "up"
            ),
            ("link down", .init(driver: "iavf", pciAddress: "v", vfID: 0), 0, "", false, "ETH", "down"),
            (
                "guid", .init(driver: "mlx5_core", pciAddress: "v", vfID: 0, guid: "0000:0000:0000:0000"), 0, "", true,
                "ETH", "up"
            ),
            (
                "ib guid", .init(driver: "mlx5_core", pciAddress: "v", vfID: 0, guid: "0000:0000:0000:0000"), 0, "",
                false, "IB", "up"
            ),
        ]
    )
    func sharedNeedToUpdate(
        what: String,
        vf: SriovNetworkNodeState.VirtualFunction,
        groupMTU: Int,
        vdpa: String,
        isRdma: Bool,
        linkType: String,
        admin: String
    ) {
        var status = SriovNetworkNodeState.InterfaceExt.n0A
        status.numVfs = 1
        status.Vfs = [vf]
        status.linkType = linkType
        status.linkAdminState = admin
        let spec = SriovNetworkNodeState.Interface(
            pciAddress: status.pciAddress,
            numVfs: 1,
            name: status.name,
            vfGroups: [
                .init(
                    resourceName: "r",
                    deviceType: "netdevice",
                    vfRange: "0-0",
                    policyName: "p",
                    mtu: groupMTU,
                    isRdma: isRdma,
                    vdpaType: vdpa
                )
            ]
        )
        #expect(NeedToUpdateSriov.needsUpdate(spec: spec, status: status), "\(what)")
        let disruption = DisruptionEstimate.estimate(
            spec: .init(interfaces: [spec]),
            status: .init(interfaces: [status]),
            previousSpec: nil,
            isVirtual: false
        )
        #expect(disruption.needsDrain, "\(what)")
    }

    @Test("12: a PF at 0 VFs never drains; a matching PF needs nothing")
    func noDrain() {
        var status = SriovNetworkNodeState.InterfaceExt.n0A
        status.numVfs = 0
        let spec = SriovNetworkNodeState.Interface(pciAddress: status.pciAddress, numVfs: 4, name: status.name)
        let disruption = DisruptionEstimate.estimate(
            spec: .init(interfaces: [spec]),
            status: .init(interfaces: [status]),
            previousSpec: nil,
            isVirtual: false
        )
        #expect(!disruption.needsDrain)
        status.numVfs = 4
        #expect(!NeedToUpdateSriov.needsUpdate(spec: spec, status: status))
    }

    // MARK: 13. Mutating defaults follow the config

    /// Upstream: pkg/webhook/mutate.go runs only with the webhook; ByPriority on the stored priority (0 when
    /// absent) then makes an un-prioritised policy win over one with priority 50.
    @Test("13: enableOperatorWebhook false: no priority 99, an absent priority counts as 0")
    func webhookDefaults() {
        let unset = SriovNetworkNodePolicy.fixture("unset", priority: nil).pfNames("ens803f0").numVfs(2)
            .resourceName("unset")
        let fifty = SriovNetworkNodePolicy.fixture("fifty", priority: 50).pfNames("ens803f0").numVfs(3)
            .resourceName("fifty")
        let without = OperatorPlan.make(
            snapshot: cluster(nodes: [("w", [.n0A])], policies: [unset, fifty], webhook: false),
            options: RenderOptions(namespace: ns)
        )
        #expect(!without.appliesWebhookDefaults)
        #expect(without.policies.map(\.spec.priority) == [50, nil])
        #expect(without.nodeStates.first?.state.spec.interfaces.first?.vfGroups.first?.resourceName == "unset")
        let with = OperatorPlan.make(
            snapshot: cluster(nodes: [("w", [.n0A])], policies: [unset, fifty], webhook: true),
            options: RenderOptions(namespace: ns)
        )
        #expect(with.appliesWebhookDefaults)
        #expect(with.nodeStates.first?.state.spec.interfaces.first?.vfGroups.first?.resourceName == "fifty")
    }

    // MARK: Issue 14, item 13

    @Test("issue 14/13: N policies overlapping on one PF give each pair once, then a summary")
    func findingsScale() {
        let policies = (0..<30).map { i in
            SriovNetworkNodePolicy.fixture("p\(i)").pfNames("ens803f0").numVfs(4).resourceName("r\(i)")
        }
        let snapshot = cluster(nodes: [("w", [.n0A])], policies: policies)
        let findings = AdmissionValidator(operatorNamespace: ns, supportedNICs: .upstreamDefault).validateAll(snapshot)
        // 30·29/2 = 435 pairs: 20 listed, one summary.
        #expect(findings.count == AdmissionValidator.conflictFindingLimit + 1)
        #expect(findings.last?.message.hasPrefix("415 more conflicting policy pairs not listed") == true)
    }

    @Test("issue 14/13: two overlapping policies give one finding, not two")
    func pairOnce() {
        let a = SriovNetworkNodePolicy.fixture("a").pfNames("ens803f0").numVfs(4)
        let b = SriovNetworkNodePolicy.fixture("b").pfNames("ens803f0").numVfs(4)
        let findings = AdmissionValidator(operatorNamespace: ns, supportedNICs: .upstreamDefault)
            .validateAll(cluster(nodes: [("w", [.n0A])], policies: [a, b]))
        #expect(findings.map(\.message) == ["VF index range in ens803f0 is overlapped with existing policy b"])
    }

    @Test("issue 14/13: a network with resourceName \"\" is refused, not rendered for \"openshift.io/\"")
    func emptyResourceName() {
        let network = SriovNetwork(metadata: ObjectMeta(name: "n", namespace: ns), spec: .init(resourceName: ""))
        let result = NetworkRenderer(options: RenderOptions(namespace: ns)).render(network)
        #expect(result.networkAttachment == nil)
        #expect(result.ready.status == "False")
        let findings = AdmissionValidator(operatorNamespace: ns, supportedNICs: .upstreamDefault)
            .validate(network: network)
        #expect(findings.map(\.field) == ["spec.resourceName"])
    }
}
