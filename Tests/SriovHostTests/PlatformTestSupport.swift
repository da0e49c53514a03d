import Foundation

/// `Tests/SriovHostTests/PlatformFixtures` (the test target declares no resources, so fixtures are found
/// next to this file).
let platformFixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .appendingPathComponent("PlatformFixtures").path

/// The bytes of a fixture, e.g. `openstack/2018-08-27/meta_data.json`.
func platformFixture(_ relativePath: String) throws -> [UInt8] {
    Array(try Data(contentsOf: URL(fileURLWithPath: "\(platformFixtures)/\(relativePath)")))
}

/// Runs `body` with a fresh temporary directory and removes it afterwards.
func withPlatformTemporaryDirectory<T>(_ body: (String) throws -> T) throws -> T {
    let directory = FileManager.default.temporaryDirectory
        .appendingPathComponent("sriov-platform-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: directory) }
    return try body(directory)
}

/// Copies the fixture config drive into `directory` (as `openstack/2018-08-27/…`).
func copyPlatformConfigDrive(to directory: String) throws {
    try FileManager.default.createDirectory(atPath: "\(directory)/openstack", withIntermediateDirectories: true)
    try FileManager.default.copyItem(
        atPath: "\(platformFixtures)/openstack/2018-08-27",
        toPath: "\(directory)/openstack/2018-08-27"
    )
}

/// Writes `text` to `path`, creating parent directories.
func writePlatformFile(_ path: String, _ text: String) throws {
    let parent = URL(fileURLWithPath: path).deletingLastPathComponent().path
    try FileManager.default.createDirectory(atPath: parent, withIntermediateDirectories: true)
    try Data(text.utf8).write(to: URL(fileURLWithPath: path))
}
