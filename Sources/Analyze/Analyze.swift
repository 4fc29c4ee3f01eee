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
        version: RunRecord.toolVersion,
        subcommands: [InitCommand.self, DataCommand.self, TrainCommand.self, RolloutsCommand.self, EvalCommand.self, ScoreCommand.self, TableCommand.self, TokenizeCommand.self,
                      LogProbsCommand.self, JacobianCommand.self, EntkCommand.self, KernelCommand.self, KernelMergeCommand.self, DriftCommand.self,
                      DecomposeCommand.self, SymmetryCommand.self, InfluenceCommand.self, PerplexityCommand.self, PlotCommand.self, ReportCommand.self, BenchCommand.self]
    )

    /// Sets the allocator policy for large arrays (see `MemoryPolicy`), then parses and runs the subcommand. Under an
    /// MPI launcher (see `ProcessGroup`) only rank 0 prints, every rank finalizes MPI, and a failure no collective saw
    /// ends the whole job (MPI_Abort) rather than leaving other ranks waiting.
    static func main() {
        MemoryPolicy.retainFreedMemory()
        let group = ProcessGroup.world
        guard group.usesMPI else { return main(nil) }
        // Only rank 0 speaks: the other ranks' stdout and stderr go to /dev/null, keeping stderr for a failure only they see.
        let errors = group.isRoot ? FileHandle.standardError : FileHandle(fileDescriptor: dup(2), closeOnDealloc: true)
        if !group.isRoot {
            let null = open("/dev/null", O_WRONLY)
            dup2(null, 1)
            dup2(null, 2)
            close(null)
        }
        var command: ParsableCommand
        do {
            command = try parseAsRoot()
            if group.size > 1 && !(command is DistributedCommand) {
                throw ValidationError("this command does not run under MPI: run it as one process (without mpirun/srun)")
            }
        } catch {
            // Every rank parsed the same arguments, so every rank is here: rank 0 speaks, all end cleanly.
            if group.isRoot { printError(error) }
            group.finalize()
            Foundation.exit(exitCode(for: error).rawValue)
        }
        do {
            try command.run()
        } catch let error as ExitCode {
            // A run every rank ended the same way (an agreed interrupt: status 130).
            group.finalize()
            Foundation.exit(error.rawValue)
        } catch let error as DistributedError {
            // Raised on every rank at once by `ProcessGroup.agree`.
            if group.isRoot { printError(error) }
            group.finalize()
            Foundation.exit(exitCode(for: error).rawValue)
        } catch {
            errors.write(Data("Error (rank \(group.rank) of \(group.size)): \(fullMessage(for: error))\n".utf8))
            group.abort(code: exitCode(for: error).rawValue == 0 ? 1 : exitCode(for: error).rawValue)
        }
        group.finalize()
    }

    private static func printError(_ error: Error) {
        let message = fullMessage(for: error)
        let code = exitCode(for: error)
        if code == .success { print(message) } else { FileHandle.standardError.write(Data("\(message)\n".utf8)) }
    }
}

/// A subcommand that runs under `mpirun`/`srun` with several ranks (the others refuse to).
protocol DistributedCommand {}
