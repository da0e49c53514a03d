import Logging
public import SriovAPI

#if canImport(Glibc)
import Glibc
#endif

extension HostConfigurator {
    /// Applies `spec`: plans from a fresh discovery, then runs every step in order, calling `onStep`
    /// before each (for progress output) and logging each at info level.
    ///
    /// On a failure while configuring a PF, the PF is reset to 0 VFs (best effort, as upstream does) so the
    /// node is left in a known state, and the error names the step, path and errno.
    /// - Returns: the plan that was carried out.
    ///
    /// `shouldStop` is asked before each step; when it answers true the apply stops there with an
    /// ``HostError/Code/interrupted`` error and touches nothing more (no reset), as a process stopped between
    /// two writes would: the daemon passes its cancellation, and a later apply converges from that state.
    @discardableResult
    public func apply(
        spec: SriovNetworkNodeState.Spec,
        onStep: (HostStep) -> Void = { _ in },
        shouldStop: () -> Bool = { false }
    ) throws(HostError) -> Plan {
        let status = try self.discover()
        let plan = try self.plan(spec: spec, status: status)
        // Before any write: every VF of every PF the plan touches must be a VF of that PF, both ways.
        if !self.isVirtual {
            var checked: Set<PCIAddress> = []
            for step in plan.steps {
                guard let pf = step.pf, checked.insert(pf).inserted, self.sysfs.exists(pf.sysfsPath) else { continue }
                _ = try self.sysfs.verifiedVFs(of: pf)
            }
        }
        if !plan.steps.isEmpty {
            // Remember the host as it was before we first changed it, for later resets.
            _ = try self.checkpoint.saveIfAbsent(status)
        }
        for step in plan.steps {
            if shouldStop() {
                throw HostError(code: .interrupted, message: "stopped before this step", step: step.description)
            }
            onStep(step)
            var logger = self.logger
            logger[metadataKey: "sriov.step"] = "\(step)"
            do {
                try self.run(step)
                logger.info("host step applied")
            } catch {
                var failed = error
                if failed.step == nil { failed.step = step.description }
                if let pf = step.configuredPF {
                    do {
                        if self.isVirtual {
                            // A passthrough device goes back to its kernel driver.
                            try self.unbind(pf)
                            try self.bindDefaultDriver(pf)
                            failed.message += "; \(pf) was given back to its default driver"
                        } else {
                            try self.run(.setNumVfs(pf: pf, name: "", count: 0))
                            failed.message += "; \(pf) was reset to 0 VFs"
                        }
                    } catch {
                        failed.message += "; resetting \(pf) failed too: \(error)"
                    }
                }
                throw failed
            }
        }
        return plan
    }

    /// Carries out one step.
    public func run(_ step: HostStep) throws(HostError) {
        switch step {
        case .loadKernelModule(let name, let parameters):
            try self.modules.load(name, parameters: parameters)
        case .writeUdevRule(let path, let content):
            try self.sysfs.createFile(path, content)
        case .removeFile(let path):
            try self.sysfs.remove(path)
        case .setNumVfs(let pf, _, let count):
            try self.setNumVfs(pf, count)
        case .setEswitchMode(let pf, _, let mode):
            try self.links.setEswitchMode(mode, of: pf)
        case .unbindVFs(let pf, _):
            for vf in try self.vfs(of: pf) { try self.unbind(vf.address) }
        case .setMTU(_, let name, let mtu):
            try self.links.setMTU(mtu, link: try InterfaceName(name))
        case .bindUngroupedVFs(let pf, _):
            for vf in try self.vfs(of: pf) where self.driver(of: vf.address) == nil {
                try self.bindDefaultDriver(vf.address)
            }
        case .configureVFs(let pf, let name, let group):
            for vf in try self.vfs(of: pf) where VFRangeCheck.contains(group.vfRange, vf.index) {
                try self.configure(vf: vf, pf: pf, pfName: name, group: group)
            }
        case .setLinkUp(_, let name):
            try self.links.setUp(true, link: try InterfaceName(name))
        case .saveAppliedState(let pf, let interface):
            try AppliedState(sysfs: self.sysfs).save(interface, for: pf)
        case .removeAppliedState(let pf):
            try AppliedState(sysfs: self.sysfs).remove(pf)
        }
    }

    struct VF {
        var index: Int
        var address: PCIAddress
    }

    /// The PF's VFs, each verified (``SysFS/verifiedVFs(of:)``): a link to any other device is refused.
    func vfs(of pf: PCIAddress) throws(HostError) -> [VF] {
        // A passthrough device in a VM is its own (single) VF.
        if self.isVirtual { return [VF(index: 0, address: pf)] }
        return try self.sysfs.verifiedVFs(of: pf).map { VF(index: $0.index, address: $0.address) }
    }

    func driver(of device: PCIAddress) -> String? {
        try? self.sysfs.linkBasename(device.sysfsPath + "/driver")
    }

    /// `0` is always written first (never non-zero → non-zero), then `N`, then the `virtfn` links are
    /// awaited (≤ 120 s).
    func setNumVfs(_ pf: PCIAddress, _ count: Int) throws(HostError) {
        let path = pf.sysfsPath + "/sriov_numvfs"
        guard self.sysfs.exists(path) else {
            if count == 0 { return }  // upstream: writing 0 when the file is missing is a no-op
            throw HostError(code: .unsupported, message: "\(pf) does not support SR-IOV (no sriov_numvfs)", path: path)
        }
        do {
            try self.sysfs.write(path, "\(count)")
        } catch {
            var error = error
            if error.errno == ENOMEM {
                error.message += "; the kernel needs pci=realloc to create VFs (reboot required)"
            }
            throw error
        }
        guard count > 0 else { return }
        let deadline = ContinuousClock.now + .seconds(120)
        while true {
            // The kernel links virtfnN before the VF's physfn: a VF not yet verifiable is waited for.
            let checked = try self.sysfs.checkedVFs(of: pf)
            if checked.vfs.count >= count { return }
            if ContinuousClock.now > deadline {
                if let refusal = checked.refused.first { throw refusal }
                throw HostError(code: .timeout, message: "\(count) VFs did not appear within 120 s", path: pf.sysfsPath)
            }
            HostDiscovery.sleep(.milliseconds(100))
        }
    }

