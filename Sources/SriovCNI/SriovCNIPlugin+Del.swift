import KubeCore
import SriovAPI
import SriovHost

#if canImport(Glibc)
import Glibc
#endif

extension SriovCNIPlugin {
    /// DEL: idempotent and best effort (reference §4.3), restoring exactly what ADD changed.
    ///
    /// Better than upstream:
    /// - a missing cache with a `deviceID` on stdin still resets the VF on the PF (the pod's MAC and VLAN are not
    ///   left for the next pod) and releases it, unless the VF is by now allocated to another live namespace;
    /// - an empty or vanished `CNI_NETNS` still resets the VF and releases the allocation (upstream returns early);
    /// - DPDK mode is persisted, so a DPDK VF's DEL never tries to move a netdev that does not exist.
    func del(_ request: CNIRequest, conf: SriovNetConf, log: CNILog) throws(CNIError) -> String {
        guard let cache = try self.loadCacheForDel(request, log: log) else {
            try self.delWithoutCache(request, conf: conf, log: log)
            return ""
        }
        let lock = try self.state.lock(cache.conf.deviceID, timeout: self.lockTimeout)
        defer { withExtendedLifetime(lock) {} }

        if !cache.conf.ipamType.isEmpty {
            _ = try self.delegate.run(
                type: cache.conf.ipamType,
                command: "DEL",
                stdin: request.stdin.isEmpty ? Array(cache.conf.rawJSON.utf8) : request.stdin,
                environment: request.environment
            )
        }
        try self.releaseVF(cache, netns: request.netns, log: log)
        self.state.removeCache(containerID: request.containerID, ifName: request.ifName)
        log.info("released VF", ["deviceID": cache.conf.deviceID])
        return ""
    }

    /// A cache that does not parse is logged and treated as missing (never an endless DEL loop).
    func loadCacheForDel(_ request: CNIRequest, log: CNILog) throws(CNIError) -> SriovCNICache? {
        do throws(CNIError) {
            return try self.state.loadCache(containerID: request.containerID, ifName: request.ifName)
        } catch {
            log.error("cannot load config file from cache", ["error": error.msg])
            return nil
        }
    }

    /// Resets the VF on the PF, returns its netdev to the host and releases the allocation (shared by DEL and GC).
    func releaseVF(_ cache: SriovCNICache, netns: String, log: CNILog) throws(CNIError) {
        do throws(HostError) {
            _ = try VFLocator.vfIndex(cache.conf.deviceID, pf: cache.master, sysfs: self.sysfs)
        } catch {
            throw .internal("cmdDel() error obtaining VF ID: \"\(error.message)\"")
        }
        do {
            try self.resetPF(cache, log: log)
        } catch {
            throw .internal("cmdDel() error reseting VF: \"\(error)\"")
        }
        // Upstream-written caches lack DPDKMode: a VF that had no host netdev is a DPDK VF.
        if !cache.dpdkMode && !cache.original.hostIFName.isEmpty {
            let podFD = netns.isEmpty ? -1 : open(netns, O_RDONLY | O_CLOEXEC)
            defer { if podFD >= 0 { close(podFD) } }
            // Upstream's ADD (and ours before it moved and renamed in one request) renames to `temp_<ifindex>` in the
            // host first; one killed before the move left the netdev in the host under that name, and a cluster that
            // switched plugins may still have such a VF: its sysfs entry says so; give it its own name back first.
            let hostName = cache.original.hostIFName
            if let current = (try? VFLocator.locate(cache.conf.deviceID, sysfs: self.sysfs))?.netdev,
                current.hasPrefix("temp_"), current != hostName, (try? self.netlink.link(named: hostName)) == nil
            {
                _ = try? self.netlink.rename(current, to: hostName)
            }
            do {
                let hostFD = try NetlinkNamespace.openCurrent()
                defer { close(hostFD) }
                try PodNetdev(netlink: self.netlink).release(
                    ifName: cache.ifName.isEmpty ? cache.original.hostIFName : cache.ifName,
                    hostName: cache.original.hostIFName,
                    mac: cache.original.effectiveMAC,
                    mtu: cache.original.mtu,
                    podFD: podFD >= 0 ? podFD : nil,
                    hostFD: hostFD
                )
            } catch {
                throw .internal("failed to release VF \(cache.conf.deviceID) from pod interface: \(error)")
            }
        }
        if self.state.allocation(cache.conf.deviceID) == nil || self.state.allocation(cache.conf.deviceID) == netns
            || netns.isEmpty || !StateStore.isNetworkNamespace(self.state.allocation(cache.conf.deviceID) ?? "")
        {
            self.state.releaseAllocation(cache.conf.deviceID)
        }
    }

