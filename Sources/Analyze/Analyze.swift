import ArgumentParser
import Dynamics
import Foundation

/// `analyze`: drives the Dynamics library from the command line. Results go to files, a short summary to
/// stdout, progress to stderr; every failure is a message naming what is wrong and a non-zero exit.
@main
struct Analyze: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "analyze",
        abstract: "The learning-dynamics workbench: checkpoints, data, evaluation, log-probs, logit Jacobians, eNTK kernels and drift.",
        version: "\(RunRecord.toolVersion) (OpenBLAS kernel \(BLASKernel.current), thread timeout \(BLASKernel.currentThreadTimeout.map { "2^\($0) cycles" } ?? "OpenBLAS's default"))",
        subcommands: [InitCommand.self, DataCommand.self, TrainCommand.self, RolloutsCommand.self, EvalCommand.self, ScoreCommand.self, TableCommand.self, CurveCommand.self, TokenizeCommand.self,
                      LogProbsCommand.self, JacobianCommand.self, EntkCommand.self, KernelCommand.self, KernelMergeCommand.self, DriftCommand.self,
                      DecomposeCommand.self, SymmetryCommand.self, InfluenceCommand.self, PerplexityCommand.self, PlotCommand.self, ReportCommand.self, BenchCommand.self]
    )

    /// Pins OpenBLAS's kernel (see `BLASKernel`: this may execute the program again, before anything else has run)
    /// and the allocator policy for large arrays (see `MemoryPolicy`), then parses and runs the subcommand. Under an
    /// MPI launcher (see `ProcessGroup`) only rank 0 prints, every rank finalizes MPI, and a failure no collective saw
    /// ends the whole job (MPI_Abort) rather than leaving other ranks waiting.
    static func main() {
        BLASKernel.pinOrReexecute()
        MemoryPolicy.retainFreedMemory()
        let group = ProcessGroup.world
        guard group.usesMPI else { return main(nil) }
        group.runCommand(parse: {
            let command = try parseAsRoot()
            if group.size > 1 && !(command is DistributedCommand) {
                throw ValidationError("this command does not run under MPI: run it as one process (without mpirun/srun)")
            }
            return command
        }, run: { var command = $0; try command.run() },
        reporting: CommandErrorReporting(message: { fullMessage(for: $0) }, exitCode: { exitCode(for: $0).rawValue }, requestedExit: { ($0 as? ExitCode)?.rawValue }))
    }
}

/// A subcommand that runs under `mpirun`/`srun` with several ranks (the others refuse to).
protocol DistributedCommand {}
