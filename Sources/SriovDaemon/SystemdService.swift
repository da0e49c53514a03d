public import Logging
import SriovAPI
import SriovHost
import SriovRender

/// `sriov service --phase pre|post`: systemd configuration mode at boot (reference §4.6).
///
/// `pre` runs before the network services: PFs and VF counts from `sriov-interface-config.yaml` (VF
/// groups skipped, so no VF driver work yet) and writes the result `InProgress`, or `Failed` with
/// `pre: <error>`. `post` runs after the network is online and before the kubelet: only when `pre` left
/// `InProgress`, it runs the whole configuration through the reconciler with the file source and writes
/// `Succeeded` or `Failed` with `post: <error>`. The daemon in the cluster then reports the result.
public struct SystemdService: Sendable {
    public enum Phase: String, Sendable, CaseIterable {
        case pre, post
    }

    public let host: NodeHost
    public let nodeName: String
    public let logger: Logger

    public init(host: NodeHost, nodeName: String, logger: Logger) {
        self.host = host
        self.nodeName = nodeName
        self.logger = logger
    }

    /// Runs one phase; returns the result written.
    @discardableResult
    public func run(_ phase: Phase) async throws -> SystemdFiles.Result? {
        let files = SystemdFiles(sysfs: self.host.sysfs)
        guard let config = try files.readConfig() else {
            self.logger.notice(
                "no systemd-mode configuration; nothing to do",
                metadata: ["path": "\(SystemdFiles.configPath)"]
            )
            return nil
        }
        let nics = files.readSupportedNICs() ?? .upstreamDefault
        switch phase {
        case .pre:
            var spec = config.spec
            for index in spec.interfaces.indices { spec.interfaces[index].vfGroups = [] }
            let configurator = self.host.configurator(
                platform: config.platform,
                nics: nics,
                devMode: config.unsupportedNics,
                logger: self.logger
            )
            let result: SystemdFiles.Result
            do {
                try configurator.apply(spec: spec)
                result = SystemdFiles.Result(syncStatus: SyncStatus.inProgress)
            } catch {
                self.logger.error("pre phase failed", metadata: ["error": "\(error)"])
                result = SystemdFiles.Result(syncStatus: SyncStatus.failed, lastSyncError: "pre: \(error)")
            }
            try files.writeResult(result)
            return result
        case .post:
            guard files.readResult()?.syncStatus == SyncStatus.inProgress else {
                self.logger.notice("the pre phase did not leave InProgress; post phase skipped")
                return files.readResult()
            }
            var settings = DaemonSettings(nodeName: self.nodeName, hostRoot: self.host.root)
            settings.devMode = config.unsupportedNics
            settings.mayReboot = false
            let source = FileNodeStateSource(sysfs: self.host.sysfs, nodeName: self.nodeName, phase: "post")
            let reconciler = NodeReconciler(settings: settings, source: source, host: self.host, logger: self.logger)
            _ = await reconciler.reconcile()
            return files.readResult()
        }
    }
}
