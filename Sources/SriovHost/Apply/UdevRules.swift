/// The udev rules the config daemon installs (upstream: pkg/host/internal/udev).
public enum UdevRules {
    /// Keeps NetworkManager away from the PF's VFs: `10-nm-disable-<pci>.rules`.
    public static func nmUnmanaged(pf: PCIAddress, vfDeviceIDs: [String]) -> String {
        let devices = vfDeviceIDs.map { "0x\($0)" }.joined(separator: "|")
        return """
            ACTION=="add|change|move", ATTRS{device}=="\(devices)", \
            IMPORT{program}="/etc/udev/disable-nm-sriov.sh $env{INTERFACE} \(pf)"

            """
    }

    /// Names switchdev representors `<pf>_<vf>`: `20-switchdev-<pci>.rules`.
    public static func switchdevRepresentors(pfName: String) -> String {
        """
        SUBSYSTEM=="net", ACTION=="add|move", ATTRS{phys_switch_id}!="", ATTR{phys_port_name}=="pf*vf*", \
        IMPORT{program}="/etc/udev/switchdev-vf-link-name.sh $attr{phys_port_name}", NAME="\(pfName)_$env{NUMBER}"

        """
    }
}