    func unbind(_ device: PCIAddress) throws(HostError) {
        guard let driver = self.driver(of: device) else { return }
        try self.sysfs.write("/sys/bus/pci/drivers/\(driver)/unbind", device.rawValue)
    }

    /// Clears `driver_override` and asks the kernel to probe: the device gets its default driver.
    func bindDefaultDriver(_ device: PCIAddress) throws(HostError) {
        try self.sysfs.write(device.sysfsPath + "/driver_override", "\0")
        try self.sysfs.write("/sys/bus/pci/drivers_probe", device.rawValue)
    }

    /// Binds `driver` through `driver_override` + `bind`, then clears the override.
    func bind(_ device: PCIAddress, to driver: String) throws(HostError) {
        try self.sysfs.write(device.sysfsPath + "/driver_override", driver)
        do {
            try self.sysfs.write("/sys/bus/pci/drivers/\(driver)/bind", device.rawValue)
        } catch {
            var error = error
            if driver == "vfio-pci", !self.sysfs.exists(device.sysfsPath + "/iommu_group") {
                error.message +=
                    "; \(device) has no IOMMU group: make sure IOMMU is enabled in BIOS and on the kernel command line"
            }
            try? self.sysfs.write(device.sysfsPath + "/driver_override", "\0")
            throw error
        }
        try self.sysfs.write(device.sysfsPath + "/driver_override", "\0")
    }

    func configure(vf: VF, pf: PCIAddress, pfName: String, group: SriovNetworkNodeState.VfGroup) throws(HostError) {
        let current = self.driver(of: vf.address)
        if DriverKind.isDPDK(group.deviceType) {
            if current == group.deviceType { return }
            try self.unbind(vf.address)
            try self.bind(vf.address, to: group.deviceType)
            return
        }
        if let current, DriverKind.isDPDK(current) {
            try self.unbind(vf.address)
        }
        if self.driver(of: vf.address) == nil { try self.bindDefaultDriver(vf.address) }
        if group.isRdma, !self.isVirtual {
            // Upstream rebinds RDMA VFs so the RDMA device is created in the right namespace mode.
            try self.unbind(vf.address)
            try self.bindDefaultDriver(vf.address)
        }
        guard let netdev = ((try? self.sysfs.list(vf.address.sysfsPath + "/net")) ?? []).first,
            let name = try? InterfaceName(netdev)
        else { return }
        if group.mtu > 0, !self.isVirtual, (try? self.links.state(of: name))?.mtu != group.mtu {
            try self.links.setMTU(group.mtu, link: name)
        }
        if !self.isVirtual, let pfLink = try? InterfaceName(pfName), let state = try? self.links.state(of: name),
            state.linkType == "ETH", !state.mac.isEmpty
        {
            try self.links.setVFMAC(state.mac, vf: vf.index, link: pfLink)
        }
        if !group.vdpaType.isEmpty {
            try self.createVdpa(vf.address, type: group.vdpaType)
        }
    }

    /// Creates `vdpa:<pci>` and binds it to virtio_vdpa or vhost_vdpa.
    func createVdpa(_ device: PCIAddress, type: String) throws(HostError) {
        let driver = type == "virtio" ? "virtio_vdpa" : "vhost_vdpa"
        let base = "/sys/bus/vdpa/devices/vdpa:\(device)"
        if (try? self.sysfs.linkBasename(base + "/driver")) == driver { return }
        if let simulated = self.sysfs as? SimulatedSysFS {
            try simulated.files.symlink(base + "/driver", to: "../../../../bus/vdpa/drivers/\(driver)")
            return
        }
        if !self.sysfs.exists(base) {
            try Command.run(
                ["vdpa", "dev", "add", "name", "vdpa:\(device)", "mgmtdev", "pci/\(device)", "max_vqp", "32"],
                step: "create vDPA device vdpa:\(device)"
            )
        }
        if let bound = try? self.sysfs.linkBasename(base + "/driver") {
            try self.sysfs.write("/sys/bus/vdpa/drivers/\(bound)/unbind", "vdpa:\(device)")
        }
        try self.sysfs.write("/sys/bus/vdpa/drivers/\(driver)/bind", "vdpa:\(device)")
    }
}

extension HostStep {
    /// The PF a step works on, if any.
    var pf: PCIAddress? {
        switch self {
        case .setNumVfs(let pf, _, _), .setEswitchMode(let pf, _, _), .unbindVFs(let pf, _), .setMTU(let pf, _, _),
            .bindUngroupedVFs(let pf, _), .configureVFs(let pf, _, _), .setLinkUp(let pf, _),
            .saveAppliedState(let pf, _), .removeAppliedState(let pf):
            return pf
        case .loadKernelModule, .writeUdevRule, .removeFile:
            return nil
        }
    }

    /// The PF a configuring step works on (reset on failure); nil for other steps.
    var configuredPF: PCIAddress? {
        switch self {
        case .setNumVfs(let pf, _, let count) where count > 0: return pf
        case .setEswitchMode(let pf, _, _), .setMTU(let pf, _, _), .configureVFs(let pf, _, _),
            .bindUngroupedVFs(let pf, _), .setLinkUp(let pf, _):
            return pf
        default: return nil
        }
    }
}
