import Foundation
import KubeClient
import KubeCore
import Logging
import SriovAPI
import SriovDaemon
import SriovHost
import SriovRender
import SriovTestKit
import Synchronization
import Testing

#if canImport(Glibc)
import Glibc
#endif

@Suite("Config daemon with the operator on an API server", .serialized)
struct DaemonClusterTests {
    @Test(
        "policies become VFs and Succeeded on two nodes; a partitioned PF; Failed names PF, step, file and error; a fixed policy recovers; idle writes nothing",
        arguments: Backend.available
    )
    func lifecycle(_ backend: Backend) async throws {
        let a = try SimulatedNode.make("worker-a")
        let b = try SimulatedNode.make("worker-b")
        defer {
            a.remove()
            b.remove()
        }
        let deployment = try await TestDeployment.start(backend, nodes: [a, b])
        defer { Task { await deployment.stop() } }
        try deployment.startDaemon(a)
        try deployment.startDaemon(b)

        // The daemons report the NICs; the fresh NodeStates are Succeeded.
        for node in [a, b] {
            try await eventually("\(node.name) status") {
                let state = try await deployment.state(node.name)
                return state.status.interfaces.map(\.name) == ["ens1f0", "ens1f1"]
                    && state.status.syncStatus == SyncStatus.succeeded
            }
        }

        // A policy: 4 VFs on ens1f0 of every node.
        _ = try await deployment.policies.create(.fixture("net").pfNames("ens1f0").numVfs(4).resourceName("net"))
        for node in [a, b] {
            try await deployment.waitSucceeded(node, "4 VFs on ens1f0") { node, state in
                node.numVfs(SimulatedNode.pf0) == 4
                    && node.vfDrivers(SimulatedNode.pf0) == Array(repeating: "iavf", count: 4)
                    && state.status.interfaces.first { $0.name == "ens1f0" }?.Vfs.count == 4
            }
        }

        // Partitioning: VFs 0-1 stay netdevice, 2-3 go to vfio-pci.
        _ = try await deployment.policies.mergePatch("net", ["spec": ["nicSelector": ["pfNames": ["ens1f0#0-1"]]]])
        _ = try await deployment.policies.create(
            .fixture("dpdk").pfNames("ens1f0#2-3").numVfs(4).resourceName("dpdk").deviceType("vfio-pci")
        )
        for node in [a, b] {
            try await deployment.waitSucceeded(node, "partitioned ens1f0") { node, _ in
                node.vfDrivers(SimulatedNode.pf0) == ["iavf", "iavf", "vfio-pci", "vfio-pci"]
            }
        }

        // More VFs than sriov_totalvfs: Failed with the PF, the file and the numbers; ens1f0 is untouched.
        _ = try await deployment.policies.create(.fixture("big").pfNames("ens1f1").numVfs(100).resourceName("big"))
        for node in [a, b] {
            try await eventually("\(node.name) Failed") {
                let state = try await deployment.state(node.name)
                let error = state.status.lastSyncError
                return state.status.syncStatus == SyncStatus.failed && error.contains(SimulatedNode.pf1)
                    && error.contains("sriov_totalvfs") && error.contains("100") && error.contains("ens1f1")
            }
            #expect(node.vfDrivers(SimulatedNode.pf0) == ["iavf", "iavf", "vfio-pci", "vfio-pci"])
        }
        // The failure is an Event on the NodeState.
        let events = try await deployment.cluster.client.api(Event.self, namespace: namespace).list().items
        #expect(events.contains { $0.involvedObject.name == a.name && ($0.message ?? "").contains("to: Failed") })

        // Fixing the policy recovers.
        _ = try await deployment.policies.mergePatch("big", ["spec": ["numVfs": 2]])
        for node in [a, b] {
            try await deployment.waitSucceeded(node, "2 VFs on ens1f1") { node, state in
                node.numVfs(SimulatedNode.pf1) == 2 && state.status.lastSyncError.isEmpty
            }
        }

        // An EIO from sriov_numvfs on one node: Failed with the step, the file and the errno; that PF is reset,
        // the other PF keeps its VFs; the other node is not affected.
        try SimulatedHost.injectFault(
            root: a.root,
            path: "/sys/bus/pci/devices/\(SimulatedNode.pf1)/sriov_numvfs",
            errno: EIO,
            value: "3"
        )
        _ = try await deployment.policies.mergePatch("big", ["spec": ["numVfs": 3]])
        try await eventually("worker-a Failed with EIO") {
            let state = try await deployment.state(a.name)
            let error = state.status.lastSyncError
            return state.status.syncStatus == SyncStatus.failed && error.contains("write sriov_numvfs 3")
                && error.contains("reset to 0 VFs")
                && error.contains("/sys/bus/pci/devices/\(SimulatedNode.pf1)/sriov_numvfs")
                && error.contains("errno 5") && error.contains("ens1f1")
        }
        #expect(a.numVfs(SimulatedNode.pf1) == 0, "the failed PF is reset")
        #expect(a.vfDrivers(SimulatedNode.pf0) == ["iavf", "iavf", "vfio-pci", "vfio-pci"])
        try await deployment.waitSucceeded(b, "3 VFs on ens1f1") { node, _ in node.numVfs(SimulatedNode.pf1) == 3 }
        try SimulatedHost.clearFaults(root: a.root)
        try await deployment.waitSucceeded(a, "3 VFs on ens1f1 after the fault") { node, _ in
            node.numVfs(SimulatedNode.pf1) == 3
        }

        // Idle: nothing is written any more (a few watch wake-ups and resyncs pass).
        try await Task.sleep(for: .seconds(1))
        let before = try await [
            deployment.state(a.name).metadata.resourceVersion, deployment.state(b.name).metadata.resourceVersion,
        ]
        deployment.cluster.fake?.clearRequests()
        try await Task.sleep(for: .seconds(3))
        let after = try await [
            deployment.state(a.name).metadata.resourceVersion, deployment.state(b.name).metadata.resourceVersion,
        ]
        #expect(before == after)
        if let fake = deployment.cluster.fake {
            #expect(fake.writeCount == 0, "writes at idle: \(fake.requests.filter(\.isWrite))")
        }
    }

