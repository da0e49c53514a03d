import ArgumentParser
import KubeCore
import SriovAPI

/// Reads manifests for a command; any unreadable file, syntax or schema error ends the command with
/// exit code 2 after every such error has been printed (a plan from partial input would mislead).
enum InputLoader {
    static func load(_ paths: [String]) throws -> (snapshot: ClusterSnapshot, documents: [ManifestDocument]) {
        let documents: [ManifestDocument]
        do {
            documents = try ManifestReader.read(paths: paths)
        } catch {
            StandardError.write("error: \(error)")
            throw ExitCode(2)
        }
        let (snapshot, errors) = ClusterSnapshot.decode(documents)
        if !errors.isEmpty {
            for error in errors { StandardError.write("error: \(error)") }
            StandardError.write(
                "\(errors.count) object\(errors.count == 1 ? "" : "s") could not be read; nothing was planned"
            )
            throw ExitCode(2)
        }
        if documents.isEmpty {
            StandardError.write(
                "error: no manifests found in \(paths.joined(separator: " ")) (looked for *.yaml, *.yml, *.json)"
            )
            throw ExitCode(2)
        }
        return (snapshot, documents)
    }
}
