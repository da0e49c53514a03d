import Foundation
import Testing

@Suite("sriov install-cni")
struct InstallCNICommandTests {
    var pluginBinary: String {
        SriovBinary.executable.deletingLastPathComponent().appendingPathComponent("sriov-cni").path
    }

    @Test(
        "copies sriov-cni into the CNI bin dir as sriov and ib-sriov, mode 0755, replacing old copies",
        .enabled(if: FileManager.default.isExecutableFile(atPath: SriovBinary.executable.path))
    )
    func install() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sriov-cni-bin-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        try "old".write(to: dir.appendingPathComponent("sriov"), atomically: true, encoding: .utf8)
        let result = try SriovBinary.run(["install-cni", "--cni-bin-dir", dir.path])
        #expect(result.status == 0, "\(result.stderr)")
        let original = try Data(contentsOf: URL(fileURLWithPath: self.pluginBinary))
        for name in ["sriov", "ib-sriov"] {
            let path = dir.appendingPathComponent(name).path
            #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == original)
            let mode = try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int
            #expect(mode == 0o755)
        }
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter {
            $0.contains("installing")
        }
        #expect(leftovers.isEmpty)
    }

    @Test("a missing CNI bin dir is an error naming it, and nothing is half-written")
    func missingDirectory() throws {
        let dir = "/nonexistent-\(UUID().uuidString)"
        let result = try SriovBinary.run(["install-cni", "--cni-bin-dir", dir])
        #expect(result.status != 0)
        #expect(result.stderr.contains(dir))
    }
}
