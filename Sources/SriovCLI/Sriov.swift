import ArgumentParser

@main
struct Sriov: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sriov",
        abstract: "SR-IOV network operator: plan, validate and run SR-IOV networking for Kubernetes.",
        discussion: """
            Wire-compatible with k8snetworkplumbingwg/sriov-network-operator (group sriovnetwork.openshift.io/v1).
            Start with `sriov plan DIR` to see what the operator would do with your manifests.
            """,
        subcommands: [
            PlanCommand.self, ValidateCommand.self, DiscoverCommand.self, ApplyCommand.self, ResetCommand.self,
            SimulateCommand.self, ManifestsCommand.self, OperatorCommand.self, DaemonCommand.self,
            WaitForConfigCommand.self, ServiceCommand.self, InstallCNICommand.self, DevicePluginCommand.self,
            WebhookCommand.self,
        ]
    )

    /// As ArgumentParser's `main`, but a usage error (unknown flag, missing or invalid argument, a
    /// `ValidationError`) exits 2 with the subcommand's usage, as the README documents, not `EX_USAGE` (64).
    static func main() async {
        let command: any ParsableCommand
        do {
            command = try Self.parseAsRoot()
        } catch {
            Self.exitParsing(error)
        }
        do {
            if var command = command as? any AsyncParsableCommand {
                try await command.run()
            } else {
                var command = command
                try command.run()
            }
        } catch {
            Self.exitParsing(error)
        }
    }

    static func exitParsing(_ error: any Error) -> Never {
        if Self.exitCode(for: error) == .validationFailure {
            StandardError.write(Self.fullMessage(for: error))
            Self.exit(withError: ExitCode(2))
        }
        Self.exit(withError: error)
    }
}

/// Options shared by the commands that render as the operator would.
struct OperatorOptions: ParsableArguments {
    @Option(help: "Operator namespace (env NAMESPACE; default sriov-network-operator).")
    var namespace: String?

    @Option(
        name: .customLong("resource-prefix"),
        help: "Device-plugin resource prefix (env RESOURCE_PREFIX; default openshift.io)."
    )
    var resourcePrefix: String?

    var resolvedNamespace: String {
        if let namespace { return namespace }
        if let env = Environment.get("NAMESPACE"), !env.isEmpty { return env }
        return "sriov-network-operator"
    }

    var resolvedResourcePrefix: String {
        if let resourcePrefix { return resourcePrefix }
        if let env = Environment.get("RESOURCE_PREFIX"), !env.isEmpty { return env }
        return "openshift.io"
    }
}

enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
    case text, yaml, json
}
