import Dynamics
import Foundation
import Testing

/// `analyze plot` renders every kind from a small CSV of the columns the workbench writes: a valid PNG of the
/// expected size, an SVG, the script and its data. Rendering is skipped (with the reason) only without gnuplot.
@Suite(.serialized) struct PlotCLITests {
    let cli: CLITests

    init() throws { cli = try CLITests() }

    static let hasGnuplot = Gnuplot.executable() != nil

    /// Small inputs of every kind, with the size of the figure each gives.
    static let inputs: [(kind: String, files: [(String, String)], width: Int, height: Int)] = [
        ("grpo", [("grpo/metrics.csv", """
            step,epoch,loss,lr,grad_norm,reward_mean,reward_std,fmt_mean,fmt_std,hit_mean,hit_std,acc_mean,acc_std,kl,completion_length,zero_std_fraction,clip_fraction,restarted
            1,0.5,0.1,0.001,1.2,1.5,0.5,0.9,0.1,0.5,0.2,0.1,0.3,0.0,20,0.5,0,0
            2,1.0,0.2,0.001,1.1,1.7,0.5,0.95,0.1,0.6,0.2,0.15,0.3,0.01,21,0.5,0,0
            3,1.5,0.1,0.001,1.0,1.9,0.4,1.0,0.0,0.7,0.2,0.2,0.3,0.0,19,0.25,0,1
            4,2.0,0.1,0.001,0.9,2.1,0.4,1.0,0.0,0.8,0.2,0.3,0.3,0.02,18,0.25,0,0
            """)], 800, 800),
        ("metrics", [("a/metrics.csv", "step,epoch,loss,lr,grad_norm,clipped,tokens\n1,0.1,3.2,0.001,2.0,0,40\n2,0.2,2.5,0.001,1.5,0,41\n3,0.3,2.0,0.001,1.2,0,39\n"),
                     ("b/metrics.csv", "step,epoch,loss,lr,grad_norm,clipped,tokens\n1,0.1,3.0,0.001,2.0,0,40\n2,0.2,2.8,0.001,1.5,0,41\n")], 800, 500),
        ("probes", [("a/probes.csv", "step,probe,n,mean_logprob,mean_ppl,median_ppl\n0,jigsaw,4,-2,7.4,7.1\n0,\"prior, rollouts\",4,-1,2.7,2.6\n10,jigsaw,4,-1,2.7,2.5\n10,\"prior, rollouts\",4,-1.1,3.0,2.9\n")],
         800, 500),
        ("eval", [("a/eval.csv", "step,task,style,n,accuracy,mean_score,answer_block_rate,f1,reward_fmt,reward_hit,reward_acc,permutation_rate\n0,jigsaw,all,4,0.0,0.1,1,,0.5,0.1,0,1\n0,pope,all,4,0.5,0.5,1,0.6,,,,\n5,jigsaw,all,4,0.5,0.6,1,,1,0.6,0.5,1\n5,pope,all,4,0.75,0.75,1,0.8,,,,\n")],
         800, 500),
        ("table", [("summary.csv", "checkpoint,task,style,n,accuracy\nbase,jigsaw,all,20,0.1\nbase,pope,all,20,0.8\nsft-gt,jigsaw,all,20,0.9\nsft-gt,pope,all,20,0.5\ngrpo,jigsaw,all,20,0.6\ngrpo,pope,all,20,0.8\n")],
         800, 500),
        ("perplexity", [("ppl.csv", "question,source,sample,image,prompt,output,tokens,mean_logprob,ppl,correct\n"
            + "q1,base_reasoning,0,images/a.png,\"cut , shuffled\",\"<answer> [ 1 , 0 ] </answer>\",8,-1.0,2.718281828459045,1\n"
            + "q1,base_reasoning,1,images/a.png,\"cut , shuffled\",\"say \"\"hi\"\"\",4,-2.0,7.38905609893065,0\n"
            + "q1,policy_reasoning,0,images/a.png,\"cut , shuffled\",x,3,-0.5,1.6487212707001282,1\n"
            + "q1,base_plain,0,images/a.png,cut,y,3,-1.5,4.4816890703380645,0\n"
            + "q1,ground_truth,0,images/a.png,cut,\"<answer> [ 1 , 0 ] </answer>\",8,-2.5,12.182493960703473,1\n")], 800, 500),
        ("perplexity-histogram", [("ppl.histogram.csv", "distribution,bin_lo,bin_hi,count\ng_R,-1,0,3\ng_R,0,1,1\ng_GT,-1,0,1\ng_GT,0,1,3\n"
            + "ppl_base_reasoning,1,2,2\nppl_base_reasoning,2,3,1\nppl_ground_truth,1,2,0\nppl_ground_truth,2,3,2\n")], 800, 800),
        ("perplexity-gaps", [("ppl.gaps.csv", "question,q1_base_reasoning,median_policy_reasoning,g_R,q1_base_plain,ppl_ground_truth,g_GT,gt_percentile\n"
            + "q1,2,2.5,0.5,2,4,2,75\nq2,3,2.8,-0.2,2,3,1,50\nq3,2,2.1,0.1,2,2.5,0.5,62.5\n")], 800, 500),
        ("symmetry", [("sym.csv", "optimizer,pair,u,v,eta,delta_vu,delta_uv,predicted_vu,predicted_uv,asymmetry,relative_asymmetry,above_floor,first_order,used_in_fit,used_in_delta_fit\n"
            + [(1e-4, 1), (1e-3, 1), (1e-2, 1), (1e-1, 0)].map { eta, used in
                ["sgd", "adam"].map { o in
                    let a = o == "sgd" ? 3 * eta * eta : 0.5 * eta
                    return "\(o),0,g:5,t:9,\(eta),\(2 * eta),\(-1.5 * eta),\(2 * eta),\(-1.5 * eta),\(a),\(a / eta),1,\(used),\(used),\(used)\n"
                }.joined()
            }.joined())], 800, 450),
        ("decompose", [("dec.csv", "u,v,level,eta,predicted,measured,residual,relative_error,used_in_fit\n"
            + [1e-4, 1e-3, 1e-2, 1e-1].map { "g:5,t:9,token,\($0),\(2 * $0),\(2 * $0 + 4 * $0 * $0),\(4 * $0 * $0),\(2 * $0),1\n" }.joined())], 800, 450),
        ("kernel", [("k.csv", "i,j,probe_i,probe_j,task_i,task_j,trace,influence\n"
            + (0..<4).flatMap { i in (i..<4).map { j in "\(i),\(j),\"p\(i):3\",p\(j):3,\(i % 2 == 0 ? "pope" : "jigsaw"),\(j % 2 == 0 ? "pope" : "jigsaw"),\(Double(1 + i + j)),0.1\n" } }.joined())],
         800, 700),
        ("influence", [("inf.csv", "probe,probe_task,train,train_task,influence\n"
            + (0..<3).flatMap { p in (0..<3).map { t in "p\(p),\(p == 0 ? "jigsaw" : "pope"),t\(t),\(t == 2 ? "jigsaw" : "pope"),\(Double(p - t) * 1e-3)\n" } }.joined())],
         800, 700),
        ("drift", [("drift.spectrum.csv", "checkpoint,index,eigenvalue\nbase,0,100\nbase,1,10\nbase,2,1\ngrpo,0,120\ngrpo,1,9\ngrpo,2,0.5\n")], 800, 500),
        ("forgetting-curve", [("curve.csv", "run,step,novel_accuracy,task,accuracy,change\n"
            + "sft-gt,0,0.05,pope,0.9,0\nsft-gt,0,0.05,mean,0.9,0\nsft-gt,8,0.4,pope,0.5,-0.4\nsft-gt,8,0.4,mean,0.5,-0.4\n"
            + "grpo,0,0.05,pope,0.9,0\ngrpo,0,0.05,mean,0.9,0\ngrpo,50,0.2,pope,0.88,-0.02\ngrpo,50,0.2,mean,0.88,-0.02\n")], 840, 380),
    ]

