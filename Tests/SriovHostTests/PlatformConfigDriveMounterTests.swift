import Foundation
import SriovHost
import Synchronization
import Testing

/// Stands in for `blkid`/`mount`/`umount`: records each command, and "mounts" by copying the fixture
/// config drive into the mount point (and "unmounts" by emptying it), so the mounter's own steps run for
/// real without privileges.
private final class FakeMountCommands: Sendable {
    private let log = Mutex<[[String]]>([])
    let failMount: Bool

    init(failMount: Bool = false) {
        self.failMount = failMount
    }

    var commands: [[String]] { self.log.withLock { $0 } }

    var runner: ConfigDriveMounter.CommandRunner {
        { command, _ throws(HostError) in
            self.log.withLock { $0.append(command) }
            switch command.first {
            case "blkid":
                throw HostError(code: .io, message: "exited with status 2", step: command.joined(separator: " "))
            case "mount":
                if self.failMount {
                    throw HostError(code: .io, message: "exited with status 32: wrong fs type", step: "mount")
                }
                do {
                    try copyPlatformConfigDrive(to: command[command.count - 1])
                } catch {
                    throw HostError(code: .io, message: "\(error)")
                }
                return ""
            case "umount":
                try? FileManager.default.removeItem(atPath: "\(command[1])/openstack")
                return ""
            default:
                throw HostError(code: .unsupported, message: "unexpected command \(command)")
            }
        }
    }
}

/// Tests of the device lookup and the mount/read/unmount sequence with a recording command runner; a
/// real `mount` of a block device is not exercised here (it needs root and a config drive).
@Suite("ConfigDriveMounter: finding config-2 under a root and mounting it read-only")
struct PlatformConfigDriveMounterTests {
    @Test("the by-label symlink is resolved under the injected root")
    func findsByLabel() throws {
        try withPlatformTemporaryDirectory { root in
            try FileManager.default.createDirectory(
                atPath: "\(root)/dev/disk/by-label",
                withIntermediateDirectories: true
            )
            try writePlatformFile("\(root)/dev/sr0", "")
            try FileManager.default.createSymbolicLink(
                atPath: "\(root)/dev/disk/by-label/config-2",
                withDestinationPath: "../../sr0"
            )
            let commands = FakeMountCommands()
            let mounter = ConfigDriveMounter(root: root, temporaryDirectory: root, runCommand: commands.runner)
            #expect(try mounter.findDevice() == "\(root)/dev/sr0")
            #expect(commands.commands.isEmpty, "blkid is only the fallback")
        }
    }

    @Test("mount -o ro -t auto, read, umount, and the mount point is removed")
    func mountReadUnmount() throws {
        try withPlatformTemporaryDirectory { root in
            try writePlatformFile("\(root)/dev/disk/by-label/config-2", "")
            let commands = FakeMountCommands()
            let mounter = ConfigDriveMounter(root: root, temporaryDirectory: root, runCommand: commands.runner)
            let metadata = try mounter.fetchMetadata()
            #expect(metadata.metaData.devices?.count == 3)
            let recorded = commands.commands
            #expect(recorded.count == 2)
            let mountPoint = try #require(recorded.first?.last)
            #expect(mountPoint.hasPrefix("\(root)/config-drive."))
            #expect(
                recorded[0] == ["mount", "-o", "ro", "-t", "auto", "\(root)/dev/disk/by-label/config-2", mountPoint]
            )
            #expect(recorded[1] == ["umount", mountPoint])
            #expect(FileManager.default.fileExists(atPath: mountPoint) == false)
        }
    }

    @Test("a failed mount is reported with the device, and the mount point is removed")
    func mountFails() throws {
        try withPlatformTemporaryDirectory { root in
            try writePlatformFile("\(root)/dev/disk/by-label/CONFIG-2", "")
            let commands = FakeMountCommands(failMount: true)
            let mounter = ConfigDriveMounter(root: root, temporaryDirectory: root, runCommand: commands.runner)
            let error = #expect(throws: HostError.self) { try mounter.fetchMetadata() }
            #expect(error?.step == "mount config drive")
            #expect(error?.message.contains("cannot mount config drive \(root)/dev/disk/by-label/CONFIG-2") == true)
            #expect(try FileManager.default.contentsOfDirectory(atPath: root) == ["dev"])
        }
    }

    @Test("no labelled device and no blkid match is notFound, naming what was tried")
    func noDrive() throws {
        try withPlatformTemporaryDirectory { root in
            let commands = FakeMountCommands()
            let mounter = ConfigDriveMounter(root: root, temporaryDirectory: root, runCommand: commands.runner)
            let error = #expect(throws: HostError.self) { try mounter.fetchMetadata() }
            #expect(error?.code == .notFound)
            #expect(error?.message.contains("\(root)/dev/disk/by-label/config-2") == true)
            #expect(error?.message.contains("blkid found no device labelled config-2 or CONFIG-2") == true)
            #expect(
                commands.commands == [
                    ["blkid", "-l", "-t", "LABEL=config-2", "-o", "device"],
                    ["blkid", "-l", "-t", "LABEL=CONFIG-2", "-o", "device"],
                ]
            )
        }
    }

    @Test("the production runner returns standard output and reports exit status and stderr")
    func processRunner() throws {
        let output = try ConfigDriveMounter.runProcess(["echo", "hello"], timeout: .seconds(5))
        #expect(output == "hello\n")
        let error = #expect(throws: HostError.self) {
            try ConfigDriveMounter.runProcess(["sh", "-c", "echo nope >&2; exit 3"], timeout: .seconds(5))
        }
        #expect(error?.message == "exited with status 3: nope")
        let slow = #expect(throws: HostError.self) {
            try ConfigDriveMounter.runProcess(["sleep", "5"], timeout: .milliseconds(100))
        }
        #expect(slow?.code == .timeout)
    }
}
