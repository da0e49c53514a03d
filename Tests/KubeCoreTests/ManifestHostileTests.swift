import Foundation
import KubeCore
import Testing

#if canImport(Glibc)
import Glibc
#endif

@Suite("Hostile manifests: bounded, one position, the reader's own words")
struct ManifestHostileTests {
    func error(_ text: String, file: String = "h.yaml", limits: ManifestLimits = .default) -> ManifestError? {
        do {
            _ = try ManifestReader.parse(bytes: Array(text.utf8), file: file, limits: limits)
            return nil
        } catch {
            return error
        }
    }

    @Test("a billion-laughs document is refused at its first alias, with file and line, without expanding it")
    func billionLaughs() throws {
        var text =
            "kind: ConfigMap\nmetadata: {name: x}\ndata:\n  a0: &a0 [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n"
        for i in 1..<10 {
            let refs = Array(repeating: "*a\(i - 1)", count: 9).joined(separator: ",")
            text += "  a\(i): &a\(i) [\(refs)]\n"
        }
        let error = try #require(self.error(text, file: "laughs.yaml"))
        #expect(error.file == "laughs.yaml")
        #expect(error.line == 5)
        #expect("\(error)".contains("aliases"))
        #expect("\(error)".hasPrefix("laughs.yaml:5: "))
    }

    @Test("anchors without aliases are harmless and read as plain values")
    func anchorsAlone() throws {
        let docs = try ManifestReader.parse("kind: A\nmetadata: &m {name: a}\n", file: "a.yaml")
        #expect(docs.first?.name == "a")
    }

    @Test("deep nesting is refused in our words (no yaml_set_max_nest_level)", arguments: ["[", "{a: ", "- "])
    func deepNesting(opener: String) throws {
        let text: String
        if opener == "- " {
            text = String(repeating: "- ", count: 5000) + "x\n"
        } else {
            text = "kind: A\nx: " + String(repeating: opener, count: 20000) + "\n"
        }
        let error = try #require(self.error(text))
        #expect("\(error)".contains("nested deeper than 100 levels") || "\(error)".contains("nested too deeply"))
        #expect(!"\(error)".contains("yaml_set_max_nest_level"))
        #expect(error.line != nil)
    }

    @Test("a duplicate key names the line of the duplicate and the first one")
    func duplicateLine() throws {
        let error = try #require(self.error("kind: Node\nmetadata:\n  name: a\n  labels: {}\n  name: b\n"))
        #expect(error.line == 5)
        #expect("\(error)".contains(#"duplicate key "name" in metadata (first at line 3)"#))
    }

    @Test(
        "a syntax error is one line and column in plain words",
        arguments: [
            ("kind: Node\nmetadata:\n  name: a\n bad: x\n", 4),
            ("kind: Node\nmetadata: {name: [unclosed\n", nil),
            ("kind: Node\n\tname: x\n", 2),
        ] as [(String, Int?)]
    )
    func syntaxPosition(text: String, line: Int?) throws {
        let error = try #require(self.error(text))
        let description = "\(error)"
        #expect(error.code == .syntax)
        let at = try #require(error.line)
        if let line { #expect(at == line) }
        #expect(description.contains("at line \(at), column "))
        #expect(!description.contains("while parsing"))
        #expect(!description.contains("(line "))
    }

    @Test(
        "an integer out of 64-bit range says so instead of becoming a float",
        arguments: [
            "9223372036854775808", "-9223372036854775809", "0x1ffffffffffffffff", "99999999999999999999999",
        ]
    )
    func integerRange(value: String) throws {
        let error = try #require(self.error("kind: A\nspec:\n  numVfs: \(value)\n"))
        #expect(error.line == 3)
        #expect("\(error)".contains("out of range"))
        #expect(!"\(error)".contains("e+"))
        // Quoted, it is a string.
        let docs = try ManifestReader.parse("kind: A\nspec:\n  numVfs: \"\(value)\"\n", file: "q.yaml")
        #expect(docs.first?.value["spec"]?["numVfs"] == .string(value))
        #expect(
            try ManifestReader.parse("kind: A\nn: 9223372036854775807\n", file: "m.yaml").first?.value["n"]
                == 9_223_372_036_854_775_807
        )
    }