    /// Width and height from a PNG's IHDR chunk, after checking the signature and that the library decodes it.
    func pngSize(_ url: URL) throws -> (Int, Int) {
        let bytes = [UInt8](try Data(contentsOf: url))
        #expect(bytes.count > 24 && Array(bytes[0..<8]) == [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] && Array(bytes[12..<16]) == Array("IHDR".utf8))
        let be = { (at: Int) in bytes[at..<at + 4].reduce(0) { $0 << 8 | Int($1) } }
        let image = try PNGCodec.read(url)
        #expect(image.width == be(16) && image.height == be(20))
        return (be(16), be(20))
    }

    @Test(.enabled(if: hasGnuplot, "gnuplot is not installed (apt-get install gnuplot-nox): plot rendering not tested"))
    func everyKindRenders() throws {
        defer { try? FileManager.default.removeItem(at: cli.dir) }
        for (kind, files, width, height) in Self.inputs {
            var paths: [String] = []
            for (name, text) in files {
                try AtomicFile.write(Data(text.utf8), to: cli.dir.appendingPathComponent("in/\(kind)/\(name)"))
                paths.append(cli.path("in/\(kind)/\(name)"))
            }
            let prefix = cli.path("fig/\(kind)")
            let r = try cli.analyze(["plot"] + paths + ["--out", prefix])
            #expect(r.status == 0, "\(kind): \(r.stderr)")
            #expect(r.stdout.contains("(\(kind),"), "\(kind) detected from the header: \(r.stdout)")
            let (w, h) = try pngSize(URL(fileURLWithPath: prefix + ".png"))
            #expect(w == width && h == height, "\(kind): \(w)×\(h)")
            let svg = try String(contentsOfFile: prefix + ".svg", encoding: .utf8)
            #expect(svg.contains("<svg") && svg.contains("</svg>"), "\(kind).svg")
            let script = try String(contentsOfFile: prefix + ".gp", encoding: .utf8)
            #expect(script.contains("plot '"), "\(kind).gp")
        }
        // The same figure again needs --force; an explicit --kind that fits renders; one that does not names the columns.
        let metrics = cli.path("in/metrics/a/metrics.csv")
        try cli.expectFailure(["plot", metrics, "--out", cli.path("fig/metrics")], mentioning: "exists")
        #expect(try cli.analyze(["plot", metrics, "--kind", "metrics", "--out", cli.path("fig/m2")]).status == 0)
        try cli.expectFailure(["plot", metrics, "--kind", "symmetry", "--out", cli.path("fig/x")],
                              mentioning: "is not a symmetry CSV: no column optimizer, pair, eta")
        try cli.expectFailure(["plot", cli.path("in/kernel/k.csv"), cli.path("in/kernel/k.csv"), "--out", cli.path("fig/x")], mentioning: "draws one CSV")
        try cli.expectFailure(["plot", metrics, "--kind", "pie", "--out", cli.path("fig/x")], mentioning: "unknown --kind 'pie'")
    }

    @Test func wrongCSVAndMissingGnuplotAreClearErrors() throws {
        defer { try? FileManager.default.removeItem(at: cli.dir) }
        try AtomicFile.write(Data("a,b\n1,2\n".utf8), to: cli.dir.appendingPathComponent("odd.csv"))
        let input = try PlotInput(url: cli.dir.appendingPathComponent("odd.csv"))
        #expect(throws: PlotError.self) { try PlotFigure.make([input], prefix: "x") }
        do { _ = try PlotFigure.make([input], prefix: "x") } catch {
            #expect("\(error)".contains("no plot kind has these columns (a,b)") && "\(error)".contains("table (checkpoint,task,style,n,accuracy)"))
        }
        #expect(Gnuplot.executable(path: "/nonexistent") == nil)
        #expect(PlotError.gnuplotMissing.description.contains("apt-get install gnuplot-nox"))
        if Self.hasGnuplot {
            try cli.expectFailure(["plot", cli.path("odd.csv"), "--out", cli.path("odd")], mentioning: "expected one of: grpo (")
        }
    }
}
