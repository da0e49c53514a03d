import KubeCore
import SriovAPI
public import SriovHost

#if canImport(Glibc)
import Glibc
#endif

/// The SR-IOV CNI plugin, wire-compatible with upstream sriov-cni: same NetConf keys and messages, same cache and
/// allocation files, same results; plus a DEL that never leaks a VF, a CHECK that checks, and CNI 1.1.0 GC/STATUS.
///
/// One value serves one invocation (``run(_:)``): the binary builds it from the environment, tests build it with
/// a temporary state directory, a simulated sysfs root and ``SimulatedVFControl``. Host work is synchronous and
/// namespace changes happen on dedicated threads, so `run` can be called from any thread.
public struct SriovCNIPlugin: Sendable {
    /// `sriov`, or `ib-sriov` for InfiniBand VFs (no VLAN, MAC, spoof check or trust on the PF side).
    public enum Flavor: String, Sendable {
        case sriov
        case ibSriov = "ib-sriov"
    }

    public var flavor: Flavor
    public var state: StateStore
    public var sysfs: any SysFS
    public var vfControl: any VFControl
    public var netlink: RTNetlink
    public var delegate: DelegateExec
    /// How long ADD/DEL wait for another invocation holding the VF (upstream: 60 s).
    public var lockTimeout: Duration
    /// Test seam: stop forever at the named ADD step (`pf-configured`, `in-pod`, `ipam-done`) after creating
    /// `<stateDir>/.reached-<step>`, so a test can `kill -9` the process there. Never set in production.
    public var hangAt: String

    public init(
        flavor: Flavor = .sriov,
        stateDirectory: String = "/var/lib/cni/sriov",
        sysfs: any SysFS = LinuxSysFS(),
        vfControl: any VFControl = RTNetlinkVFControl(),
        netlink: RTNetlink = RTNetlink(),
        lockTimeout: Duration = .seconds(60),
        hangAt: String = ""
    ) {
        self.flavor = flavor
        self.state = StateStore(directory: stateDirectory)
        self.sysfs = sysfs
        self.vfControl = vfControl
        self.netlink = netlink
        self.delegate = DelegateExec()
        self.lockTimeout = lockTimeout
        self.hangAt = hangAt
    }

    /// What the process prints and how it exits.
    public struct Output: Sendable, Equatable {
        /// Everything for stdout (one JSON document or nothing), to be written in one `write(2)`.
        public var stdout: String
        public var exitCode: Int32

        public init(stdout: String, exitCode: Int32) {
            self.stdout = stdout
            self.exitCode = exitCode
        }
    }

    /// Upstream's message prefix.
    var prefix: String { self.flavor == .sriov ? "SRIOV-CNI" : "IB-SRIOV-CNI" }

    /// Runs one command; never throws and never crashes on bad input: failures become the spec's error JSON.
    public func run(_ request: CNIRequest) -> Output {
        do throws(CNIError) {
            try request.validateEnvironment()
            if request.command == "VERSION" {
                let object: JSONObject = [
                    "cniVersion": .string(CNIVersion.current),
                    "supportedVersions": .array(CNIVersion.supported.map { .string($0) }),
                ]
                return Output(stdout: GoJSON.encode(.object(object)), exitCode: 0)
            }
            let (object, conf) = try self.decode(request)
            let log = CNILog(
                levelName: conf.logLevel,
                file: conf.logFile,
                context:
                    "containerID=\"\(request.containerID)\" netns=\"\(request.netns)\" ifname=\"\(request.ifName)\""
            )
            log.debug("function called", ["command": request.command])
            let stdout: String
            switch request.command {
            case "ADD": stdout = try self.add(request, conf: conf, log: log)
            case "DEL": stdout = try self.del(request, conf: conf, log: log)
            case "CHECK": stdout = try self.check(request, conf: conf, log: log)
            case "GC": stdout = try self.gc(request, object: object, conf: conf, log: log)
            default: stdout = try self.status(conf: conf)
            }
            return Output(stdout: stdout, exitCode: 0)
        } catch {
            return Output(stdout: error.json, exitCode: 1)
        }
    }

    /// The Go library's decoding and version checks, then sriov-cni's own decoding.
    func decode(_ request: CNIRequest) throws(CNIError) -> (JSONObject, SriovNetConf) {
        let value: JSONValue
        do {
            value = try JSONParser.parse(request.stdin)
        } catch {
            throw CNIError(code: CNIError.decodingFailure, msg: "decoding version from network config: \(error)")
        }
        guard case .object(let object) = value else {
            throw CNIError(
                code: CNIError.decodingFailure,
                msg: "decoding version from network config: json: cannot unmarshal \(value.typeName) into Go value"
            )
        }
        var version = "0.1.0"
        if let v = object["cniVersion"] {
            guard case .string(let s) = v else {
                throw CNIError(
                    code: CNIError.decodingFailure,
                    msg: "decoding version from network config: json: cannot unmarshal \(v.typeName) into Go struct "
                        + "field .cniVersion of type string"
                )
            }
            if !s.isEmpty { version = s }
        }
        guard CNIVersion.supported.contains(version) else {
            throw CNIError(
                code: CNIError.incompatibleVersion,
                msg:
                    "incompatible CNI versions: config is \"\(version)\", plugin supports \(CNIVersion.supportedQuoted)"
            )
        }
        var conf: SriovNetConf
        do {
            conf = try SriovNetConf.decode(object)
        } catch {
            throw .internal("SetLogging(): failed to load netconf: \(error)")
        }
        guard !conf.name.isEmpty else {
            throw CNIError(code: CNIError.invalidNetworkConfig, msg: "missing network name")
        }
        conf.cniVersion = version
        switch request.command {
        case "CHECK" where !CNIVersion.isAtLeast(version, "0.4.0"):
            throw CNIError(code: CNIError.incompatibleVersion, msg: "config version does not allow CHECK")
        case "GC" where !CNIVersion.isAtLeast(version, "1.1.0"):
            throw CNIError(code: CNIError.incompatibleVersion, msg: "config version does not allow GC")
        case "STATUS" where !CNIVersion.isAtLeast(version, "1.1.0"):
            throw CNIError(code: CNIError.incompatibleVersion, msg: "config version does not allow STATUS")
        default:
            break
        }
        return (object, conf)
    }

