import KubeCore
import SriovAPI
import SriovCNI
import SriovHost
import Testing

/// The CNI contract at the plugin's edge (env, stdin, versions, error JSON), through the library; no kernel needed.
@Suite("sriov-cni protocol edge")
struct CNIProtocolTests {
    let plugin = SriovCNIPlugin(stateDirectory: "/nonexistent/sriov-cni-test-state", lockTimeout: .milliseconds(100))

    func run(_ env: [String: String], _ stdin: String) -> SriovCNIPlugin.Output {
        self.plugin.run(CNIRequest(environment: env, stdin: Array(stdin.utf8)))
    }

    func error(_ output: SriovCNIPlugin.Output) -> CNIError? {
        CNIError.parse(Array(output.stdout.utf8))
    }

    static let add: [String: String] = [
        "CNI_COMMAND": "ADD", "CNI_CONTAINERID": "c1", "CNI_NETNS": "/var/run/netns/none", "CNI_IFNAME": "net1",
        "CNI_PATH": "/usr/lib/cni",
    ]

    @Test("VERSION lists every supported version without reading stdin")
    func version() {
        let output = self.run(["CNI_COMMAND": "VERSION"], "")
        #expect(output.exitCode == 0)
        #expect(
            output.stdout
                == #"{"cniVersion":"1.1.0","supportedVersions":["0.1.0","0.2.0","0.3.0","0.3.1","0.4.0","1.0.0","1.1.0"]}"#
        )
    }

    @Test(
        "missing or bad environment is code 4 with the Go library's message",
        arguments: [
            ([:], "required env variables [CNI_COMMAND] missing"),
            (["CNI_COMMAND": "ADD"], "required env variables [CNI_CONTAINERID CNI_NETNS CNI_IFNAME CNI_PATH] missing"),
            (
                ["CNI_COMMAND": "DEL", "CNI_CONTAINERID": "c1", "CNI_PATH": "/x"],
                "required env variables [CNI_IFNAME] missing"
            ),
            (["CNI_COMMAND": "FROB"], "unknown CNI_COMMAND: FROB"),
            (add.merging(["CNI_CONTAINERID": "../../etc"]) { $1 }, "invalid characters in containerID"),
            (add.merging(["CNI_IFNAME": "a/b"]) { $1 }, "interface name contains / or : or whitespace characters"),
            (add.merging(["CNI_IFNAME": "averyveryverylongname"]) { $1 }, "interface name is too long"),
        ]
    )
    func badEnvironment(env: [String: String], message: String) {
        let output = self.run(env, #"{"cniVersion":"1.0.0","name":"n","type":"sriov"}"#)
        #expect(output.exitCode != 0)
        #expect(self.error(output)?.code == 4)
        #expect(self.error(output)?.msg == message)
    }

    @Test(
        "garbage stdin is a decoding error (6); a foreign version is 1; a nameless config is 7",
        arguments: [
            ("not json", 6),
            ("[1,2]", 6),
            (#"{"cniVersion":5,"name":"n"}"#, 6),
            (#"{"cniVersion":"9.9.9","name":"n"}"#, 1),
            (#"{"cniVersion":"1.0.0","type":"sriov"}"#, 7),
        ]
    )
    func badStdin(stdin: String, code: Int) {
        let output = self.run(Self.add, stdin)
        #expect(output.exitCode != 0)
        #expect(self.error(output)?.code == code, "\(output.stdout)")
    }

    @Test("an unsupported CNI version names the supported list as Go prints it")
    func versionMessage() {
        let output = self.run(Self.add, #"{"cniVersion":"2.0.0","name":"n"}"#)
        #expect(
            self.error(output)?.msg
                == #"incompatible CNI versions: config is "2.0.0", plugin supports ["0.1.0" "0.2.0" "0.3.0" "0.3.1" "0.4.0" "1.0.0" "1.1.0"]"#
        )
    }

    @Test("ADD without deviceID fails with upstream's message and code 999")
    func noDeviceID() {
        let output = self.run(Self.add, #"{"cniVersion":"1.0.0","name":"sriov-net","type":"sriov"}"#)
        #expect(
            self.error(output)
                == CNIError.internal("SRIOV-CNI failed to load netconf: LoadConf(): VF pci addr is required")
        )
    }

    @Test("a malformed deviceID is refused before any file is touched")
    func badDeviceID() {
        let output = self.run(Self.add, #"{"cniVersion":"1.0.0","name":"n","deviceID":"../../../etc/passwd"}"#)
        #expect(self.error(output)?.msg.contains("invalid pci address") == true)
    }

    @Test("CHECK below 0.4.0 and GC/STATUS below 1.1.0 are refused with code 1")
    func versionGates() {
        var env = Self.add
        env["CNI_COMMAND"] = "CHECK"
        let check = self.run(env, #"{"cniVersion":"0.3.1","name":"n","type":"sriov"}"#)
        #expect(self.error(check) == CNIError(code: 1, msg: "config version does not allow CHECK"))
        env["CNI_COMMAND"] = "GC"
        let gc = self.run(env, #"{"cniVersion":"1.0.0","name":"n","type":"sriov"}"#)
        #expect(self.error(gc) == CNIError(code: 1, msg: "config version does not allow GC"))
    }

    @Test("DEL without a cache or deviceID succeeds with empty stdout (no endless DEL loop)")
    func delWithoutAnything() {
        var env = Self.add
        env["CNI_COMMAND"] = "DEL"
        let output = self.run(env, #"{"cniVersion":"1.0.0","name":"n","type":"sriov"}"#)
        #expect(output == SriovCNIPlugin.Output(stdout: "", exitCode: 0))
    }
}
