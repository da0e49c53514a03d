import KubeCore
import SriovTestKit
import Testing

/// `sriov discover` on the real igb driver, checked against sysfs and `ip -j` in the same guest.
///
/// The Intel 82576 (8086:10c9, VF 8086:10ca) is in upstream's default supported-NIC list (`Intel_ixgbe_82576`), so
/// no `DEV_MODE` is needed. One boot: discovery before VFs, then VFs on both PFs, one VF netdev moved into another
/// network namespace and one VF bound to vfio-pci, then discovery again.
@Suite(
    "sriov discover on real igb NICs (QEMU guest)",
    .enabled(if: RealNICGuest.isAvailable),
    .tags(.realNIC),
    .timeLimit(.minutes(30))
)
struct RealNICDiscoveryTests {
    static let boot = RealNICBatch(
        steps: [
            RealNICStep("before", "$SRIOV discover -o json 2>/dev/null"),
            RealNICStep(
                "before-sysfs",
                """
                for pf in $PF0 $PF1; do
                    d=/sys/bus/pci/devices/$pf
                    net=$(ls $d/net | head -n1)
                    echo "$pf $(cat $d/vendor) $(cat $d/device) $(basename $(readlink $d/driver)) \
                $(cat $d/sriov_totalvfs) $(cat $d/sriov_numvfs) $net $(cat /sys/class/net/$net/address) \
                $(cat /sys/class/net/$net/mtu)"
                done
                """
            ),
            RealNICStep(
                "make-vfs",
                """
                set -e
                echo 3 > /sys/bus/pci/devices/$PF0/sriov_numvfs
                echo 2 > /sys/bus/pci/devices/$PF1/sriov_numvfs
                ip netns add discovery1
                moved=$(vfnet $PF0 1)
                ip link set "$moved" netns discovery1
                echo "moved $moved"
                vf2=$(vfpci $PF0 2)
                echo "$vf2" > /sys/bus/pci/devices/$vf2/driver/unbind
                echo vfio-pci > /sys/bus/pci/devices/$vf2/driver_override
                echo "$vf2" > /sys/bus/pci/drivers/vfio-pci/bind
                echo "vfio $vf2 group $(basename $(readlink /sys/bus/pci/devices/$vf2/iommu_group))"
                """
            ),
            RealNICStep("after", "$SRIOV discover -o json 2>/dev/null"),
            RealNICStep(
                "after-sysfs",
                """
                for pf in $PF0 $PF1; do
                    for n in $(seq 0 $(( $(cat /sys/bus/pci/devices/$pf/sriov_numvfs) - 1 ))); do
                        vf=$(vfpci $pf $n)
                        net=$(vfnet $pf $n)
                        mac=-
                        [ -n "$net" ] && mac=$(cat /sys/class/net/$net/address)
                        echo "$pf/$n $vf $(cat /sys/bus/pci/devices/$vf/device) \
                $(basename $(readlink /sys/bus/pci/devices/$vf/driver)) ${net:--} $mac"
                    done
                done
                echo "netns $(ip -n discovery1 -j link show | tr -d ' ')"
                echo "devvfio $(ls /dev/vfio | tr '\\n' ' ')"
                """
            ),
        ],
        prelude: RealNIC.prelude,
        nics: 2,
        timeout: .seconds(1200)
    )

    @Test("before VFs exist: both igb PFs, with the vendor, device, driver, netdev, MAC, MTU and VF limit sysfs shows")
    func beforeVFs() async throws {
        let run = try await Self.boot.run()
        let before = try run.step("before")
        #expect(before.status == 0, "\(before)")
        let interfaces = try RealNIC.interfaces(before)
        let sysfs = try run.step("before-sysfs")
        let lines = sysfs.output.split(separator: "\n").map { $0.split(separator: " ").map(String.init) }
        #expect(lines.count == 2, "\(sysfs)")
        for fields in lines where fields.count == 9 {
            let interface = try #require(interfaces[fields[0]], "\(before)")
            #expect(fields[1] == "0x8086" && fields[2] == "0x10c9" && fields[3] == "igb", "\(sysfs)")
            #expect(interface["vendor"] == "8086")
            #expect(interface["deviceID"] == "10c9")
            #expect(interface["driver"] == "igb")
            #expect(interface["totalvfs"]?.intValue == Int(fields[4]))
            #expect(interface["totalvfs"] == 7)
            #expect(interface["numVfs"] == nil, "no VFs yet: numVfs is omitted as upstream does for 0")
            #expect(interface["name"]?.stringValue == fields[6])
            #expect(interface["mac"]?.stringValue == fields[7])
            #expect(interface["mtu"]?.intValue == Int(fields[8]))
            #expect(interface["linkType"] == "ETH")
            #expect(interface["Vfs"] == nil)
        }
    }

