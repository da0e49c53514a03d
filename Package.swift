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
                "KubeCore", "SriovAPI", "SriovRender", "SriovHost",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "SriovTestKit",
            dependencies: ["KubeCore", "SriovAPI", "SriovRender", "SriovHost"],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "SriovBenchmarks",
            dependencies: [
                "KubeCore", "SriovAPI", "SriovRender", "SriovHost", "SriovTestKit",
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
            name: "EndToEndTests",
            dependencies: ["SriovCLI", "SriovTestKit", "KubeCore"],
            swiftSettings: swiftSettings
        ),
    ]
)
