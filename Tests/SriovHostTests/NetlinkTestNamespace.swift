import Foundation
import Testing

/// A uniquely named network namespace for one test, created with `ip netns add` and deleted by ``delete()`` (call it
/// in a `defer`), so tests never touch the host's own links and never collide with each other.
struct NetlinkTestNamespace {
    let name: String

    /// `/var/run/netns/<name>`, what ``NetlinkNamespace`` and `moveToNamespace` take.
    var path: String { "/var/run/netns/\(self.name)" }

    init() throws {
        self.name = "sriovtest-\(String(UInt32.random(in: 0...UInt32.max), radix: 16))"
        try Self.ip(["netns", "add", self.name])
    }

    func delete() {
        _ = try? Self.ip(["netns", "delete", self.name])
    }

    /// `ip -n <ns> …`.
    @discardableResult
    func ip(_ arguments: [String]) throws -> String {
        try Self.ip(["-n", self.name] + arguments)
    }

    /// Adds a veth pair `a`/`b` inside the namespace.
    func addVeth(_ a: String = "vA", peer b: String = "vB") throws {
        try self.ip(["link", "add", a, "type", "veth", "peer", "name", b])
    }

    /// `ip -j -n <ns> link show <dev>` as a dictionary (iproute2's JSON keys: `ifname`, `mtu`, `address`, `flags`,
    /// `altnames`, …).
    func show(_ device: String) throws -> [String: Any] {
        let output = try self.ip(["-j", "link", "show", device])
        let json = try JSONSerialization.jsonObject(with: Data(output.utf8))
        guard let list = json as? [[String: Any]], let first = list.first else {
            throw NetlinkTestFailure("unexpected `ip -j link show \(device)` output: \(output)")
        }
        return first
    }

    /// Runs `/usr/sbin/ip` (or `ip` from PATH) and returns stdout; a non-zero exit throws with stderr.
    @discardableResult
    static func ip(_ arguments: [String]) throws -> String {
        let process = Process()
        let candidates = ["/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip"]
        let binary = candidates.first { FileManager.default.isExecutableFile(atPath: $0) } ?? "/usr/sbin/ip"
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = arguments
        let stdout = Pipe()
        let stderr = Pipe()
        process.standardOutput = stdout
        process.standardError = stderr
        try process.run()
        let output = stdout.fileHandleForReading.readDataToEndOfFile()
        let errors = stderr.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw NetlinkTestFailure(
                "ip \(arguments.joined(separator: " ")) exited \(process.terminationStatus): "
                    + String(decoding: errors, as: UTF8.self)
            )
        }
        return String(decoding: output, as: UTF8.self)
    }

    /// Whether this process may create network namespaces: root and a working `ip netns add`/`delete`. Evaluated
    /// once; the kernel tests are enabled on it, and on this project's machines and CI it is true.
    static let isAvailable: Bool = {
        guard geteuid() == 0, let namespace = try? NetlinkTestNamespace() else { return false }
        namespace.delete()
        return true
    }()
}

struct NetlinkTestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

extension Tag {
    /// Tests that need root and network namespaces (real rtnetlink on veth pairs).
    @Tag static var netns: Self
}
