import KubeCore
public import SriovAPI

extension SriovNetworkNodePolicy {
    /// The operator's mutating admission webhook: absent `priority` becomes 99, absent `isRdma` becomes
    /// false, and an InfiniBand policy that is not vfio-pci gets `isRdma: true`. The policy named
    /// `default` is left alone.
    ///
    /// Upstream: pkg/webhook/mutate.go mutateSriovNetworkNodePolicy.
    /// - Returns: the JSON paths the webhook would patch, for reporting (`/spec/priority`).
    @discardableResult
    public mutating func applyAdmissionDefaults() -> [String] {
        guard self.metadata.name != "default" else { return [] }
        var patched: [String] = []
        if self.spec.priority == nil {
            self.spec.priority = 99
            patched.append("/spec/priority")
        }
        if self.spec.isRdma == nil {
            self.spec.isRdma = false
            patched.append("/spec/isRdma")
        }
        if self.spec.linkType.lowercased() == "ib", self.spec.deviceType != "vfio-pci", self.spec.isRdma != true {
            self.spec.isRdma = true
            patched.append("/spec/isRdma")
        }
        return patched
    }

    /// The priority the controller sorts by: an absent value counts as 0, as in upstream's Go struct.
    public var effectivePriority: Int { self.spec.priority ?? 0 }
}

extension Array where Element == SriovNetworkNodePolicy {
    /// Upstream's `ByPriority` order: priority descending (99 first, 0 last), then name ascending.
    /// Applied in this order, later policies win, so the lowest number wins.
    public func sortedByPriority() -> [SriovNetworkNodePolicy] {
        self.sorted { a, b in
            if a.effectivePriority != b.effectivePriority { return a.effectivePriority > b.effectivePriority }
            return a.metadata.name < b.metadata.name
        }
    }
}
