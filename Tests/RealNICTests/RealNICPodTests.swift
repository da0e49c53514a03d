import Foundation
import KubeCore
import SriovAPI
import SriovRender
import SriovTestKit
import Testing

/// The whole chain a pod goes through, on real igb VFs in the QEMU guest: the operator's NAD renderer writes the
/// `sriov` CNI configuration of a SriovNetwork, `sriov device-plugin` advertises the VFs and answers the kubelet's
/// Allocate (here `sriov-nl-probe kubelet`), and `sriov-cni` — called as Multus calls it, with the allocated
/// `deviceID` and the pod's `runtimeConfig.mac` added to the NAD's config — moves the VF into the pod's network
/// namespace with the VLAN, MAC, spoof check, trust and rate the network promised. Then CHECK, a VLAN changed behind
/// the plugin's back, DEL (twice).
///
/// Every expected value comes from the SriovNetwork below or from what the guest read before ADD; the attributes
/// are read back with `ip -j -d link show PF` and `ip -n pod1 -j -d addr show net1`.
@Suite(
    "a pod gets a configured igb VF: NAD render + device plugin + sriov-cni (QEMU guest)",
    .enabled(if: RealNICGuest.isAvailable),
    .tags(.realNIC),
    .timeLimit(.minutes(30))
)
struct RealNICPodTests {
    static let podMAC = "02:00:00:aa:bb:01"
    static let netns = "/var/run/netns/pod1"

    /// The network an admin writes; the NAD config the test hands to the CNI is what the operator renders from it.
    static let network = SriovNetwork(
        metadata: ObjectMeta(name: "igb-net", namespace: "sriov-network-operator"),
        spec: .init(
            networkNamespace: "default",
            resourceName: "igb_netdev",
            ipam: #"{"type":"host-local","subnet":"10.56.217.0/24","dataDir":"/tmp/ipam"}"#,
            vlan: 100,
            vlanQoS: 2,
            spoofChk: "off",
            trust: "on",
            maxTxRate: 100
        )
    )

    /// The NAD's `spec.config` as the operator writes it (Go-indented JSON).
    static var nadConfig: String {
        let renderer = NetworkRenderer(options: RenderOptions(namespace: "sriov-network-operator"))
        return (try? renderer.networkAttachment(for: Self.network).spec.config) ?? "render failed"
    }

    static let devicePluginConfig = """
        {"resourceList":[{"resourceName":"igb_netdev","selectors":[{"vendors":["8086"],"drivers":["igbvf"]}]}]}
        """

    /// `sriov-cni` with the CNI environment of one attachment; `$1` is the command.
    static let cniFunction = """
        CNI='\((try? RealNICGuest.builtExecutable("sriov-cni")) ?? "/missing/sriov-cni (not built)")'
        cni() {
            CNI_COMMAND=$1 CNI_CONTAINERID=ctr-pod1 CNI_NETNS=\(Self.netns) CNI_IFNAME=net1 CNI_PATH=/usr/lib/cni \\
            CNI_ARGS='IgnoreUnknown=true;K8S_POD_NAMESPACE=default;K8S_POD_NAME=pod1;K8S_POD_INFRA_CONTAINER_ID=ctr-pod1' \\
            SRIOV_CNI_STATE_DIR=/tmp/cni-state "$CNI" </tmp/pod-conf.json
        }
        """

