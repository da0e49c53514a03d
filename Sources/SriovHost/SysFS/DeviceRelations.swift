import KubeCore

/// A VF as its PF lists it (`virtfnN`), after checking the link both ways.
public struct VerifiedVF: Sendable, Hashable {
    public var index: Int
    public var address: PCIAddress
}

extension SysFS {
    /// The VFs of `pf` from its `virtfnN` links, each checked before anyone acts on it: the link's target
    /// is a PCI address other than the PF's, that device's directory is what the link points to, and its
    /// `physfn` leads back to the PF. A planted `virtfn0 → ../0000:01:00.0` (the management NIC) is thus
    /// refused instead of unbound.
    /// - Throws: ``HostError`` naming the link and its target when a check fails, or when the PF lists
    ///   more than ``SysFSAttribute/maxVFs`` VFs.
    public func verifiedVFs(of pf: PCIAddress) throws(HostError) -> [VerifiedVF] {
        let checked = try self.checkedVFs(of: pf)
        if let first = checked.refused.first { throw first }
        return checked.vfs
    }

    /// Like ``verifiedVFs(of:)``, but keeps going: the VFs that pass and one error per link that does not.
    public func checkedVFs(of pf: PCIAddress) throws(HostError) -> (vfs: [VerifiedVF], refused: [HostError]) {
        let names = try self.list(pf.sysfsPath)
        var result: [VerifiedVF] = []
        var refused: [HostError] = []
        for name in names where name.hasPrefix("virtfn") {
            let link = pf.sysfsPath + "/" + name
            guard let index = Int(name.dropFirst(6)), (0..<SysFSAttribute.maxVFs).contains(index),
                String(index) == name.dropFirst(6)
            else {
                refused.append(
                    HostError(
                        code: .invalidArgument,
                        message: "unexpected VF link name \(QuotedValue.quote(name)) (expected virtfn0…virtfn255)",
                        path: link
                    )
                )
                continue
            }
            do {
                result.append(try self.verifiedVF(pf: pf, index: index, link: link))
            } catch {
                refused.append(error)
            }
        }
        return (result.sorted { $0.index < $1.index }, refused)
    }

    func verifiedVF(pf: PCIAddress, index: Int, link: String) throws(HostError) -> VerifiedVF {
        let target = try self.readLink(link)
        func refuse(_ why: String) -> HostError {
            HostError(
                code: .invalidArgument,
                message: "\(name(link)) → \(QuotedValue.quote(target)): \(why); refusing to act on it",
                path: link
            )
        }
        func name(_ path: String) -> String { String(path.split(separator: "/").last ?? "") }
        let basename = String(target.split(separator: "/").last ?? "")
        guard let address = try? PCIAddress(basename) else { throw refuse("not a PCI address") }
        guard address != pf else { throw refuse("points at the PF itself") }
        let device = address.sysfsPath
        guard try self.canonicalPath(link) == (try self.canonicalPath(device)) else {
            throw refuse("does not lead to the device \(device)")
        }
        guard self.exists(device + "/physfn") else {
            throw refuse("\(address) has no physfn link: it is not a VF")
        }
        let back = try self.canonicalPath(device + "/physfn")
        guard back == (try self.canonicalPath(pf.sysfsPath)) else {
            throw refuse("\(address)'s physfn leads to \(back), not to PF \(pf)")
        }
        return VerifiedVF(index: index, address: address)
    }
}
