import Dynamics
import Foundation
import Testing

/// `analyze entk --strategy`, `kernel` (with shards and `kernel-merge`) and `drift` end to end.
extension CLITests {
    @Test func entkStrategiesAgreeAndKernelShardsMergeIntoOneRun() throws {
        let ckpt = try initCheckpoint()
        var blocks: [[Double]] = []
        for strategy in ["explicit", "structured", "automatic"] {
            let run = try analyze(["entk", "--checkpoint", ckpt, "--examples", examples.path, "--u", "j:10", "--v", "g:8",
                                   "--strategy", strategy, "--out", path("K-\(strategy).safetensors")])
            #expect(run.status == 0, "entk \(strategy): \(run.stderr)")
            #expect(run.stdout.contains(strategy))
            blocks.append(try SafeTensors.read(URL(fileURLWithPath: path("K-\(strategy).safetensors"))).tensors[0].values)
        }
        expectNear(blocks[1], blocks[0], "structured K vs explicit")
        expectNear(blocks[2], blocks[0], "automatic K vs explicit")

        let common = ["--checkpoint", ckpt, "--examples", examples.path, "--select", "all", "--blocks"]
        let whole = try analyze(["kernel"] + common + ["--out", path("kernel.safetensors")])
        #expect(whole.status == 0, "kernel: \(whole.stderr)")
        for k in 1...3 {
            let run = try analyze(["kernel"] + common + ["--shard", "\(k)/3", "--threads", "1", "--out", path("shard\(k).safetensors")])
            #expect(run.status == 0, "kernel shard \(k): \(run.stderr)")
        }
        let merge = try analyze(["kernel-merge", path("shard3.safetensors"), path("shard1.safetensors"), path("shard2.safetensors"),
                                 "--out", path("merged.safetensors")])
        #expect(merge.status == 0, "kernel-merge: \(merge.stderr)")
        for suffix in ["safetensors", "csv", "tensors.csv"] {
            let a = try Data(contentsOf: URL(fileURLWithPath: path("merged.\(suffix)")))
            let b = try Data(contentsOf: URL(fileURLWithPath: path("kernel.\(suffix)")))
            #expect(a == b, "merged shards' \(suffix) differs from one run's")
        }
        // The trace kernel's entries are the traces of the eNTK blocks, and the file reads back complete.
        let (kernel, extra) = try ProbeKernel.read(URL(fileURLWithPath: path("kernel.safetensors")))
        #expect(kernel.isComplete && kernel.hasBlocks && extra["selection"] == "all")
        for e in kernel.entries { #expect(abs(e.block!.trace - e.trace) <= 1e-10 * abs(e.trace)) }
        try expectFailure(["kernel-merge", path("shard1.safetensors"), path("shard2.safetensors"), "--out", path("bad.safetensors")],
                          mentioning: "missing shard(s) 3/3")
        try expectFailure(["kernel"] + common + ["--shard", "0/2", "--out", path("bad.safetensors")], mentioning: "shard")
        try expectFailure(["kernel"] + common + ["--strategy", "fast", "--out", path("bad.safetensors")], mentioning: "--strategy")
        try expectFailure(["kernel"] + common + ["--out", path("kernel.safetensors")], mentioning: "exists")
    }

    @Test func driftOfACheckpointAgainstItselfIsZeroAndAgainstAnotherIsNot() throws {
        let a = try initCheckpoint("a")
        let b = try analyze(["init", "--preset", "tiny", "--seed", "6", "--out", path("b")])
        #expect(b.status == 0)
        let run = try analyze(["drift", "--checkpoint", a, "--checkpoint", a, "--checkpoint", path("b"), "--examples", examples.path,
                               "--select", "all", "--out", path("drift.csv")])
        #expect(run.status == 0, "drift: \(run.stderr)")
        let rows = try CSVReader.rows(URL(fileURLWithPath: path("drift.csv")))
        #expect(rows.count == 3)
        let same = rows[0], other = rows[1]
        #expect(abs(Double(same["trace_distance"]!)!) < 1e-12 && abs(Double(same["full_distance"]!)!) < 1e-12)
        #expect(abs(Double(same["influence_spearman"]!)! - 1) < 1e-12)
        #expect(Double(other["trace_distance"]!)! > 1e-6)
        let spectrum = try CSVReader.rows(URL(fileURLWithPath: path("drift.spectrum.csv")))
        #expect(spectrum.count == 3 * Int(same["probes"]!)!)
        try expectFailure(["drift", "--checkpoint", a, "--examples", examples.path, "--out", path("d2.csv")], mentioning: "at least two")
        try expectFailure(["drift", "--kernel", path("missing.safetensors"), "--kernel", path("missing.safetensors"), "--out", path("d3.csv")],
                          mentioning: "missing.safetensors")
    }
}
