import ArgumentParser
import KubeCore
import SriovRender

struct ManifestsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "manifests",
        abstract: "Print deployment manifests (for `kubectl apply -f -`).",
        discussion: "crds: the seven CustomResourceDefinitions of sriovnetwork.openshift.io/v1."
    )

    enum Set: String, ExpressibleByArgument, CaseIterable {
        case crds
    }

    @Argument(help: "Which manifests: \(Set.allCases.map(\.rawValue).joined(separator: ", ")).")
    var set: Set = .crds

    @Option(name: .shortAndLong, help: "Output format: yaml or json.")
    var output: OutputFormat = .yaml

    func run() throws {
        let objects: [JSONValue]
        switch self.set {
        case .crds: objects = CustomResourceDefinitions.all
        }
        switch self.output {
        case .json:
            let list: JSONValue = .object(["apiVersion": "v1", "kind": "List", "items": .array(objects)])
            StandardOutput.write(try GoJSON.indent(GoJSON.encode(list), indent: "    ") + "\n")
        case .yaml, .text:
            StandardOutput.write(objects.map { "---\n" + YAMLWriter.string($0) }.joined())
        }
    }
}
