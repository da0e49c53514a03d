// swift-tools-version:6.1
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

let package = Package(
    name: "sriov-operator",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "sriov", targets: ["SriovCLI"]),
        .executable(name: "sriov-cni", targets: ["SriovCNIMain"]),
        .executable(name: "sriov-bench", targets: ["SriovBenchmarks"]),
        .executable(name: "sriov-nl-probe", targets: ["RealNICProbe"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        .package(url: "https://github.com/grpc/grpc-swift-2", from: "2.4.3"),
        .package(url: "https://github.com/grpc/grpc-swift-nio-transport", from: "2.9.2"),
        .package(url: "https://github.com/grpc/grpc-swift-protobuf", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-protobuf", from: "1.39.0"),
        .package(url: "https://github.com/apple/swift-certificates", from: "1.21.1"),
        .package(url: "https://github.com/apple/swift-crypto", "3.12.3"..<"5.0.0"),
    ],
    targets: [
        .target(
            name: "KubeCore",
            dependencies: [.product(name: "Yams", package: "Yams")],
            swiftSettings: swiftSettings
        ),
        .target(name: "SriovAPI", dependencies: ["KubeCore"], swiftSettings: swiftSettings),
        .target(
            name: "SriovRender",
            dependencies: ["SriovAPI", "KubeCore"],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "KubeClient",
            dependencies: [
                "KubeCore",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "KubeRuntime",
            dependencies: [
                "KubeCore", "KubeClient",
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "SriovOperator",
            dependencies: [
                "KubeCore", "KubeClient", "KubeRuntime", "SriovAPI", "SriovRender",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(name: "CNetlink"),
        .target(
            name: "SriovHost",
            dependencies: [
                "SriovAPI", "KubeCore", "CNetlink",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "SriovDaemon",
            dependencies: [
                "KubeCore", "KubeClient", "KubeRuntime", "SriovAPI", "SriovRender", "SriovHost",
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "DevicePluginAPI",
            dependencies: [
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCProtobuf", package: "grpc-swift-protobuf"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "SriovDevicePlugin",
            dependencies: [
                "KubeCore", "SriovAPI", "SriovHost", "DevicePluginAPI",
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "SriovCNI",
            dependencies: [
                "KubeCore", "SriovAPI", "SriovHost", "CNetlink",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "SriovCNIMain",
            dependencies: ["SriovCNI", "SriovHost"],
            swiftSettings: swiftSettings,
            // The CNI is exec'd once per attachment: a fully static, non-PIE release binary starts without the
            // dynamic loader and its relocations (≈ 1.2 ms instead of ≈ 3.5 ms for VERSION here). It reads no
            // users or groups and loads nothing with dlopen, so static glibc's NSS caveats do not apply.
            linkerSettings: [.unsafeFlags(["-static-executable"], .when(platforms: [.linux], configuration: .release))]
        ),
        .target(
            name: "SriovWebhook",
            dependencies: [
                "KubeCore", "KubeClient", "KubeRuntime", "SriovAPI", "SriovRender",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "SriovCLI",
            dependencies: [
                "KubeCore", "SriovAPI", "SriovRender", "SriovHost", "KubeClient", "KubeRuntime", "SriovOperator",
                "SriovDaemon", "SriovDevicePlugin", "SriovWebhook",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "SriovTestKit",
            dependencies: [
                "KubeCore", "SriovAPI", "SriovRender", "SriovHost", "KubeClient", "DevicePluginAPI",
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "SriovBenchmarks",
            dependencies: [
                "KubeCore", "SriovAPI", "SriovRender", "SriovHost", "SriovTestKit", "SriovOperator", "KubeClient",
                "SriovDaemon", "SriovDevicePlugin", "SriovCNI", "SriovWebhook", "DevicePluginAPI",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Benchmarks/SriovBenchmarks",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "KubeCoreTests",
            dependencies: ["KubeCore", "SriovTestKit"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "SriovAPITests",
            dependencies: ["SriovAPI", "KubeCore", "SriovTestKit"],
            resources: [.copy("Fixtures")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "SriovRenderTests",
            dependencies: ["SriovRender", "SriovAPI", "KubeCore", "SriovTestKit"],
            resources: [.copy("Golden")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "SriovHostTests",
            dependencies: [
                "SriovHost", "SriovAPI", "KubeCore", "SriovTestKit",
                .product(name: "Logging", package: "swift-log"),
            ],
            exclude: ["PlatformFixtures"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "KubeClientTests",
            dependencies: [
                "KubeClient", "KubeCore", "KubeRuntime", "SriovTestKit",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "SriovOperatorTests",
            dependencies: [
                "SriovOperator", "KubeClient", "KubeRuntime", "KubeCore", "SriovAPI", "SriovRender", "SriovTestKit",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "SriovDaemonTests",
            dependencies: [
                "SriovDaemon", "SriovOperator", "SriovHost", "KubeClient", "KubeRuntime", "KubeCore", "SriovAPI",
                "SriovRender", "SriovTestKit",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "SriovDevicePluginTests",
            dependencies: [
                "SriovDevicePlugin", "DevicePluginAPI", "SriovHost", "SriovAPI", "KubeCore", "SriovTestKit",
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "SriovCNITests",
            dependencies: ["SriovCNI", "SriovCNIMain", "SriovHost", "SriovAPI", "KubeCore", "CNetlink"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "SriovWebhookTests",
            dependencies: [
                "SriovWebhook", "KubeClient", "KubeRuntime", "KubeCore", "SriovAPI", "SriovRender", "SriovTestKit",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "RealNICProbe",
            dependencies: ["SriovHost", "SriovTestKit", "DevicePluginAPI"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "RealNICTests",
            dependencies: [
                "SriovCLI", "SriovCNIMain", "RealNICProbe", "SriovTestKit", "SriovHost", "KubeCore", "SriovAPI",
                "SriovRender",
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "EndToEndTests",
            dependencies: ["SriovCLI", "SriovTestKit", "KubeCore"],
            swiftSettings: swiftSettings
        ),
    ]
)