    static let boot = RealNICBatch(
        steps: [
            RealNICStep(
                "setup",
                """
                set -e
                echo 4 > /sys/bus/pci/devices/$PF0/sriov_numvfs
                ip link set "$PF0NET" up
                for i in $(seq 1 300); do [ "$(cat /sys/class/net/$PF0NET/carrier)" = 1 ] && break; sleep 0.1; done
                echo "carrier $(cat /sys/class/net/$PF0NET/carrier)"
                for i in $(seq 1 100); do [ -n "$(vfnet $PF0 1)" ] && break; sleep 0.1; done
                echo "vf1 $(vfpci $PF0 1)"
                echo "vf1net $(vfnet $PF0 1)"
                echo "vf1mac $(cat /sys/class/net/$(vfnet $PF0 1)/address)"
                echo "pf-before $(ip -j -d link show $PF0NET | tr -d '\\n')"
                """
            ),
            RealNICStep(
                "allocate",
                """
                vf1=$(vfpci $PF0 1)
                mkdir -p /tmp/k /tmp/devinfo
                cat > /tmp/dp-config.json <<'EOF'
                \(Self.devicePluginConfig)
                EOF
                "$PROBE" kubelet /tmp/k --timeout 120 --expect intel.com/igb_netdev=4 \\
                    --allocate intel.com/igb_netdev=$vf1 >/tmp/probe.json 2>/tmp/probe.err &
                probe=$!
                for i in $(seq 1 600); do [ -S /tmp/k/device-plugins/kubelet.sock ] && break; sleep 0.1; done
                "$SRIOV" device-plugin --config-file /tmp/dp-config.json --kubelet-dir /tmp/k \\
                    --devinfo-dir /tmp/devinfo >/tmp/dp.log 2>&1 &
                plugin=$!
                wait $probe
                echo "probe-exit $?"
                kill -TERM $plugin; wait $plugin
                echo "probe-json $(tr -d '\\n' </tmp/probe.json)"
                sed 's/^/probe-err /' /tmp/probe.err
                # Multus: the device the kubelet allocated becomes the delegate config's deviceID, the pod's
                # requested MAC its runtimeConfig.
                dev=$(sed -n 's/.*"PCIDEVICE_INTEL_COM_IGB_NETDEV" *: *"\\([^"]*\\)".*/\\1/p' /tmp/probe.json)
                echo "device-id $dev"
                cat > /tmp/nad-config.json <<'EOF'
                \(Self.nadConfig)
                EOF
                sed "1s/^{/{\\"deviceID\\":\\"$dev\\",\\"runtimeConfig\\":{\\"mac\\":\\"\(Self.podMAC)\\"},/" \\
                    /tmp/nad-config.json >/tmp/pod-conf.json
                echo "pod-conf $(tr -d '\\n' </tmp/pod-conf.json)"
                [ -n "$dev" ]
                """
            ),
            RealNICStep(
                "add",
                """
                ip netns add pod1
                out=$(cni ADD); rc=$?
                echo "add-exit $rc"
                echo "add-result $(echo "$out" | tr -d '\\n')"
                echo "pf-after-add $(ip -j -d link show $PF0NET | tr -d '\\n')"
                echo "pod-link $(ip -n pod1 -j -d addr show net1 | tr -d '\\n')"
                echo "host-vf1net [$(vfnet $PF0 1)]"
                """
            ),
            RealNICStep(
                "check",
                """
                out=$(cni CHECK); echo "check-exit $?"; echo "check-out $(echo "$out" | tr -d '\\n')"
                ip link set "$PF0NET" vf 1 vlan 200
                out=$(cni CHECK); echo "tampered-exit $?"; echo "tampered-out $(echo "$out" | tr -d '\\n')"
                """
            ),
            RealNICStep(
                "del",
                """
                out=$(cni DEL); echo "del-exit $?"; echo "del-out [$(echo "$out" | tr -d '\\n')]"
                echo "pf-after-del $(ip -j -d link show $PF0NET | tr -d '\\n')"
                echo "host-vf1net [$(vfnet $PF0 1)]"
                echo "host-vf1mac $(cat /sys/class/net/$(vfnet $PF0 1)/address 2>/dev/null)"
                echo "pod-links $(ip -n pod1 -j link show | tr -d '\\n')"
                echo "ipam-left [$(ls /tmp/ipam/igb-net 2>/dev/null | grep -v -e '^last_reserved_ip' -e '^lock$' | tr '\\n' ' ')]"
                out=$(cni DEL); echo "del2-exit $?"; echo "del2-out [$(echo "$out" | tr -d '\\n')]"
                """
            ),
            RealNICStep(
                "dpdk",
                """
                # A DPDK pod: VF 2 on vfio-pci has no netdev; ADD sets only the PF side, DEL puts it back.
                vf2=$(vfpci $PF0 2)
                echo "$vf2" > /sys/bus/pci/devices/$vf2/driver/unbind
                echo vfio-pci > /sys/bus/pci/devices/$vf2/driver_override
                echo "$vf2" > /sys/bus/pci/drivers/vfio-pci/bind
                echo "vf2-driver $(basename $(readlink /sys/bus/pci/devices/$vf2/driver))"
                echo "pf-mtu $(cat /sys/class/net/$PF0NET/mtu)"
                ip netns add dpdk1
                printf '%s' '{"cniVersion":"1.0.0","name":"igb-dpdk","type":"sriov","vlan":300,"deviceID":"'$vf2'"}' \
                    > /tmp/dpdk-conf.json
                dpdk() {
                    CNI_COMMAND=$1 CNI_CONTAINERID=ctr-dpdk1 CNI_NETNS=/var/run/netns/dpdk1 CNI_IFNAME=net1 \
                    CNI_PATH=/usr/lib/cni SRIOV_CNI_STATE_DIR=/tmp/cni-state "$CNI" </tmp/dpdk-conf.json
                }
                out=$(dpdk ADD); echo "dpdk-add-exit $?"; echo "dpdk-add-result $(echo "$out" | tr -d '\n')"
                echo "dpdk-pf-after-add $(ip -j -d link show $PF0NET | tr -d '\n')"
                echo "dpdk-netns-links $(ip -n dpdk1 -j link show | tr -d '\n')"
                out=$(dpdk DEL); echo "dpdk-del-exit $?"
                echo "dpdk-pf-after-del $(ip -j -d link show $PF0NET | tr -d '\n')"
                """
            ),
        ],
        prelude: RealNIC.prelude + "\n" + Self.cniFunction,
        nics: 1,
        timeout: .seconds(1200)
    )

