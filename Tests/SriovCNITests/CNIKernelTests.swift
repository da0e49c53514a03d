import Foundation
import KubeCore
import SriovAPI
import SriovCNI
import SriovHost
import Testing

/// ADD/DEL/CHECK/GC against the real kernel: veth links stand in for VF netdevs and move between real namespaces;
/// the PF side is the simulator's VF state; IPAM is Debian's host-local. Reference §4.7 cases, by number.
@Suite(
    "sriov-cni on real namespaces",
    .tags(.netns),
    .enabled(if: CNIFixture.isAvailable, "needs root, `ip netns` and /usr/lib/cni/host-local"),
    .timeLimit(.minutes(2))
)
struct CNIKernelTests {
    func withFixture(kernelVFs: [Int] = [1], _ body: (CNIFixture) throws -> Void) throws {
        let fixture = try CNIFixture(kernelVFs: kernelVFs)
        defer { fixture.tearDown() }
        try body(fixture)
    }

    @Test("§4.7.1 kernel VF + host-local (binary): VLAN/spoofchk/trust on the PF, net1 up with IP and route in the pod")
    func addKernelVF() throws {
        try self.withFixture { f in
            let conf = f.conf(ipam: true, #""vlan":100,"spoofchk":"off","trust":"on""#)
            let add = try f.exec("ADD", conf)
            #expect(add.status == 0, "\(add.stdout) \(add.stderr)")
            #expect(
                add.stdout
                    == #"{"cniVersion":"1.0.0","interfaces":[{"name":"net1","mac":"7e:11:22:33:44:51","mtu":1500,"sandbox":"\#(CNIFixture.path(f.podNS))"}],"ips":[{"interface":0,"address":"10.56.217.2/24","gateway":"10.56.217.1"}],"routes":[{"dst":"0.0.0.0/0"}]}"#
            )
            let vf = try f.vf(1)
            #expect(vf.vlan == 100 && vf.qos == 0 && vf.spoofCheck == false && vf.trust == true)
            let net1 = try #require(f.link("net1", in: f.podNS))
            #expect((net1["flags"] as? [String])?.contains("UP") == true)
            #expect(net1["address"] as? String == "7e:11:22:33:44:51")
            #expect(f.link(f.vfNetdev(1), in: f.hostNS) == nil)
            #expect(try f.addresses("net1", in: f.podNS).contains("10.56.217.2/24"))
            let routes = try f.routes(in: f.podNS)
            #expect(routes.contains { $0["dst"] as? String == "default" && $0["gateway"] as? String == "10.56.217.1" })
            #expect(f.file(f.stateDir + "/pci/" + CNIFixture.vfAddress(1)) == CNIFixture.path(f.podNS))
            let cachePath = f.stateDir + "/c1-net1"
            let attributes = try FileManager.default.attributesOfItem(atPath: cachePath)
            #expect((attributes[.posixPermissions] as? Int) == 0o600)
            let cache = try SriovCNICache.decode(Array((f.file(cachePath) ?? "").utf8))
            #expect(cache.original.hostIFName == f.vfNetdev(1) && cache.master == f.pf && cache.vfID == 1)

            let del = try f.exec("DEL", conf)
            #expect(del.status == 0 && del.stdout.isEmpty, "\(del.stdout)")
            #expect(try f.vf(1) == SimulatedVFControl.pristine(1))
            #expect(f.link(f.vfNetdev(1), in: f.hostNS) != nil)
            #expect(f.link("net1", in: f.podNS) == nil)
            #expect(f.file(cachePath) == nil)
            #expect(f.file(f.stateDir + "/pci/" + CNIFixture.vfAddress(1)) == nil)
            #expect(!FileManager.default.fileExists(atPath: f.ipamDir + "/sriov-net/10.56.217.2"))
        }
    }

