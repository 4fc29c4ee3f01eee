import Foundation

/// The `*.meta.json` beside every output: what produced it, from what, with which settings, when.
///
/// The file (`meta_version` 2) holds `tool`, `version` (the workbench's), `time` (ISO 8601, UTC, to the second),
/// `command` (the command line, argument by argument), `inputs` (role → path as given), `input_sha256` (role → the
/// SHA-256 of the input: a file's bytes, or for a folder the SHA-256 of its `sha256sum` manifest; a list when the
/// role names several), `outputs`, and `details` (settings and summary figures, typed: numbers as JSON numbers,
/// `true`/`false` as booleans, everything else a string). Files of earlier builds (all values strings, no time or
/// hashes) read the same through `RunRecord.read(from:)`. The time is the one value that differs run to run.
/// `blas_kernel` names the OpenBLAS kernel the process ran (`BLASKernel`): results are byte for byte those of
/// another run only where it is the same.
public struct RunRecord: Sendable {
    /// The command line, argument by argument.
    public var command: [String]
    /// Inputs (checkpoints, data files) by role.
    public var inputs: [String: String]
    /// Files written, relative or absolute as given.
    public var outputs: [String]
    /// Settings and summary figures (seed, strategy, …) as text; written typed (see `RunRecord.Value.inferred`).
    public var details: [String: String]
    /// When the record was made.
    public var time: Date

    /// The workbench version recorded in every run record.
    public static let toolVersion = "0.1.0"
    /// The meta.json schema this build writes.
    public static let metaVersion = 2

    public init(command: [String], inputs: [String: String] = [:], outputs: [String] = [], details: [String: String] = [:], time: Date = Date()) {
        self.command = command
        self.inputs = inputs
        self.outputs = outputs
        self.details = details
        self.time = time
    }

    /// JSON bytes with sorted keys; the inputs are hashed now.
    public func jsonData() throws -> Data {
        let object: [String: Any] = [
            "meta_version": RunRecord.metaVersion, "tool": "analyze", "version": RunRecord.toolVersion,
            "blas_kernel": BLASKernel.current, "time": RunRecord.iso8601(time), "command": command, "inputs": inputs,
            "input_sha256": try InputHashes.hashes(of: inputs), "outputs": outputs,
            "details": details.mapValues { Value.inferred($0).jsonObject },
        ]
        return try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]) + Data("\n".utf8)
    }

    /// Writes the record atomically to `url`.
    public func write(to url: URL) throws { try AtomicFile.write(jsonData(), to: url) }
}
