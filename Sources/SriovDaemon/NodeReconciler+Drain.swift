import KubeCore
import Logging
import SriovAPI
import SriovHost

extension NodeReconciler {
    /// The daemon's half of the drain handshake (reference §4.5). nil: the drain is complete, go on;
    /// otherwise the delay before looking again (the watch wakes the daemon as soon as the operator answers).
    ///
    /// The request goes on both the Node (`sriovnetwork.openshift.io/state`) and the NodeState
    /// (`desired-state`); the operator answers in `current-state`. When a reboot turns out to be needed
    /// while only a partial drain (`Drain_Required`) was granted, the grant is given back (Idle) and a
    /// full drain is asked for once the operator has returned to Idle.
    func drain(state: SriovNetworkNodeState, context: NodeContext, reboot: Bool) async throws -> Duration? {
        let want = reboot ? DaemonWire.rebootRequired : DaemonWire.drainRequired
        let desiredKey = SriovNetworkNodeState.Annotation.desiredState
        let desired = state.metadata.annotations[desiredKey] ?? DaemonWire.idle
        let current = state.metadata.annotations[SriovNetworkNodeState.Annotation.currentState] ?? DaemonWire.idle
        let onNode = context.nodeAnnotations[DaemonWire.nodeDrainAnnotation] ?? DaemonWire.idle
        let granted = current == DaemonWire.draining || current == DaemonWire.drainComplete

        if desired == want, onNode == want {
            if current == DaemonWire.drainComplete {
                self.announcedWaiting = nil
                return nil
            }
            self.waiting("the operator to drain the node (\(want); current-state \(current))")
            return self.settings.waitPoll
        }
        if desired == DaemonWire.drainRequired, want == DaemonWire.rebootRequired, granted {
            self.logger.notice("a reboot is needed now; giving back the partial drain to ask for a full one")
            try await self.source.annotate(
                nodeState: [desiredKey: DaemonWire.idle],
                node: [DaemonWire.nodeDrainAnnotation: DaemonWire.idle]
            )
            return self.settings.waitPoll
        }
        if desired == DaemonWire.idle, granted {
            self.waiting("the operator to finish the previous drain (current-state \(current))")
            return self.settings.waitPoll
        }
        self.logger.info("drain requested", metadata: ["drain.request": "\(want)"])
        try await self.source.annotate(
            nodeState: [desiredKey: want],
            node: [DaemonWire.nodeDrainAnnotation: want]
        )
        return self.settings.waitPoll
    }

    /// Both drain annotations back to Idle (the operator then uncordons); writes only what differs.
    func setIdle(state: SriovNetworkNodeState, context: NodeContext?) async throws {
        let desiredKey = SriovNetworkNodeState.Annotation.desiredState
        var onState: [String: String?] = [:]
        var onNode: [String: String?] = [:]
        let desired = state.metadata.annotations[desiredKey]
        if let desired, desired != DaemonWire.idle { onState[desiredKey] = DaemonWire.idle }
        if let context {
            if let value = context.nodeAnnotations[DaemonWire.nodeDrainAnnotation], value != DaemonWire.idle {
                onNode[DaemonWire.nodeDrainAnnotation] = DaemonWire.idle
            }
        } else if !onState.isEmpty {
            onNode[DaemonWire.nodeDrainAnnotation] = DaemonWire.idle
        }
        guard !onState.isEmpty || !onNode.isEmpty else { return }
        try await self.source.annotate(nodeState: onState, node: onNode)
    }
}

/// How many reboots the daemon asked for the current NodeState generation, kept on the host
/// (`/etc/sriov-operator/reboot-ledger`) so the count survives the reboots themselves. It caps reboot
/// loops: a kernel argument that never shows up after a reboot must not reboot the node forever.
struct RebootLedger {
    static let path = "/etc/sriov-operator/reboot-ledger"
    let sysfs: any SysFS

    func count(for generation: Int, uid: String) -> Int {
        guard let text = self.sysfs.readIfPresent(Self.path) else { return 0 }
        let fields = text.split(whereSeparator: \.isWhitespace).map(String.init)
        guard fields.count == 3, fields[0] == (uid.isEmpty ? "-" : uid), Int(fields[1]) == generation else { return 0 }
        return Int(fields[2]) ?? 0
    }

    func record(generation: Int, uid: String) throws(HostError) {
        let next = self.count(for: generation, uid: uid) + 1
        try self.sysfs.createFile(Self.path, "\(uid.isEmpty ? "-" : uid) \(generation) \(next)\n")
    }

    func clear() throws(HostError) { try self.sysfs.remove(Self.path) }
}
