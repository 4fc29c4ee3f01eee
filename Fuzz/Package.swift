// swift-tools-version: 6.0
// The libFuzzer harness of the workbench's readers (issue 13). A package of its own, so that the main package's
// `swift build` and `swift test` never need fuzzer flags: build it here with
//     swift build -c release -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library -Xcc -fsanitize=fuzzer-no-link,address
// (`make fuzz` runs scripts/fuzz.sh, which does). SwiftPM links an executable's entry point as <module>_main, so
// the harness has an @main (hence -parse-as-library) that hands over to libFuzzer's LLVMFuzzerRunDriver (CFuzzer);
// LLVMFuzzerTestOneInput is defined as well, as libFuzzer's own main expects.
import PackageDescription

let package = Package(
    name: "DynamicsFuzz",
    dependencies: [
        .package(name: "Dynamics", path: ".."),
    ],
    targets: [
        // One binary, one libFuzzer entry point; FUZZ_TARGET picks the reader (see FuzzTargets.swift).
        .target(name: "CFuzzer"),
        .executableTarget(name: "FuzzDynamics", dependencies: ["CFuzzer", .product(name: "Dynamics", package: "Dynamics")]),
        // Writes the seed corpus (corpus/<target>/) with the library's own writers; built without fuzzer flags.
        .executableTarget(name: "FuzzSeeds", dependencies: [.product(name: "Dynamics", package: "Dynamics")]),
    ]
)
