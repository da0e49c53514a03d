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
        .executable(name: "sriov-bench", targets: ["SriovBenchmarks"]),
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
        .executableTarget(
            name: "SriovCLI",
            dependencies: [
                "KubeCore", "SriovAPI", "SriovRender", "SriovHost", "KubeClient", "KubeRuntime", "SriovOperator",
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
                "KubeCore", "SriovAPI", "SriovRender", "SriovHost", "KubeClient",
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
            name: "EndToEndTests",
            dependencies: ["SriovCLI", "SriovTestKit", "KubeCore"],
            swiftSettings: swiftSettings
        ),
    ]
)