    @Test("a pool with maxUnavailable 1: two nodes needing a drain never drain at once", arguments: Backend.available)
    func oneDrainAtATime(_ backend: Backend) async throws {
        let a = try SimulatedNode.make("worker-a")
        let b = try SimulatedNode.make("worker-b")
        defer {
            a.remove()
            b.remove()
        }
        var pool = SriovNetworkPoolConfig(metadata: ObjectMeta(name: "workers", namespace: namespace))
        // (A non-empty label value: the test kube-apiserver build rejects "" inside a custom resource map.)
        pool.spec.nodeSelector = LabelSelector(matchLabels: ["kubernetes.io/os": "linux"])
        pool.spec.maxUnavailable = .int(1)
        let deployment = try await TestDeployment.start(backend, nodes: [a, b], pools: [pool])
        defer { Task { await deployment.stop() } }
        try deployment.startDaemon(a)
        try deployment.startDaemon(b)
        _ = try await deployment.policies.create(.fixture("net").pfNames("ens1f0").numVfs(2).resourceName("net"))
        for node in [a, b] {
            try await deployment.waitSucceeded(node, "2 VFs") { node, _ in node.numVfs(SimulatedNode.pf0) == 2 }
        }

        // 2 → 4 VFs with VFs in use: both nodes must drain first.
        let watching = Mutex<(maxBusy: Int, drained: Set<String>, done: Bool)>((0, [], false))
        let observer = Task {
            while !watching.withLock({ $0.done }) {
                // One LIST: a consistent snapshot (two GETs could see node A still busy and node B already
                // granted, though the operator only grants B after writing A's Idle).
                var busy: Set<String> = []
                for state in (try? await deployment.states.list().items) ?? [] {
                    let current = state.metadata.annotations[SriovNetworkNodeState.Annotation.currentState]
                    if current == DaemonWire.draining || current == DaemonWire.drainComplete {
                        busy.insert(state.metadata.name)
                    }
                }
                watching.withLock {
                    $0.maxBusy = max($0.maxBusy, busy.count)
                    $0.drained.formUnion(busy)
                }
                try? await Task.sleep(for: .milliseconds(5))
            }
        }
        _ = try await deployment.policies.mergePatch("net", ["spec": ["numVfs": 4]])
        for node in [a, b] {
            try await deployment.waitSucceeded(node, "4 VFs") { node, _ in node.numVfs(SimulatedNode.pf0) == 4 }
        }
        watching.withLock { $0.done = true }
        await observer.value
        let seen = watching.withLock { $0 }
        #expect(seen.maxBusy == 1, "nodes draining at once: \(seen.maxBusy)")
        #expect(seen.drained == [a.name, b.name], "each node drained: \(seen.drained)")
        for name in [a.name, b.name] {
            let state = try await deployment.state(name)
            #expect(state.metadata.annotations[SriovNetworkNodeState.Annotation.desiredState] == DaemonWire.idle)
            let node = try await deployment.cluster.client.api(Node.self).get(name)
            #expect(node.metadata.annotations[DaemonWire.nodeDrainAnnotation] == DaemonWire.idle)
        }
    }

