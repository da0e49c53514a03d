import KubeCore
import SriovTestKit
import Testing

/// SriovHost's RTNetlink and LinuxSysFS code against the real igb driver, through the test-only `sriov-nl-probe`
/// executable, compared with what `ip -j -d link show` reads back in the same guest. Until now VF info decoding was
/// tested on hand-built replies only. One boot.
@Suite(
    "rtnetlink VF attributes and refusals on real igb NICs (QEMU guest)",
    .enabled(if: RealNICGuest.isAvailable),
    .tags(.realNIC),
    .timeLimit(.minutes(30))
)
struct RealNICNetlinkTests {
    static let readBoth = "$PROBE show $PF0NET\nip -j -d link show $PF0NET"

    static let boot = RealNICBatch(
        steps: [
            RealNICStep("setup", "echo 4 > /sys/bus/pci/devices/$PF0/sriov_numvfs && echo \"pf $PF0NET\""),
            RealNICStep("read-initial", Self.readBoth),
            // The PF link is still down: igb refuses any rate limit then.
            RealNICStep("rate-link-down", "$PROBE set-vf $PF0NET 2 max_tx_rate=100"),
            RealNICStep(
                "pf-up",
                """
                $PROBE set-link $PF0NET up || exit 1
                for i in $(seq 1 300); do [ "$(cat /sys/class/net/$PF0NET/carrier 2>/dev/null)" = 1 ] && exit 0; sleep 0.1; done
                echo "no carrier on $PF0NET after 30 s"; exit 1
                """
            ),
            RealNICStep("set-vf0", "$PROBE set-vf $PF0NET 0 mac=02:11:22:33:44:55 vlan=100 qos=3"),
            RealNICStep("set-vf1", "$PROBE set-vf $PF0NET 1 spoofchk=off trust=on"),
            RealNICStep("set-vf2", "$PROBE set-vf $PF0NET 2 max_tx_rate=100"),
            RealNICStep("set-vf3", "$PROBE set-vf $PF0NET 3 mac=02:11:22:33:44:03 vlan=200"),
            RealNICStep("refuse-link-state", "$PROBE set-vf $PF0NET 3 state=disable"),
            RealNICStep("refuse-8021ad", "$PROBE set-vf $PF0NET 0 vlan=100 proto=802.1ad"),
            RealNICStep("refuse-min-rate", "$PROBE set-vf $PF0NET 2 min_tx_rate=10 max_tx_rate=100"),
            RealNICStep("read-after", Self.readBoth),
            RealNICStep(
                "numvfs-busy",
                "$PROBE write /sys/bus/pci/devices/$PF0/sriov_numvfs 2\nrc=$?\necho \"numvfs $(cat /sys/bus/pci/devices/$PF0/sriov_numvfs)\"\nexit $rc"
            ),
            RealNICStep(
                "numvfs-range",
                "$PROBE write /sys/bus/pci/devices/$PF1/sriov_numvfs 8\nrc=$?\necho \"numvfs $(cat /sys/bus/pci/devices/$PF1/sriov_numvfs)\"\nexit $rc"
            ),
            RealNICStep(
                "apply-too-many",
                """
                rm -rf /etc/sriov-operator
                cat > /tmp/too-many.yaml <<EOF
                apiVersion: sriovnetwork.openshift.io/v1
                kind: SriovNetworkNodePolicy
                metadata: {name: igb-too-many, namespace: sriov-network-operator}
                spec:
                  resourceName: igb_many
                  nodeSelector: {}
                  numVfs: 8
                  nicSelector: {pfNames: ["$PF1NET"]}
                EOF
                $SRIOV apply -f /tmp/too-many.yaml
                """
            ),
            RealNICStep(
                "netns-move",
                """
                set -e
                ip netns add nlprobe
                vf=$(vfnet $PF0 1)
                echo "vf $vf"
                $PROBE move "$vf" /run/netns/nlprobe
                echo "in-netns $(ip -n nlprobe -j link show "$vf" | tr -d ' ')"
                echo "host-sysfs [$(vfnet $PF0 1)]"
                ip link show "$vf" >/dev/null 2>&1 && echo "still-on-host yes" || echo "still-on-host no"
                ip netns exec nlprobe $PROBE set-link "$vf" name=pod0 up
                echo "renamed $(ip -n nlprobe -j link show pod0 | tr -d ' ')"
                $PROBE move pod0 /proc/1/ns/net --from /run/netns/nlprobe
                echo "back $(ip -j link show pod0 | tr -d ' ')"
                echo "back-sysfs [$(vfnet $PF0 1)]"
                echo "netns-left $(ip -n nlprobe -j link show | tr -d ' ')"
                """
            ),
        ],
        prelude: RealNIC.prelude,
        nics: 2,
        timeout: .seconds(1200)
    )

