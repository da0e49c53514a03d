public import Foundation

/// Golden-file comparison: `SRIOV_UPDATE_GOLDEN=1 swift test` rewrites the files under the source tree
/// instead of comparing, so the change can be reviewed as a diff.
public enum GoldenFile {
    /// The golden file's text, or nil if it does not exist. When `SRIOV_UPDATE_GOLDEN=1`, writes `actual`
    /// first and returns it.
    /// - Parameters:
    ///   - name: file name inside the test target's `Golden/` folder.
    ///   - directory: the `Golden/` folder in the source tree (pass `#filePath`-relative).
    public static func check(_ actual: String, name: String, directory: URL) throws -> String? {
        let url = directory.appendingPathComponent(name)
        if ProcessInfo.processInfo.environment["SRIOV_UPDATE_GOLDEN"] == "1" {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            try actual.write(to: url, atomically: true, encoding: .utf8)
            return actual
        }
        return try? String(contentsOf: url, encoding: .utf8)
    }

    /// The `Golden/` folder beside a test file.
    public static func directory(besides filePath: String) -> URL {
        URL(fileURLWithPath: filePath).deletingLastPathComponent().appendingPathComponent("Golden")
    }
}