    @Test("sriov_numvfs changed behind the daemon's back is repaired at the next resync", arguments: Backend.available)
    func driftRepair(_ backend: Backend) async throws {
        let a = try SimulatedNode.make("worker-a")
        defer { a.remove() }
        let deployment = try await TestDeployment.start(backend, nodes: [a])
        defer { Task { await deployment.stop() } }
        let clock = ManualClock()
        try deployment.startDaemon(a, clock: clock)
        _ = try await deployment.policies.create(.fixture("net").pfNames("ens1f0").numVfs(4).resourceName("net"))
        try await deployment.waitSucceeded(a, "4 VFs") { node, _ in node.numVfs(SimulatedNode.pf0) == 4 }
        try await eventually("the daemon sleeps until its resync") { clock.sleeperCount > 0 }

        // Someone removes the VFs.
        try a.sysfs.write("/sys/bus/pci/devices/\(SimulatedNode.pf0)/sriov_numvfs", "0")
        try await Task.sleep(for: .milliseconds(300))
        #expect(a.numVfs(SimulatedNode.pf0) == 0, "nothing happens before the resync")

        clock.advance(by: .seconds(30))
        try await eventually("VFs back after the resync") {
            a.numVfs(SimulatedNode.pf0) == 4 && a.vfDrivers(SimulatedNode.pf0) == Array(repeating: "iavf", count: 4)
        }
        try await deployment.waitSucceeded(a, "Succeeded again")
    }

    @Test(
        "a daemon stopped after any step of an apply converges when started again, with no VF lost",
        arguments: Backend.available
    )
    func killedMidApply(_ backend: Backend) async throws {
        let a = try SimulatedNode.make("worker-a")
        defer { a.remove() }
        let deployment = try await TestDeployment.start(backend, nodes: [a])
        defer { Task { await deployment.stop() } }
        try deployment.startDaemon(a)
        _ = try await deployment.policies.create(.fixture("net").pfNames("ens1f0#0-1").numVfs(4).resourceName("net"))
        _ = try await deployment.policies.create(
            .fixture("dpdk").pfNames("ens1f0#2-3").numVfs(4).resourceName("dpdk").deviceType("vfio-pci")
        )
        _ = try await deployment.policies.create(.fixture("other").pfNames("ens1f1").numVfs(2).resourceName("other"))
        let converged: @Sendable (SimulatedNode, SriovNetworkNodeState) -> Bool = { node, state in
            node.vfDrivers(SimulatedNode.pf0) == ["iavf", "iavf", "vfio-pci", "vfio-pci"]
                && node.vfDrivers(SimulatedNode.pf1) == ["iavf", "iavf"]
                && state.status.interfaces.map(\.Vfs.count) == [4, 2]
                && [SimulatedNode.pf0, SimulatedNode.pf1].allSatisfy {
                    LinuxSysFS(root: node.root).exists("\(AppliedState.directory)/\($0)")
                }
        }
        try await deployment.waitSucceeded(a, "configured", converged)
        await deployment.stopDaemon(a.name)

        // The host back to 0 VFs and no records: the next start applies everything again.
        func wipe() throws {
            let fs = try a.sysfs
            for pf in [SimulatedNode.pf0, SimulatedNode.pf1] {
                try fs.write("/sys/bus/pci/devices/\(pf)/sriov_numvfs", "0")
            }
            try fs.remove(AppliedState.directory)
        }
        try wipe()
        let steps = Mutex(0)
        var settings = TestDeployment.settings(a)
        settings.onHostStep = { _ in steps.withLock { $0 += 1 } }
        try deployment.startDaemon(a, settings: settings)
        try await deployment.waitSucceeded(a, "counting steps", converged)
        await deployment.stopDaemon(a.name)
        let total = steps.withLock { $0 }
        #expect(total > 5)

        for stopAfter in 1..<total {
            try wipe()
            let seen = Mutex(0)
            var killing = TestDeployment.settings(a)
            killing.onHostStep = { _ in
                let n = seen.withLock { count -> Int in
                    count += 1
                    return count
                }
                // Stop the daemon's own task here, as a kill between two host writes would.
                if n == stopAfter { withUnsafeCurrentTask { $0?.cancel() } }
            }
            try deployment.startDaemon(a, settings: killing)
            let name = a.name
            try await eventually("daemon stopped after step \(stopAfter)") {
                deployment.daemons.withLock { $0[name]?.isCancelled ?? true }
            }
            await deployment.stopDaemon(a.name)
            #expect(seen.withLock { $0 } == stopAfter, "the daemon stopped at step \(stopAfter)")
            try deployment.startDaemon(a)
            try await deployment.waitSucceeded(a, "converged after a stop at step \(stopAfter)", converged)
            await deployment.stopDaemon(a.name)
        }
    }
}
