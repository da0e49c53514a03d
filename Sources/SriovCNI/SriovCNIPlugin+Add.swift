import SriovAPI
import SriovHost

#if canImport(Glibc)
import Glibc
#endif

extension SriovCNIPlugin {
    /// ADD, step by step as upstream's `cmdAdd` (reference §4.2), rolling back everything done so far on any failure.
    ///
    /// Deviation: the cache is written as soon as the original VF state is known (before anything changes), and
    /// rewritten at the end, so a plugin killed between steps leaves DEL everything it needs to restore the VF.
    func add(_ request: CNIRequest, conf input: SriovNetConf, log: CNILog) throws(CNIError) -> String {
        var conf = input
        let load = "\(self.prefix) failed to load netconf: LoadConf():"
        guard !conf.deviceID.isEmpty else { throw .internal("\(load) VF pci addr is required") }
        guard VFLocator.isPCIAddress(conf.deviceID) else {
            throw .internal("\(load) invalid pci address \"\(conf.deviceID)\"")
        }
        let location: VFLocation
        do throws(HostError) {
            location = try VFLocator.locate(conf.deviceID, sysfs: self.sysfs)
        } catch {
            throw .internal("\(load) failed to get VF information: \"\(error.message)\"")
        }
        let lock = try self.state.lock(conf.deviceID, timeout: self.lockTimeout)
        defer { withExtendedLifetime(lock) {} }
        log.debug("acquired device lock", ["deviceID": conf.deviceID])
        if self.state.isAllocated(conf.deviceID, log: log) {
            throw .internal("\(self.prefix) failed to load netconf: pci address \(conf.deviceID) is already allocated")
        }
        guard location.netdev != nil || location.isDPDK else {
            throw .internal("\(load) the VF \(conf.deviceID) does not have a interface name or a dpdk driver")
        }
        if let message = conf.validate() { throw .internal("\(load) \(message)") }
        let mac = conf.requestedMAC(cniArgs: request.args)
        if self.flavor == .ibSriov && !mac.isEmpty {
            throw CNIError(
                code: CNIError.unsupportedField,
                msg: "\(self.prefix): setting a MAC is not supported on InfiniBand VFs (got \(mac))"
            )
        }
        let podFD = open(request.netns, O_RDONLY | O_CLOEXEC)
        guard podFD >= 0 else {
            throw .internal("failed to open netns \"\(request.netns)\": \(StateStore.errnoText(errno))")
        }
        defer { close(podFD) }
        guard StateStore.isNetworkNamespace(request.netns) else {
            throw .internal("failed to open netns \"\(request.netns)\": not a network namespace")
        }

        // Snapshot, or the one a killed earlier ADD of this attachment left (the VF now carries its settings).
        let cached = try? self.state.loadCache(containerID: request.containerID, ifName: request.ifName)
        var cache: SriovCNICache
        do {
            cache = try self.snapshot(location, conf: conf, mac: mac, request: request, previous: cached ?? nil)
        } catch {
            throw .internal("failed to get original vf information: \(error)")
        }
        try self.state.saveCache(cache)

        var hostFD: Int32 = -1
        var ipamDone = false
        var inPod = false
        var succeeded = false
        defer {
            if !succeeded {
                self.rollback(
                    cache,
                    request: request,
                    podFD: inPod ? podFD : -1,
                    hostFD: hostFD,
                    ipam: ipamDone,
                    log: log
                )
            }
            if hostFD >= 0 { close(hostFD) }
        }

        for (name, config) in self.pfSettings(conf, mac: mac, vf: location.vfIndex) {
            do {
                try self.vfControl.setVF(pf: location.pf, config)
                if name == "mac" { try self.waitForAdminMAC(mac, vf: location.vfIndex, pf: location.pf) }
            } catch {
                throw .internal("\(self.prefix) failed to configure VF \"\(error)\"")
            }
        }
        log.info("configured VF on PF", ["pf": location.pf, "vf": "\(location.vfIndex)"])
        self.reached("pf-configured")

        var result = CNIResult(interfaces: [CNIResult.Interface(name: request.ifName, sandbox: request.netns)])
        let pod = PodNetdev(netlink: self.netlink)
        if let hostName = location.netdev {
            do {
                hostFD = try NetlinkNamespace.openCurrent()
                try pod.moveIn(hostName: hostName, ifName: request.ifName, hostFD: hostFD, podFD: podFD)
                inPod = true
                let link = try pod.configureInPod(ifName: request.ifName, hostName: hostName, mac: mac, podFD: podFD)
                cache.mtu = link.mtu
            } catch {
                throw .internal(
                    "failed to set up pod interface \"\(request.ifName)\" from the device \"\(location.pf)\": \(error)"
                )
            }
            self.reached("in-pod")
        } else {
            cache.mtu = try? self.vfControl.mtu(pf: location.pf)
        }
        result.interfaces[0].mac = Self.resultMAC(cache)
        result.interfaces[0].mtu = cache.mtu ?? 0

        if !conf.ipamType.isEmpty {
            let ipam: CNIResult
            do throws(CNIError) {
                let out = try self.delegate.run(
                    type: conf.ipamType,
                    command: "ADD",
                    stdin: request.stdin,
                    environment: request.environment
                )
                ipamDone = true
                ipam = try CNIResult.parse(out)
            } catch {
                throw CNIError(
                    code: error.code,
                    msg: "failed to set up IPAM plugin type \"\(conf.ipamType)\" from the device \"\(location.pf)\": "
                        + error.description
                )
            }
            guard !ipam.ips.isEmpty else { throw .internal("IPAM plugin returned missing IP config") }
            result.ips = ipam.ips.map { CNIResult.IPConfig(address: $0.address, gateway: $0.gateway, interface: 0) }
            result.routes = ipam.routes
            result.dns = ipam.dns
            if location.netdev != nil {
                do {
                    let unannounced = try pod.configureIPs(
                        ifName: request.ifName,
                        addresses: result.ips.map { ($0.address, $0.gateway) },
                        routes: result.routes.map { ($0.dst, $0.gw) },
                        podFD: podFD
                    )
                    for failure in unannounced { log.warning("address not announced", ["error": failure]) }
                } catch {
                    throw .internal("failed to configure IPs on \"\(request.ifName)\": \(error)")
                }
            }
            self.reached("ipam-done")
        }

        try self.state.saveCache(cache)
        do throws(CNIError) {
            try self.state.saveAllocation(conf.deviceID, netns: request.netns)
        } catch {
            throw .internal(
                "error saving the pci allocation for vf pci address \(conf.deviceID): \(error.msg)"
            )
        }
        succeeded = true
        log.info("attached VF", ["deviceID": conf.deviceID, "pf": location.pf, "ifname": request.ifName])
        return result.json(version: conf.cniVersion)
    }

