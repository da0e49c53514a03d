import KubeCore
import SriovAPI
import SriovHost

#if canImport(Glibc)
import Glibc
#endif

extension SriovCNIPlugin {
    /// CHECK that checks (upstream's is a no-op): the pod has the interface under the promised name, with the
    /// promised MAC, up; the PF reports the promised VLAN, QoS, admin MAC, spoof checking, trust, link state and
    /// rates; and IPAM's own CHECK passes. The first difference is the error.
    func check(_ request: CNIRequest, conf: SriovNetConf, log: CNILog) throws(CNIError) -> String {
        guard let cache = try self.state.loadCache(containerID: request.containerID, ifName: request.ifName) else {
            throw .internal(
                "no cached state for container \(request.containerID) interface \(request.ifName): not attached by this plugin"
            )
        }
        let subject = "VF \(cache.vfID) (\(cache.conf.deviceID)) of PF \(cache.master)"
        let info: VFInfo
        do {
            info = try self.vfControl.vf(cache.vfID, pf: cache.master)
        } catch {
            throw .internal("\(subject): \(error)")
        }
        func differs(_ what: String, _ actual: String, _ expected: String) -> CNIError {
            .internal("\(subject): \(what) is \(actual), expected \(expected)")
        }
        let c = cache.conf
        if self.flavor == .sriov {
            if let vlan = c.vlan {
                if info.vlan != vlan { throw differs("vlan", "\(info.vlan)", "\(vlan)") }
                if info.qos != (c.vlanQoS ?? 0) { throw differs("vlan QoS", "\(info.qos)", "\(c.vlanQoS ?? 0)") }
                if let proto = info.vlanProto, proto != Int(c.vlanProtoValue) {
                    throw differs(
                        "vlan proto",
                        "0x\(String(proto, radix: 16))",
                        "0x\(String(c.vlanProtoValue, radix: 16))"
                    )
                }
            }
            if !cache.mac.isEmpty && info.mac != cache.mac { throw differs("admin MAC", info.mac, cache.mac) }
            if !c.spoofchk.isEmpty, let spoof = info.spoofCheck, spoof != (c.spoofchk == "on") {
                throw differs("spoof checking", spoof ? "on" : "off", c.spoofchk == "on" ? "on" : "off")
            }
            if !c.trust.isEmpty, let trust = info.trust, trust != (c.trust == "on") {
                throw differs("trust", trust ? "on" : "off", c.trust == "on" ? "on" : "off")
            }
            if c.minTxRate != nil || c.maxTxRate != nil {
                if let r = info.minTxRate, r != (c.minTxRate ?? 0) {
                    throw differs("min_tx_rate", "\(r)", "\(c.minTxRate ?? 0)")
                }
                if let r = info.maxTxRate, r != (c.maxTxRate ?? 0) {
                    throw differs("max_tx_rate", "\(r)", "\(c.maxTxRate ?? 0)")
                }
            }
        }
        if let wanted = VFLinkState(name: c.linkState), let actual = info.linkState, actual != wanted {
            throw differs("link_state", "\(actual)", "\(wanted)")
        }
        if !cache.dpdkMode {
            let link: LinkInfo
            do {
                link = try NetlinkNamespace.run(inNamespaceAt: request.netns) { () throws in
                    try self.netlink.link(named: request.ifName)
                }
            } catch {
                throw .internal("interface \(request.ifName) in \(request.netns): \(error)")
            }
            if !cache.mac.isEmpty && link.mac != cache.mac {
                throw .internal(
                    "interface \(request.ifName) in \(request.netns): MAC is \(link.mac), expected \(cache.mac)"
                )
            }
            if !link.isUp { throw .internal("interface \(request.ifName) in \(request.netns) is down") }
        }
        if !c.ipamType.isEmpty {
            _ = try self.delegate.run(
                type: c.ipamType,
                command: "CHECK",
                stdin: request.stdin,
                environment: request.environment
            )
        }
        log.debug("check passed", ["deviceID": c.deviceID])
        return ""
    }

    /// GC (CNI 1.1.0; upstream has none): for this network (`name`), every cached attachment the runtime no longer
    /// lists in `cni.dev/valid-attachments` is released as DEL would (IPAM DEL with the cached configuration, VF
    /// reset, netdev back to the host, cache removed), and allocation records naming dead namespaces are dropped.
    func gc(_ request: CNIRequest, object: JSONObject, conf: SriovNetConf, log: CNILog) throws(CNIError) -> String {
        var valid: Set<String> = []
        if let list = object["cni.dev/valid-attachments"] {
            guard case .array(let items) = list else {
                throw CNIError(code: CNIError.decodingFailure, msg: "cni.dev/valid-attachments must be a list")
            }
            for item in items {
                guard let o = item.objectValue, let id = o["containerID"]?.stringValue,
                    let ifName = o["ifname"]?.stringValue
                else {
                    throw CNIError(
                        code: CNIError.decodingFailure,
                        msg: "cni.dev/valid-attachments entries need containerID and ifname"
                    )
                }
                valid.insert("\(id)-\(ifName)")
            }
        }
        var firstError: CNIError?
        for name in self.state.cacheNames() where !valid.contains(name) {
            guard let bytes = StateStore.read("\(self.state.directory)/\(name)"),
                let cache = try? SriovCNICache.decode(bytes), cache.conf.name == conf.name
            else { continue }
            do throws(CNIError) {
                let lock = try self.state.lock(cache.conf.deviceID, timeout: self.lockTimeout)
                defer { withExtendedLifetime(lock) {} }
                if !cache.conf.ipamType.isEmpty && !cache.containerID.isEmpty {
                    var env = request.environment
                    env["CNI_CONTAINERID"] = cache.containerID
                    env["CNI_IFNAME"] = cache.ifName
                    env["CNI_NETNS"] = cache.netns
                    var raw = cache.conf.raw
                    raw["cniVersion"] = .string(cache.conf.cniVersion.isEmpty ? "1.0.0" : cache.conf.cniVersion)
                    _ = try self.delegate.run(
                        type: cache.conf.ipamType,
                        command: "DEL",
                        stdin: Array(GoJSON.encode(.object(raw)).utf8),
                        environment: env
                    )
                }
                let netns = cache.netns.isEmpty ? (self.state.allocation(cache.conf.deviceID) ?? "") : cache.netns
                try self.releaseVF(cache, netns: netns, log: log)
                unlink("\(self.state.directory)/\(name)")
                log.info("garbage-collected attachment", ["attachment": name, "deviceID": cache.conf.deviceID])
            } catch {
                log.error("failed to garbage-collect attachment", ["attachment": name, "error": error.msg])
                if firstError == nil { firstError = error }
            }
        }
        for device in self.state.allocatedDevices() {
            _ = self.state.isAllocated(device, log: log)
        }
        if let firstError { throw firstError }
        return ""
    }
}
