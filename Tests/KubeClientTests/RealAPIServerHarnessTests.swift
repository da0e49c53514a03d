import Foundation
import SriovTestKit
import Testing

/// One real API server for the whole suite, started by the first test that needs it. A global is never deinitialized:
/// the script's watchdog stops the server and removes its directory when the test process exits.
private let sharedServer = Result { try RealAPIServer.start() }

private let namespace = "sriov-network-operator"
private let policyCRD = "sriovnetworknodepolicies.sriovnetwork.openshift.io"

/// Checks the real kube-apiserver harness end to end: TLS and token auth, the project's CRDs (structural schemas with
/// defaults) and the example manifests. Skipped when `bash scripts/kube-apiserver.sh build` has not run on the machine.
@Suite(.enabled(if: RealAPIServer.isAvailable), .serialized)
struct RealAPIServerHarnessTests {
    @Test func readyzOverHTTPSWithTheToken() throws {
        let server = try sharedServer.get()
        let caFile = server.directory + "/ca-for-curl.pem"
        try server.caPEM.write(toFile: caFile, atomically: true, encoding: .utf8)
        let curl = try run(
            "curl",
            [
                "-sS", "--max-time", "10", "--cacert", caFile, "-H", "Authorization: Bearer \(server.token)",
                server.url + "/readyz",
            ]
        )
        #expect(curl.status == 0, "\(curl.stderr)")
        #expect(curl.stdout == "ok")

        let anonymous = try run(
            "curl",
            [
                "-sS", "-o", "/dev/null", "-w", "%{http_code}", "--cacert", caFile,
                server.url + "/api/v1/namespaces",
            ]
        )
        #expect(anonymous.stdout == "403" || anonymous.stdout == "401", "anonymous requests must not be authorized")

        let raw = try server.kubectl(["get", "--raw", "/readyz"])
        #expect(raw.status == 0, "\(raw.stderr)")
        #expect(raw.stdout == "ok")
    }

    @Test func reportsTheStampedVersion() throws {
        let server = try sharedServer.get()
        let version = try server.kubectl(["get", "--raw", "/version"])
        #expect(version.status == 0, "\(version.stderr)")
        let object = try jsonObject(version.stdout)
        #expect(object["gitVersion"] as? String == "v1.20.2")
    }

    @Test func crdsBecomeEstablished() throws {
        let server = try sharedServer.get()
        try installCRDs(server)
        let crds = try server.kubectl(["get", "crd", "-o", "name"])
        #expect(crds.status == 0, "\(crds.stderr)")
        for name in ["sriovnetworknodepolicies", "sriovnetworknodestates", "sriovnetworks", "sriovoperatorconfigs"] {
            #expect(crds.stdout.contains("\(name).sriovnetwork.openshift.io"))
        }
    }

    @Test func examplePolicyKeepsItsDeviceType() throws {
        let server = try sharedServer.get()
        try installCRDs(server)
        try ensureNamespace(server)
        let example = RealAPIServer.repositoryRoot.appendingPathComponent("examples/policies/intel-dpdk.yaml").path
        let applied = try server.kubectl(["apply", "-f", example])
        #expect(applied.status == 0, "\(applied.stderr)")

        let spec = try policySpec(server, "intel-dpdk")
        #expect(spec["deviceType"] as? String == "vfio-pci")
        #expect(spec["numVfs"] as? Int == 16)
        #expect(spec["resourceName"] as? String == "intel_dpdk")
    }

    @Test func crdDefaultsDeviceTypeToNetdevice() throws {
        let server = try sharedServer.get()
        try installCRDs(server)
        try ensureNamespace(server)
        let manifest = """
            apiVersion: sriovnetwork.openshift.io/v1
            kind: SriovNetworkNodePolicy
            metadata:
              name: no-device-type
              namespace: \(namespace)
            spec:
              resourceName: plain
              nodeSelector: {}
              numVfs: 2
              nicSelector:
                pfNames: ["ens1f1"]
            """
        let applied = try server.kubectl(["apply", "-f", "-"], stdin: manifest)
        #expect(applied.status == 0, "\(applied.stderr)")

        let spec = try policySpec(server, "no-device-type")
        #expect(spec["deviceType"] as? String == "netdevice")
    }

    @Test func startAndStopOwnServer() throws {
        let server = try RealAPIServer.start()
        let directory = server.directory
        let env = try String(contentsOfFile: directory + "/env", encoding: .utf8)
        let pids = env.split(separator: "\n")
            .filter { $0.hasPrefix("KUBE_APISERVER_PID=") || $0.hasPrefix("ETCD_PID=") }
            .compactMap { $0.split(separator: "=").last.map(String.init) }
        #expect(pids.count == 2)
        #expect(pids.allSatisfy(isRunning))
        #expect(server.isRunning)

        server.stop()
        server.stop()
        #expect(!server.isRunning)
        #expect(!FileManager.default.fileExists(atPath: directory))
        #expect(!pids.contains(where: isRunning))
    }
}

// MARK: - Helpers

private func installCRDs(_ server: RealAPIServer) throws {
    let crds = RealAPIServer.repositoryRoot.appendingPathComponent("deploy/crds.yaml").path
    let applied = try server.kubectl(["apply", "-f", crds])
    try #require(applied.status == 0, "kubectl apply -f deploy/crds.yaml: \(applied.stderr)")
    let established = try server.kubectl([
        "wait", "--for=condition=Established", "--timeout=60s", "crd/\(policyCRD)",
    ])
    try #require(established.status == 0, "CRD not Established: \(established.stderr)")
}

private func ensureNamespace(_ server: RealAPIServer) throws {
    let manifest = """
        apiVersion: v1
        kind: Namespace
        metadata:
          name: \(namespace)
        """
    let applied = try server.kubectl(["apply", "-f", "-"], stdin: manifest)
    try #require(applied.status == 0, "namespace: \(applied.stderr)")
}

private func policySpec(_ server: RealAPIServer, _ name: String) throws -> [String: Any] {
    let got = try server.kubectl(["get", "sriovnetworknodepolicy", name, "-n", namespace, "-o", "json"])
    try #require(got.status == 0, "kubectl get: \(got.stderr)")
    let spec = try jsonObject(got.stdout)["spec"] as? [String: Any]
    return try #require(spec, "policy \(name) has no spec")
}

private func jsonObject(_ text: String) throws -> [String: Any] {
    let object = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any]
    return try #require(object, "not a JSON object: \(text)")
}

/// Whether a process is alive: a zombie (exited, not yet reaped by whoever adopted it) counts as gone.
private func isRunning(_ pid: String) -> Bool {
    guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
        let close = stat.lastIndex(of: ")")
    else {
        return false
    }
    let state = stat[stat.index(after: close)...].trimmingCharacters(in: .whitespaces).prefix(1)
    return state != "Z" && state != "X"
}

/// Runs a tool from PATH through `/usr/bin/env`, capturing its output.
private func run(_ tool: String, _ arguments: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = [tool] + arguments
    let out = Pipe()
    let err = Pipe()
    process.standardOutput = out
    process.standardError = err
    try process.run()
    // curl's output here is a few bytes, far below a pipe's buffer, so reading after exit cannot deadlock.
    process.waitUntilExit()
    let stdout = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    return (process.terminationStatus, stdout, stderr)
}
