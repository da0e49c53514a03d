public import SriovAPI

/// A device as a pool advertises it.
public struct PoolDevice: Sendable, Hashable {
    public var device: HostDevice
    public var healthy: Bool
    /// Why it is Unhealthy (for logs).
    public var reason: String?

    public init(device: HostDevice, healthy: Bool = true, reason: String? = nil) {
        self.device = device
        self.healthy = healthy
        self.reason = reason
    }

    public var id: String { self.device.id }
}

/// A pool built from one ``PoolConfig`` against one scan of the host.
public struct Pool: Sendable, Hashable {
    public var config: PoolConfig
    /// The pool's effective prefix (its `resourcePrefix`, else the CLI's).
    public var prefix: String
    /// Devices in discovery order, each with the selector object that claimed it (for `needVhostNet`).
    public var devices: [PoolDevice]
    /// Per device ID, the index of the selector object that claimed it.
    public var selectorIndex: [String: Int]

    /// `intel.com/intel_sriov_netdevice`
    public var resourceName: String { self.prefix + "/" + self.config.resourceName }
    /// `intel.com_intel_sriov_netdevice.sock`
    public var socketName: String { self.prefix + "_" + self.config.resourceName + ".sock" }

    public func device(_ id: String) -> PoolDevice? {
        self.devices.first { $0.id == id }
    }

    public func selectors(for id: String) -> DeviceSelectors? {
        guard let index = self.selectorIndex[id], index < self.config.selectors.count else { return nil }
        return self.config.selectors[index]
    }
}

/// Builds the pools of a configuration from a host scan.
///
/// Upstream: pkg/resources/manager.go (`discoverResources`: pools in file order, each selector object in
/// order, a device goes to the first pool that claims it, "Already allocated" otherwise; pools without devices
/// get no server), pkg/netdevice/netDeviceProvider.go (`GetDiscoveredDevices`: class 0x02, default-route and
/// PF-with-VFs exclusion, driverless devices skipped), pkg/accelerator (class 0x12), pkg/auxnetdevice.
public enum PoolBuilder {
    /// - Parameters:
    ///   - previous: the pools as last advertised, so that a device which lost its pool's driver or vanished is
    ///     kept as Unhealthy (when the pool checks for that) instead of silently changing the pool's capacity.
    public static func build(
        config: DevicePluginConfigFile,
        snapshot: HostSnapshot,
        defaultPrefix: String,
        previous: [String: Pool] = [:]
    ) -> [Pool] {
        var claimed: Set<String> = []
        var pools: [Pool] = []
        var result: [Pool] = []
        for poolConfig in config.resourceList {
            let candidates = self.candidates(snapshot.devices, type: poolConfig.deviceType)
            var devices: [PoolDevice] = []
            var selectorIndex: [String: Int] = [:]
            for (index, selectors) in poolConfig.selectors.enumerated() {
                for device in candidates where !claimed.contains(device.id) {
                    guard device.driver != nil,
                        SelectorMatcher.matches(device, selectors, type: poolConfig.deviceType)
                    else { continue }
                    claimed.insert(device.id)
                    selectorIndex[device.id] = index
                    devices.append(PoolDevice(device: device))
                }
            }
            let prefix = poolConfig.resourcePrefix.isEmpty ? defaultPrefix : poolConfig.resourcePrefix
            pools.append(Pool(config: poolConfig, prefix: prefix, devices: devices, selectorIndex: selectorIndex))
        }
        // Only devices no pool claims now are kept (so a VF rebound on purpose moves to its new pool).
        for i in pools.indices {
            if let old = previous[pools[i].resourceName], pools[i].config.checkHealthOnDeviceExist {
                self.keepLost(&pools[i], old: old, snapshot: snapshot, claimed: &claimed)
            }
        }
        for var pool in pools {
            if pool.config.checkHealthOnPf {
                for i in pool.devices.indices where pool.devices[i].healthy {
                    if let pf = pool.devices[i].device.pfName, snapshot.pfCarrier[pf] == false {
                        pool.devices[i].healthy = false
                        pool.devices[i].reason = "PF \(pf) has no carrier"
                    }
                }
            }
            result.append(pool)
        }
        return result
    }

