import KubeCore

extension HostProfile {
    /// Checks every value the simulator turns into a path, a file or a link, before anything is created:
    /// driver names are kernel module names (`[A-Za-z0-9_-]`, ≤ 64), netdev names follow the kernel's rules,
    /// PCI addresses and ids are well-formed, counts are within the kernel's ranges.
    /// - Throws: ``HostError`` naming the file, the field (`nics[0].vfDriver`) and the value (cut at 80).
    public func validate(file: String) throws(HostError) {
        func refuse(_ field: String, _ value: String, _ why: String) -> HostError {
            HostError(code: .invalidArgument, message: "\(field): \(QuotedValue.quote(value)): \(why)", path: file)
        }
        func number(_ field: String, _ value: Int, _ range: ClosedRange<Int>) throws(HostError) {
            guard range.contains(value) else {
                throw refuse(field, "\(value)", "must be in \(range.lowerBound)…\(range.upperBound)")
            }
        }
        if self.name.count > 253 { throw refuse("name", self.name, "longer than 253 characters") }
        guard ["", "baremetal", "openstack", "aws"].contains(self.platform) else {
            throw refuse("platform", self.platform, "must be baremetal, openstack or aws")
        }
        if self.cmdline.utf8.count > 4096 || self.cmdline.contains(where: { $0 == "\n" || $0 == "\0" }) {
            throw refuse("cmdline", self.cmdline, "must be one line of at most 4096 bytes")
        }
        var addresses: Set<String> = []
        var names: Set<String> = []
        for (n, nic) in self.nics.enumerated() {
            let at = "nics[\(n)]"
            for (field, value) in [("vendor", nic.vendor), ("device", nic.device), ("vfDevice", nic.vfDevice)]
            where !(field == "vfDevice" && value.isEmpty) {
                guard value.utf8.count == 4, value.utf8.allSatisfy(Self.isLowerHex) else {
                    throw refuse("\(at).\(field)", value, "must be 4 lower-case hex digits")
                }
            }
            for (field, value) in [("driver", nic.driver), ("vfDriver", nic.vfDriver)]
            where !(field == "vfDriver" && value.isEmpty) {
                guard Self.isDriverName(value) else {
                    throw refuse("\(at).\(field)", value, "a driver name is 1–64 of A–Z a–z 0–9 _ -")
                }
            }
            try number("\(at).totalVfs", nic.totalVfs, 0...SysFSAttribute.maxVFs)
            try number("\(at).numa", nic.numa, -1...1023)
            try number("\(at).speed", nic.speed, 0...10_000_000)
            guard ["", "ETH", "IB"].contains(nic.linkType.uppercased()) else {
                throw refuse("\(at).linkType", nic.linkType, "must be ETH or IB")
            }
            for (p, port) in nic.ports.enumerated() {
                let at = "\(at).ports[\(p)]"
                do {
                    _ = try PCIAddress(port.pciAddress)
                } catch {
                    throw refuse("\(at).pciAddress", port.pciAddress, "not a PCI address (dddd:bb:dd.f)")
                }
                guard addresses.insert(port.pciAddress).inserted else {
                    throw refuse("\(at).pciAddress", port.pciAddress, "appears twice")
                }
                for (field, value) in [("name", port.name)]
                    + port.altNames.enumerated().map({ ("altNames[\($0)]", $1) })
                where !value.isEmpty {
                    do {
                        _ = try InterfaceName(value)
                    } catch {
                        throw refuse("\(at).\(field)", value, "not a valid network interface name")
                    }
                    guard names.insert(value).inserted else { throw refuse("\(at).\(field)", value, "appears twice") }
                }
                if !port.mac.isEmpty {
                    let parts = port.mac.split(separator: ":", omittingEmptySubsequences: false)
                    guard parts.count == 6, parts.allSatisfy({ $0.utf8.count == 2 && $0.allSatisfy(\.isHexDigit) })
                    else { throw refuse("\(at).mac", port.mac, "not a MAC address (xx:xx:xx:xx:xx:xx)") }
                }
                if port.mtu != 0 { try number("\(at).mtu", port.mtu, 68...65535) }
                try number("\(at).numVfs", port.numVfs, 0...nic.totalVfs)
            }
        }
    }

    static func isLowerHex(_ b: UInt8) -> Bool { (b >= 0x30 && b <= 0x39) || (b >= 0x61 && b <= 0x66) }

    static func isDriverName(_ s: String) -> Bool {
        !s.isEmpty && s.utf8.count <= 64
            && s.utf8.allSatisfy {
                ($0 >= 0x30 && $0 <= 0x39) || ($0 | 0x20 >= 0x61 && $0 | 0x20 <= 0x7A) || $0 == 0x5F || $0 == 0x2D
            }
    }
}
