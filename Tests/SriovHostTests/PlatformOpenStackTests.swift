import Foundation
import SriovHost
import Testing

@Suite("OpenStack config drive: reading and decoding meta_data.json / network_data.json")
struct PlatformConfigDriveTests {
    @Test("the fixture config drive decodes field by field, ignoring fields the model does not know")
    func decodesFixture() throws {
        let metadata = try OpenStackConfigDrive(directory: platformFixtures).fetchMetadata()
        #expect(metadata.metaData.uuid == "2b0c0e5e-7d5a-4f4e-9a39-3f1c9a8a4c11")
        let devices = try #require(metadata.metaData.devices)
        #expect(devices.count == 3)
        #expect(
            devices[0]
                == OpenStackMetadata.Device(
                    type: "nic",
                    bus: "pci",
                    address: "0000:04:00.0",
                    mac: "fa:16:3e:00:00:00",
                    tags: ["sriov-data-0"]
                ).with(vfTrusted: true)
        )
        #expect(devices[1].vlan == 1107)
        #expect(devices[1].vf_trusted == false)
        #expect(devices[2].mac == nil)
        #expect(devices[2].bus == "scsi")
        let links = try #require(metadata.networkData.links)
        #expect(links.count == 5)
        #expect(
            links[0]
                == OpenStackMetadata.Link(
                    id: "tapdc2a9cd3-f7",
                    type: "hw_veb",
                    ethernet_mac_address: "fa:16:3e:00:00:00",
                    mtu: 9000,
                    vif_id: "dc2a9cd3-f7a1-4b2c-9d3e-0f1a2b3c4d5e"
                )
        )
        #expect(links[1].mtu == nil, "\"mtu\": null reads as absent")
        #expect(links[4].ethernet_mac_address == nil)
        let networks = try #require(metadata.networkData.networks)
        #expect(
            networks[0]
                == OpenStackMetadata.Network(
                    id: "network0",
                    type: "ipv4",
                    link: "tapdc2a9cd3-f7",
                    network_id: "b3ba899a-e06c-49da-93c5-c992048390b2"
                )
        )
    }

    @Test("openstack/latest is used when the versioned directory is absent")
    func latestFallback() throws {
        try withPlatformTemporaryDirectory { directory in
            try FileManager.default.createDirectory(atPath: "\(directory)/openstack", withIntermediateDirectories: true)
            try FileManager.default.copyItem(
                atPath: "\(platformFixtures)/openstack/2018-08-27",
                toPath: "\(directory)/openstack/latest"
            )
            let metadata = try OpenStackConfigDrive(directory: directory).fetchMetadata()
            #expect(metadata.metaData.devices?.count == 3)
        }
    }

    @Test("a missing network_data.json is a notFound error naming both paths tried")
    func missingFile() throws {
        try withPlatformTemporaryDirectory { directory in
            try copyPlatformConfigDrive(to: directory)
            try FileManager.default.removeItem(atPath: "\(directory)/openstack/2018-08-27/network_data.json")
            let error = #expect(throws: HostError.self) {
                try OpenStackConfigDrive(directory: directory).fetchMetadata()
            }
            #expect(error?.code == .notFound)
            let text = error?.description ?? ""
            #expect(text.contains("network_data.json not found"))
            #expect(text.contains("\(directory)/openstack/2018-08-27/network_data.json"))
            #expect(text.contains("\(directory)/openstack/latest/network_data.json"))
        }
    }

    @Test("an empty directory is a notFound error for meta_data.json")
    func emptyDirectory() throws {
        try withPlatformTemporaryDirectory { directory in
            let error = #expect(throws: HostError.self) {
                try OpenStackConfigDrive(directory: directory).fetchMetadata()
            }
            #expect(error?.code == .notFound)
            #expect(error?.description.contains("meta_data.json not found") == true)
        }
    }

    @Test("text that is not JSON is an error naming the file")
    func badJSON() throws {
        try withPlatformTemporaryDirectory { directory in
            try copyPlatformConfigDrive(to: directory)
            let path = "\(directory)/openstack/2018-08-27/network_data.json"
            try writePlatformFile(path, "{\"links\": [")
            let error = #expect(throws: HostError.self) {
                try OpenStackConfigDrive(directory: directory).fetchMetadata()
            }
            #expect(error?.code == .metadata)
            #expect(error?.path == path)
            #expect(error?.message.hasPrefix("network_data.json: ") == true)
            #expect(error?.message.contains("invalid JSON") == true)
        }
    }

    @Test("a field of the wrong type is an error naming the file and the field")
    func wrongType() throws {
        try withPlatformTemporaryDirectory { directory in
            try copyPlatformConfigDrive(to: directory)
            try writePlatformFile(
                "\(directory)/openstack/2018-08-27/network_data.json",
                #"{"links": [{"id": "a", "mtu": 1500}, {"id": "b", "mtu": "1500"}], "networks": []}"#
            )
            let error = #expect(throws: HostError.self) {
                try OpenStackConfigDrive(directory: directory).fetchMetadata()
            }
            #expect(error?.code == .metadata)
            #expect(error?.message.hasPrefix("network_data.json: links[1].mtu: expected integer") == true)

            try copyPlatformConfigDrive(to: "\(directory)/second")
            try writePlatformFile(
                "\(directory)/second/openstack/2018-08-27/meta_data.json",
                #"{"uuid": "u", "devices": [{"mac": "fa:16:3e:00:00:00", "tags": "sriov"}]}"#
            )
            let second = #expect(throws: HostError.self) {
                try OpenStackConfigDrive(directory: "\(directory)/second").fetchMetadata()
            }
            #expect(second?.message.hasPrefix("meta_data.json: devices[0].tags: expected array") == true)
        }
    }

    @Test("a document above the size limit is refused with the limit in the error")
    func oversized() throws {
        try withPlatformTemporaryDirectory { directory in
            try copyPlatformConfigDrive(to: directory)
            let path = "\(directory)/openstack/2018-08-27/meta_data.json"
            let padding = String(repeating: "x", count: (1 << 20) + 10)
            try writePlatformFile(path, "{\"uuid\": \"u\", \"pad\": \"\(padding)\"}")
            let error = #expect(throws: HostError.self) {
                try OpenStackConfigDrive(directory: directory).fetchMetadata()
            }
            #expect(error?.code == .metadata)
            #expect(error?.path == path)
            #expect(error?.message.contains("larger than the limit of 1048576 bytes") == true)
        }
    }
}

