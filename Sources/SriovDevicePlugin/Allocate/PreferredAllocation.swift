import SriovAPI

/// GetPreferredAllocation (upstream answers empty; DP issues #574, #255, #262).
///
/// Order of preference: every `must_include` device first; then devices on the NUMA node that already holds
/// most of the chosen devices (or, with nothing chosen yet, the node with most available devices); then, per
/// pool policy, `spread` round-robins over PFs (fewest already chosen first) and `pack` fills the PF that
/// already has most chosen or available devices. Ties break on the device ID, so the answer is deterministic.
/// Only available, healthy devices of the pool are returned; the answer never exceeds `allocation_size`.
public enum PreferredAllocator {
    public static func choose(
        available: [String],
        mustInclude: [String],
        size: Int,
        pool: Pool
    ) -> [String] {
        guard size > 0 else { return [] }
        let known = Dictionary(pool.devices.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        var chosen: [String] = []
        var chosenSet: Set<String> = []
        for id in mustInclude where chosen.count < size && chosenSet.insert(id).inserted {
            chosen.append(id)
        }
        var candidates = available.filter { !chosenSet.contains($0) && known[$0]?.healthy != false }
        candidates = Array(Set(candidates)).sorted()
        func numa(_ id: String) -> Int { known[id]?.device.numaNode ?? -1 }
        func pf(_ id: String) -> String { known[id]?.device.pfAddress ?? known[id]?.device.pciAddress ?? id }
        while chosen.count < size, !candidates.isEmpty {
            // Preferred NUMA node: where the chosen devices are, else where most candidates are.
            var numaCount: [Int: Int] = [:]
            for id in chosen { numaCount[numa(id), default: 0] += 1 }
            if numaCount.isEmpty { for id in candidates { numaCount[numa(id), default: 0] += 1 } }
            let wantedNuma = numaCount.max { a, b in a.value != b.value ? a.value < b.value : a.key > b.key }?.key
            var pool0 = candidates.filter { numa($0) == wantedNuma }
            if pool0.isEmpty { pool0 = candidates }
            var perPF: [String: Int] = [:]
            for id in chosen { perPF[pf(id), default: 0] += 1 }
            var availablePerPF: [String: Int] = [:]
            for id in pool0 { availablePerPF[pf(id), default: 0] += 1 }
            let pick: String?
            switch pool.config.allocationPolicy {
            case .spread:
                pick = pool0.min { a, b in
                    let ca = perPF[pf(a)] ?? 0
                    let cb = perPF[pf(b)] ?? 0
                    return ca != cb ? ca < cb : a < b
                }
            case .pack:
                pick = pool0.min { a, b in
                    let ca = (perPF[pf(a)] ?? 0, availablePerPF[pf(a)] ?? 0)
                    let cb = (perPF[pf(b)] ?? 0, availablePerPF[pf(b)] ?? 0)
                    if ca.0 != cb.0 { return ca.0 > cb.0 }
                    if ca.1 != cb.1 { return ca.1 > cb.1 }
                    return a < b
                }
            }
            guard let next = pick else { break }
            chosen.append(next)
            chosenSet.insert(next)
            candidates.removeAll { $0 == next }
        }
        return chosen
    }
}
