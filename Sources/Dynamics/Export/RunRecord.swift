import Foundation

/// The `*.meta.json` beside every output: what produced it, from what, with which settings.
public struct RunRecord: Sendable {
    /// The command line, argument by argument.
    public var command: [String]
    /// Inputs (checkpoints, data files) by role.
    public var inputs: [String: String]
    /// Files written, relative or absolute as given.
    public var outputs: [String]
    /// Settings and summary figures (seed, strategy, …) as strings.
    public var details: [String: String]

    /// The workbench version recorded in every run record.
    public static let toolVersion = "0.1.0"

    public init(command: [String], inputs: [String: String] = [:], outputs: [String] = [], details: [String: String] = [:]) {
        self.command = command
        self.inputs = inputs
        self.outputs = outputs
        self.details = details
    }

    /// JSON bytes with sorted keys (no timestamps, so the same run gives the same bytes).
    public func jsonData() throws -> Data {
        let object: [String: Any] = [
            "tool": "analyze", "version": RunRecord.toolVersion, "command": command,
            "inputs": inputs, "outputs": outputs, "details": details,
        ]
        return try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]) + Data("\n".utf8)
    }

    /// Writes the record atomically to `url`.
    public func write(to url: URL) throws { try AtomicFile.write(jsonData(), to: url) }
}
