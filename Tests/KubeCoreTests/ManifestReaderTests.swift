import Foundation
import Testing

@testable import KubeCore

@Suite("Manifest reading")
struct ManifestReaderTests {
    @Test("multi-document YAML with comments and an empty trailing document")
    func multiDocument() throws {
        let docs = try ManifestReader.parse(
            """
            # leading comment
            apiVersion: v1
            kind: Node
            metadata: {name: a}
            ---
            apiVersion: v1
            kind: Node
            metadata:
              name: b
            ---
            """,
            file: "nodes.yaml"
        )
        #expect(docs.map(\.name) == ["a", "b"])
        #expect(docs.map(\.documentIndex) == [1, 2])
    }

    @Test("kind: List is expanded into its items, with item paths in errors")
    func list() throws {
        let docs = try ManifestReader.parse(
            """
            apiVersion: v1
            kind: List
            items:
            - apiVersion: v1
              kind: Node
              metadata:
                name: a
            - apiVersion: v1
              kind: Node
              metadata:
                name: b
                labelz: {}
            """,
            file: "list.yaml"
        )
        #expect(docs.map(\.name) == ["a", "b"])
        #expect {
            _ = try docs[1].decode(Node.self)
        } throws: { error in
            "\(error)" == #"list.yaml:12: Node "b": items[1].metadata.labelz: unknown field, did you mean labels?"#
        }
    }

    @Test("a List of twelve items: an error in items[10] names its own line, not items[1]'s")
    func listItemLines() throws {
        var text = "apiVersion: v1\nkind: List\nitems:\n"
        for i in 0..<12 {
            text += "- apiVersion: v1\n  kind: Node\n  metadata:\n    name: n\(i)\n"
            if i == 1 || i == 10 { text += "    labelz: {}\n" }
        }
        let docs = try ManifestReader.parse(text, file: "list.yaml")
        #expect(docs.map(\.name) == (0..<12).map { "n\($0)" })
        // items[0] spans lines 4–7, items[1] lines 8–12 (with labelz on 12), then 4 lines an item: items[10] starts
        // on line 45 and its labelz is line 49.
        #expect(docs[10].line == 45)
        #expect {
            _ = try docs[10].decode(Node.self)
        } throws: { error in
            "\(error)" == #"list.yaml:49: Node "n10": items[10].metadata.labelz: unknown field, did you mean labels?"#
        }
        #expect {
            _ = try docs[1].decode(Node.self)
        } throws: { error in
            "\(error)" == #"list.yaml:12: Node "n1": items[1].metadata.labelz: unknown field, did you mean labels?"#
        }
    }

    @Test("JSON documents are read too")
    func json() throws {
        let docs = try ManifestReader.parse(
            #"{"apiVersion":"v1","kind":"Node","metadata":{"name":"j"}}"#,
            file: "n.json"
        )
        #expect(docs.first?.name == "j")
    }

    @Test("YAML 1.2 scalar typing: quoted numbers stay strings, on/off are strings, numbers are numbers")
    func typing() throws {
        let docs = try ManifestReader.parse(
            """
            kind: X
            a: "8086"
            b: 8086
            c: on
            d: true
            e: ~
            f: 1.5
            g: '0x10'
            """,
            file: "t.yaml"
        )
        let v = try #require(docs.first?.value)
        #expect(v["a"] == "8086")
        #expect(v["b"] == 8086)
        #expect(v["c"] == "on")
        #expect(v["d"] == true)
        #expect(v["e"] == .null)
        #expect(v["f"] == .double(1.5))
        #expect(v["g"] == "0x10")
    }

    @Test("a syntax error names the file and the line")
    func syntaxError() {
        #expect {
            _ = try ManifestReader.parse("kind: Node\nmetadata:\n  name: [unclosed\n", file: "bad.yaml")
        } throws: { error in
            guard let error = error as? ManifestError else { return false }
            return error.code == .syntax && error.file == "bad.yaml" && error.line != nil
                && "\(error)".hasPrefix("bad.yaml:")
        }
    }

    @Test("duplicate keys are an error, not a silent overwrite")
    func duplicateKeys() {
        #expect {
            _ = try ManifestReader.parse("kind: Node\nkind: Pod\n", file: "dup.yaml")
        } throws: { error in
            "\(error)".contains(#"duplicate key "kind""#)
        }
    }

    @Test("a scalar document is not an object")
    func scalarDocument() {
        #expect(throws: ManifestError.self) { _ = try ManifestReader.parse("just a string\n", file: "s.yaml") }
    }

    @Test("directories are walked recursively for yaml, yml and json; other files are skipped")
    func directories() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("sriov-reader-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        try FileManager.default.createDirectory(
            at: root.appendingPathComponent("sub"),
            withIntermediateDirectories: true
        )
        try "kind: A\n".write(to: root.appendingPathComponent("b.yaml"), atomically: true, encoding: .utf8)
        try "kind: B\n".write(to: root.appendingPathComponent("sub/a.yml"), atomically: true, encoding: .utf8)
        try #"{"kind":"C"}"#.write(to: root.appendingPathComponent("c.json"), atomically: true, encoding: .utf8)
        try "not yaml".write(to: root.appendingPathComponent("README.md"), atomically: true, encoding: .utf8)
        let docs = try ManifestReader.read(paths: [root.path])
        #expect(Set(docs.map(\.kind)) == ["A", "B", "C"])
        #expect(throws: ManifestError.self) {
            _ = try ManifestReader.read(paths: [root.appendingPathComponent("missing").path])
        }
    }

    @Test("fuzz: no input crashes the reader or the decoder", arguments: 0..<200)
    func fuzz(seed: Int) {
        var generator = SplitMix(seed: UInt64(seed))
        let alphabet = Array(
            "apiVersion: v1\nkind: Node\nmetadata:\n  name: x\n- [ ] { } : , \" ' # & * ! | > % @ ` \t---\n0123456789"
                .utf8
        )
        let bytes = (0..<Int(generator.next() % 200)).map { _ in
            alphabet[Int(generator.next() % UInt64(alphabet.count))]
        }
        let text = String(decoding: bytes, as: UTF8.self)
        if let docs = try? ManifestReader.parse(text, file: "fuzz.yaml") {
            for doc in docs { _ = try? doc.decode(Node.self) }
        }
    }
}

struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { self.state = seed }
    mutating func next() -> UInt64 {
        self.state &+= 0x9E37_79B9_7F4A_7C15
        var z = self.state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

@Suite("YAML output")
struct YAMLWriterTests {
    @Test("strings that look like other types are quoted, and the output reads back identically")
    func roundTrip() throws {
        let value: JSONValue = [
            "vendor": "8086", "on": "on", "empty": "", "bool": true, "int": 3,
            "nested": ["list": ["a", "0x1f", "1e3"]],
            "multi": "line one\nline two", "json": #"{"resourceList":null}"#,
        ]
        let yaml = YAMLWriter.string(value)
        #expect(yaml.contains(#"vendor: "8086""#))
        let back = try ManifestReader.parse(yaml, file: "out.yaml")
        #expect(back.first?.value == value)
    }
}