    /// STATUS (CNI 1.1.0): ready when the state directory can be created and written.
    func status(conf: SriovNetConf) throws(CNIError) -> String {
        do throws(CNIError) {
            try StateStore.makeDirectories(self.state.directory + "/pci/vf_lock")
        } catch {
            throw CNIError(code: CNIError.pluginNotAvailable, msg: "plugin not available: \(error.msg)")
        }
        guard access(self.state.directory, W_OK) == 0 else {
            throw CNIError(
                code: CNIError.pluginNotAvailable,
                msg: "plugin not available: state directory \(self.state.directory) is not writable: "
                    + StateStore.errnoText(errno)
            )
        }
        return ""
    }

    /// The test seam of ``hangAt``.
    func reached(_ step: String) {
        guard !self.hangAt.isEmpty, self.hangAt == step else { return }
        try? StateStore.writeAtomically("\(self.state.directory)/.reached-\(step)", Array(step.utf8))
        while true { pause() }
    }

    /// The VF attributes upstream sets on the PF for a configuration, one request each in upstream's order: VLAN
    /// (with QoS and protocol), admin MAC, TX rates, spoof checking, trust, link state.
    func pfSettings(_ conf: SriovNetConf, mac: String, vf: Int) -> [(String, VFConfig)] {
        guard self.flavor == .sriov else {
            return conf.linkState.isEmpty
                ? [] : [("link_state", VFConfig(vf: vf, linkState: VFLinkState(name: conf.linkState)))]
        }
        var out: [(String, VFConfig)] = []
        if let vlan = conf.vlan {
            out.append(("vlan", VFConfig(vf: vf, vlan: vlan, qos: conf.vlanQoS ?? 0, vlanProto: conf.vlanProtoValue)))
        }
        if !mac.isEmpty { out.append(("mac", VFConfig(vf: vf, mac: mac))) }
        if conf.minTxRate != nil || conf.maxTxRate != nil {
            out.append(("rate", VFConfig(vf: vf, minTxRate: conf.minTxRate ?? 0, maxTxRate: conf.maxTxRate ?? 0)))
        }
        if !conf.spoofchk.isEmpty { out.append(("spoofchk", VFConfig(vf: vf, spoofCheck: conf.spoofchk == "on"))) }
        if !conf.trust.isEmpty { out.append(("trust", VFConfig(vf: vf, trust: conf.trust == "on"))) }
        if let state = VFLinkState(name: conf.linkState) {
            out.append(("link_state", VFConfig(vf: vf, linkState: state)))
        }
        return out
    }

    /// Puts back, on the PF, what ``pfSettings(_:mac:vf:)`` changed (upstream's `ResetVFConfig`): VLAN/QoS/protocol,
    /// spoof checking, trust, rates and link state only when configured; the admin MAC whenever one was cached.
    /// Best effort: every attribute is tried, and the first failure is reported.
    func resetPF(_ cache: SriovCNICache, log: CNILog) throws(HostError) {
        let o = cache.original
        let conf = cache.conf
        let vf = cache.vfID
        var steps: [(String, VFConfig)] = []
        if self.flavor == .sriov {
            if conf.vlan != nil {
                let proto = o.vlanProto == 0 ? Int(VFConfig.vlanProto8021Q) : o.vlanProto
                steps.append(("vlan", VFConfig(vf: vf, vlan: o.vlan, qos: o.vlanQoS, vlanProto: UInt16(proto))))
            }
            if !o.adminMAC.isEmpty { steps.append(("mac", VFConfig(vf: vf, mac: o.adminMAC))) }
            if conf.minTxRate != nil || conf.maxTxRate != nil {
                steps.append(("rate", VFConfig(vf: vf, minTxRate: o.minTxRate, maxTxRate: o.maxTxRate)))
            }
            if !conf.spoofchk.isEmpty { steps.append(("spoofchk", VFConfig(vf: vf, spoofCheck: o.spoofChk))) }
            if !conf.trust.isEmpty { steps.append(("trust", VFConfig(vf: vf, trust: o.trust))) }
        }
        if !conf.linkState.isEmpty {
            steps.append(
                ("link_state", VFConfig(vf: vf, linkState: VFLinkState(rawValue: Int32(o.linkState)) ?? .auto))
            )
        }
        var first: HostError?
        for (name, config) in steps {
            do throws(HostError) {
                try self.vfControl.setVF(pf: cache.master, config)
            } catch {
                log.error("failed to restore VF attribute", ["attribute": name, "error": "\(error)"])
                if first == nil { first = error }
            }
        }
        if let first { throw first }
    }
}