    struct Seen {
        var steps: [String: RealNICStepResult]
        /// Facts of every step; a fact printed by two steps (`host-vf1net`) is taken from the later one.
        var facts: [String: String]

        func step(_ name: String) -> String { self.steps[name].map { "\($0)" } ?? "no step \(name)" }

        func json(_ fact: String) throws -> JSONValue {
            let text = try #require(self.facts[fact], "no \(fact) in \(self.steps.values.map(\.description))")
            do {
                return try JSONParser.parse(text)
            } catch {
                throw RealNICError(message: "\(error) in \(fact): \(text)")
            }
        }

        /// VF `index`'s entry of `ip -j -d link show PF`'s `vfinfo_list`.
        func vf(_ fact: String, _ index: Int) throws -> JSONValue {
            let link = try #require(try self.json(fact).arrayValue?.first, "\(fact)")
            let vfs = link["vfinfo_list"]?.arrayValue ?? []
            return try #require(vfs.first { $0["vf"]?.intValue == index }, "no VF \(index) in \(fact): \(link)")
        }
    }

    static func seen() async throws -> Seen {
        let run = try await Self.boot.run()
        var facts: [String: String] = [:]
        for name in ["setup", "allocate", "add", "check", "del", "dpdk"] {
            let step = try run.step(name)
            facts.merge(RealNIC.facts(step)) { _, later in later }
        }
        let setup = try run.step("setup")
        try #require(setup.status == 0, "\(setup)")
        return Seen(steps: run.steps, facts: facts)
    }