    @Test("§4.7.2 runtimeConfig MAC sets admin and effective MAC; DEL restores name, MAC, MTU, VLAN, spoofchk, trust")
    func runtimeMAC() throws {
        try self.withFixture { f in
            try f.ipHost(["link", "set", f.vfNetdev(1), "mtu", "1400"])
            let conf = f.conf(
                #""vlan":100,"spoofchk":"off","trust":"on","link_state":"enable","max_tx_rate":100,"runtimeConfig":{"mac":"CA:FE:C0:FF:EE:00"}"#
            )
            let add = try f.run("ADD", conf, args: "MAC=02:00:00:00:00:09")
            #expect(add.exitCode == 0, "\(add.stdout)")
            guard case .object(let result) = try JSONParser.parse(add.stdout) else { return }
            #expect(result["interfaces"]?.arrayValue?.first?["mac"] == "ca:fe:c0:ff:ee:00")
            #expect(result["interfaces"]?.arrayValue?.first?["mtu"] == 1400)
            let vf = try f.vf(1)
            #expect(
                vf.mac == "ca:fe:c0:ff:ee:00" && vf.linkState == .enable && vf.maxTxRate == 100 && vf.minTxRate == 0
            )
            #expect(f.link("net1", in: f.podNS)?["address"] as? String == "ca:fe:c0:ff:ee:00")

            let del = try f.run("DEL", conf)
            #expect(del == SriovCNIPlugin.Output(stdout: "", exitCode: 0))
            #expect(try f.vf(1) == SimulatedVFControl.pristine(1))
            let back = try #require(f.link(f.vfNetdev(1), in: f.hostNS))
            #expect(back["address"] as? String == "7e:11:22:33:44:51")
            #expect(back["mtu"] as? Int == 1400)
            #expect((back["flags"] as? [String])?.contains("UP") == false)
        }
    }

    @Test("§4.7.3 DPDK VF: only the PF side is configured; result has the PF MTU and no zero MAC; IPs only reported")
    func dpdk() throws {
        try self.withFixture(kernelVFs: []) { f in
            try f.bindToVFIO(1)
            let add = try f.run("ADD", f.conf(ipam: true, #""vlan":1000"#))
            #expect(add.exitCode == 0, "\(add.stdout)")
            #expect(
                add.stdout
                    == #"{"cniVersion":"1.0.0","interfaces":[{"name":"net1","mtu":9000,"sandbox":"\#(CNIFixture.path(f.podNS))"}],"ips":[{"interface":0,"address":"10.56.217.2/24","gateway":"10.56.217.1"}],"routes":[{"dst":"0.0.0.0/0"}]}"#
            )
            #expect(try f.vf(1).vlan == 1000)
            #expect(f.link("net1", in: f.podNS) == nil)
            let del = try f.run("DEL", f.conf(ipam: true, #""vlan":1000"#))
            #expect(del.exitCode == 0, "\(del.stdout)")
            #expect(try f.vf(1).vlan == 0)
            #expect(f.file(f.stateDir + "/pci/" + CNIFixture.vfAddress(1)) == nil)
        }
    }

    @Test("§4.7.4 validation errors with upstream's messages (exit 1, code 999), nothing changed")
    func validation() throws {
        try self.withFixture { f in
            let cases = [
                (#""vlanQoS":3"#, "vlan id must be configured to set vlan QoS to a non-nil value"),
                (#""vlan":5000"#, "vlan id 5000 invalid: value must be in the range 0-4094"),
                (#""vlan":0,"vlanProto":"802.1ad""#, "non-zero vlan id must be configured to set vlan proto 802.1ad"),
                (#""link_state":"up""#, "invalid link_state value: up"),
            ]
            for (extra, message) in cases {
                let add = try f.run("ADD", f.conf(extra))
                #expect(add.exitCode == 1)
                #expect(
                    CNIError.parse(Array(add.stdout.utf8))
                        == CNIError.internal("SRIOV-CNI failed to load netconf: LoadConf(): \(message)")
                )
            }
            #expect(try f.vf(1) == SimulatedVFControl.pristine(1))
            #expect(f.link(f.vfNetdev(1), in: f.hostNS) != nil)
        }
    }

    @Test("§4.7.5 a live allocation refuses ADD as already allocated; a dead one is released and ADD proceeds")
    func allocation() throws {
        try self.withFixture { f in
            let other = "cnio-\(f.id)"
            try CNIFixture.ip(["netns", "add", other])
            defer { _ = try? CNIFixture.ip(["netns", "delete", other]) }
            try FileManager.default.createDirectory(atPath: f.stateDir + "/pci", withIntermediateDirectories: true)
            let allocation = f.stateDir + "/pci/" + CNIFixture.vfAddress(1)
            try CNIFixture.path(other).write(toFile: allocation, atomically: true, encoding: .utf8)
            let refused = try f.run("ADD", f.conf())
            #expect(
                CNIError.parse(Array(refused.stdout.utf8))
                    == CNIError.internal(
                        "SRIOV-CNI failed to load netconf: pci address \(CNIFixture.vfAddress(1)) is already allocated"
                    )
            )
            try CNIFixture.ip(["netns", "delete", other])
            let add = try f.run("ADD", f.conf())
            #expect(add.exitCode == 0, "\(add.stdout)")
            #expect(f.file(allocation) == CNIFixture.path(f.podNS))
        }
    }

    @Test("§4.7.6 a PF's deviceID fails with upstream's lstat message")
    func pfDeviceID() throws {
        try self.withFixture { f in
            let add = try f.run(
                "ADD",
                f.conf().replacingOccurrences(of: CNIFixture.vfAddress(1), with: CNIFixture.pfAddress)
            )
            #expect(
                CNIError.parse(Array(add.stdout.utf8))?.msg
                    == "SRIOV-CNI failed to load netconf: LoadConf(): failed to get VF information: \"lstat /sys/bus/pci/devices/\(CNIFixture.pfAddress)/physfn/net: no such file or directory\""
            )
        }
    }

    @Test("§4.7.7 DEL twice succeeds; DEL after the netns is gone releases IPAM, resets the VF and the allocation")
    func delIdempotent() throws {
        try self.withFixture { f in
            let conf = f.conf(ipam: true, #""vlan":100"#)
            #expect(try f.run("ADD", conf).exitCode == 0)
            #expect(try f.run("DEL", conf) == SriovCNIPlugin.Output(stdout: "", exitCode: 0))
            #expect(try f.exec("DEL", conf).status == 0)

            #expect(try f.run("ADD", conf, containerID: "c2").exitCode == 0)
            try CNIFixture.ip(["netns", "delete", f.podNS])
            let del = try f.exec("DEL", conf, containerID: "c2")
            #expect(del.status == 0 && del.stdout.isEmpty, "\(del.stdout)")
            #expect(try f.vf(1).vlan == 0)
            #expect(f.file(f.stateDir + "/pci/" + CNIFixture.vfAddress(1)) == nil)
            #expect(f.file(f.stateDir + "/c2-net1") == nil)
            #expect(!FileManager.default.fileExists(atPath: f.ipamDir + "/sriov-net/10.56.217.2"))
        }
    }

    @Test("DEL with the cache removed still resets the VF (VLAN, MAC) on the PF, returns the netdev and releases it")
    func delWithoutCache() throws {
        try self.withFixture { f in
            let conf = f.conf(#""vlan":100,"mac":"02:aa:00:00:00:01","trust":"on""#)
            #expect(try f.run("ADD", conf).exitCode == 0)
            try FileManager.default.removeItem(atPath: f.stateDir + "/c1-net1")
            let del = try f.exec("DEL", conf)
            #expect(del.status == 0 && del.stdout.isEmpty, "\(del.stdout)")
            let vf = try f.vf(1)
            #expect(vf.vlan == 0 && vf.mac == "00:00:00:00:00:00" && vf.trust == false)
            #expect(f.link("net1", in: f.podNS) == nil)
            #expect(f.link("net1", in: f.hostNS) != nil)
            #expect(f.file(f.stateDir + "/pci/" + CNIFixture.vfAddress(1)) == nil)
        }
    }

    @Test("DEL without a cache leaves alone a VF that another live pod now holds")
    func delWithoutCacheOtherOwner() throws {
        try self.withFixture { f in
            let conf = f.conf(#""vlan":100"#)
            #expect(try f.run("ADD", conf, containerID: "new").exitCode == 0)
            let del = try f.run("DEL", conf, containerID: "old", netns: "/var/run/netns/gone-\(f.id)")
            #expect(del.exitCode == 0)
            #expect(try f.vf(1).vlan == 100)
            #expect(f.link("net1", in: f.podNS) != nil)
        }
    }

    @Test("§4.7.8 IPAM exhaustion wraps host-local's error and rolls the VF back completely")
    func ipamExhaustion() throws {
        try self.withFixture(kernelVFs: [0, 1]) { f in
            let ipam = #""ipam":{"type":"host-local","ranges":[[{"subnet":"10.0.0.0/30"}]],"dataDir":"\#(f.ipamDir)"}"#
            #expect(try f.run("ADD", f.conf(vf: 0, ipam: false, ipam + #","vlan":5"#), ifName: "net0").exitCode == 0)
            let second = try f.run(
                "ADD",
                f.conf(vf: 1, ipam: false, ipam + #","vlan":7,"trust":"on""#),
                containerID: "c2"
            )
            let error = try #require(CNIError.parse(Array(second.stdout.utf8)))
            #expect(
                error.msg
                    == "failed to set up IPAM plugin type \"host-local\" from the device \"\(f.pf)\": failed to allocate for range 0: no IP addresses available in range set: 10.0.0.1-10.0.0.2"
            )
            #expect(try f.vf(1) == SimulatedVFControl.pristine(1))
            #expect(f.link(f.vfNetdev(1), in: f.hostNS) != nil)
            #expect(f.link("net1", in: f.podNS) == nil)
            #expect(f.file(f.stateDir + "/c2-net1") == nil)
            #expect(f.file(f.stateDir + "/pci/" + CNIFixture.vfAddress(1)) == nil)
        }
    }

    @Test("§4.7.9 cniVersion 0.3.1 result has IP versions and no mtu")
    func version031() throws {
        try self.withFixture { f in
            let add = try f.run("ADD", f.conf(ipam: true, version: "0.3.1"))
            #expect(
                add.stdout
                    == #"{"cniVersion":"0.3.1","interfaces":[{"name":"net1","mac":"7e:11:22:33:44:51","sandbox":"\#(CNIFixture.path(f.podNS))"}],"ips":[{"version":"4","interface":0,"address":"10.56.217.2/24","gateway":"10.56.217.1"}],"routes":[{"dst":"0.0.0.0/0"}],"dns":{}}"#
            )
        }
    }

    @Test("ADD into a pod that already has the interface name fails and puts the VF back as it was")
    func nameTaken() throws {
        try self.withFixture { f in
            try CNIFixture.ip([
                "-n", f.podNS, "link", "add", "net1", "type", "veth", "peer", "name", "x\(f.id.prefix(6))",
            ])
            let add = try f.run("ADD", f.conf(#""vlan":9,"mac":"02:00:00:00:00:33""#))
            #expect(add.exitCode == 1)
            #expect(
                CNIError.parse(Array(add.stdout.utf8))?.msg.hasPrefix("failed to set up pod interface \"net1\"") == true
            )
            #expect(try f.vf(1) == SimulatedVFControl.pristine(1))
            let back = try #require(f.link(f.vfNetdev(1), in: f.hostNS))
            #expect(back["address"] as? String == "7e:11:22:33:44:51")
            #expect(f.file(f.stateDir + "/c1-net1") == nil)
            // The pod's own interface of that name is left exactly as it was.
            #expect(f.link("net1", in: f.podNS) != nil)
        }
    }

    @Test(
        "ADD into a pod that has a link named like the VF's host netdev still gives the pod net1, and DEL brings it home"
    )
    func hostNameTakenInPod() throws {
        try self.withFixture { f in
            let hostName = f.vfNetdev(1)
            try CNIFixture.ip([
                "-n", f.podNS, "link", "add", hostName, "type", "veth", "peer", "name", "y\(f.id.prefix(6))",
            ])
            let add = try f.run("ADD", f.conf(#""vlan":9"#))
            #expect(add.exitCode == 0, "\(add.stdout)")
            #expect(f.link("net1", in: f.podNS)?["address"] as? String == "7e:11:22:33:44:51")
            #expect(f.link(hostName, in: f.hostNS) == nil)
            let del = try f.run("DEL", f.conf(#""vlan":9"#))
            #expect(del.exitCode == 0, "\(del.stdout)")
            #expect(f.link(hostName, in: f.hostNS)?["address"] as? String == "7e:11:22:33:44:51")
            // The pod's own link of that name was never touched.
            #expect(f.link(hostName, in: f.podNS) != nil)
            #expect(f.link("net1", in: f.podNS) == nil)
        }
    }

    @Test("ADD into a pod that has both the pod name and the VF's host name fails and leaves the pod's links alone")
    func bothNamesTakenInPod() throws {
        try self.withFixture { f in
            let hostName = f.vfNetdev(1)
            try CNIFixture.ip([
                "-n", f.podNS, "link", "add", "net1", "type", "veth", "peer", "name", "x\(f.id.prefix(6))",
            ])
            try CNIFixture.ip([
                "-n", f.podNS, "link", "add", hostName, "type", "veth", "peer", "name", "y\(f.id.prefix(6))",
            ])
            let podOwn = try #require(f.link(hostName, in: f.podNS)?["address"] as? String)
            let add = try f.run("ADD", f.conf(#""vlan":9"#))
            #expect(add.exitCode == 1)
            // The VF is back (never left), unchanged; the pod keeps both of its links, its own MAC on each.
            #expect(try f.vf(1) == SimulatedVFControl.pristine(1))
            #expect(f.link(hostName, in: f.hostNS)?["address"] as? String == "7e:11:22:33:44:51")
            #expect(f.link(hostName, in: f.podNS)?["address"] as? String == podOwn)
            #expect(f.link("net1", in: f.podNS) != nil)
        }
    }

    @Test("a PF attribute the driver refuses rolls back the ones already set")
    func pfFailureRollsBack() throws {
        try self.withFixture { f in
            try FileManager.default.createDirectory(
                atPath: f.root + "/.sriov-simulator/vf",
                withIntermediateDirectories: true
            )
            try "trust 95\n".write(toFile: f.root + "/.sriov-simulator/vf/faults", atomically: true, encoding: .utf8)
            let add = try f.run("ADD", f.conf(#""vlan":33,"mac":"02:00:00:00:00:44","spoofchk":"off","trust":"on""#))
            #expect(CNIError.parse(Array(add.stdout.utf8))?.msg.hasPrefix("SRIOV-CNI failed to configure VF") == true)
            try FileManager.default.removeItem(atPath: f.root + "/.sriov-simulator/vf/faults")
            #expect(try f.vf(1) == SimulatedVFControl.pristine(1))
            #expect(f.link(f.vfNetdev(1), in: f.hostNS) != nil)
        }
    }

    @Test(
        "kill -9 between ADD steps, then DEL restores everything and a new ADD succeeds",
        arguments: ["pf-configured", "in-pod"]
    )
    func killedAdd(step: String) throws {
        try self.withFixture { f in
            let conf = f.conf(ipam: true, #""vlan":42,"mac":"02:00:00:00:00:55""#)
            let (process, _, _) = try f.start("ADD", conf, extraEnv: ["SRIOV_CNI_TEST_HANG_AT": step])
            let marker = f.stateDir + "/.reached-\(step)"
            var waited = 0
            while !FileManager.default.fileExists(atPath: marker) && waited < 1000 && process.isRunning {
                usleep(10_000)
                waited += 1
            }
            #expect(FileManager.default.fileExists(atPath: marker))
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            #expect(try f.vf(1).vlan == 42)

            let del = try f.exec("DEL", conf)
            #expect(del.status == 0, "\(del.stdout)")
            #expect(try f.vf(1) == SimulatedVFControl.pristine(1))
            #expect(f.link(f.vfNetdev(1), in: f.hostNS) != nil)

            let again = try f.exec("ADD", conf, containerID: "c9")
            #expect(again.status == 0, "\(again.stdout)")
            #expect(f.link("net1", in: f.podNS)?["address"] as? String == "02:00:00:00:00:55")
        }
    }

    @Test("two concurrent ADDs for one VF: one wins, the other is told it is already allocated")
    func concurrentAdds() throws {
        try self.withFixture { f in
            let otherPod = "cnix-\(f.id)"
            try CNIFixture.ip(["netns", "add", otherPod])
            defer { _ = try? CNIFixture.ip(["netns", "delete", otherPod]) }
            let a = try f.start("ADD", f.conf(), containerID: "ca")
            let b = try f.start("ADD", f.conf(), containerID: "cb", netns: CNIFixture.path(otherPod))
            var outputs: [String] = []
            for (process, out, _) in [a, b] {
                outputs.append(String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self))
                process.waitUntilExit()
            }
            let statuses = [a.0.terminationStatus, b.0.terminationStatus]
            #expect(statuses.sorted() == [0, 1], "\(outputs)")
            let loser = outputs[statuses[0] == 0 ? 1 : 0]
            #expect(CNIError.parse(Array(loser.utf8))?.msg.hasSuffix("is already allocated") == true, "\(loser)")
        }
    }

    @Test("CHECK passes on an intact attachment and detects a VLAN changed behind its back")
    func check() throws {
        try self.withFixture { f in
            let conf = f.conf(ipam: true, #""vlan":100,"spoofchk":"off""#)
            let add = try f.run("ADD", conf)
            #expect(add.exitCode == 0)
            var checkConf = conf
            checkConf.removeLast()
            checkConf += #","prevResult":\#(add.stdout)}"#
            let ok = try f.run("CHECK", checkConf)
            #expect(ok == SriovCNIPlugin.Output(stdout: "", exitCode: 0), "\(ok.stdout)")
            try f.vfControl.setVF(pf: f.pf, VFConfig(vf: 1, vlan: 200))
            let bad = try f.run("CHECK", checkConf)
            #expect(bad.exitCode == 1)
            #expect(
                CNIError.parse(Array(bad.stdout.utf8))?.msg
                    == "VF 1 (\(CNIFixture.vfAddress(1))) of PF \(f.pf): vlan is 200, expected 100"
            )
        }
    }

    @Test("GC (1.1.0) releases attachments the runtime no longer lists and keeps listed ones; STATUS is ready")
    func gcAndStatus() throws {
        try self.withFixture(kernelVFs: [0, 1]) { f in
            #expect(try f.run("ADD", f.conf(vf: 0, #""vlan":10"#), containerID: "keep", ifName: "net0").exitCode == 0)
            #expect(try f.run("ADD", f.conf(vf: 1, #""vlan":11"#), containerID: "stale").exitCode == 0)
            let gcConf =
                #"{"cniVersion":"1.1.0","name":"sriov-net","type":"sriov","cni.dev/valid-attachments":[{"containerID":"keep","ifname":"net0"}]}"#
            let gc = try f.run("GC", gcConf)
            #expect(gc == SriovCNIPlugin.Output(stdout: "", exitCode: 0), "\(gc.stdout)")
            #expect(try f.vf(1).vlan == 0 && f.link(f.vfNetdev(1), in: f.hostNS) != nil)
            #expect(f.file(f.stateDir + "/stale-net1") == nil)
            #expect(try f.vf(0).vlan == 10 && f.file(f.stateDir + "/keep-net0") != nil)
            let status = try f.run("STATUS", #"{"cniVersion":"1.1.0","name":"sriov-net","type":"sriov"}"#)
            #expect(status == SriovCNIPlugin.Output(stdout: "", exitCode: 0))
        }
    }

    @Test("the binary: garbage stdin and bad env are spec errors on stdout; ib-sriov answers under its name")
    func binaryEdges() throws {
        try self.withFixture { f in
            let garbage = try f.exec("ADD", "{{{")
            #expect(garbage.status == 1 && garbage.error?.code == 6)
            let noPath = try f.exec("ADD", f.conf(), extraEnv: ["CNI_PATH": ""])
            #expect(noPath.error == CNIError(code: 4, msg: "required env variables [CNI_PATH] missing"))
            let version = try f.exec("VERSION", "")
            #expect(version.status == 0)
            #expect((version.json["supportedVersions"] as? [String])?.last == "1.1.0")

            let link = f.stateDir + "-bin/ib-sriov"
            try FileManager.default.createDirectory(atPath: f.stateDir + "-bin", withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: f.stateDir + "-bin") }
            try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: CNIFixture.binary)
            let ib = try f.exec("ADD", f.conf(#""mac":"02:00:00:00:00:01""#), binary: link)
            #expect(ib.error?.code == 2, "\(ib.stdout)")
            #expect(ib.error?.msg.hasPrefix("IB-SRIOV-CNI") == true)
        }
    }
}
