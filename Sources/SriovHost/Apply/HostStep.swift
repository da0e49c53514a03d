public import SriovAPI

/// One change to the host, in the order upstream's config daemon makes them (reference §4.3).
///
/// Steps are computed before anything is written (``HostConfigurator/plan(spec:)``), printed by
/// `--dry-run`, and logged one per line as they run. VF-level work depends on VFs that may not exist yet,
/// so it is one step per VF group (`configureVFs`) that expands, when run, into per-VF actions.
public enum HostStep: Sendable, Hashable, CustomStringConvertible {
    case loadKernelModule(name: String, parameters: String)
    case writeUdevRule(path: String, content: String)
    case removeFile(path: String)
    case setNumVfs(pf: PCIAddress, name: String, count: Int)
    case setEswitchMode(pf: PCIAddress, name: String, mode: String)
    case unbindVFs(pf: PCIAddress, name: String)
    case setMTU(pf: PCIAddress, name: String, mtu: Int)
    case configureVFs(pf: PCIAddress, name: String, group: SriovNetworkNodeState.VfGroup)
    case bindUngroupedVFs(pf: PCIAddress, name: String)
    case setLinkUp(pf: PCIAddress, name: String)
    case saveAppliedState(pf: PCIAddress, interface: SriovNetworkNodeState.Interface)
    case removeAppliedState(pf: PCIAddress)

    public var description: String {
        switch self {
        case .loadKernelModule(let name, let parameters):
            return "load kernel module \(name)" + (parameters.isEmpty ? "" : " \(parameters)")
        case .writeUdevRule(let path, _): return "write udev rule \(path)"
        case .removeFile(let path): return "remove \(path)"
        case .setNumVfs(let pf, let name, let count): return "\(Self.label(pf, name)): write sriov_numvfs \(count)"
        case .setEswitchMode(let pf, let name, let mode): return "\(Self.label(pf, name)): set eswitch mode \(mode)"
        case .unbindVFs(let pf, let name): return "\(Self.label(pf, name)): unbind all VFs from their drivers"
        case .setMTU(let pf, let name, let mtu): return "\(Self.label(pf, name)): set MTU \(mtu)"
        case .configureVFs(let pf, let name, let group):
            var text = "\(Self.label(pf, name)): VFs \(group.vfRange) → \(group.deviceType)"
            if group.mtu > 0 { text += ", MTU \(group.mtu)" }
            if group.isRdma { text += ", RDMA" }
            if !group.vdpaType.isEmpty { text += ", vDPA \(group.vdpaType)" }
            return group.resourceName.isEmpty ? text : text + " (resource \(group.resourceName))"
        case .bindUngroupedVFs(let pf, let name):
            return "\(Self.label(pf, name)): bind VFs without a driver to the default driver"
        case .setLinkUp(let pf, let name): return "\(Self.label(pf, name)): set link up"
        case .saveAppliedState(let pf, _): return "record applied state \(AppliedState.directory)/\(pf)"
        case .removeAppliedState(let pf): return "remove applied state \(AppliedState.directory)/\(pf)"
        }
    }

    static func label(_ pf: PCIAddress, _ name: String) -> String { name.isEmpty ? pf.rawValue : "\(name) (\(pf))" }
}
