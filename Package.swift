// swift-tools-version: 6.0
import PackageDescription

let package = Package(
    name: "Dynamics",
    products: [
        .library(name: "Dynamics", targets: ["Dynamics"]),
        .executable(name: "analyze", targets: ["Analyze"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        // C shims: each exposes one Debian library to Swift (see the shim.h beside each modulemap).
        .systemLibrary(name: "COpenBLAS", pkgConfig: "openblas", providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CLAPACKE", pkgConfig: "lapacke", providers: [.apt(["liblapacke-dev"])]),
        .systemLibrary(name: "CGSL", pkgConfig: "gsl", providers: [.apt(["libgsl-dev"])]),
        .systemLibrary(name: "CPNG", pkgConfig: "libpng", providers: [.apt(["libpng-dev"])]),
        .systemLibrary(name: "CGlibc"),
        .systemLibrary(name: "CMPI", pkgConfig: "ompi", providers: [.apt(["libopenmpi-dev"])]),
        // JPEG decoding in C: libjpeg reports errors by longjmp, which Swift cannot catch.
        .target(name: "CJPEG", linkerSettings: [.linkedLibrary("jpeg")]),
        .target(
            name: "Dynamics",
            dependencies: ["COpenBLAS", "CLAPACKE", "CGSL", "CPNG", "CJPEG", "CGlibc", "CMPI"]
        ),
        .executableTarget(
            name: "Analyze",
            dependencies: ["Dynamics", .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),
        // Inputs the test targets share (not part of the products).
        .target(name: "TestSupport", path: "Tests/Support"),
        .testTarget(name: "DynamicsTests", dependencies: ["Dynamics", "TestSupport"]),
        .testTarget(name: "AnalyzeTests", dependencies: ["Dynamics", "Analyze", "TestSupport"]),
    ]
)
