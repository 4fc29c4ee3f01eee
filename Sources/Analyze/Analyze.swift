import ArgumentParser
import Dynamics

/// `analyze`: drives the Dynamics library from the command line. Results go to files, a short summary to
/// stdout, progress to stderr; every failure is a message naming what is wrong and a non-zero exit.
@main
struct Analyze: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "analyze",
        abstract: "The learning-dynamics workbench: checkpoints, data, evaluation, log-probs, logit Jacobians, eNTK kernels and drift.",
        version: RunRecord.toolVersion,
        subcommands: [InitCommand.self, DataCommand.self, TrainCommand.self, RolloutsCommand.self, EvalCommand.self, ScoreCommand.self, TableCommand.self, TokenizeCommand.self,
                      LogProbsCommand.self, JacobianCommand.self, EntkCommand.self, KernelCommand.self, KernelMergeCommand.self, DriftCommand.self,
                      DecomposeCommand.self, SymmetryCommand.self, InfluenceCommand.self, PerplexityCommand.self, PlotCommand.self, ReportCommand.self, BenchCommand.self]
    )

    /// Sets the allocator policy for large arrays (see `MemoryPolicy`), then parses and runs the subcommand.
    static func main() {
        MemoryPolicy.retainFreedMemory()
        main(nil)
    }
}