    /// The result's MAC (upstream's `GetMacAddressForResult`): the requested one, else the kernel VF's own, else
    /// (DPDK) the admin MAC unless it is all zeros.
    static func resultMAC(_ cache: SriovCNICache) -> String {
        if !cache.mac.isEmpty { return cache.mac }
        if !cache.dpdkMode { return cache.original.effectiveMAC }
        return cache.original.adminMAC == "00:00:00:00:00:00" ? "" : cache.original.adminMAC
    }

    /// The VF's state before ADD changes it.
    func snapshot(
        _ location: VFLocation,
        conf: SriovNetConf,
        mac: String,
        request: CNIRequest,
        previous: SriovCNICache?
    ) throws(HostError) -> SriovCNICache {
        var original = VFOriginalState()
        if let previous, previous.conf.deviceID == conf.deviceID {
            original = previous.original
        } else {
            let info = try self.vfControl.vf(location.vfIndex, pf: location.pf)
            original.adminMAC = info.mac
            original.vlan = info.vlan
            original.vlanQoS = info.qos
            original.vlanProto = info.vlanProto ?? Int(VFConfig.vlanProto8021Q)
            original.spoofChk = info.spoofCheck ?? false
            original.trust = info.trust ?? false
            original.linkState = Int(info.linkState?.rawValue ?? 0)
            original.minTxRate = info.minTxRate ?? 0
            original.maxTxRate = info.maxTxRate ?? 0
            if let netdev = location.netdev {
                let link = try self.netlink.link(named: netdev)
                original.hostIFName = netdev
                original.effectiveMAC = link.mac
                original.mtu = link.mtu
            }
        }
        var stored = conf
        stored.mac = mac
        return SriovCNICache(
            conf: stored,
            original: original,
            master: location.pf,
            mac: mac,
            mtu: nil,
            vfID: location.vfIndex,
            dpdkMode: location.netdev == nil,
            containerID: request.containerID,
            ifName: request.ifName,
            netns: request.netns
        )
    }

    /// Upstream retries until the PF reports the admin MAC (some drivers apply it asynchronously).
    func waitForAdminMAC(_ mac: String, vf: Int, pf: String) throws(HostError) {
        for attempt in 1...20 {
            if (try? self.vfControl.vf(vf, pf: pf))?.mac == mac { return }
            if attempt < 20 { usleep(100_000) }
        }
        throw HostError(code: .io, message: "PF \(pf) does not report admin MAC \(mac) for VF \(vf) after 2 s")
    }

    /// Undoes a failed ADD: the netdev back to the host, the PF settings restored, IPAM released, the cache gone.
    /// `podFD` is -1 unless this ADD put the netdev into the pod: an interface the pod already had under the same
    /// name is never touched.
    func rollback(
        _ cache: SriovCNICache,
        request: CNIRequest,
        podFD: Int32,
        hostFD: Int32,
        ipam: Bool,
        log: CNILog
    ) {
        log.warning("rolling back failed ADD", ["deviceID": cache.conf.deviceID])
        if !cache.dpdkMode {
            let fd = hostFD >= 0 ? hostFD : ((try? NetlinkNamespace.openCurrent()) ?? -1)
            do {
                try PodNetdev(netlink: self.netlink).release(
                    ifName: request.ifName,
                    hostName: cache.original.hostIFName,
                    mac: cache.original.effectiveMAC,
                    mtu: cache.original.mtu,
                    podFD: podFD >= 0 ? podFD : nil,
                    hostFD: fd
                )
            } catch {
                log.error("rollback: failed to return the VF netdev", ["error": "\(error)"])
            }
            if fd >= 0 && fd != hostFD { close(fd) }
        }
        do {
            try self.resetPF(cache, log: log)
        } catch {
            log.error("rollback: failed to reset the VF", ["error": "\(error)"])
        }
        if ipam {
            _ = try? self.delegate.run(
                type: cache.conf.ipamType,
                command: "DEL",
                stdin: request.stdin,
                environment: request.environment
            )
        }
        self.state.removeCache(containerID: request.containerID, ifName: request.ifName)
    }
}
