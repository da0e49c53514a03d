import Foundation
import SriovAPI
import Testing

@testable import SriovHost

#if canImport(Glibc)
import Glibc
#endif

@Suite("Hostile metadata documents and host profiles: refused with file and field, never blocking")
struct HostileReaderTests {
    static func drive(_ meta: [UInt8]?, fifo: Bool = false) throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sriov-drive-\(UUID().uuidString)").path
        let versioned = dir + "/openstack/2018-08-27"
        try FileManager.default.createDirectory(atPath: versioned, withIntermediateDirectories: true)
        let fixture = URL(fileURLWithPath: platformFixtures + "/openstack/2018-08-27")
        try FileManager.default.copyItem(
            atPath: fixture.appendingPathComponent("network_data.json").path,
            toPath: versioned + "/network_data.json"
        )
        if fifo {
            #expect(mkfifo(versioned + "/meta_data.json", 0o644) == 0)
        } else if let meta {
            try Data(meta).write(to: URL(fileURLWithPath: versioned + "/meta_data.json"))
        }
        return dir
    }

    @Test("a FIFO in place of meta_data.json is refused at once (the test would hang otherwise)")
    func fifoDocument() throws {
        let dir = try Self.drive(nil, fifo: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        #expect {
            _ = try OpenStackConfigDrive(directory: dir).fetchMetadata()
        } throws: { "\($0)".contains("meta_data.json") && "\($0)".contains("a FIFO") }
    }

    @Test("a checkpoint that is a FIFO is refused, not waited on")
    func fifoCheckpoint() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sriov-ckpt-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        #expect(mkfifo(dir + "/ckpt.json", 0o644) == 0)
        #expect(throws: HostError.self) { _ = try PlatformCheckpoint(path: dir + "/ckpt.json").load() }
    }

    static let hostileDocumentCases: [[UInt8]] = [
        Array(String(repeating: "[", count: 100_000).utf8),
        Array(("{\"devices\": " + String(repeating: "{\"a\":", count: 50_000)).utf8),
        Array("{\"uuid\": 1e999999}".utf8),
        [0xFF, 0xFE, 0x00],
    ]

    @Test(
        "deeply nested or huge metadata documents are errors naming the file, not crashes",
        arguments: Self.hostileDocumentCases
    )
    func hostileDocuments(bytes: [UInt8]) throws {
        let dir = try Self.drive(bytes)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        #expect {
            _ = try OpenStackConfigDrive(directory: dir).fetchMetadata()
        } throws: { "\($0)".contains("meta_data.json") }
    }

    @Test("fuzz: mutated meta_data.json never crashes the decoder", arguments: 0..<3)
    func fuzzMetadata(seed: Int) throws {
        let original = try [UInt8](
            Data(contentsOf: URL(fileURLWithPath: platformFixtures + "/openstack/2018-08-27/meta_data.json"))
        )
        var generator = HostSplitMix(seed: UInt64(seed) &+ 99)
        for _ in 0..<200 {
            var bytes = original
            let alphabet = Array("{}[]\",:0-e.\\ nul".utf8)
            for _ in 0..<(1 + Int(generator.next() % 5)) {
                let at = Int(generator.next() % UInt64(bytes.count))
                bytes[at] = alphabet[Int(generator.next() % UInt64(alphabet.count))]
            }
            do {
                _ = try OpenStackMetadata.decodeMetaData(bytes, source: "fuzz/meta_data.json")
            } catch {
                #expect(error.path == "fuzz/meta_data.json")
            }
        }
    }

    @Test(
        "profile values that would become paths or files are refused with the field and the value",
        arguments: [
            ("driver", "../../etc"), ("vfDriver", "a/b"), ("vfDriver", ".."), ("name", "../../x"), ("name", "a b"),
            ("pciAddress", "0000:3b:00.0/../../x"), ("vendor", "80/6"), ("mac", "x"), ("totalVfs", "-3"),
            ("totalVfs", "9223372036854775807"), ("numVfs", "300"), ("altNames", "../x"),
        ]
    )
    func hostileProfile(field: String, value: String) throws {
        var profile = HostProfile.single(ports: [.port("0000:3b:00.0", "ens1f0")])
        switch field {
        case "driver": profile.nics[0].driver = value
        case "vfDriver": profile.nics[0].vfDriver = value
        case "name": profile.nics[0].ports[0].name = value
        case "pciAddress": profile.nics[0].ports[0].pciAddress = value
        case "vendor": profile.nics[0].vendor = value
        case "mac": profile.nics[0].ports[0].mac = value
        case "totalVfs": profile.nics[0].totalVfs = Int(value) ?? 0
        case "numVfs": profile.nics[0].ports[0].numVfs = Int(value) ?? 0
        default: profile.nics[0].ports[0].altNames = [value]
        }
        #expect {
            try profile.validate(file: "p.yaml")
        } throws: { error in
            let text = "\(error)"
            return text.hasPrefix("p.yaml: nics[0].") && text.contains(field)
        }
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("sriov-prof-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: root) }
        #expect(throws: HostError.self) { try SimulatedHost.create(profile: profile, at: root) }
        #expect(!FileManager.default.fileExists(atPath: root))
    }

    @Test("a profile file with hostile YAML is a ManifestError naming the file")
    func hostileProfileFile() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sriov-pf-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try "name: &a x\nnics: [*a]\n".write(toFile: dir + "/p.yaml", atomically: true, encoding: .utf8)
        #expect {
            _ = try SimulatedHost.loadProfile(file: dir + "/p.yaml")
        } throws: { "\($0)".hasPrefix(dir + "/p.yaml:2") }
    }

    @Test(
        "fuzz: random profiles either validate or are refused; valid ones build a tree inside the root",
        arguments: 0..<2
    )
    func fuzzProfiles(seed: Int) throws {
        var generator = HostSplitMix(seed: UInt64(seed) &+ 4242)
        let words = ["ice", "iavf", "..", "a/b", "", "mlx5_core", "x y", "ens1f0", "0000:3b:00.0", "-1", "../..", "é"]
        for _ in 0..<20 {
            func word() -> String { words[Int(generator.next() % UInt64(words.count))] }
            var profile = HostProfile.single(ports: [.port("0000:3b:00.0", "ens1f0")])
            profile.nics[0].driver = word()
            profile.nics[0].vfDriver = word()
            profile.nics[0].ports[0].name = word()
            profile.nics[0].totalVfs = Int(generator.next() % 600) - 100
            profile.nics[0].ports[0].numVfs = Int(generator.next() % 10)
            let base = FileManager.default.temporaryDirectory.appendingPathComponent("sriov-fz-\(UUID().uuidString)")
                .path
            defer { try? FileManager.default.removeItem(atPath: base) }
            let valid = (try? profile.validate(file: "f")) != nil
            do {
                try SimulatedHost.create(profile: profile, at: base + "/root")
                #expect(valid)
            } catch {
                // Refused (invalid) or failed later in the simulator: either way nothing outside the root.
            }
            let entries = (try? FileManager.default.contentsOfDirectory(atPath: base)) ?? []
            #expect(entries.allSatisfy { $0 == "root" })
        }
    }
}