    @Test("the device plugin allocates the VF and Multus' deviceID is its PCI address")
    func allocation() async throws {
        let seen = try await Self.seen()
        let vf1 = try #require(seen.facts["vf1"])
        #expect(seen.facts["probe-exit"] == "0", "\(seen.step("allocate"))")
        #expect(seen.facts["device-id"] == vf1, "\(seen.step("allocate"))")
        // The config the CNI got is the operator's NAD config plus what Multus adds, and nothing else.
        let conf = try seen.json("pod-conf")
        let nad = try JSONParser.parse(Self.nadConfig)
        #expect(conf["type"]?.stringValue == "sriov")
        #expect(conf["vlan"] == nad["vlan"] && conf["ipam"] == nad["ipam"], "\(conf)")
        #expect(conf["deviceID"]?.stringValue == vf1)
    }

    @Test(
        "ADD moves the VF into the pod as net1 with the network's VLAN, QoS, spoof check, trust, rate and the pod's MAC"
    )
    func add() async throws {
        let seen = try await Self.seen()
        #expect(seen.facts["add-exit"] == "0", "\(seen.step("add"))")
        let result = try seen.json("add-result")
        let interface = try #require(result["interfaces"]?.arrayValue?.first, "\(result)")
        #expect(interface["name"]?.stringValue == "net1", "\(result)")
        #expect(interface["mac"]?.stringValue == Self.podMAC, "\(result)")
        #expect(interface["sandbox"]?.stringValue == Self.netns, "\(result)")
        let address = result["ips"]?.arrayValue?.first?["address"]?.stringValue ?? ""
        #expect(address.hasPrefix("10.56.217.") && address.hasSuffix("/24"), "\(result)")

        // The PF side, as the kernel driver holds it.
        let vf = try seen.vf("pf-after-add", 1)
        #expect(vf["vlan_list"]?.arrayValue?.first?["vlan"]?.intValue == 100, "\(vf)")
        #expect(vf["vlan_list"]?.arrayValue?.first?["qos"]?.intValue == 2, "\(vf)")
        #expect(vf["address"]?.stringValue == Self.podMAC, "\(vf)")
        #expect(vf["spoofchk"]?.boolValue == false, "\(vf)")
        #expect(vf["trust"]?.boolValue == true, "\(vf)")
        #expect(vf["rate"]?["max_tx"]?.intValue == 100, "\(vf)")

        // The pod side: the netdev left the host and is net1 in the pod, up, with the MAC and the IPAM address.
        #expect(RealNIC.facts(try #require(seen.steps["add"]))["host-vf1net"] == "[]", "\(seen.step("add"))")
        let link = try #require(try seen.json("pod-link").arrayValue?.first, "\(seen.step("add"))")
        #expect(link["ifname"]?.stringValue == "net1")
        #expect(link["address"]?.stringValue == Self.podMAC, "\(link)")
        #expect((link["flags"]?.arrayValue ?? []).contains(.string("UP")), "\(link)")
        let addresses = (link["addr_info"]?.arrayValue ?? []).compactMap { info -> String? in
            guard let local = info["local"]?.stringValue, let prefix = info["prefixlen"]?.intValue else { return nil }
            return "\(local)/\(prefix)"
        }
        #expect(addresses.contains(address), "\(link)")
    }

    @Test("CHECK passes on the configured VF and fails once its VLAN is changed behind the plugin's back")
    func check() async throws {
        let seen = try await Self.seen()
        #expect(seen.facts["check-exit"] == "0", "\(seen.step("check"))")
        #expect(seen.facts["tampered-exit"] != "0", "\(seen.step("check"))")
        let error = try seen.json("tampered-out")
        #expect(error["code"]?.intValue != nil, "\(error)")
        let message = (error["msg"]?.stringValue ?? "") + " " + (error["details"]?.stringValue ?? "")
        #expect(message.lowercased().contains("vlan"), "\(error)")
        #expect(message.contains("100") && message.contains("200"), "\(error)")
    }

