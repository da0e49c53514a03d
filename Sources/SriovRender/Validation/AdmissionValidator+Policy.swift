import KubeCore
public import SriovAPI

extension AdmissionValidator {
    /// PCI vendor ids the webhook treats specially.
    static let intelVendor = "8086"
    static let mellanoxVendor = "15b3"
    /// The most VFs the webhook allows on a Mellanox PF, whatever its `totalvfs`.
    static let mellanoxMaxVFs = 128
    /// Substrings of `node.spec.providerID` that mark a virtual platform, where NICs are VFs handed to the
    /// guest and are selected by `netFilter` (upstream `utils.PlatformMap`).
    static let virtualProviders = ["openstack", "aws"]
    /// Upstream's limit and syntax for `resourceName`.
    static let resourceNameMaxLength = 63
    static let resourceNamePattern = "^[a-zA-Z0-9]([a-zA-Z0-9_-]*[a-zA-Z0-9])?$"

    /// Validates a CREATE or UPDATE of a SriovNetworkNodePolicy, after the mutating webhook has run (call
    /// ``SriovAPI/SriovNetworkNodePolicy/applyAdmissionDefaults()`` first).
    ///
    /// The `default` policy in the operator namespace is never checked. A policy in another namespace is
    /// checked but gets a warning that it is ignored. Static checks (the policy alone) come first; only when
    /// they pass do the dynamic checks run: against the selected nodes' discovered NICs, and against every
    /// other policy in the operator namespace that selects the same node (the policy itself, by namespace
    /// and name, is skipped, so an UPDATE does not conflict with its own old version).
    ///
    /// Upstream: pkg/webhook/validate.go validateSriovNetworkNodePolicy.
    public func validate(policy: SriovNetworkNodePolicy) -> [Finding] {
        let isDefault = policy.metadata.name == "default" && policy.metadata.namespace == self.operatorNamespace
        if isDefault { return [] }
        var findings: [Finding] = []
        if policy.metadata.namespace != self.operatorNamespace {
            findings.append(
                policy.finding(
                    .warning,
                    "metadata.namespace",
                    "\(policy.metadata.name) is created or updated but not used. Only policy in "
                        + "\(self.operatorNamespace) namespace is respected."
                )
            )
        }
        let staticErrors = self.staticFindings(policy)
        if !staticErrors.isEmpty { return findings + staticErrors }
        return findings + self.dynamicFindings(policy)
    }

    // MARK: Static checks

