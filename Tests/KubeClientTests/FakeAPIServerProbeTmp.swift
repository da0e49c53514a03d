import Foundation
import SriovTestKit
import Testing

@Test(.enabled(if: ProcessInfo.processInfo.environment["FAKE_PROBE"] != nil)) func fakeAPIServerProbeTmp() async throws {
    try await withFakeAPIServer { server in
        try server.url.write(toFile: "/tmp/fakeapi-url", atomically: true, encoding: .utf8)
        try await Task.sleep(for: .seconds(90))
    }
}