@Suite("OpenStack netFilters: devices and NICs mapped to openstack/NetworkID")
struct PlatformOpenStackNetFilterTests {
    func fixtureMetadata() throws -> OpenStackMetadata {
        try OpenStackConfigDrive(directory: platformFixtures).fetchMetadata()
    }

    // Upstream: pkg/platform/openstack/openstack_test.go — device 0000:04:00.0 / fa:16:3e:00:00:00.
    @Test("upstream example: device 0000:04:00.0 → link tapdc2a9cd3-f7 → network b3ba899a-…")
    func upstreamExample() throws {
        let result = PlatformNetFilters(
            openStack: try self.fixtureMetadata(),
            nics: [GuestNIC(pciAddress: "0000:04:00.0", mac: "fa:16:3e:00:00:00")]
        )
        #expect(result.netFilters["0000:04:00.0"] == "openstack/NetworkID:b3ba899a-e06c-49da-93c5-c992048390b2")
        #expect(result.macAddresses["0000:04:00.0"] == "fa:16:3e:00:00:00")
    }

    @Test("the whole fixture: SR-IOV devices, the fixed-up address, the vhost-user and virtio NICs")
    func wholeFixture() throws {
        let result = PlatformNetFilters(
            openStack: try self.fixtureMetadata(),
            nics: [
                (pciAddress: "0000:04:00.0", mac: "fa:16:3e:00:00:00"),
                (pciAddress: "0000:00:05.0", mac: "FA:16:3E:11:11:11"),
                (pciAddress: "0000:00:06.0", mac: "fa:16:3e:22:22:22"),
                (pciAddress: "0000:00:03.0", mac: "fa:16:3e:33:33:33"),
                (pciAddress: "0000:00:07.0", mac: "fa:16:3e:99:99:99"),
            ]
        )
        #expect(
            result.netFilters == [
                "0000:04:00.0": "openstack/NetworkID:b3ba899a-e06c-49da-93c5-c992048390b2",
                "0000:00:05.0": "openstack/NetworkID:6f1a9e2c-5b3d-4c8e-9a7f-0e1d2c3b4a59",
                "0000:00:06.0": "openstack/NetworkID:c4d5e6f7-a8b9-4c0d-8e1f-2a3b4c5d6e7f",
                "0000:00:03.0": "openstack/NetworkID:e9f8a7b6-c5d4-4e3f-a2b1-c0d9e8f7a6b5",
            ]
        )
        // The management link has an IPv4 and an IPv6 network with the same id: no conflict, no warning.
        #expect(result.warnings.isEmpty, "\(result.warnings)")
    }

    @Test("the meta_data address is a hint: the guest NIC with the same MAC supplies the PCI address")
    func pciFixUpByMAC() throws {
        let result = PlatformNetFilters(
            openStack: try self.fixtureMetadata(),
            nics: [GuestNIC(pciAddress: "0000:00:05.0", mac: "fa:16:3e:11:11:11")]
        )
        #expect(result.netFilters["0000:00:05.0"] == "openstack/NetworkID:6f1a9e2c-5b3d-4c8e-9a7f-0e1d2c3b4a59")
        #expect(result.netFilters["0000:05:00.0"] == nil, "Nova's guessed address is replaced")
    }

    @Test("a device with no guest NIC (bound to vfio-pci, no MAC to read) keeps its meta_data address")
    func deviceWithoutGuestNIC() throws {
        let result = PlatformNetFilters(openStack: try self.fixtureMetadata(), nics: [GuestNIC]())
        #expect(result.netFilters["0000:04:00.0"] == "openstack/NetworkID:b3ba899a-e06c-49da-93c5-c992048390b2")
        #expect(result.netFilters["0000:05:00.0"] == "openstack/NetworkID:6f1a9e2c-5b3d-4c8e-9a7f-0e1d2c3b4a59")
        #expect(result.netFilters.count == 2, "links without a device need a guest NIC to land on")
        #expect(result.warnings.isEmpty)
    }

    @Test("a virtio NIC that meta_data does not list is matched by MAC only, whatever the link type")
    func virtioByMACOnly() throws {
        let metadata = OpenStackMetadata(
            metaData: .init(uuid: "u", devices: []),
            networkData: .init(
                links: [.init(id: "tap-virtio", type: "vhostuser", ethernet_mac_address: "fa:16:3e:aa:bb:cc")],
                networks: [.init(id: "network0", type: "ipv4_dhcp", link: "tap-virtio", network_id: "net-virtio")]
            )
        )
        let result = PlatformNetFilters(
            openStack: metadata,
            nics: [
                GuestNIC(pciAddress: "0000:00:09.0", mac: "fa:16:3e:aa:bb:cc"),
                GuestNIC(pciAddress: "0000:00:0a.0", mac: "fa:16:3e:00:00:01"),
            ]
        )
        #expect(result.netFilters == ["0000:00:09.0": "openstack/NetworkID:net-virtio"])
    }

    @Test("two guest NICs with the device's MAC: the meta_data address is kept and a warning returned")
    func duplicateGuestMACs() throws {
        let result = PlatformNetFilters(
            openStack: try self.fixtureMetadata(),
            nics: [
                GuestNIC(pciAddress: "0000:00:05.0", mac: "fa:16:3e:11:11:11"),
                GuestNIC(pciAddress: "0000:00:08.0", mac: "fa:16:3e:11:11:11"),
            ]
        )
        #expect(result.netFilters["0000:05:00.0"] == "openstack/NetworkID:6f1a9e2c-5b3d-4c8e-9a7f-0e1d2c3b4a59")
        #expect(result.warnings.count == 1)
        let warning = try #require(result.warnings.first)
        #expect(warning.contains("0000:00:05.0, 0000:00:08.0 share MAC fa:16:3e:11:11:11"))
        #expect(warning.contains("0000:05:00.0"))
    }

    @Test("two meta_data devices with one MAC: both keep their addresses, with a warning")
    func duplicateDeviceMACs() throws {
        let metadata = OpenStackMetadata(
            metaData: .init(
                devices: [
                    .init(type: "nic", bus: "pci", address: "0000:04:00.0", mac: "fa:16:3e:00:00:00"),
                    .init(type: "nic", bus: "pci", address: "0000:06:00.0", mac: "fa:16:3e:00:00:00"),
                ]
            ),
            networkData: try self.fixtureMetadata().networkData
        )
        let result = PlatformNetFilters(
            openStack: metadata,
            nics: [GuestNIC(pciAddress: "0000:00:04.0", mac: "fa:16:3e:00:00:00")]
        )
        let expected = "openstack/NetworkID:b3ba899a-e06c-49da-93c5-c992048390b2"
        #expect(result.netFilters["0000:04:00.0"] == expected)
        #expect(result.netFilters["0000:06:00.0"] == expected)
        #expect(result.warnings.count == 2)
        #expect(result.warnings.allSatisfy { $0.contains("2 devices have MAC fa:16:3e:00:00:00") })
    }

    @Test("a tagged device without a network and a MAC on two networks come back as warnings")
    func unmappedAndConflicting() throws {
        let metadata = OpenStackMetadata(
            metaData: .init(devices: [.init(address: "0000:04:00.0", mac: "fa:16:3e:00:00:0f")]),
            networkData: .init(
                links: [.init(id: "l1", ethernet_mac_address: "fa:16:3e:00:00:01")],
                networks: [
                    .init(id: "n1", link: "l1", network_id: "first"),
                    .init(id: "n2", link: "l1", network_id: "second"),
                ]
            )
        )
        let result = PlatformNetFilters(
            openStack: metadata,
            nics: [GuestNIC(pciAddress: "0000:00:03.0", mac: "fa:16:3e:00:00:01")]
        )
        #expect(result.netFilters == ["0000:00:03.0": "openstack/NetworkID:first"])
        #expect(
            result.warnings == [
                "meta_data.json: device 0000:04:00.0 (MAC fa:16:3e:00:00:0f) has no network in network_data.json",
                "network_data.json: MAC fa:16:3e:00:00:01 is on networks first, second; using first",
            ]
        )
    }
}

