import Dynamics
import Foundation
import Testing

/// `analyze` runs OpenBLAS's pinned kernel whatever the processor, so that a seed gives the same bytes on every
/// machine (`BLASKernel`), and keeps a kernel the user asks for.
@Suite struct BLASKernelCLITests {
    /// Runs `analyze ARGS` with OPENBLAS_CORETYPE set to `coreType` (nil: unset), returning stdout.
    func analyze(_ arguments: [String], coreType: String?) throws -> (status: Int32, stdout: String) {
        let process = Process()
        process.executableURL = try CLITests.executable()
        process.arguments = arguments
        var environment = ProcessInfo.processInfo.environment
        environment[BLASKernel.variable] = coreType
        process.environment = environment
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        try process.run()
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: stdout, as: UTF8.self))
    }

    @Test func theProgramRunsThePinnedKernelWhenNoneIsAskedFor() throws {
        let run = try analyze(["--version"], coreType: nil)
        #expect(run.status == 0)
        // On a processor without AVX2 and FMA OpenBLAS keeps its own choice (and the bytes may differ from here).
        let expected = BLASKernel.processorRunsPinnedKernel ? BLASKernel.pinned : nil
        if let expected { #expect(run.stdout.contains("OpenBLAS kernel \(expected)"), "\(run.stdout)") }
        #expect(run.stdout.hasPrefix(RunRecord.toolVersion))
    }

    @Test func aKernelTheUserAsksForIsKept() throws {
        // Sandybridge (AVX) runs wherever the pinned Haswell kernel does.
        guard BLASKernel.processorRunsPinnedKernel else { return }
        let run = try analyze(["--version"], coreType: "Sandybridge")
        #expect(run.status == 0)
        #expect(run.stdout.contains("OpenBLAS kernel Sandybridge"), "\(run.stdout)")
    }

    @Test func runRecordsNameTheKernel() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("blas-kernel-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let run = try analyze(["init", "--preset", "tiny", "--seed", "1", "--out", dir.path], coreType: nil)
        #expect(run.status == 0)
        let meta = try JSONSerialization.jsonObject(with: Data(contentsOf: dir.appendingPathComponent("meta.json"))) as? [String: Any]
        let kernel = try #require(meta?["blas_kernel"] as? String)
        if BLASKernel.processorRunsPinnedKernel { #expect(kernel == BLASKernel.pinned) } else { #expect(!kernel.isEmpty) }
    }
}