    @Test("after VFs exist: every igbvf VF with the PCI address, device and MAC sysfs shows, in VF order")
    func afterVFs() async throws {
        let run = try await Self.boot.run()
        let made = try run.step("make-vfs")
        #expect(made.status == 0, "\(made)")
        let after = try run.step("after")
        #expect(after.status == 0, "\(after)")
        let interfaces = try RealNIC.interfaces(after)
        let pf0 = try #require(interfaces[RealNIC.pf0], "\(after)")
        let pf1 = try #require(interfaces[RealNIC.pf1], "\(after)")
        #expect(pf0["numVfs"] == 3)
        #expect(pf1["numVfs"] == 2)

        // "PF/N VFPCI DEVICE DRIVER NETDEV MAC" per VF, from sysfs.
        let sysfs = try run.step("after-sysfs")
        var rows: [String: [String]] = [:]
        for line in sysfs.output.split(separator: "\n") {
            let fields = line.split(separator: " ").map(String.init)
            if fields.count == 6 { rows[fields[0]] = fields }
        }
        #expect(rows.count == 5, "\(sysfs)")
        for (pf, interface, count) in [(RealNIC.pf0, pf0, 3), (RealNIC.pf1, pf1, 2)] {
            let vfs = interface["Vfs"]?.arrayValue ?? []
            #expect(vfs.map { $0["vfID"]?.intValue } == Array(0..<count), "\(after)")
            for vf in vfs {
                let index = vf["vfID"]?.intValue ?? -1
                let row = try #require(rows["\(pf)/\(index)"], "\(sysfs)")
                #expect(vf["pciAddress"]?.stringValue == row[1])
                #expect(row[2] == "0x10ca")
                #expect(vf["deviceID"] == "10ca")
                #expect(vf["vendor"] == "8086")
                if row[3] == "igbvf", row[4] != "-" {
                    #expect(vf["driver"] == "igbvf")
                    #expect(vf["name"]?.stringValue == row[4])
                    #expect(vf["mac"]?.stringValue == row[5])
                }
            }
        }
    }

    @Test("a VF whose netdev moved into another network namespace stays listed, with its driver and without a name")
    func movedVF() async throws {
        let run = try await Self.boot.run()
        let made = try run.step("make-vfs")
        let moved = try #require(RealNIC.facts(made)["moved"], "\(made)")
        let sysfs = try run.step("after-sysfs")
        let facts = RealNIC.facts(sysfs)
        // The guest's own view: gone from the PF's VF in sysfs, present in the namespace.
        #expect(facts["netns"]?.contains("\"ifname\":\"\(moved)\"") == true, "\(sysfs)")
        #expect(facts["\(RealNIC.pf0)/1"]?.hasSuffix(" igbvf - -") == true, "\(sysfs)")

        let interfaces = try RealNIC.interfaces(try run.step("after"))
        let vfs = interfaces[RealNIC.pf0]?["Vfs"]?.arrayValue ?? []
        let vf1 = try #require(vfs.first { $0["vfID"] == 1 }, "\(vfs)")
        #expect(vf1["driver"] == "igbvf")
        #expect(vf1["name"] == nil, "the netdev is in another namespace: \(vf1)")
        #expect(
            vf1["pciAddress"]?.stringValue == facts["\(RealNIC.pf0)/1"]?.split(separator: " ").first.map(String.init)
        )
    }

    @Test("a VF bound to vfio-pci is reported with driver vfio-pci and no netdev; /dev/vfio has its IOMMU group")
    func vfioVF() async throws {
        let run = try await Self.boot.run()
        let made = try run.step("make-vfs")
        let vfio = try #require(RealNIC.facts(made)["vfio"], "\(made)")
        let parts = vfio.split(separator: " ").map(String.init)  // "ADDRESS group N"
        #expect(parts.count == 3)
        let sysfs = try run.step("after-sysfs")
        #expect(
            RealNIC.facts(sysfs)["devvfio"]?.split(separator: " ").contains(Substring(parts.last ?? "?")) == true,
            "\(sysfs)"
        )

        let interfaces = try RealNIC.interfaces(try run.step("after"))
        let vfs = interfaces[RealNIC.pf0]?["Vfs"]?.arrayValue ?? []
        let vf2 = try #require(vfs.first { $0["vfID"] == 2 }, "\(vfs)")
        #expect(vf2["pciAddress"]?.stringValue == parts.first)
        #expect(vf2["driver"] == "vfio-pci")
        #expect(vf2["name"] == nil)
        #expect(vf2["mac"] == nil)
    }
}
