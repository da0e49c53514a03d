import Foundation
import KubeCore
import SriovAPI
import Testing

@testable import SriovRender

private func manifest(_ yaml: String) throws -> JSONValue {
    let documents = try ManifestReader.parse(yaml, file: "test.yaml")
    return try #require(documents.first).value
}

private func violations(_ yaml: String, validatesStatus: Bool = true) throws -> [String] {
    SchemaValidator(validatesStatus: validatesStatus).validate(try manifest(yaml)).map(\.description)
}

private let validPolicy = """
    apiVersion: sriovnetwork.openshift.io/v1
    kind: SriovNetworkNodePolicy
    metadata:
      name: intel
      namespace: sriov-network-operator
    spec:
      resourceName: intelnics
      nodeSelector:
        feature.node.kubernetes.io/network-sriov.capable: "true"
      priority: 99
      numVfs: 8
      nicSelector:
        vendor: "8086"
        pfNames: ["ens1f0#0-3"]
      deviceType: vfio-pci
    """

/// `validPolicy` with one `spec` line replaced or added.
private func policy(_ specLine: String, replacing prefix: String? = nil) -> String {
    var lines = validPolicy.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    if let prefix, let index = lines.firstIndex(where: { $0.hasPrefix("  \(prefix)") }) {
        if specLine.isEmpty { lines.remove(at: index) } else { lines[index] = "  " + specLine }
    } else {
        lines.append("  " + specLine)
    }
    return lines.joined(separator: "\n")
}

private let validNetwork = """
    apiVersion: sriovnetwork.openshift.io/v1
    kind: SriovNetwork
    metadata:
      name: net1
      namespace: sriov-network-operator
    spec:
      resourceName: intelnics
      networkNamespace: default
      vlan: 4094
      vlanQoS: 7
      spoofChk: "on"
      trust: "off"
      logLevel: ""
      ipam: '{"type": "host-local"}'
    """

extension CRDTests {
    @Suite("SchemaValidator")
    struct Validation {
        @Test("accepts a valid policy and a valid network")
        func acceptsValidObjects() throws {
            #expect(try violations(validPolicy) == [])
            #expect(try violations(validNetwork) == [])
        }

