// `sriov-nl-probe`: a test-only tool that drives SriovHost's RTNetlink and LinuxSysFS code from a shell, so the
// real-NIC suites can run the project's netlink code against the real igb driver inside the QEMU guest and compare
// the results with `ip -j -d link show`. Not a user-facing command; it is not installed anywhere.
//
//   sriov-nl-probe show LINK                       the link as RTNetlink decodes it (JSON, VFs included)
//   sriov-nl-probe set-vf LINK VF KEY=VALUE...     RTNetlink.setVF; keys: mac vlan qos proto spoofchk trust state
//                                                  min_tx_rate max_tx_rate (proto: 802.1Q|802.1ad; on|off; auto|enable|disable)
//   sriov-nl-probe set-link LINK up|down|mtu=N|mac=M|name=N...
//   sriov-nl-probe move LINK NSPATH [--from NSPATH] RTNetlink.moveToNamespace, run in --from's namespace if given
//   sriov-nl-probe write PATH VALUE                LinuxSysFS.write (one write(2), as sysfs expects)
//   sriov-nl-probe kubelet DIR --expect RESOURCE=COUNT... [--allocate RESOURCE=ID] [--read PATH]...
//                  [--write PATH=VALUE]... [--expect-after RESOURCE=COUNT]... [--timeout S]
//                                                  a fake kubelet for `sriov device-plugin` (KubeletProbe.swift)
//
// Exit status 0 on success; 1 when SriovHost throws (stdout then carries {"error": {...}} with the HostError's code,
// errno, path and description); 2 for a usage error.
import Foundation
import SriovHost

struct VFJSON: Codable {
    var vf: Int
    var mac: String
    var vlan: Int
    var qos: Int
    var vlanProto: Int?
    var spoofCheck: Bool?
    var trust: Bool?
    var linkState: String?
    var minTxRate: Int?
    var maxTxRate: Int?
}

struct LinkJSON: Codable {
    var index: Int32
    var name: String
    var mtu: Int
    var mac: String
    var isUp: Bool
    var operState: String
    var linkType: String
    var vfs: [VFJSON]
}

struct ErrorJSON: Codable {
    struct Body: Codable {
        var code: String
        var errno: Int32?
        var path: String?
        var message: String
        var description: String
    }
    var error: Body
}

enum Usage: Error {
    case bad(String)
}

func printJSON(_ value: some Encodable) {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    let data = (try? encoder.encode(value)) ?? Data("{}".utf8)
    print(String(decoding: data, as: UTF8.self))
}

func onOff(_ value: String, _ key: String) throws -> Bool {
    switch value {
    case "on": return true
    case "off": return false
    default: throw Usage.bad("\(key)=\(value): expected on or off")
    }
}

func integer(_ value: String, _ key: String) throws -> Int {
    guard let number = Int(value) else { throw Usage.bad("\(key)=\(value): expected an integer") }
    return number
}

func keyValues(_ arguments: ArraySlice<String>) throws -> [(String, String)] {
    try arguments.map { argument in
        let parts = argument.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
        guard parts.count == 2 else { throw Usage.bad("\(argument): expected KEY=VALUE") }
        return (String(parts[0]), String(parts[1]))
    }
}

func vfConfig(_ vf: Int, _ pairs: [(String, String)]) throws -> VFConfig {
    var config = VFConfig(vf: vf)
    for (key, value) in pairs {
        switch key {
        case "mac": config.mac = value
        case "vlan": config.vlan = try integer(value, key)
        case "qos": config.qos = try integer(value, key)
        case "proto":
            switch value {
            case "802.1Q": config.vlanProto = 0x8100
            case "802.1ad": config.vlanProto = 0x88a8
            default: throw Usage.bad("proto=\(value): expected 802.1Q or 802.1ad")
            }
        case "spoofchk": config.spoofCheck = try onOff(value, key)
        case "trust": config.trust = try onOff(value, key)
        case "state":
            guard let state = VFLinkState(name: value) else {
                throw Usage.bad("state=\(value): expected auto, enable or disable")
            }
            config.linkState = state
        case "min_tx_rate": config.minTxRate = try integer(value, key)
        case "max_tx_rate": config.maxTxRate = try integer(value, key)
        default: throw Usage.bad("unknown VF attribute \(key)")
        }
    }
    return config
}

