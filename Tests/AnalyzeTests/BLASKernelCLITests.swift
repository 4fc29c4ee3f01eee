import Dynamics
import Foundation
import Testing

/// `analyze` runs OpenBLAS's pinned kernel whatever the processor, so that a seed gives the same bytes on every
/// machine (`BLASKernel`), and keeps a kernel the user asks for.
@Suite struct BLASKernelCLITests {
    /// Runs `analyze ARGS` (under `mpirun -np RANKS` when `ranks` is given) with OPENBLAS_CORETYPE set to
    /// `coreType` and OPENBLAS_THREAD_TIMEOUT to `threadTimeout` (nil: unset, which the other suites' processes never
    /// are), returning stdout.
    func analyze(_ arguments: [String], coreType: String?, threadTimeout: String? = nil, ranks: Int? = nil) throws -> (status: Int32, stdout: String) {
        var environment = ProcessInfo.processInfo.environment
        environment[BLASKernel.variable] = coreType
        environment[BLASKernel.threadTimeoutVariable] = threadTimeout
        let run = try CLITests.launch(arguments, ranks: ranks, environment: environment)
        return (run.status, run.stdout)
    }

    @Test func theProgramRunsThePinnedKernelWhenNoneIsAskedFor() throws {
        let run = try analyze(["--version"], coreType: nil)
        #expect(run.status == 0)
        // On a processor without AVX2 and FMA OpenBLAS keeps its own choice (and the bytes may differ from here).
        let expected = BLASKernel.processorRunsPinnedKernel ? BLASKernel.pinned : nil
        if let expected { #expect(run.stdout.contains("OpenBLAS kernel \(expected)"), "\(run.stdout)") }
        #expect(run.stdout.hasPrefix(RunRecord.toolVersion))
        // OpenBLAS's idle workers sleep after 2^22 cycles, not its default 2^28, unless the user says otherwise.
        #expect(run.stdout.contains("thread timeout 2^\(BLASKernel.threadTimeout) cycles"), "\(run.stdout)")
        let kept = try analyze(["--version"], coreType: BLASKernel.current, threadTimeout: "26")
        #expect(kept.stdout.contains("OpenBLAS kernel \(BLASKernel.current), thread timeout 2^26 cycles"), "\(kept.stdout)")
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

    @Test func ranksThatExecuteThemselvesAgainGiveTheBytesOfOneProcess() throws {
        // Under mpirun with the variable unset every rank pins the kernel by executing itself again, before MPI
        // starts; the job's evaluation must equal one pinned process's, byte for byte.
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("blas-kernel-mpi-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let (ck, data) = (dir.appendingPathComponent("ck").path, dir.appendingPathComponent("prior").path)
        #expect(try analyze(["init", "--preset", "tiny", "--seed", "2", "--out", ck], coreType: nil).status == 0)
        #expect(try analyze(["data", "generate", "--tasks", "prior", "--split", "test", "--count", "10", "--image-size", "8", "--out", data],
                            coreType: nil).status == 0)
        let eval = ["eval", "--checkpoint", ck, "--data", data + "/test.jsonl", "--sample", "2", "--force", "--out"]
        let one = dir.appendingPathComponent("one.csv"), job = dir.appendingPathComponent("job.csv")
        #expect(try analyze(eval + [one.path], coreType: nil).status == 0)
        #expect(try analyze(eval + [job.path], coreType: nil, ranks: 2).status == 0)
        #expect(try Data(contentsOf: one) == Data(contentsOf: job))
        let meta = try JSONSerialization.jsonObject(with: Data(contentsOf: dir.appendingPathComponent("job.meta.json"))) as? [String: Any]
        if BLASKernel.processorRunsPinnedKernel { #expect(meta?["blas_kernel"] as? String == BLASKernel.pinned) }
    }
}
