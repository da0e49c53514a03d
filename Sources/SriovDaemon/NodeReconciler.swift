import KubeCore
public import Logging
import SriovAPI
import SriovHost
import SriovRender

#if canImport(Glibc)
import Glibc
#endif

/// Makes this node match its NodeState, one level-based pass at a time (reference §4.2).
///
/// A pass: sync the external-drainer mark; report the host's NICs into `status` (written only when it
/// changed); wait for the drain controller's annotations; when the generation is already applied, check
/// for drift (someone wrote `sriov_numvfs` behind our back) and stop there if there is none; otherwise set
/// `InProgress`, work out whether to drain or reboot, run the drain handshake (§4.5), then apply through
/// ``HostConfigurator`` and report `Succeeded`, or `Failed` with a `lastSyncError` naming the PF, the step,
/// the file and the error (the failed PF is reset, the others are left as they are). Every change of
/// `syncStatus` is also an Event on the NodeState.
///
/// ``reconcile()`` never throws: an error is logged once and answered with a jittered backoff delay.
public actor NodeReconciler {
    let settings: DaemonSettings
    let source: any NodeStateSource
    let host: NodeHost
    let logger: Logger
    /// The generation last applied successfully (upstream keeps it in memory too).
    var appliedGeneration: Int?
    /// The generation whose apply failed last; its retries do not flip the status back to InProgress.
    var failedGeneration: Int?
    var failures = 0
    /// Failed applies in a row (their retries back off; a success resets it).
    var applyFailures = 0
    var announcedWaiting: String?
    /// An apply failed with ENOMEM: the next pass asks for `pci=realloc` and a reboot.
    var needsPCIRealloc = false
    var cleanedSystemdFiles = false
    var lastWrite: (sent: SriovNetworkNodeState.Status, stored: SriovNetworkNodeState.Status)?

    public init(settings: DaemonSettings, source: any NodeStateSource, host: NodeHost, logger: Logger) {
        self.settings = settings
        self.source = source
        self.host = host
        var logger = logger
        logger[metadataKey: "k8s.node"] = "\(settings.nodeName)"
        self.logger = logger
    }

    /// One pass; returns when the next one is due (earlier if the watch sees a change).
    public func reconcile() async -> Duration {
        do {
            let next = try await self.pass()
            self.failures = 0
            return next
        } catch is CancellationError {
            return .zero
        } catch  where Task.isCancelled {
            return .zero  // an API call cut short by shutdown: not a failure
        } catch {
            self.failures += 1
            let delay = Backoff.delay(
                attempt: self.failures,
                base: self.settings.backoffBase,
                max: self.settings.backoffMax
            )
            self.logger.warning(
                "reconcile failed, will retry",
                metadata: ["error": "\(error)", "retry.in": "\(delay)", "attempt": "\(self.failures)"]
            )
            return delay
        }
    }

    func waiting(_ what: String) {
        guard self.announcedWaiting != what else { return }
        self.announcedWaiting = what
        self.logger.notice("waiting", metadata: ["for": "\(what)"])
    }

    func pass() async throws -> Duration {
        guard var state = try await self.source.fetchNodeState() else {
            self.waiting(
                "SriovNetworkNodeState \(self.settings.namespace)/\(self.settings.nodeName) to be created by the operator"
            )
            return self.settings.waitPoll
        }
        let context = try await self.source.fetchContext()
        let config = context.config
        let platform = NodePlatform(providerID: context.providerID)
        let devMode = self.settings.devMode
        let configurator = self.host.configurator(
            platform: platform,
            nics: context.supportedNICs,
            devMode: devMode,
            driverRetries: self.settings.driverRetries,
            logger: self.logger
        )
        let systemd = SystemdFiles(sysfs: self.host.sysfs)
        let desiredKey = SriovNetworkNodeState.Annotation.desiredState
        let currentKey = SriovNetworkNodeState.Annotation.currentState
        if !context.isSystemdMode, !self.cleanedSystemdFiles, self.settings.mayReboot {
            // Daemon mode: what systemd mode left on the host goes (upstream does this at start).
            try systemd.cleanUp(removeUnits: !self.settings.isOpenShift)
            self.cleanedSystemdFiles = true
        }

        // 1. The external-drainer mark, changed only while no drain is under way.
        let desired = state.metadata.annotations[desiredKey]
        let current = state.metadata.annotations[currentKey]
        let quiet = (desired ?? DaemonWire.idle) == DaemonWire.idle && (current ?? DaemonWire.idle) == DaemonWire.idle
        let externalKey = SriovNetworkNodeState.Annotation.useExternalDrainer
        let marked = state.metadata.annotations[externalKey] == "true"
        if quiet, marked != self.settings.useExternalDrainer {
            try await self.source.annotate(
                nodeState: [externalKey: self.settings.useExternalDrainer ? "true" : nil],
                node: [:]
            )
            return .zero
        }

        // 3. The host as it is.
        var status = state.status
        status.interfaces = try configurator.discover()
        status.system = self.host.rdmaMode.map { SriovNetworkNodeState.System(rdmaMode: $0) }
        if context.isSystemdMode, self.appliedGeneration == state.metadata.generation,
            let result = systemd.readResult()
        {
            status.syncStatus = result.syncStatus
            status.lastSyncError = result.lastSyncError
        }
        state = try await self.write(status, to: state)

        // 2. The drain controller initialises both annotations before anything is applied.
        guard desired != nil, current != nil else {
            self.waiting("the operator's drain controller to initialise the drain annotations")
            return self.settings.waitPoll
        }
        self.announcedWaiting = nil

        let generation = state.metadata.generation
        let spec = state.spec
        let wantedArguments = self.kernelArguments(for: spec, platform: platform)
        let missingArguments = self.host.kernel.missing(wantedArguments)

        // 5. Already applied (or applied before a restart): only drift brings us further.
        if self.appliedGeneration == generation
            || (self.appliedGeneration == nil && state.status.syncStatus == SyncStatus.succeeded)
        {
            let drift = self.drift(configurator: configurator, spec: spec, status: status.interfaces)
            let systemdChanged =
                context.isSystemdMode
                ? (try? self.systemdConfigChanged(systemd, spec: spec, platform: platform)) ?? true : false
            if drift.isEmpty, missingArguments.isEmpty || !self.settings.mayReboot, !systemdChanged {
                self.appliedGeneration = generation
                self.failedGeneration = nil
                try await self.settle(state, context: context)
                return self.settings.resync
            }
            if !drift.isEmpty {
                self.logger.notice("host drifted from the spec; applying again", metadata: ["drift": "\(drift)"])
            }
        } else if generation <= 1, spec.interfaces.isEmpty, self.appliedGeneration == nil,
            state.status.syncStatus.isEmpty
        {
            // A fresh NodeState: forget records of an earlier installation instead of resetting its PFs.
            let applied = AppliedState(sysfs: self.host.sysfs)
            for pf in applied.recorded() { try applied.remove(pf) }
            state = try await self.setSync(SyncStatus.succeeded, error: "", on: state, configurator: configurator)
            self.appliedGeneration = generation
            return self.settings.resync
        }

        // 6. Work starts.
        if self.failedGeneration != generation, state.status.syncStatus != SyncStatus.inProgress {
            state = try await self.setSync(
                SyncStatus.inProgress,
                error: state.status.lastSyncError,
                on: state,
                configurator: nil
            )
        }

        // 7. Drain? Reboot?
        let plan: HostConfigurator.Plan
        do {
            plan = try configurator.plan(spec: spec, status: status.interfaces)
        } catch {
            var failure = error
            if failure.step == nil { failure.step = "check the spec against the host" }
            return try await self.fail(failure, state: state, configurator: configurator)
        }
        var needsDrain = plan.disruption.needsDrain
        var needsReboot = !missingArguments.isEmpty && self.settings.mayReboot
        if context.isSystemdMode {
            let changed: Bool
            do {
                try systemd.writeSupportedNICs(context.supportedNICs)
                _ = try systemd.installUnits()
                changed = try self.writeSystemdConfig(systemd, spec: spec, platform: platform)
            } catch {
                return try await self.fail(error, state: state, configurator: configurator)
            }
            if changed { try? systemd.removeResult() }
            needsReboot = needsReboot || changed || systemd.readResult() == nil
            needsDrain = needsReboot
        }
        if needsReboot { needsDrain = true }
        if needsReboot {
            let ledger = RebootLedger(sysfs: self.host.sysfs)
            let count = ledger.count(for: generation, uid: state.metadata.uid)
            if count >= self.settings.maxRebootsPerGeneration {
                let message =
                    "the node was rebooted \(count) times for generation \(generation) and still needs "
                    + (missingArguments.isEmpty
                        ? "a reboot to apply the systemd-mode configuration"
                        : "kernel arguments \(missingArguments.joined(separator: " "))")
                    + "; no further reboot (check the boot loader configuration under \(self.host.root))"
                let error = HostError(code: .custom("rebootLoop"), message: message, step: "reboot the node")
                return try await self.fail(error, state: state, configurator: configurator, resetDrain: true)
            }
        }

        // 8. The drain handshake.
        if needsDrain, !config.disableDrain {
            if let wait = try await self.drain(state: state, context: context, reboot: needsReboot) { return wait }
        }

        // 9. Apply.
        let gate = config.isEnabled(.blockDevicePluginUntilConfigured)
        if gate, self.settings.restartDevicePluginPods { try await self.source.restartDevicePlugins() }
        if needsReboot {
            do {
                try self.host.kernelArguments.update(add: missingArguments)
                try RebootLedger(sysfs: self.host.sysfs).record(generation: generation, uid: state.metadata.uid)
                self.logger.notice(
                    "rebooting the node",
                    metadata: ["kernel.arguments": "\(missingArguments.joined(separator: " "))"]
                )
                try self.host.reboot()
            } catch {
                return try await self.fail(error, state: state, configurator: configurator, resetDrain: true)
            }
            // The host goes down; if it does not, the next pass sees the same need and counts another reboot.
            return self.settings.resync
        }
        if !context.isSystemdMode {
            do {
                let observer = self.settings.onHostStep
                try configurator.apply(
                    spec: spec,
                    onStep: { step in observer?(step) },
                    shouldStop: { Task.isCancelled }
                )
            } catch  where error.code == .interrupted {
                throw CancellationError()
            } catch {
                if error.errno == ENOMEM { self.needsPCIRealloc = true }
                return try await self.fail(error, state: state, configurator: configurator, resetDrain: true)
            }
        }
        if !gate, self.settings.restartDevicePluginPods { try await self.source.restartDevicePlugins() }
        try await self.setIdle(state: state, context: context)
        let refreshed = try await self.source.fetchNodeState() ?? state
        var final = "Succeeded"
        var message = ""
        if context.isSystemdMode, let result = systemd.readResult() {
            final = result.syncStatus
            message = result.lastSyncError
            if !systemd.unitsInstalled {
                final = SyncStatus.failed
                message = "some sriov systemd services are not available on node \(self.settings.nodeName)"
            }
        }
        state = try await self.setSync(final, error: message, on: refreshed, configurator: configurator)
        try RebootLedger(sysfs: self.host.sysfs).clear()
        self.appliedGeneration = generation
        self.failedGeneration = final == SyncStatus.failed ? generation : nil
        self.applyFailures = 0
        if gate, !spec.interfaces.isEmpty { _ = try await self.source.releaseDevicePlugins() }
        self.logger.info("node configured", metadata: ["generation": "\(generation)", "sync.status": "\(final)"])
        return self.settings.resync
    }

    // MARK: - Status

    /// Writes `status` if it differs from the stored one. A server that stores a different form of what
    /// was sent (a field its schema prunes) would otherwise get the same write on every pass: what was
    /// sent and what came back are remembered, and sending the same again over the same stored form is
    /// skipped.
    func write(
        _ status: SriovNetworkNodeState.Status,
        to state: SriovNetworkNodeState
    ) async throws -> SriovNetworkNodeState {
        guard status != state.status else { return state }
        if let last = self.lastWrite, last.sent == status, last.stored == state.status { return state }
        let written = try await self.source.writeStatus(status, of: state)
        self.lastWrite = (sent: status, stored: written.status)
        return written
    }

    /// Sets syncStatus/lastSyncError (with a fresh discovery when a configurator is given) and records
    /// the transition as an Event.
    func setSync(
        _ sync: String,
        error: String,
        on state: SriovNetworkNodeState,
        configurator: HostConfigurator?
    ) async throws -> SriovNetworkNodeState {
        var status = state.status
        if let configurator, let interfaces = try? configurator.discover() { status.interfaces = interfaces }
        status.syncStatus = sync
        status.lastSyncError = error
        let written = try await self.write(status, to: state)
        let before = state.status.syncStatus
        if before != sync {
            var message = "Status changed from: \(before.isEmpty ? "(none)" : before) to: \(sync)"
            if !error.isEmpty, sync == SyncStatus.failed { message += ". Last Error: \(error)" }
            await self.source.recordEvent(
                written,
                type: sync == SyncStatus.failed ? "Warning" : "Normal",
                reason: "SyncStatusChanged",
                message: message
            )
            self.logger.info("sync status changed", metadata: ["from": "\(before)", "to": "\(sync)"])
        }
        return written
    }

    /// Reports a failed apply: Failed with the error, drain annotations back to Idle, retry after backoff.
    func fail(
        _ error: HostError,
        state: SriovNetworkNodeState,
        configurator: HostConfigurator,
        resetDrain: Bool = false
    ) async throws -> Duration {
        let message = error.description
        self.logger.error("apply failed", metadata: ["error": "\(message)"])
        _ = try await self.setSync(SyncStatus.failed, error: message, on: state, configurator: configurator)
        self.failedGeneration = state.metadata.generation
        if resetDrain { try await self.setIdle(state: state, context: nil) }
        self.applyFailures += 1
        return Backoff.delay(
            attempt: self.applyFailures,
            base: self.settings.backoffBase,
            max: self.settings.backoffMax
        )
    }

    /// Nothing to do: make sure no drain is left requested and the device plugin is not left waiting.
    func settle(_ state: SriovNetworkNodeState, context: NodeContext) async throws {
        try await self.setIdle(state: state, context: context)
        if state.status.syncStatus != SyncStatus.succeeded, state.status.syncStatus != SyncStatus.failed {
            _ = try await self.setSync(SyncStatus.succeeded, error: "", on: state, configurator: nil)
        }
        if context.config.isEnabled(.blockDevicePluginUntilConfigured), !state.spec.interfaces.isEmpty {
            _ = try await self.source.releaseDevicePlugins()
        }
    }

    // MARK: - Host checks

    /// Reasons the host differs from `spec` (empty when it matches); a spec the host cannot take counts
    /// as a difference, so the apply path reports it.
    func drift(
        configurator: HostConfigurator,
        spec: SriovNetworkNodeState.Spec,
        status: [SriovNetworkNodeState.InterfaceExt]
    ) -> [String] {
        do {
            return try configurator.plan(spec: spec, status: status).steps.map(\.description)
        } catch {
            return ["\(error)"]
        }
    }

    /// Kernel arguments the spec needs (never the removal of any: the iommu and realloc arguments stay).
    func kernelArguments(for spec: SriovNetworkNodeState.Spec, platform: NodePlatform) -> [String] {
        guard !platform.isVirtual else { return [] }
        var wanted: [String] = []
        if spec.interfaces.contains(where: { $0.vfGroups.contains { $0.deviceType == "vfio-pci" } }) {
            wanted += self.host.kernel.iommuArguments
        }
        if self.needsPCIRealloc { wanted.append("pci=realloc") }
        switch spec.system?.rdmaMode {
        case "shared": wanted.append("ib_core.netns_mode=1")
        case "exclusive": wanted.append("ib_core.netns_mode=0")
        default: break
        }
        return wanted
    }

    func systemdConfig(spec: SriovNetworkNodeState.Spec, platform: NodePlatform) -> SystemdFiles.Config {
        SystemdFiles.Config(spec: spec, unsupportedNics: self.settings.devMode, platformType: platform.upstreamType)
    }

    func systemdConfigChanged(
        _ files: SystemdFiles,
        spec: SriovNetworkNodeState.Spec,
        platform: NodePlatform
    ) throws
        -> Bool
    {
        try files.readConfig() != self.systemdConfig(spec: spec, platform: platform)
    }

    func writeSystemdConfig(
        _ files: SystemdFiles,
        spec: SriovNetworkNodeState.Spec,
        platform: NodePlatform
    ) throws(HostError)
        -> Bool
    {
        try files.writeConfig(self.systemdConfig(spec: spec, platform: platform))
    }
}

/// `status.syncStatus` values.
public enum SyncStatus {
    public static let succeeded = "Succeeded"
    public static let failed = "Failed"
    public static let inProgress = "InProgress"
}