func show(_ link: LinkInfo) {
    printJSON(
        LinkJSON(
            index: link.index,
            name: link.name,
            mtu: link.mtu,
            mac: link.mac,
            isUp: link.isUp,
            operState: link.operState,
            linkType: link.linkType,
            vfs: link.vfs.map {
                VFJSON(
                    vf: $0.vf,
                    mac: $0.mac,
                    vlan: $0.vlan,
                    qos: $0.qos,
                    vlanProto: $0.vlanProto,
                    spoofCheck: $0.spoofCheck,
                    trust: $0.trust,
                    linkState: $0.linkState?.description,
                    minTxRate: $0.minTxRate,
                    maxTxRate: $0.maxTxRate
                )
            }
        )
    )
}

func main(_ arguments: [String]) throws {
    let netlink = RTNetlink()
    guard let command = arguments.first else { throw Usage.bad("no command") }
    let rest = arguments.dropFirst()
    switch command {
    case "show":
        guard rest.count == 1, let name = rest.first else { throw Usage.bad("show LINK") }
        show(try netlink.link(named: name))
    case "set-vf":
        guard rest.count >= 3, let vf = Int(rest[rest.startIndex + 1]) else {
            throw Usage.bad("set-vf LINK VF KEY=VALUE...")
        }
        let config = try vfConfig(vf, try keyValues(rest.dropFirst(2)))
        try netlink.setVF(link: rest[rest.startIndex], config)
        print("ok")
    case "set-link":
        guard rest.count >= 2, let link = rest.first else {
            throw Usage.bad("set-link LINK up|down|mtu=N|mac=M|name=N")
        }
        var name = link
        for argument in rest.dropFirst() {
            switch argument {
            case "up": try netlink.setUp(true, link: name)
            case "down": try netlink.setUp(false, link: name)
            default:
                let pairs = try keyValues([argument][...])
                switch pairs[0] {
                case ("mtu", let value): try netlink.setMTU(try integer(value, "mtu"), link: name)
                case ("mac", let value): try netlink.setMAC(value, link: name)
                case ("name", let value):
                    try netlink.rename(name, to: value)
                    name = value
                default: throw Usage.bad("set-link: unknown change \(argument)")
                }
            }
        }
        print("ok")
    case "move":
        guard rest.count == 2 || (rest.count == 4 && rest[rest.startIndex + 2] == "--from") else {
            throw Usage.bad("move LINK NSPATH [--from NSPATH]")
        }
        let link = rest[rest.startIndex]
        let target = rest[rest.startIndex + 1]
        if rest.count == 4 {
            try NetlinkNamespace.run(inNamespaceAt: rest[rest.startIndex + 3]) {
                try netlink.moveToNamespace(link: link, namespacePath: target)
            }
        } else {
            try netlink.moveToNamespace(link: link, namespacePath: target)
        }
        print("ok")
    case "write":
        guard rest.count == 2 else { throw Usage.bad("write PATH VALUE") }
        try LinuxSysFS().write(rest[rest.startIndex], rest[rest.startIndex + 1])
        print("ok")
    default:
        throw Usage.bad("unknown command \(command)")
    }
}

do {
    let arguments = Array(CommandLine.arguments.dropFirst())
    if arguments.first == "kubelet" {
        if try await !KubeletProbe.run(Array(arguments.dropFirst())) { exit(1) }
    } else {
        try main(arguments)
    }
} catch let error as HostError {
    printJSON(
        ErrorJSON(
            error: .init(
                code: error.code.description,
                errno: error.errno,
                path: error.path,
                message: error.message,
                description: error.description
            )
        )
    )
    FileHandle.standardError.write(Data("error: \(error)\n".utf8))
    exit(1)
} catch Usage.bad(let message) {
    FileHandle.standardError.write(Data("usage: sriov-nl-probe \(message)\n".utf8))
    exit(2)
} catch {
    FileHandle.standardError.write(Data("error: \(error)\n".utf8))
    exit(1)
}