    /// Splits a "probe JSON line, then ip JSON" step into our decoded link and ip's view of the same link.
    static func bothViews(_ step: RealNICStepResult) throws -> (ours: JSONValue, ip: JSONValue) {
        let lines = step.output.split(separator: "\n", maxSplits: 1).map(String.init)
        #expect(step.status == 0, "\(step)")
        guard lines.count == 2 else { throw RealNICError(message: "expected two JSON lines in \(step)") }
        let ip = try JSONParser.parse(lines[1])
        return (try JSONParser.parse(lines[0]), try #require(ip.arrayValue?.first))
    }

    /// Every VF attribute RTNetlink decoded equals what ip decoded for the same VF.
    static func expectSameVFs(_ ours: JSONValue, _ ip: JSONValue, count: Int) {
        let ourVFs = ours["vfs"]?.arrayValue ?? []
        let ipVFs = ip["vfinfo_list"]?.arrayValue ?? []
        #expect(ourVFs.count == count, "\(ours)")
        #expect(ipVFs.count == count, "\(ip)")
        for ipVF in ipVFs {
            let index = ipVF["vf"]?.intValue ?? -1
            guard let vf = ourVFs.first(where: { $0["vf"]?.intValue == index }) else {
                Issue.record("RTNetlink did not report VF \(index): \(ours)")
                continue
            }
            let vlan = ipVF["vlan_list"]?.arrayValue?.first
            #expect(vf["mac"] == ipVF["address"], "VF \(index)")
            #expect(vf["vlan"]?.intValue == (vlan?["vlan"]?.intValue ?? 0), "VF \(index)")
            #expect(vf["qos"]?.intValue == (vlan?["qos"]?.intValue ?? 0), "VF \(index)")
            #expect(vf["spoofCheck"] == ipVF["spoofchk"], "VF \(index)")
            #expect(vf["trust"] == ipVF["trust"], "VF \(index)")
            #expect(vf["linkState"] == ipVF["link_state"], "VF \(index)")
            #expect(vf["maxTxRate"] == ipVF["rate"]?["max_tx"], "VF \(index)")
            #expect(vf["minTxRate"] == ipVF["rate"]?["min_tx"], "VF \(index)")
        }
    }

    /// The `{"error": …}` object `sriov-nl-probe` prints when SriovHost throws.
    static func hostError(_ step: RealNICStepResult) throws -> JSONValue {
        #expect(step.status == 1, "\(step)")
        let line = try #require(step.output.split(separator: "\n").first { $0.hasPrefix("{\"error\"") }, "\(step)")
        return try #require(try JSONParser.parse(String(line))["error"])
    }

    @Test("RTNetlink reads every VF attribute of fresh igb VFs exactly as ip does")
    func readsFreshVFs() async throws {
        let run = try await Self.boot.run()
        let (ours, ip) = try Self.bothViews(try run.step("read-initial"))
        #expect(ours["name"] == ip["ifname"])
        #expect(ours["mac"] == ip["address"])
        #expect(ours["mtu"] == ip["mtu"])
        Self.expectSameVFs(ours, ip, count: 4)
        // igb's defaults: spoof checking on, not trusted, link state auto, no rate limit.
        for vf in ours["vfs"]?.arrayValue ?? [] {
            #expect(vf["spoofCheck"] == true && vf["trust"] == false && vf["linkState"] == "auto", "\(vf)")
            #expect(vf["maxTxRate"] == 0, "\(vf)")
        }
    }

    @Test("RTNetlink sets MAC, VLAN, QoS, spoof checking, trust and max rate through igb; ip reads them back")
    func setsVFAttributes() async throws {
        let run = try await Self.boot.run()
        for name in ["pf-up", "set-vf0", "set-vf1", "set-vf2", "set-vf3"] {
            let step = try run.step(name)
            #expect(step.status == 0, "\(step)")
        }
        let (ours, ip) = try Self.bothViews(try run.step("read-after"))
        Self.expectSameVFs(ours, ip, count: 4)
        let vfs = ip["vfinfo_list"]?.arrayValue ?? []
        func vf(_ n: Int) -> JSONValue? { vfs.first { $0["vf"]?.intValue == n } }
        #expect(vf(0)?["address"] == "02:11:22:33:44:55")
        #expect(vf(0)?["vlan_list"]?.arrayValue?.first?["vlan"] == 100)
        #expect(vf(0)?["vlan_list"]?.arrayValue?.first?["qos"] == 3)
        #expect(vf(1)?["spoofchk"] == false)
        #expect(vf(1)?["trust"] == true)
        #expect(vf(2)?["rate"]?["max_tx"] == 100)
        #expect(vf(3)?["address"] == "02:11:22:33:44:03")
        #expect(vf(3)?["vlan_list"]?.arrayValue?.first?["vlan"] == 200)
    }

    @Test("igb refuses a rate limit while the PF link is down: a HostError naming the VF, the PF link and EINVAL")
    func refusesRateWhileDown() async throws {
        let run = try await Self.boot.run()
        let pf = try #require(RealNIC.facts(try run.step("setup"))["pf"])
        let error = try Self.hostError(try run.step("rate-link-down"))
        #expect(error["errno"] == 22)
        #expect(error["code"] == "invalidArgument")
        let description = error["description"]?.stringValue ?? ""
        #expect(description.contains("set VF 2 on link \(pf)"), "\(description)")
        #expect(description.contains("errno 22"), "\(description)")
        #expect(
            description.contains("is down: drivers such as igb refuse VF rates until it has carrier"),
            "\(description)"
        )
    }