        @Test("an unsupported enum value lists the supported values")
        func unsupportedValue() throws {
            #expect(
                try violations(policy("deviceType: vfio", replacing: "deviceType")) == [
                    #"spec.deviceType: Unsupported value: "vfio": supported values: "netdevice", "vfio-pci""#
                ]
            )
            let logLevel = validNetwork.replacingLogLevel(with: "verbose")
            #expect(
                try violations(logLevel) == [
                    #"spec.logLevel: Unsupported value: "verbose": supported values: "panic", "error", "#
                        + #""warning", "info", "debug", """#
                ]
            )
        }

        @Test("bounds are reported with the API server's words")
        func bounds() throws {
            #expect(
                try violations(policy("priority: 100", replacing: "priority")) == [
                    "spec.priority: Invalid value: 100: spec.priority in body should be less than or equal to 99"
                ]
            )
            #expect(
                try violations(policy("numVfs: -1", replacing: "numVfs")) == [
                    "spec.numVfs: Invalid value: -1: spec.numVfs in body should be greater than or equal to 0"
                ]
            )
            #expect(
                try violations(policy("mtu: 0")) == [
                    "spec.mtu: Invalid value: 0: spec.mtu in body should be greater than or equal to 1"
                ]
            )
            let vlan = validNetwork.replacingOccurrences("vlan: 4094", "vlan: 4095")
            #expect(
                try violations(vlan) == [
                    "spec.vlan: Invalid value: 4095: spec.vlan in body should be less than or equal to 4094"
                ]
            )
        }

        @Test("a value of the wrong JSON type names the expected and the actual type")
        func wrongType() throws {
            #expect(
                try violations(policy("numVfs: \"8\"", replacing: "numVfs")) == [
                    #"spec.numVfs: Invalid value: "string": spec.numVfs in body must be of type integer: "string""#
                ]
            )
            #expect(
                try violations(policy("isRdma: \"yes\"")) == [
                    #"spec.isRdma: Invalid value: "string": spec.isRdma in body must be of type boolean: "string""#
                ]
            )
            #expect(try violations(policy("numVfs: 8.0", replacing: "numVfs")) == [])
        }

        @Test("a missing required field is a Required value")
        func required() throws {
            #expect(
                try violations(policy("", replacing: "resourceName")) == ["spec.resourceName: Required value"]
            )
            let network = validNetwork.replacingOccurrences("  resourceName: intelnics\n", "")
            #expect(try violations(network) == ["spec.resourceName: Required value"])
        }

        @Test("a null field counts as absent, as the API server prunes it")
        func nullIsAbsent() throws {
            #expect(try violations(policy("mtu: null")) == [])
            #expect(
                try violations(policy("resourceName: null", replacing: "resourceName")) == [
                    "spec.resourceName: Required value"
                ]
            )
        }

        @Test("map values are checked against additionalProperties")
        func mapValues() throws {
            #expect(
                try violations(validPolicy.replacingOccurrences("network-sriov.capable: \"true\"", "zone: 1")) == [
                    #"spec.nodeSelector.feature.node.kubernetes.io/zone: Invalid value: "integer": "#
                        + #"spec.nodeSelector.feature.node.kubernetes.io/zone in body must be of type string: "#
                        + #""integer""#
                ]
            )
        }

        @Test("an undeclared field is a strict-decoding error naming its path")
        func unknownField() throws {
            let found = SchemaValidator().validate(try manifest(policy("numVf: 8")))
            #expect(found.map(\.description) == [#"unknown field "spec.numVf""#])
            #expect(found.map(\.reason) == [.unknownField])
            #expect(found.map(\.path) == ["spec.numVf"])
        }

        @Test("metadata is opaque except that it must be an object")
        func metadata() throws {
            #expect(try violations(validPolicy.replacingOccurrences("  name: intel\n", "  anything: [1, 2]\n")) == [])
            let notObject = validPolicy.replacingOccurrences(
                "metadata:\n  name: intel\n  namespace: sriov-network-operator\n",
                "metadata: intel\n"
            )
            #expect(
                try violations(notObject) == [
                    #"metadata: Invalid value: "string": metadata in body must be of type object: "string""#
                ]
            )
        }

        @Test("array items are reported with their index")
        func arrayIndices() throws {
            let state = """
                apiVersion: sriovnetwork.openshift.io/v1
                kind: SriovNetworkNodeState
                metadata: {name: worker-0}
                status:
                  syncStatus: Succeeded
                  interfaces:
                  - pciAddress: "0000:86:00.0"
                    Vfs:
                    - pciAddress: "0000:86:02.0"
                      vfID: 0
                    - pciAddress: "0000:86:02.1"
                  - name: ens2f0
                """
            #expect(
                try violations(state) == [
                    "status.interfaces[0].Vfs[1].vfID: Required value",
                    "status.interfaces[1].pciAddress: Required value",
                ]
            )
            #expect(try violations(state, validatesStatus: false) == [])
        }

        @Test("maxUnavailable takes an integer or a string, nothing else")
        func intOrString() throws {
            let pool = """
                apiVersion: sriovnetwork.openshift.io/v1
                kind: SriovNetworkPoolConfig
                metadata: {name: workers}
                spec:
                  maxUnavailable: MAX
                """
            #expect(try violations(pool.replacingOccurrences("MAX", "2")) == [])
            #expect(try violations(pool.replacingOccurrences("MAX", "30%")) == [])
            #expect(
                try violations(pool.replacingOccurrences("MAX", "true")) == [
                    #"spec.maxUnavailable: Invalid value: "boolean": spec.maxUnavailable in body must be of type "#
                        + #"integer,string: "boolean""#
                ]
            )
        }

        @Test("conditions: unique by type, a valid date-time, and a reason matching the pattern")
        func conditions() throws {
            let network = """
                apiVersion: sriovnetwork.openshift.io/v1
                kind: SriovNetwork
                metadata: {name: net1}
                spec: {resourceName: intelnics}
                status:
                  conditions:
                  - {type: Ready, status: "True", reason: Ok, message: m, lastTransitionTime: "2026-05-01T10:00:00Z"}
                  - {type: Ready, status: Maybe, reason: "not ok", message: m, lastTransitionTime: yesterday}
                """
            #expect(
                try violations(network) == [
                    #"status.conditions[1].status: Unsupported value: "Maybe": supported values: "True", "False", "#
                        + #""Unknown""#,
                    #"status.conditions[1].reason: Invalid value: "not ok": status.conditions[1].reason in body "#
                        + #"should match '^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$'"#,
                    #"status.conditions[1].lastTransitionTime: Invalid value: "yesterday": "#
                        + #"status.conditions[1].lastTransitionTime in body must be of type date-time: "yesterday""#,
                    #"status.conditions[1]: Duplicate value: map[string]interface {}{"type":"Ready"}"#,
                ]
            )
        }

        @Test("objects of other kinds or versions are reported, not validated")
        func unknownKinds() throws {
            let deployment = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\n"
            let found = SchemaValidator().validate(try manifest(deployment))
            #expect(found.map(\.reason) == [.unknownKind])
            #expect(found.first?.path == "kind")
            let v2 = validPolicy.replacingOccurrences("openshift.io/v1", "openshift.io/v2")
            #expect(
                try violations(v2) == [
                    #"apiVersion: Unsupported value: "sriovnetwork.openshift.io/v2": supported values: "#
                        + #""sriovnetwork.openshift.io/v1""#
                ]
            )
            #expect(SchemaValidator().validate(.string("policy")).map(\.reason) == [.invalidType])
            #expect(try violations("apiVersion: v1\nmetadata: {name: x}\n") == ["kind: Required value"])
        }

        @Test(
            "bad values print as Go's %v does",
            arguments: [
                (JSONValue.double(1.5), "1.5"), (.double(100), "100"), (.double(1e6), "1e+06"),
                (.double(1_234_567), "1.234567e+06"), (.double(123456.5), "123456.5"), (.double(0.0001), "0.0001"),
                (.double(0.00001), "1e-05"), (.double(-2.5), "-2.5"), (.int(-7), "-7"), (.bool(true), "true"),
                (.string("a\"b"), #""a\"b""#), (.null, #""null""#),
                (.array([.string("a"), .int(1)]), #"[]interface {}{"a", 1}"#),
            ]
        )
        func goFormatting(value: JSONValue, expected: String) {
            #expect(SchemaValidator.goValue(value) == expected)
        }

        @Test("never traps, whatever the input")
        func neverTraps() throws {
            var generator = SplitMix(seed: 42)
            let seeds = try FullyPopulated.encodedByKind().map(\.json) + [try manifest(validPolicy)]
            for round in 0..<2_000 {
                let seed = seeds[round % seeds.count]
                let mutated = mutate(seed, using: &generator, depth: 0)
                _ = SchemaValidator().validate(mutated)
                _ = SchemaValidator(validatesStatus: false).validate(mutated)
            }
        }
    }
}