    @Test(
        "DEL returns the VF to the host with its original name, MAC, VLAN, spoof check, trust and rate; twice is fine"
    )
    func del() async throws {
        let seen = try await Self.seen()
        #expect(seen.facts["del-exit"] == "0", "\(seen.step("del"))")
        #expect(seen.facts["del-out"] == "[]", "\(seen.step("del"))")
        let before = try seen.vf("pf-before", 1)
        let after = try seen.vf("pf-after-del", 1)
        // The admin MAC is put back (all zeros here), then the host netdev gets its own MAC back; igb reports as the
        // VF's address the last MAC set from either side, so the PF now shows the netdev's original MAC. What
        // matters: the pod's MAC is gone from both sides.
        let originalMAC = try #require(seen.facts["vf1mac"], "\(seen.step("setup"))")
        #expect(seen.facts["host-vf1mac"] == originalMAC, "\(seen.step("del"))")
        #expect(
            after["address"] == before["address"] || after["address"]?.stringValue == originalMAC,
            "before \(before), after \(after)"
        )
        #expect(after["address"]?.stringValue != Self.podMAC, "\(after)")
        #expect((after["vlan_list"]?.arrayValue?.first?["vlan"]?.intValue ?? 0) == 0, "\(after)")
        #expect((after["vlan_list"]?.arrayValue?.first?["qos"]?.intValue ?? 0) == 0, "\(after)")
        #expect(after["spoofchk"] == before["spoofchk"], "before \(before), after \(after)")
        #expect(after["trust"] == before["trust"], "before \(before), after \(after)")
        #expect(after["rate"]?["max_tx"]?.intValue == 0, "\(after)")
        #expect(seen.facts["host-vf1net"] == "[\(seen.facts["vf1net"] ?? "?")]", "\(seen.step("del"))")
        let podLinks = try seen.json("pod-links").arrayValue ?? []
        #expect(podLinks.compactMap { $0["ifname"]?.stringValue } == ["lo"], "\(seen.step("del"))")
        #expect(seen.facts["ipam-left"] == "[]", "\(seen.step("del"))")
        #expect(seen.facts["del2-exit"] == "0", "\(seen.step("del"))")
        #expect(seen.facts["del2-out"] == "[]", "\(seen.step("del"))")
    }

    @Test("a DPDK VF (vfio-pci, no netdev): ADD sets the VLAN on the PF only, the result has the PF's MTU and no MAC")
    func dpdk() async throws {
        let seen = try await Self.seen()
        #expect(seen.facts["vf2-driver"] == "vfio-pci", "\(seen.step("dpdk"))")
        #expect(seen.facts["dpdk-add-exit"] == "0", "\(seen.step("dpdk"))")
        let result = try seen.json("dpdk-add-result")
        let interface = try #require(result["interfaces"]?.arrayValue?.first, "\(result)")
        #expect(interface["name"]?.stringValue == "net1", "\(result)")
        #expect(interface["sandbox"]?.stringValue == "/var/run/netns/dpdk1", "\(result)")
        // Upstream: the admin MAC is all zeros, so no mac; mtu is the PF's.
        #expect(interface["mac"] == nil, "\(result)")
        #expect(interface["mtu"]?.intValue == seen.facts["pf-mtu"].flatMap { Int($0) }, "\(result)")
        let vf = try seen.vf("dpdk-pf-after-add", 2)
        #expect(vf["vlan_list"]?.arrayValue?.first?["vlan"]?.intValue == 300, "\(vf)")
        let links = try seen.json("dpdk-netns-links").arrayValue ?? []
        #expect(links.compactMap { $0["ifname"]?.stringValue } == ["lo"], "nothing is moved: \(links)")
        #expect(seen.facts["dpdk-del-exit"] == "0", "\(seen.step("dpdk"))")
        let restored = try seen.vf("dpdk-pf-after-del", 2)
        #expect((restored["vlan_list"]?.arrayValue?.first?["vlan"]?.intValue ?? 0) == 0, "\(restored)")
    }
}