    /// Checks that need only the policy, in upstream's order.
    /// Upstream: pkg/webhook/validate.go staticValidateSriovNetworkNodePolicy.
    func staticFindings(_ policy: SriovNetworkNodePolicy) -> [Finding] {
        let spec = policy.spec
        let selector = spec.nicSelector
        let name = policy.metadata.name
        var findings: [Finding] = []
        func error(_ field: String, _ message: String) { findings.append(policy.finding(.error, field, message)) }

        // 1. resourceName. Older upstream versions accepted only `^[a-zA-Z0-9_]+$`; the current rule
        //    follows the device plugin's syntax for resource names.
        if spec.resourceName.isEmpty {
            error("spec.resourceName", "resource name must not be empty")
        } else if spec.resourceName.count > Self.resourceNameMaxLength {
            error(
                "spec.resourceName",
                "resource name \"\(spec.resourceName)\" is too long, the maximum length is "
                    + "\(Self.resourceNameMaxLength) characters"
            )
        } else if !Self.isValidResourceName(spec.resourceName) {
            error(
                "spec.resourceName",
                "resource name \"\(spec.resourceName)\" contains invalid characters, the accepted syntax of the "
                    + "regular expressions is: \"\(Self.resourceNamePattern)\""
            )
        }

        // 2. Some NIC must be selected.
        if selector.isEmpty {
            error(
                "spec.nicSelector",
                "at least one of these parameters (vendor, deviceID, pfNames, rootDevices or netFilter) has to be "
                    + "defined in nicSelector in CR \(name)"
            )
        }

        // 3. netFilter (virtual platforms) stands alone.
        if !selector.netFilter.isEmpty {
            if !selector.vendor.isEmpty || !selector.deviceID.isEmpty || !selector.pfNames.isEmpty
                || !selector.rootDevices.isEmpty
            {
                error(
                    "spec.nicSelector",
                    "vendor, deviceID, pfNames and rootDevices are not allowed when netFilter is specified"
                )
            }
            if !spec.eSwitchMode.isEmpty {
                error("spec.eSwitchMode", "eSwitchMode is not supported when netFilter is specified")
            }
            if spec.bridge?.ovs != nil {
                error("spec.bridge", "bridge configuration is not supported when netFilter is specified")
            }
            if !spec.linkType.isEmpty, spec.linkType.lowercased() != "eth" {
                error(
                    "spec.linkType",
                    "linkType \(GoJSON.quote(spec.linkType)) is not allowed when netFilter is specified, "
                        + "only \"eth\" is supported"
                )
            }
        }

        // 4. Supported models. Upstream compares only the device id with the PF column, whatever the vendor.
        if !self.devMode {
            if !selector.vendor.isEmpty {
                if !self.supportedNICs.isSupported(vendor: selector.vendor) {
                    error("spec.nicSelector.vendor", "vendor \(selector.vendor) is not supported")
                } else if !selector.deviceID.isEmpty, !self.supportedNICs.isSupported(pfDeviceID: selector.deviceID) {
                    error(
                        "spec.nicSelector.deviceID",
                        "vendor/device \(selector.vendor)/\(selector.deviceID) is not supported"
                    )
                }
            } else if !selector.deviceID.isEmpty, !self.supportedNICs.isSupported(pfDeviceID: selector.deviceID) {
                error("spec.nicSelector.deviceID", "device \(selector.deviceID) is not supported")
            }
        }

        // 5. pfNames VF ranges.
        for (index, entry) in selector.pfNames.enumerated() {
            if let message = Self.pfNameProblem(entry, numVfs: spec.numVfs) {
                error("spec.nicSelector.pfNames[\(index)]", message)
            }
        }

        // 6. vfio-pci VFs have no netdevice, hence no RDMA.
        if spec.deviceType == "vfio-pci", spec.isRdma == true {
            error(
                "spec.deviceType",
                "'deviceType: vfio-pci' conflicts with 'isRdma: true'; Set 'deviceType' to (string)'netdevice' "
                    + "Or Set 'isRdma' to (bool)'false'"
            )
        }

        // 7. switchdev is Ethernet only.
        if spec.eSwitchMode == "switchdev", !spec.linkType.isEmpty, spec.linkType.lowercased() != "eth" {
            error("spec.linkType", "'eSwitchMode: switchdev' can be used only with ethernet links")
        }

        // 8. vDPA.
        if spec.vdpaType == "virtio" || spec.vdpaType == "vhost" {
            if spec.deviceType != "netdevice" {
                error(
                    "spec.deviceType",
                    "'deviceType: \(spec.deviceType)' conflicts with '\(spec.vdpaType)'; Set 'deviceType' to "
                        + "(string)'netdevice' Or Remove 'vdpaType'"
                )
            }
            if spec.eSwitchMode != "switchdev" {
                error("spec.eSwitchMode", "vdpa requires the device to be configured in switchdev mode")
            }
        }

        // 9. Software bridges.
        if spec.bridge?.ovs != nil {
            if spec.eSwitchMode != "switchdev" {
                error(
                    "spec.bridge",
                    "software bridge management requires the device to be configured in switchdev mode"
                )
            }
            if spec.externallyManaged {
                error("spec.bridge", "software bridge management can't be used when the device externally managed")
            }
        }
        return findings
    }

    /// Whether `name` is a valid `resourceName` (without the length limit).
    static func isValidResourceName(_ name: String) -> Bool {
        name.wholeMatch(of: /[a-zA-Z0-9]([a-zA-Z0-9_-]*[a-zA-Z0-9])?/) != nil
    }

    /// What is wrong with one `pfNames` entry, in the webhook's words, or nil. The webhook parses the range
    /// itself, with messages of its own (not ``PfNameSelector/ParseError``'s).
    static func pfNameProblem(_ entry: String, numVfs: Int) -> String? {
        guard entry.contains("#") else { return nil }
        let fields = entry.split(separator: "#", omittingEmptySubsequences: false)
        guard fields.count == 2 else {
            return "failed to parse \(entry) PF name in nicSelector, probably incorrect separator character usage"
        }
        let bounds = fields[1].split(separator: "-", omittingEmptySubsequences: false)
        guard bounds.count == 2 else {
            return "failed to parse \(entry) PF name nicSelector, probably incorrect range character usage"
        }
        guard let start = Int(bounds[0]) else {
            return "failed to parse \(entry) PF name nicSelector, start range is incorrect"
        }
        guard let end = Int(bounds[1]) else {
            return "failed to parse \(entry) PF name nicSelector, end range is incorrect"
        }
        guard end >= start else {
            return "failed to parse \(entry) PF name nicSelector, end range shall not be smaller than start range"
        }
        guard end < numVfs else {
            return "failed to parse \(entry) PF name nicSelector, end range exceeds the maximum VF index"
        }
        return nil
    }
}

extension SriovNetworkNodePolicy {
    func finding(_ severity: Finding.Severity, _ field: String, _ message: String) -> Finding {
        Finding(
            severity: severity,
            kind: Self.kind,
            namespace: self.metadata.namespace,
            name: self.metadata.name,
            field: field,
            message: message
        )
    }
}
