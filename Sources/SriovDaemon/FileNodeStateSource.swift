import KubeCore
public import SriovAPI
public import SriovHost
import SriovRender
import Synchronization

/// A NodeState kept in files on the host, for systemd mode and standalone use: the spec is
/// `sriov-interface-config.yaml`, and the outcome goes to `sriov-interface-result.yaml` (upstream's files
/// and keys), with `lastSyncError` prefixed by the boot phase as upstream reports it (`post: …`).
///
/// There is no operator: no drain, no device-plugin pods, no events (they are logged by the reconciler).
public final class FileNodeStateSource: NodeStateSource {
    let files: SystemdFiles
    let nodeName: String
    let phase: String
    let status = Mutex<SriovNetworkNodeState.Status?>(nil)

    public init(sysfs: any SysFS, nodeName: String, phase: String) {
        self.files = SystemdFiles(sysfs: sysfs)
        self.nodeName = nodeName
        self.phase = phase
    }

    public func fetchNodeState() async throws -> SriovNetworkNodeState? {
        guard let config = try self.files.readConfig() else { return nil }
        var state = SriovNetworkNodeState(metadata: ObjectMeta(name: self.nodeName), spec: config.spec)
        state.metadata.generation = 1
        state.metadata.annotations = [
            SriovNetworkNodeState.Annotation.desiredState: DaemonWire.idle,
            SriovNetworkNodeState.Annotation.currentState: DaemonWire.idle,
        ]
        if let status = self.status.withLock({ $0 }) {
            state.status = status
        } else if let result = self.files.readResult() {
            state.status.syncStatus = result.syncStatus
            state.status.lastSyncError = result.lastSyncError
        }
        return state
    }

    public func fetchContext() async throws -> NodeContext {
        let platform = (try? self.files.readConfig())?.platform ?? .baremetal
        var config = SriovOperatorConfig.Spec()
        config.disableDrain = true
        return NodeContext(
            providerID: platform == .baremetal ? "" : "\(platform.rawValue)://\(self.nodeName)",
            operatorConfig: config,
            supportedNICs: self.files.readSupportedNICs() ?? .upstreamDefault
        )
    }

    public func writeStatus(
        _ status: SriovNetworkNodeState.Status,
        of state: SriovNetworkNodeState
    ) async throws -> SriovNetworkNodeState {
        var state = state
        state.status = status
        self.status.withLock { $0 = status }
        if !status.syncStatus.isEmpty {
            let error = status.lastSyncError.isEmpty ? "" : "\(self.phase): \(status.lastSyncError)"
            try self.files.writeResult(SystemdFiles.Result(syncStatus: status.syncStatus, lastSyncError: error))
        }
        return state
    }

    public func annotate(nodeState: [String: String?], node: [String: String?]) async throws {}
    public func recordEvent(_ state: SriovNetworkNodeState, type: String, reason: String, message: String) async {}
    public func restartDevicePlugins() async throws {}
    public func releaseDevicePlugins() async throws -> Int { 0 }
    public func watch(_ changed: @escaping @Sendable () -> Void) async {}
}