@Suite("MetadataLookup: config drive first, then the metadata service")
struct PlatformMetadataLookupTests {
    @Test("the first working source wins and earlier failures are kept")
    func fallsBack() throws {
        let handler: PlatformTestServer.Handler = { request, _ in
            let file = request.path.hasSuffix("meta_data.json") ? "meta_data.json" : "network_data.json"
            let text =
                (try? String(contentsOfFile: "\(platformFixtures)/openstack/2018-08-27/\(file)", encoding: .utf8))
            return .respond(status: 200, body: text ?? "")
        }
        try withPlatformServer(handler) { server in
            let lookup = MetadataLookup<OpenStackMetadata>(
                sources: [
                    OpenStackConfigDrive(directory: "/nonexistent-config-drive"),
                    OpenStackMetadataService(baseURL: server.baseURL, timeout: .seconds(2), retry: .none),
                ]
            )
            let found = try lookup.fetch()
            #expect(found.sourceDescription == "metadata service \(server.baseURL)")
            #expect(found.metadata.metaData.devices?.count == 3)
            #expect(found.skipped.map(\.error.code) == [.notFound])
            #expect(found.skipped.map(\.sourceDescription) == ["config drive /nonexistent-config-drive"])
        }
    }

    @Test("when every source fails, one error lists each source with its reason")
    func combinedError() throws {
        let handler: PlatformTestServer.Handler = { _, _ in .respond(status: 404, body: "") }
        try withPlatformServer(handler) { server in
            let lookup = MetadataLookup<OpenStackMetadata>(
                sources: [
                    OpenStackConfigDrive(directory: "/nonexistent-config-drive"),
                    OpenStackMetadataService(baseURL: server.baseURL, timeout: .seconds(2), retry: .none),
                ]
            )
            let error = #expect(throws: HostError.self) { try lookup.fetch() }
            #expect(error?.code == .metadata)
            let text = error?.description ?? ""
            #expect(text.contains("no metadata source worked (2 tried)"))
            #expect(text.contains("config drive /nonexistent-config-drive: "))
            #expect(text.contains("meta_data.json not found"))
            #expect(text.contains("metadata service \(server.baseURL): "))
            #expect(text.contains("HTTP 404 Not Found"))
        }
    }

    @Test("the OpenStack lookup tries the config-2 drive under the given root, then the service")
    func openStackOrder() {
        let lookup = MetadataLookup.openStack(root: "/host")
        #expect(
            lookup.sources.map(\.sourceDescription) == [
                "config drive (label config-2)", "metadata service http://169.254.169.254",
            ]
        )
    }
}

extension OpenStackMetadata.Device {
    fileprivate func with(vfTrusted: Bool) -> Self {
        var copy = self
        copy.vf_trusted = vfTrusted
        return copy
    }
}