// MARK: - Helpers

extension String {
    fileprivate func replacingOccurrences(_ target: String, _ replacement: String) -> String {
        self.replacingOccurrences(of: target, with: replacement)
    }

    fileprivate func replacingLogLevel(with level: String) -> String {
        self.replacingOccurrences(#"logLevel: """#, "logLevel: \(level)")
    }
}

/// A small deterministic generator, so a failing mutation can be replayed.
private struct SplitMix: RandomNumberGenerator {
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

private func randomScalar(using generator: inout SplitMix) -> JSONValue {
    switch Int.random(in: 0..<9, using: &generator) {
    case 0: return .null
    case 1: return .bool(Bool.random(using: &generator))
    case 2: return .int(Int.random(in: Int.min...Int.max, using: &generator))
    case 3: return .double(Double.random(in: -1e300...1e300, using: &generator))
    case 4: return .double(.infinity)
    case 5: return .string(String(repeating: "\u{0}é\"\\", count: Int.random(in: 0..<4, using: &generator)))
    case 6: return .array([.null, .object(JSONObject())])
    case 7: return .object(["type": .string("Ready"), "": .null])
    default: return .string("[")
    }
}

/// Replaces, drops or duplicates random parts of `value`.
private func mutate(_ value: JSONValue, using generator: inout SplitMix, depth: Int) -> JSONValue {
    if depth > 0, Int.random(in: 0..<6, using: &generator) == 0 { return randomScalar(using: &generator) }
    switch value {
    case .object(let object):
        var result = JSONObject()
        for (key, child) in object {
            switch Int.random(in: 0..<10, using: &generator) {
            case 0: continue
            case 1: result[key + "x"] = child
            default: result[key] = mutate(child, using: &generator, depth: depth + 1)
            }
        }
        return .object(result)
    case .array(let items):
        var result = items.map { mutate($0, using: &generator, depth: depth + 1) }
        if let first = result.first, Bool.random(using: &generator) { result.append(first) }
        return .array(result)
    default:
        return value
    }
}
