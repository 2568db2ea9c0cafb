// swift-tools-version: 6.1
import PackageDescription

let package = Package(
    name: "berth",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "berth", targets: ["berth"]),
        .executable(name: "berth-bench", targets: ["berth-bench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1", traits: []),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
    ],
    targets: [
        .target(name: "BerthModel", dependencies: [
            .product(name: "Yams", package: "Yams"),
        ], exclude: ["README.md"]),
        .target(name: "CLoop"),
        .target(name: "CSpawn"),
        .target(name: "CSQLiteConfig", linkerSettings: [.linkedLibrary("sqlite3")]),
        .systemLibrary(name: "CBlkid", pkgConfig: "blkid", providers: [.apt(["libblkid-dev"])]),
        .target(name: "BerthLinux", dependencies: [
            "CLoop", "CBlkid", "CSpawn",
        ], exclude: ["README.md"]),
        .target(name: "BerthCatalog", dependencies: [
            "BerthModel", "CSQLiteConfig",
            .product(name: "GRDB", package: "GRDB.swift"),
            .product(name: "Logging", package: "swift-log"),
        ], exclude: ["README.md"]),
        .target(name: "BerthStorage", dependencies: ["BerthModel", "BerthLinux"], exclude: ["README.md"]),
        .target(name: "BerthControllers", dependencies: [
            "BerthModel", "BerthCatalog", "BerthStorage",
            .product(name: "Logging", package: "swift-log"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        ], exclude: ["README.md"]),
        .target(name: "BerthServer", dependencies: [
            "BerthModel", "BerthCatalog", "BerthStorage", "BerthControllers",
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "Yams", package: "Yams"),
        ], exclude: ["README.md"]),
        .target(name: "BerthClient", dependencies: [
            "BerthModel",
            .product(name: "Yams", package: "Yams"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
        ], exclude: ["README.md"]),
        .executableTarget(name: "berth", dependencies: [
            "BerthModel", "BerthClient", "BerthServer", "BerthLinux",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        .executableTarget(name: "berth-bench", dependencies: [
            "BerthModel", "BerthCatalog", "BerthControllers", "BerthClient", "BerthTestSupport", "BerthLinux",
            .product(name: "Logging", package: "swift-log"),
        ]),
        .target(name: "BerthTestSupport", dependencies: ["BerthModel", "BerthClient", "BerthLinux"], exclude: ["README.md"]),
        .testTarget(name: "BerthModelTests", dependencies: ["BerthModel"]),
        .testTarget(name: "BerthCatalogTests", dependencies: ["BerthCatalog", "BerthModel", "BerthTestSupport"]),
        .testTarget(name: "BerthStorageTests", dependencies: ["BerthStorage", "BerthLinux", "BerthModel", "BerthTestSupport"]),
        .testTarget(name: "BerthControllersTests", dependencies: ["BerthControllers", "BerthCatalog", "BerthModel", "BerthTestSupport"]),
        .testTarget(name: "EndToEndTests", dependencies: ["BerthClient", "BerthModel", "BerthTestSupport"]),
    ]
)