    /// Devices that were advertised but now fail only the driver selector (a rebind in progress or gone wrong,
    /// or no driver at all) stay in the pool as Unhealthy, so capacity does not flap while allocatable drops.
    static func keepLost(_ pool: inout Pool, old: Pool, snapshot: HostSnapshot, claimed: inout Set<String>) {
        let present = Dictionary(snapshot.devices.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        for oldDevice in old.devices where pool.device(oldDevice.id) == nil && !claimed.contains(oldDevice.id) {
            let index = old.selectorIndex[oldDevice.id] ?? 0
            guard index < pool.config.selectors.count else { continue }
            var relaxed = pool.config.selectors[index]
            relaxed.drivers = []
            if let now = present[oldDevice.id], !(now.isSriovPF && now.numVfs > 0), !now.hasDefaultRoute {
                // Still there: unhealthy only if it would match except for its driver.
                guard SelectorMatcher.matches(now, relaxed, type: pool.config.deviceType)
                else { continue }
                let reason = now.driver.map { "driver changed to \($0)" } ?? "no driver bound"
                claimed.insert(now.id)
                pool.selectorIndex[now.id] = index
                pool.devices.append(PoolDevice(device: now, healthy: false, reason: reason))
            }
            // A vanished device is dropped: the kubelet then lowers capacity, which is what a removed VF means.
        }
    }

    static func candidates(_ devices: [HostDevice], type: PoolDeviceType) -> [HostDevice] {
        switch type {
        case .netDevice:
            return devices.filter {
                $0.kind == .pci && $0.classCode == 0x02 && !$0.hasDefaultRoute && !($0.isSriovPF && $0.numVfs > 0)
            }
        case .accelerator:
            return devices.filter { $0.kind == .pci && $0.classCode == 0x12 }
        case .auxNetDevice:
            return devices.filter { $0.kind == .auxiliary }
        }
    }
}

/// Selector semantics (upstream pkg/resources/deviceSelectors.go and the per-type filter order).
public enum SelectorMatcher {
    public static func matches(
        _ d: HostDevice,
        _ s: DeviceSelectors,
        type: PoolDeviceType
    ) -> Bool {
        if !s.vendors.isEmpty, !s.vendors.contains(d.vendor) { return false }
        if !s.devices.isEmpty, !s.devices.contains(d.device) { return false }
        if !s.drivers.isEmpty, !s.drivers.contains(d.driver ?? "") { return false }
        switch type {
        case .accelerator:
            if !s.pciAddresses.isEmpty, !s.pciAddresses.contains(d.pciAddress) { return false }
            return true
        case .netDevice:
            if !s.pciAddresses.isEmpty, !s.pciAddresses.contains(d.pciAddress) { return false }
            if !s.acpiIndexes.isEmpty, !s.acpiIndexes.contains(d.acpiIndex ?? "") { return false }
            if !s.pfNames.isEmpty,
                !self.matchesFunctionList(s.pfNames, pf: d.pfName, index: d.functionIndex, caseInsensitive: true)
            {
                return false
            }
            if !s.rootDevices.isEmpty,
                !self.matchesFunctionList(
                    s.rootDevices,
                    pf: d.pfAddress,
                    index: d.functionIndex,
                    caseInsensitive: false
                )
            {
                return false
            }
            if !s.linkTypes.isEmpty, !s.linkTypes.contains(d.linkType) { return false }
            if !s.ddpProfiles.isEmpty, !s.ddpProfiles.contains(d.ddpProfile ?? "") { return false }
            if !s.pKeys.isEmpty, !s.pKeys.contains(d.pKey ?? "") { return false }
            if s.isRdma, d.rdmaDevices.isEmpty { return false }
            if !s.vdpaType.isEmpty, d.vdpa?.type != s.vdpaType { return false }
            return true
        case .auxNetDevice:
            if !s.pfNames.isEmpty,
                !self.matchesFunctionList(s.pfNames, pf: d.pfName, index: d.functionIndex, caseInsensitive: true)
            {
                return false
            }
            if !s.rootDevices.isEmpty,
                !self.matchesFunctionList(
                    s.rootDevices,
                    pf: d.pfAddress,
                    index: d.functionIndex,
                    caseInsensitive: false
                )
            {
                return false
            }
            if !s.linkTypes.isEmpty, !s.linkTypes.contains(d.linkType) { return false }
            if s.isRdma, d.rdmaDevices.isEmpty { return false }
            if !s.auxTypes.isEmpty, !s.auxTypes.contains(d.auxType ?? "") { return false }
            return true
        }
    }

    /// `pfNames`/`rootDevices`: `"<pf>[#<i>,<a>-<b>,…]"`. Only the first entry whose PF part matches is used;
    /// a malformed list makes that entry match nothing; a device without a PF never matches.
    public static func matchesFunctionList(_ entries: [String], pf: String?, index: Int, caseInsensitive: Bool) -> Bool
    {
        guard let pf, index >= 0 else { return false }
        for entry in entries {
            let parts = entry.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false)
            let name = String(parts[0])
            let same = caseInsensitive ? name.lowercased() == pf.lowercased() : name == pf
            guard same else { continue }
            guard parts.count == 2 else { return true }
            guard let indices = self.parseIndexList(String(parts[1])) else { return false }
            return indices.contains { $0.contains(index) }
        }
        return false
    }

    /// `0,2-3` → `[0...0, 2...3]`; nil when malformed.
    public static func parseIndexList(_ text: String) -> [ClosedRange<Int>]? {
        var out: [ClosedRange<Int>] = []
        for item in text.split(separator: ",", omittingEmptySubsequences: false) {
            let bounds = item.split(separator: "-", omittingEmptySubsequences: false)
            func number(_ s: Substring) -> Int? {
                guard !s.isEmpty, s.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), s.count < 10 else { return nil }
                return Int(s)
            }
            switch bounds.count {
            case 1:
                guard let n = number(bounds[0]) else { return nil }
                out.append(n...n)
            case 2:
                guard let a = number(bounds[0]), let b = number(bounds[1]), a <= b else { return nil }
                out.append(a...b)
            default:
                return nil
            }
        }
        return out
    }
}