    static let prefix: [UInt8] = Array("kind: A\nx: ".utf8)
    static let badBytesCases: [([UInt8], String)] = [
        ([0x6B, 0x3A, 0x20, 0x00, 0x0A], "NUL byte at line 1, column 4"),
        (Array("kind: A\nmetadata:\n  name: a\u{1B}b\n".utf8), "control character U+001B at line 3, column 10"),
        (Self.prefix + [0xFF, 0x0A], "invalid UTF-8 byte 0xff at line 2, column 4"),
        (Self.prefix + [0xC3], "truncated UTF-8 sequence at line 2, column 4"),
        (Self.prefix + [0xED, 0xA0, 0x80], "invalid UTF-8 sequence at line 2, column 4"),
        (Self.prefix + [0xC2, 0x84], "control character U+0084 at line 2, column 4"),
    ]

    @Test("NUL, control characters and invalid UTF-8 name their position", arguments: Self.badBytesCases)
    func badBytes(bytes: [UInt8], expected: String) throws {
        #expect {
            _ = try ManifestReader.parse(bytes: bytes, file: "c.yaml")
        } throws: { "\($0)".contains(expected) }
    }

    @Test(
        "kind: List whose items is not a list, or holds scalars, is an error",
        arguments: [
            "apiVersion: v1\nkind: List\nitems: notalist\n",
            "apiVersion: v1\nkind: List\nitems: {a: b}\n",
            "apiVersion: v1\nkind: List\nitems:\n- 3\n",
            "apiVersion: v1\nkind: List\nitems:\n- kind: Node\n  metadata: {name: a}\n- just a string\n",
        ]
    )
    func listItems(text: String) throws {
        let error = try #require(self.error(text, file: "list.yaml"))
        #expect("\(error)".contains("items"))
        #expect(error.line != nil)
    }

    @Test("a FIFO given as a manifest is refused at once (the test would hang otherwise)")
    func fifo() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sriov-fifo-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        #expect(mkfifo(dir + "/p.yaml", 0o644) == 0)
        #expect {
            _ = try ManifestReader.read(file: dir + "/p.yaml")
        } throws: { "\($0)".contains("not a regular file (a FIFO)") }
        // Found while walking a directory: the same.
        #expect {
            _ = try ManifestReader.read(paths: [dir])
        } throws: { "\($0)".contains("a FIFO") }
        #expect {
            _ = try ManifestReader.read(file: "/dev/zero")
        } throws: { "\($0)".contains("character device") }
    }

    @Test("files and documents beyond the limits are refused, not parsed")
    func sizeLimits() throws {
        var limits = ManifestLimits()
        limits.maxFileBytes = 1000
        #expect(self.error("kind: A\nx: " + String(repeating: "a", count: 2000) + "\n", limits: limits) != nil)
        limits = ManifestLimits()
        limits.maxNodes = 100
        let many = "kind: A\nx: [" + (0..<200).map(String.init).joined(separator: ",") + "]\n"
        #expect("\(self.error(many, limits: limits).map { "\($0)" } ?? "")".contains("more than 100 values"))
    }

    @Test("values quoted in messages are cut at 80 characters with their length")
    func quotedCut() throws {
        let long = String(repeating: "9", count: 1 << 20)
        let error = try #require(self.error("kind: A\nn: \(long)\n"))
        let description = "\(error)"
        #expect(description.count < 400)
        #expect(description.contains("(1048576 characters)"))
        #expect(QuotedValue.shorten("a \"\(long)\" b").count < 200)
    }

    @Test("fuzz: mutated manifests never crash or escape the error type; errors name the file", arguments: 0..<6)
    func fuzzMutations(seed: Int) {
        var generator = SplitMix(seed: UInt64(seed) &+ 1000)
        let base = Array(
            """
            apiVersion: sriovnetwork.openshift.io/v1
            kind: SriovNetworkNodePolicy
            metadata:
              name: policy-1
              namespace: sriov-network-operator
            spec:
              resourceName: intelnics
              numVfs: 8
              nicSelector: {pfNames: ["ens1f0#0-3"], vendor: "8086"}
              deviceType: vfio-pci
            ---
            kind: List
            items:
            - kind: Node
              metadata: {name: n}

            """.utf8
        )
        let insertions: [[UInt8]] = [
            Array("&a ".utf8), Array("*a".utf8), Array("[[[[".utf8), Array("{".utf8), Array("\t".utf8), [0], [0xFF],
            [0xC3], Array("---\n".utf8), Array("? [a]\n".utf8), Array("9223372036854775808".utf8), Array(": ".utf8),
            Array("\"".utf8), Array("!!binary ".utf8), Array("%YAML 1.1\n".utf8), Array("- ".utf8), [0x1B],
        ]
        for _ in 0..<150 {
            var bytes = base
            for _ in 0..<(1 + Int(generator.next() % 4)) {
                let at = Int(generator.next() % UInt64(bytes.count + 1))
                switch generator.next() % 3 {
                case 0: bytes.insert(contentsOf: insertions[Int(generator.next() % UInt64(insertions.count))], at: at)
                case 1: if at < bytes.count { bytes.remove(at: at) }
                default: if at < bytes.count { bytes[at] = UInt8(truncatingIfNeeded: generator.next()) }
                }
            }
            do {
                _ = try ManifestReader.parse(bytes: bytes, file: "fuzz.yaml")
            } catch {
                #expect(error.file == "fuzz.yaml")
                #expect("\(error)".hasPrefix("fuzz.yaml"))
                #expect(!"\(error)".contains("yaml_set_max_nest_level"))
            }
        }
    }
}

