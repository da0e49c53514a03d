import KubeCore
import SriovAPI
import Testing

@Suite("sriov-cni NetConf, results and cache (wire formats)")
struct NetConfTests {
    func conf(_ json: String) throws -> SriovNetConf {
        guard case .object(let object) = try JSONParser.parse(json) else { throw TestFailure("not an object") }
        return try SriovNetConf.decode(object)
    }

    // Upstream: pkg/config/config.go LoadConf — messages and order of the VLAN/link_state checks.
    @Test(
        "VLAN, QoS, protocol and link_state are checked with upstream's messages",
        arguments: [
            (#"{"vlanQoS":3}"#, "vlan id must be configured to set vlan QoS to a non-nil value"),
            (#"{"vlanProto":"802.1ad"}"#, "vlan id must be configured to set vlan proto to a non-nil value"),
            (#"{"vlan":5000}"#, "vlan id 5000 invalid: value must be in the range 0-4094"),
            (#"{"vlan":-1}"#, "vlan id -1 invalid: value must be in the range 0-4094"),
            (#"{"vlan":10,"vlanQoS":8}"#, "vlan QoS PCP 8 invalid: value must be in the range 0-7"),
            (#"{"vlan":0,"vlanQoS":3}"#, "non-zero vlan id must be configured to set vlan QoS to a non-zero value"),
            (#"{"vlan":0,"vlanProto":"802.1ad"}"#, "non-zero vlan id must be configured to set vlan proto 802.1ad"),
            (#"{"vlan":7,"vlanProto":"qinq"}"#, "vlan Proto qinq invalid: value must be '802.1Q' or '802.1ad'"),
            (#"{"link_state":"up"}"#, "invalid link_state value: up"),
        ]
    )
    func validation(input: String, message: String) throws {
        var conf = try self.conf(input)
        #expect(conf.validate() == message)
    }

    @Test("a VLAN alone defaults QoS to 0 and the protocol to 802.1q; the protocol is lower-cased")
    func defaults() throws {
        var conf = try self.conf(#"{"vlan":100}"#)
        #expect(conf.validate() == nil)
        #expect(conf.vlanQoS == 0)
        #expect(conf.vlanProto == "802.1q")
        #expect(conf.vlanProtoValue == 0x8100)
        var ad = try self.conf(#"{"vlan":100,"vlanProto":"802.1AD","link_state":"disable"}"#)
        #expect(ad.validate() == nil)
        #expect(ad.vlanProto == "802.1ad")
        #expect(ad.vlanProtoValue == 0x88a8)
    }

    @Test("MAC precedence: conf mac < CNI_ARGS MAC < runtimeConfig.mac, lower-cased")
    func macPrecedence() throws {
        let base = try self.conf(#"{"mac":"AA:00:00:00:00:01"}"#)
        #expect(base.requestedMAC(cniArgs: "") == "aa:00:00:00:00:01")
        #expect(base.requestedMAC(cniArgs: "IgnoreUnknown=1;MAC=AA:00:00:00:00:02") == "aa:00:00:00:00:02")
        let runtime = try self.conf(#"{"MAC":"aa:00:00:00:00:01","runtimeConfig":{"mac":"CA:FE:C0:FF:EE:00"}}"#)
        #expect(runtime.requestedMAC(cniArgs: "MAC=aa:00:00:00:00:02") == "ca:fe:c0:ff:ee:00")
    }

    @Test("keys match case-insensitively as in Go; wrong types fail with Go's wording")
    func goDecoding() throws {
        let conf = try self.conf(
            #"{"DeviceId":"0000:3b:02.1","VLAN":12,"SpoofChk":"off","ipam":{"type":"host-local"}}"#
        )
        #expect(conf.deviceID == "0000:3b:02.1")
        #expect(conf.vlan == 12)
        #expect(conf.spoofchk == "off")
        #expect(conf.ipamType == "host-local")
        let error = #expect(throws: SriovNetConfDecodingError.self) { try self.conf(#"{"vlan":"100"}"#) }
        #expect(error?.description == "json: cannot unmarshal string into Go struct field NetConf.vlan of type int")
        let null = try self.conf(#"{"vlan":null,"trust":null}"#)
        #expect(null.vlan == nil && null.trust.isEmpty)
    }

    @Test("results print per cniVersion: 1.x with mtu and no empty dns, 0.3.1 with IP versions, 0.2.0 ip4")
    func resultVersions() throws {
        var ipam = try CNIResult.parse(
            Array(
                #"{"cniVersion":"1.0.0","ips":[{"address":"10.56.217.2/24","gateway":"10.56.217.1"}],"routes":[{"dst":"0.0.0.0/0"}],"dns":{}}"#
                    .utf8
            )
        )
        ipam.interfaces = [
            CNIResult.Interface(name: "net1", mac: "7e:11:22:33:44:55", mtu: 1500, sandbox: "/var/run/netns/p1")
        ]
        ipam.ips[0].interface = 0
        #expect(
            ipam.json(version: "1.0.0")
                == #"{"cniVersion":"1.0.0","interfaces":[{"name":"net1","mac":"7e:11:22:33:44:55","mtu":1500,"sandbox":"/var/run/netns/p1"}],"ips":[{"interface":0,"address":"10.56.217.2/24","gateway":"10.56.217.1"}],"routes":[{"dst":"0.0.0.0/0"}]}"#
        )
        #expect(
            ipam.json(version: "0.3.1")
                == #"{"cniVersion":"0.3.1","interfaces":[{"name":"net1","mac":"7e:11:22:33:44:55","sandbox":"/var/run/netns/p1"}],"ips":[{"version":"4","interface":0,"address":"10.56.217.2/24","gateway":"10.56.217.1"}],"routes":[{"dst":"0.0.0.0/0"}],"dns":{}}"#
        )
        #expect(
            ipam.json(version: "0.2.0")
                == #"{"cniVersion":"0.2.0","ip4":{"ip":"10.56.217.2/24","gateway":"10.56.217.1","routes":[{"dst":"0.0.0.0/0"}]},"dns":{}}"#
        )
        let old = try CNIResult.parse(Array(#"{"ip4":{"ip":"10.1.0.5/16","gateway":"10.1.0.1"}}"#.utf8))
        #expect(old.ips == [CNIResult.IPConfig(address: "10.1.0.5/16", gateway: "10.1.0.1")])
    }

    @Test("the cache keeps upstream's keys and reads an upstream-written cache")
    func cacheRoundTrip() throws {
        var conf = try self.conf(
            #"{"cniVersion":"1.0.0","name":"sriov-net","type":"sriov","deviceID":"0000:3b:02.1","vlan":100,"trust":"on","ipam":{"type":"host-local"}}"#
        )
        _ = conf.validate()
        var original = VFOriginalState()
        original.hostIFName = "ens785f0v1"
        original.adminMAC = "00:00:00:00:00:00"
        original.effectiveMAC = "7e:11:22:33:44:55"
        original.mtu = 1500
        let cache = SriovCNICache(
            conf: conf,
            original: original,
            master: "ens785f0",
            mac: "ca:fe:c0:ff:ee:00",
            mtu: 1500,
            vfID: 1,
            dpdkMode: false,
            containerID: "c1",
            ifName: "net1",
            netns: "/var/run/netns/p1"
        )
        let text = cache.encode()
        guard case .object(let object) = try JSONParser.parse(text) else { throw TestFailure("not an object") }
        #expect(object["OrigVfState"]?["HostIFName"] == "ens785f0v1")
        #expect(object["Master"] == "ens785f0")
        #expect(object["MAC"] == "ca:fe:c0:ff:ee:00")
        #expect(object["VFID"] == 1)
        #expect(object["vlanProto"] == "802.1q")
        #expect(object["ipam"]?["type"] == "host-local")
        let decoded = try SriovCNICache.decode(Array(text.utf8))
        #expect(decoded.original == cache.original)
        #expect(decoded.master == cache.master && decoded.mac == cache.mac && decoded.mtu == cache.mtu)
        #expect(decoded.vfID == 1 && !decoded.dpdkMode && decoded.netns == cache.netns)
        #expect(decoded.containerID == "c1" && decoded.ifName == "net1")
        #expect(decoded.conf.vlan == 100 && decoded.conf.vlanProto == "802.1q" && decoded.conf.trust == "on")
        #expect(decoded.conf.deviceID == "0000:3b:02.1" && decoded.conf.ipamType == "host-local")

        let upstream = #"""
            {"cniVersion":"1.0.0","name":"sriov-net","type":"sriov","ipam":{},"dns":{},"OrigVfState":{"HostIFName":"ens785f0v1","SpoofChk":true,"Trust":false,"AdminMAC":"00:00:00:00:00:00","EffectiveMAC":"7e:11:22:33:44:55","Vlan":0,"VlanQoS":0,"MinTxRate":0,"MaxTxRate":0,"LinkState":0},"Master":"ens785f0","MAC":"","vlan":100,"vlanQoS":0,"deviceID":"0000:3b:02.1","VFID":1,"ContIFNames":"","min_tx_rate":null,"max_tx_rate":null,"runtimeConfig":{}}
            """#
        let read = try SriovCNICache.decode(Array(upstream.utf8))
        #expect(read.master == "ens785f0" && read.vfID == 1 && read.conf.vlan == 100)
        #expect(read.original.spoofChk && read.original.effectiveMAC == "7e:11:22:33:44:55")
        #expect(!read.dpdkMode)
    }

    @Test("error JSON carries code and msg, details only when present")
    func errorJSON() {
        #expect(CNIError.internal("boom").json == #"{"code":999,"msg":"boom"}"#)
        #expect(CNIError(code: 4, msg: "m", details: "d").json == #"{"code":4,"msg":"m","details":"d"}"#)
        #expect(CNIError.parse(Array(#"{"code":11,"msg":"later"}"#.utf8)) == CNIError(code: 11, msg: "later"))
        #expect(CNIError.parse(Array("garbage".utf8)) == nil)
    }
}

struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
