// `sriov-nl-probe kubelet`: a fake kubelet (SriovTestKit's FakeKubelet, legacy mode) for driving the real
// `sriov device-plugin` in the QEMU guest. It serves `<DIR>/device-plugins/kubelet.sock`, waits until the expected
// resources are registered with the expected device counts, calls Allocate, optionally writes host files (e.g.
// `sriov_numvfs`) and waits for the new ListAndWatch lists, then prints one JSON object with what it saw.
//
//   sriov-nl-probe kubelet DIR --expect RESOURCE=COUNT... [--allocate RESOURCE=ID] [--read PATH]...
//                              [--write PATH=VALUE]... [--expect-after RESOURCE=COUNT]... [--timeout SECONDS]
//
// `--read` files are read right after Allocate (a device-info file, before a write removes the device).
//
// Exit status 0 when every wait was satisfied; 1 on a timeout or a failed call (the JSON then carries "error" and
// what was seen so far); 2 for a usage error.
import DevicePluginAPI
import Foundation
import SriovHost
import SriovTestKit

struct KubeletProbeArguments {
    var directory: String
    var expect: [String: Int] = [:]
    var allocate: (resource: String, id: String)?
    var reads: [String] = []
    var writes: [(path: String, value: String)] = []
    var expectAfter: [String: Int] = [:]
    var timeout: Duration = .seconds(60)

    static let usage =
        "kubelet DIR --expect RESOURCE=COUNT... [--allocate RESOURCE=ID] [--read PATH]... [--write PATH=VALUE]... "
        + "[--expect-after RESOURCE=COUNT]... [--timeout SECONDS]"

    init(_ arguments: [String]) throws {
        guard let directory = arguments.first, !directory.hasPrefix("--") else { throw Usage.bad(Self.usage) }
        self.directory = directory
        var rest = arguments.dropFirst()
        while let flag = rest.popFirst() {
            guard let value = rest.popFirst() else { throw Usage.bad("\(flag) needs a value; \(Self.usage)") }
            switch flag {
            case "--expect":
                let (resource, count) = try Self.resourceCount(value, flag)
                self.expect[resource] = count
            case "--expect-after":
                let (resource, count) = try Self.resourceCount(value, flag)
                self.expectAfter[resource] = count
            case "--allocate":
                let (resource, id) = try Self.split(value, flag, last: false)
                self.allocate = (resource, id)
            case "--read":
                self.reads.append(value)
            case "--write":
                // The path may hold no `=`, the value may not either: split at the last one.
                let (path, written) = try Self.split(value, flag, last: true)
                self.writes.append((path, written))
            case "--timeout":
                guard let seconds = Int(value), seconds > 0 else {
                    throw Usage.bad("--timeout \(value): expected a positive number of seconds")
                }
                self.timeout = .seconds(seconds)
            default:
                throw Usage.bad("unknown option \(flag); \(Self.usage)")
            }
        }
        guard !self.expect.isEmpty else { throw Usage.bad("no --expect; \(Self.usage)") }
        if !self.expectAfter.isEmpty && self.writes.isEmpty {
            throw Usage.bad("--expect-after needs a --write; \(Self.usage)")
        }
    }

    static func split(_ value: String, _ flag: String, last: Bool) throws -> (String, String) {
        guard let index = last ? value.lastIndex(of: "=") : value.firstIndex(of: "=") else {
            throw Usage.bad("\(flag) \(value): expected KEY=VALUE")
        }
        return (String(value[..<index]), String(value[value.index(after: index)...]))
    }

    static func resourceCount(_ value: String, _ flag: String) throws -> (String, Int) {
        let (resource, text) = try Self.split(value, flag, last: false)
        guard let count = Int(text), count >= 0 else {
            throw Usage.bad("\(flag) \(value): expected RESOURCE=COUNT")
        }
        return (resource, count)
    }
}

/// What the probe prints: every field that was reached; `error` names the wait or call that failed.
struct KubeletReport: Encodable {
    struct Registration: Encodable {
        var resourceName: String
        var endpoint: String
        var version: String
    }

    struct Device: Encodable {
        var id: String
        var health: String
    }

    struct Resource: Encodable {
        /// The latest ListAndWatch list.
        var devices: [Device]
        /// How many lists the kubelet has received.
        var lists: Int
        var streaming: Bool
        var streamEnds: Int
    }

    struct DeviceSpec: Encodable {
        var containerPath: String
        var hostPath: String
        var permissions: String
    }

    struct Mount: Encodable {
        var containerPath: String
        var hostPath: String
        var readOnly: Bool
    }

    struct File: Encodable {
        var content: String
        var mode: String
    }

    struct Allocation: Encodable {
        var resource: String
        var ids: [String]
        var envs: [String: String]
        var devices: [DeviceSpec]
        var mounts: [Mount]
        var annotations: [String: String]
    }