@Suite("Kubernetes name rules in the API server's words")
struct KubeNamesTests {
    @Test(
        "names the API server refuses",
        arguments: [
            "a/b", "..", ".", "Upper", "a_b", String(repeating: "a", count: 254), "-a", "a.", "a%b",
        ]
    )
    func refusedNames(name: String) {
        let problems = KubeNames.metadataProblems(name: name, namespace: nil, namespaced: true)
        #expect(problems.first?.field == "metadata.name")
        #expect(problems.first?.message.hasPrefix("Invalid value: ") == true)
        #expect((problems.first?.message.count ?? 0) < 700)
    }

    @Test("accepted names and namespaces", arguments: ["a", "policy-1", "a.b.c", "0abc"])
    func acceptedNames(name: String) {
        #expect(KubeNames.metadataProblems(name: name, namespace: "sriov-network-operator", namespaced: true).isEmpty)
    }

    @Test("an invalid namespace is a DNS-1123 label finding with upstream's message")
    func namespace() {
        let problems = KubeNames.metadataProblems(name: "a", namespace: "Bad.NS", namespaced: true)
        #expect(problems.map(\.field) == ["metadata.namespace"])
        #expect(problems.first?.message.contains("a lowercase RFC 1123 label must consist of") == true)
        #expect(KubeNames.dnsSubdomainProblem("Upper")?.contains("a lowercase RFC 1123 subdomain") == true)
        #expect(KubeNames.dnsLabelProblem(String(repeating: "a", count: 64)) == "must be no more than 63 characters")
    }

    @Test("label keys and values")
    func labels() {
        #expect(KubeNames.labelKeyProblem("node-role.kubernetes.io/worker") == nil)
        #expect(KubeNames.labelKeyProblem("a/b/c") != nil)
        #expect(KubeNames.labelKeyProblem("-x") != nil)
        #expect(KubeNames.labelValueProblem("") == nil)
        #expect(KubeNames.labelValueProblem("bad value") != nil)
    }
}
