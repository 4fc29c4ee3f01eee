import Foundation

/// What a command-line front end tells `ProcessGroup.runCommand` about its errors: the message and exit status
/// its argument parser gives an error, and the status of an error that is a requested exit (one every rank ended
/// with alike, such as the status 130 of an agreed interrupt), nil for any other error.
public struct CommandErrorReporting {
    public var message: (Error) -> String
    public var exitCode: (Error) -> Int32
    public var requestedExit: (Error) -> Int32?

    public init(message: @escaping (Error) -> String, exitCode: @escaping (Error) -> Int32, requestedExit: @escaping (Error) -> Int32?) {
        (self.message, self.exitCode, self.requestedExit) = (message, exitCode, requestedExit)
    }
}

extension ProcessGroup {
    /// Job control of a command run on every rank of an MPI job: only rank 0 speaks (the other ranks' stdout and
    /// stderr go to /dev/null, keeping a copy of stderr for a failure only they see), every rank finalizes MPI, and a
    /// failure no collective saw ends the whole job (MPI_Abort) rather than leaving other ranks waiting.
    ///
    /// `parse` reads the command line (every rank parses the same arguments, so a parse error is on every rank:
    /// rank 0 prints it and all end cleanly with its status); `run` runs the command. A requested exit ends every
    /// rank with its status; `DistributedError.rankFailed` (raised on every rank at once by `agree`) is printed by rank 0; any
    /// other error is printed by the rank that saw it, which aborts the job. Exits on failure; returns after success.
    public func runCommand<Command>(parse: () throws -> Command, run: (Command) throws -> Void, reporting: CommandErrorReporting) {
        let errors = isRoot ? FileHandle.standardError : FileHandle(fileDescriptor: dup(2), closeOnDealloc: true)
        if !isRoot {
            let null = open("/dev/null", O_WRONLY)
            dup2(null, 1)
            dup2(null, 2)
            close(null)
        }
        func end(printing error: Error) -> Never {
            if isRoot {
                let message = reporting.message(error)
                if reporting.exitCode(error) == 0 { print(message) } else { FileHandle.standardError.write(Data("\(message)\n".utf8)) }
            }
            finalize()
            Foundation.exit(reporting.exitCode(error))
        }
        let command: Command
        do { command = try parse() } catch { end(printing: error) }
        do {
            try run(command)
        } catch {
            if let code = reporting.requestedExit(error) {
                finalize()
                Foundation.exit(code)
            }
            // Only `agree`'s verdict is on every rank; any other failure may have left ranks waiting, so it aborts.
            if case DistributedError.rankFailed = error { end(printing: error) }
            let code = reporting.exitCode(error)
            errors.write(Data("Error (rank \(rank) of \(size)): \(reporting.message(error))\n".utf8))
            abort(code: code == 0 ? 1 : code)
        }
        finalize()
    }
}