    var registrations: [Registration] = []
    var resources: [String: Resource] = [:]
    var allocate: Allocation?
    /// The `--read` files after Allocate: content and octal mode, or nil when missing.
    var files: [String: File?] = [:]
    var writes: [String] = []
    /// The resources after the writes (when `--expect-after` was given).
    var after: [String: Resource]?
    /// Registrations after the writes: equal to `registrations.count` when the change needed no re-registration.
    var registrationsAfter: Int?
    var error: String?

    static func resources(_ kubelet: FakeKubelet) -> [String: Resource] {
        var resources: [String: Resource] = [:]
        for name in kubelet.resourceNames {
            guard let resource = kubelet.resource(name) else { continue }
            resources[name] = Resource(
                devices: (resource.devices ?? []).map { Device(id: $0.id, health: $0.health) },
                lists: resource.lists.count,
                streaming: resource.streaming,
                streamEnds: resource.streamEnds
            )
        }
        return resources
    }

    static func registrations(_ kubelet: FakeKubelet) -> [Registration] {
        kubelet.registrations.map {
            Registration(resourceName: $0.resourceName, endpoint: $0.endpoint, version: $0.version)
        }
    }
}

enum KubeletProbe {
    /// Runs the probe; prints the report and returns false when a wait timed out or a call failed.
    static func run(_ arguments: [String]) async throws -> Bool {
        let options = try KubeletProbeArguments(arguments)
        let report = try await withFakeKubelet(directory: options.directory) { kubelet in
            var report = KubeletReport()
            do {
                try await Self.drive(kubelet, options, &report)
            } catch {
                report.error = "\(error)"
            }
            report.registrations = KubeletReport.registrations(kubelet)
            if report.after == nil { report.resources = KubeletReport.resources(kubelet) }
            return report
        }
        printJSON(report)
        if let error = report.error {
            FileHandle.standardError.write(Data("error: \(error)\n".utf8))
            return false
        }
        return true
    }

    static func drive(
        _ kubelet: FakeKubelet,
        _ options: KubeletProbeArguments,
        _ report: inout KubeletReport
    )
        async throws
    {
        let expect = options.expect
        try await kubelet.wait("registration of \(Self.describe(expect))", timeout: options.timeout) { kubelet in
            expect.allSatisfy { kubelet.resource($0.key)?.devices?.count == $0.value }
        }
        report.resources = KubeletReport.resources(kubelet)
        if let (resource, id) = options.allocate {
            let response = try await kubelet.allocate(resource, [id])
            report.allocate = KubeletReport.Allocation(
                resource: resource,
                ids: [id],
                envs: response.envs,
                devices: response.devices.map {
                    .init(containerPath: $0.containerPath, hostPath: $0.hostPath, permissions: $0.permissions)
                },
                mounts: response.mounts.map {
                    .init(containerPath: $0.containerPath, hostPath: $0.hostPath, readOnly: $0.readOnly)
                },
                annotations: response.annotations
            )
        }
        for path in options.reads {
            let attributes = try? FileManager.default.attributesOfItem(atPath: path)
            let mode = (attributes?[.posixPermissions] as? NSNumber).map { String($0.intValue, radix: 8) }
            if let data = FileManager.default.contents(atPath: path), let mode {
                report.files[path] = KubeletReport.File(content: String(decoding: data, as: UTF8.self), mode: mode)
            } else {
                report.files[path] = .some(nil)
            }
        }
        guard !options.writes.isEmpty else { return }
        let listsBefore = kubelet.resourceNames.reduce(into: [String: Int]()) {
            $0[$1] = kubelet.resource($1)?.lists.count ?? 0
        }
        for (path, value) in options.writes {
            // One write(2) each, as sysfs expects. A sriov_numvfs write blocks this thread for up to a few seconds;
            // acceptable in a one-shot test tool (the kubelet's gRPC runs on NIO's threads meanwhile).
            try LinuxSysFS().write(path, value)
            report.writes.append("\(path)=\(value)")
        }
        let after = options.expectAfter
        guard !after.isEmpty else { return }
        do {
            try await kubelet.wait("new lists with \(Self.describe(after))", timeout: options.timeout) { kubelet in
                after.allSatisfy { resource, count in
                    guard let seen = kubelet.resource(resource) else { return false }
                    return seen.lists.count > listsBefore[resource, default: 0] && seen.devices?.count == count
                }
            }
        } catch {
            report.after = KubeletReport.resources(kubelet)
            throw error
        }
        report.after = KubeletReport.resources(kubelet)
        report.registrationsAfter = kubelet.registrations.count
    }

    static func describe(_ counts: [String: Int]) -> String {
        counts.sorted { $0.key < $1.key }.map { "\($0.key) with \($0.value) devices" }.joined(separator: ", ")
    }
}