    @Test("what igb does not implement comes back as HostErrors with the errno: link state, 802.1ad, min rate")
    func refusesUnsupported() async throws {
        let run = try await Self.boot.run()
        let pf = try #require(RealNIC.facts(try run.step("setup"))["pf"])
        let state = try Self.hostError(try run.step("refuse-link-state"))
        #expect(state["errno"] == 95)
        #expect(state["code"] == "unsupported")
        #expect(state["description"]?.stringValue?.contains("set VF 3 on link \(pf)") == true, "\(state)")
        let proto = try Self.hostError(try run.step("refuse-8021ad"))
        #expect(proto["errno"] == 93, "\(proto)")
        #expect(proto["code"] == "unsupported", "\(proto)")
        #expect(proto["description"]?.stringValue?.contains("set VF 0 on link \(pf)") == true, "\(proto)")
        let minRate = try Self.hostError(try run.step("refuse-min-rate"))
        #expect(minRate["errno"] == 22, "\(minRate)")
        #expect(minRate["description"]?.stringValue?.contains("refuse VF rates") == false, "the PF is up: \(minRate)")
        #expect(minRate["description"]?.stringValue?.contains("set VF 2 on link \(pf)") == true, "\(minRate)")
    }

    @Test("sriov_numvfs refusals name the PF's file and the errno: EBUSY for non-zero to non-zero, ERANGE above 7")
    func refusesNumVfs() async throws {
        let run = try await Self.boot.run()
        let busyStep = try run.step("numvfs-busy")
        let busy = try Self.hostError(busyStep)
        #expect(busy["errno"] == 16)
        #expect(busy["code"] == "busy")
        #expect(busy["path"]?.stringValue == "/sys/bus/pci/devices/\(RealNIC.pf0)/sriov_numvfs")
        #expect(busy["description"]?.stringValue?.contains("Device or resource busy") == true, "\(busy)")
        #expect(RealNIC.facts(busyStep)["numvfs"] == "4", "the VFs are untouched: \(busyStep)")

        let rangeStep = try run.step("numvfs-range")
        let range = try Self.hostError(rangeStep)
        #expect(range["errno"] == 34)
        #expect(range["code"] == "invalidArgument")
        #expect(range["path"]?.stringValue == "/sys/bus/pci/devices/\(RealNIC.pf1)/sriov_numvfs")
        #expect(range["description"]?.stringValue?.contains("write \"8\" failed") == true, "\(range)")
        #expect(RealNIC.facts(rangeStep)["numvfs"] == "0", "\(rangeStep)")
    }

    @Test("sriov apply refuses more VFs than igb's sriov_totalvfs before touching the PF")
    func applyRefusesTooManyVFs() async throws {
        let run = try await Self.boot.run()
        let step = try run.step("apply-too-many")
        #expect(step.status == 1, "\(step)")
        #expect(step.output.contains("numVfs(8) in CR igb-too-many exceed the maximum allowed value(7)"), "\(step)")
        #expect(step.output.contains("policies rejected; nothing was changed"), "\(step)")
        let range = try run.step("numvfs-range")
        #expect(RealNIC.facts(range)["numvfs"] == "0")
    }

    @Test("RTNetlink moves a real VF netdev into a network namespace, renames it there, and moves it back")
    func movesVFNetdev() async throws {
        let run = try await Self.boot.run()
        let step = try run.step("netns-move")
        #expect(step.status == 0, "\(step)")
        let facts = RealNIC.facts(step)
        let vf = try #require(facts["vf"], "\(step)")
        #expect(facts["in-netns"]?.contains("\"ifname\":\"\(vf)\"") == true, "\(step)")
        #expect(facts["host-sysfs"] == "[]", "the host's sysfs no longer lists the VF's netdev: \(step)")
        #expect(facts["still-on-host"] == "no", "\(step)")
        #expect(facts["renamed"]?.contains("\"UP\"") == true, "renamed and up inside the namespace: \(step)")
        #expect(facts["back"]?.contains("\"ifname\":\"pod0\"") == true, "\(step)")
        #expect(facts["back-sysfs"] == "[pod0]", "\(step)")
        #expect(facts["netns-left"]?.contains("pod0") == false, "\(step)")
    }
}
