import Foundation
import SriovAPI
import SriovHost
import Testing

private typealias InterfaceExt = SriovNetworkNodeState.InterfaceExt

/// What virtual discovery reports for one OpenStack NIC: one "PF" with one VF on the same address.
private let virtualNIC = InterfaceExt(
    name: "ens4",
    mac: "fa:16:3e:00:00:00",
    driver: "iavf",
    pciAddress: "0000:04:00.0",
    vendor: "8086",
    deviceID: "154c",
    netFilter: "openstack/NetworkID:b3ba899a-e06c-49da-93c5-c992048390b2",
    mtu: 9000,
    numVfs: 1,
    linkType: "ETH",
    totalvfs: 1,
    Vfs: [
        .init(
            name: "ens4",
            mac: "fa:16:3e:00:00:00",
            driver: "iavf",
            pciAddress: "0000:04:00.0",
            vendor: "8086",
            deviceID: "154c",
            mtu: 9000,
            vfID: 0
        )
    ]
)

@Suite("PlatformCheckpoint: the initial node state saved for later runs")
struct PlatformCheckpointTests {
    @Test("no file yet loads as nil")
    func missing() throws {
        try withPlatformTemporaryDirectory { directory in
            let loaded = try PlatformCheckpoint(path: "\(directory)/sno-initial-node-state.json").load()
            #expect(loaded == nil)
        }
    }

    @Test("save then load returns the same interfaces; the file is a NodeState-shaped Go JSON document")
    func roundTrip() throws {
        try withPlatformTemporaryDirectory { directory in
            let checkpoint = PlatformCheckpoint(path: "\(directory)/sno-initial-node-state.json")
            let plain = InterfaceExt(name: "ens3", mac: "fa:16:3e:33:33:33", pciAddress: "0000:00:03.0")
            try checkpoint.save([virtualNIC, plain])
            #expect(try checkpoint.load() == [virtualNIC, plain])

            try checkpoint.save([plain])
            let text = try String(contentsOfFile: checkpoint.path, encoding: .utf8)
            #expect(
                text
                    == #"{"status":{"interfaces":[{"name":"ens3","mac":"fa:16:3e:33:33:33","pciAddress":"0000:00:03.0"}]}}"#
                    + "\n"
            )
            let leftovers = try FileManager.default.contentsOfDirectory(atPath: directory)
            #expect(leftovers == ["sno-initial-node-state.json"], "no temporary files are left behind")
        }
    }

    @Test("a whole NodeState written by the upstream daemon loads, unknown fields ignored")
    func upstreamFile() throws {
        try withPlatformTemporaryDirectory { directory in
            let path = "\(directory)/sno-initial-node-state.json"
            try writePlatformFile(
                path,
                """
                {"kind":"SriovNetworkNodeState","apiVersion":"sriovnetwork.openshift.io/v1",\
                "metadata":{"name":"worker-0","namespace":"openshift-sriov-network-operator",\
                "creationTimestamp":null,"generation":3},"spec":{},\
                "status":{"interfaces":[{"name":"ens4","mac":"fa:16:3e:00:00:00","driver":"iavf",\
                "pciAddress":"0000:04:00.0","vendor":"8086","deviceID":"154c",\
                "netFilter":"openstack/NetworkID:b3ba899a-e06c-49da-93c5-c992048390b2","mtu":9000,"numVfs":1,\
                "linkType":"ETH","totalvfs":1,"futureField":{"x":1},"Vfs":[{"name":"ens4","mac":"fa:16:3e:00:00:00",\
                "driver":"iavf","pciAddress":"0000:04:00.0","vendor":"8086","deviceID":"154c","mtu":9000,"vfID":0}]}],\
                "syncStatus":"Succeeded"}}

                """
            )
            #expect(try PlatformCheckpoint(path: path).load() == [virtualNIC])
        }
    }

    @Test("saveIfAbsent keeps the first state: the initial discovery is never overwritten")
    func saveIfAbsent() throws {
        try withPlatformTemporaryDirectory { directory in
            let checkpoint = PlatformCheckpoint(path: "\(directory)/sno-initial-node-state.json")
            let first = try checkpoint.saveIfAbsent([virtualNIC])
            let second = try checkpoint.saveIfAbsent([InterfaceExt(pciAddress: "0000:00:09.0")])
            #expect(first)
            #expect(second == false)
            let loaded = try checkpoint.load()
            #expect(loaded == [virtualNIC])
            let files = try FileManager.default.contentsOfDirectory(atPath: directory)
            #expect(files.count == 1)
        }
    }

    @Test("a corrupt file is an error naming the file and the field")
    func corrupt() throws {
        try withPlatformTemporaryDirectory { directory in
            let path = "\(directory)/sno-initial-node-state.json"
            try writePlatformFile(path, #"{"status":{"interfaces":[{"pciAddress":"0000:04:00.0","mtu":"9000"}]}}"#)
            let error = #expect(throws: HostError.self) { try PlatformCheckpoint(path: path).load() }
            #expect(error?.code == .metadata)
            #expect(error?.path == path)
            #expect(error?.message.hasPrefix("checkpoint: status.interfaces[0].mtu: expected integer") == true)
        }
    }

    @Test("saving into a missing directory fails with the path")
    func missingDirectory() throws {
        try withPlatformTemporaryDirectory { directory in
            let path = "\(directory)/absent/sno-initial-node-state.json"
            let error = #expect(throws: HostError.self) { try PlatformCheckpoint(path: path).save([virtualNIC]) }
            #expect(error?.code == .notFound)
            #expect(error?.path == path)
        }
    }

    @Test("the checkpoint supplies PCI → netFilter and MAC for devices whose MAC can no longer be read")
    func netFiltersFromCheckpoint() {
        let result = PlatformNetFilters(
            checkpoint: [virtualNIC, InterfaceExt(mac: "FA:16:3E:33:33:33", pciAddress: "0000:00:03.0")]
        )
        #expect(
            result.netFilters == [
                "0000:04:00.0": "openstack/NetworkID:b3ba899a-e06c-49da-93c5-c992048390b2", "0000:00:03.0": "",
            ]
        )
        #expect(result.macAddresses == ["0000:04:00.0": "fa:16:3e:00:00:00", "0000:00:03.0": "fa:16:3e:33:33:33"])
    }
}
