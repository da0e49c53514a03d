public import SriovAPI

/// One invocation of the plugin as the CNI spec defines it: the `CNI_*` environment and the configuration on stdin.
public struct CNIRequest: Sendable {
    /// `ADD`, `DEL`, `CHECK`, `GC`, `STATUS` or `VERSION`.
    public var command: String
    public var containerID: String
    public var netns: String
    public var ifName: String
    public var args: String
    public var path: String
    /// The configuration bytes (empty for VERSION, which does not read stdin).
    public var stdin: [UInt8]
    /// The whole environment, passed on to delegated (IPAM) plugins.
    public var environment: [String: String]

    public init(environment: [String: String], stdin: [UInt8]) {
        self.environment = environment
        self.command = environment["CNI_COMMAND"] ?? ""
        self.containerID = environment["CNI_CONTAINERID"] ?? ""
        self.netns = environment["CNI_NETNS"] ?? ""
        self.ifName = environment["CNI_IFNAME"] ?? ""
        self.args = environment["CNI_ARGS"] ?? ""
        self.path = environment["CNI_PATH"] ?? ""
        self.stdin = stdin
    }

    /// Whether the command reads its configuration from stdin (all but VERSION).
    public static func readsStdin(command: String) -> Bool { command != "VERSION" }

    /// The spec's environment checks, as the Go library's `skel` makes them: required variables per command
    /// (code 4 `required env variables [X Y] missing`), a known command, and a container ID and interface name that
    /// are safe to use in file names and valid for the kernel.
    public func validateEnvironment() throws(CNIError) {
        guard !self.command.isEmpty else {
            throw CNIError(code: CNIError.invalidEnvironment, msg: "required env variables [CNI_COMMAND] missing")
        }
        let required: [(name: String, value: String, commands: Set<String>)] = [
            ("CNI_CONTAINERID", self.containerID, ["ADD", "CHECK", "DEL"]),
            ("CNI_NETNS", self.netns, ["ADD", "CHECK"]),
            ("CNI_IFNAME", self.ifName, ["ADD", "CHECK", "DEL"]),
            ("CNI_PATH", self.path, ["ADD", "CHECK", "DEL", "GC", "STATUS"]),
        ]
        guard ["ADD", "DEL", "CHECK", "GC", "STATUS", "VERSION"].contains(self.command) else {
            throw CNIError(code: CNIError.invalidEnvironment, msg: "unknown CNI_COMMAND: \(self.command)")
        }
        let missing = required.filter { $0.commands.contains(self.command) && $0.value.isEmpty }.map(\.name)
        if !missing.isEmpty {
            throw CNIError(
                code: CNIError.invalidEnvironment,
                msg: "required env variables [\(missing.joined(separator: " "))] missing"
            )
        }
        if ["ADD", "CHECK", "DEL"].contains(self.command) {
            try Self.validateContainerID(self.containerID)
            try Self.validateInterfaceName(self.ifName)
        }
    }

    /// `^[a-zA-Z0-9][a-zA-Z0-9_.-]*$` (the Go library's rule).
    static func validateContainerID(_ id: String) throws(CNIError) {
        func ok(_ c: UInt8, first: Bool) -> Bool {
            let alnum = (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A)
            return alnum || (!first && (c == 0x5F || c == 0x2E || c == 0x2D))
        }
        let bytes = Array(id.utf8)
        guard let first = bytes.first, ok(first, first: true), bytes.dropFirst().allSatisfy({ ok($0, first: false) })
        else {
            throw CNIError(code: CNIError.invalidEnvironment, msg: "invalid characters in containerID", details: id)
        }
    }

    /// The kernel's interface name rules, with the Go library's messages.
    static func validateInterfaceName(_ name: String) throws(CNIError) {
        let code = CNIError.invalidEnvironment
        if name.isEmpty { throw CNIError(code: code, msg: "interface name is empty") }
        if name.utf8.count > 15 {
            throw CNIError(
                code: code,
                msg: "interface name is too long",
                details: "interface name should be less than 16 characters"
            )
        }
        if name == "." || name == ".." { throw CNIError(code: code, msg: "interface name is . or ..") }
        if name.utf8.contains(where: { $0 == 0x2F || $0 == 0x3A || $0 <= 0x20 || $0 == 0x7F }) {
            throw CNIError(
                code: code,
                msg: "interface name contains / or : or whitespace characters",
                details: name
            )
        }
    }
}