    /// DEL without a cache: upstream returns success and leaves the VF as the pod had it. Here, when stdin names the
    /// VF, what the configuration would have changed is put back to a clean state: VLAN 0 (QoS 0, 802.1Q) when the
    /// VF still carries the configured VLAN, admin MAC zero when it still carries the requested MAC, spoof checking
    /// on, trust off, link state auto and no rate limits when those were configured; the netdev, if the pod still
    /// has it, goes back to the host; IPAM is released; the allocation is dropped. A VF allocated meanwhile to
    /// another live namespace is left alone.
    func delWithoutCache(_ request: CNIRequest, conf input: SriovNetConf, log: CNILog) throws(CNIError) {
        var conf = input
        if !conf.ipamType.isEmpty {
            _ = try self.delegate.run(
                type: conf.ipamType,
                command: "DEL",
                stdin: request.stdin,
                environment: request.environment
            )
        }
        guard !conf.deviceID.isEmpty, VFLocator.isPCIAddress(conf.deviceID), conf.validate() == nil,
            let location = try? VFLocator.locate(conf.deviceID, sysfs: self.sysfs)
        else {
            log.info("no cache and no usable deviceID: nothing to release")
            return
        }
        let lock = try self.state.lock(conf.deviceID, timeout: self.lockTimeout)
        defer { withExtendedLifetime(lock) {} }
        if let owner = self.state.allocation(conf.deviceID), owner != request.netns,
            StateStore.isNetworkNamespace(owner)
        {
            log.info("VF allocated to another namespace, left alone", ["deviceID": conf.deviceID, "netns": owner])
            return
        }
        let mac = conf.requestedMAC(cniArgs: request.args)
        let current = try? self.vfControl.vf(location.vfIndex, pf: location.pf)
        var original = VFOriginalState()
        original.adminMAC = (!mac.isEmpty && current?.mac == mac) ? "00:00:00:00:00:00" : ""
        original.spoofChk = true
        original.linkState = Int(VFLinkState.auto.rawValue)
        var clean = conf
        if let vlan = conf.vlan, current?.vlan != vlan { clean.vlan = nil }
        let cache = SriovCNICache(
            conf: clean,
            original: original,
            master: location.pf,
            mac: mac,
            mtu: nil,
            vfID: location.vfIndex,
            dpdkMode: location.netdev == nil && location.isDPDK,
            containerID: request.containerID,
            ifName: request.ifName,
            netns: request.netns
        )
        do {
            try self.resetPF(cache, log: log)
        } catch {
            throw .internal("cmdDel() error reseting VF: \"\(error)\"")
        }
        if !cache.dpdkMode && !request.netns.isEmpty {
            let podFD = open(request.netns, O_RDONLY | O_CLOEXEC)
            if podFD >= 0 {
                defer { close(podFD) }
                if let hostFD = try? NetlinkNamespace.openCurrent() {
                    defer { close(hostFD) }
                    let pod = PodNetdev(netlink: self.netlink)
                    if case .pod = pod.find(ifName: request.ifName, hostName: "", podFD: podFD) {
                        do {
                            try pod.release(
                                ifName: request.ifName,
                                hostName: "",
                                mac: "",
                                mtu: 0,
                                podFD: podFD,
                                hostFD: hostFD
                            )
                        } catch {
                            throw .internal("failed to return pod interface \(request.ifName) to the host: \(error)")
                        }
                    }
                }
            }
        }
        self.state.releaseAllocation(conf.deviceID)
        log.info("released VF without a cache", ["deviceID": conf.deviceID])
    }
}

extension SriovNetConf {
    /// The configuration as JSON (what a delegated plugin gets when there is no stdin, e.g. during GC).
    var rawJSON: String { GoJSON.encode(.object(self.raw)) }
}
