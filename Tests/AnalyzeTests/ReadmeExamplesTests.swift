import Foundation
import Testing

/// The README's walkthrough (the fenced block after the `readme-examples` marker) runs as written, in order, in an
/// empty folder with `analyze` on the PATH: every command exits 0, prints its one summary line on stdout, and every
/// `--out` it names exists afterwards.
@Suite struct ReadmeExamplesTests {
    static let readme = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("README.md")

    /// The lines of the marked block.
    static func block() throws -> [String] {
        let lines = try String(contentsOf: readme, encoding: .utf8).components(separatedBy: "\n")
        guard let marker = lines.firstIndex(where: { $0.contains("<!-- readme-examples:") }),
              let open = lines[marker...].firstIndex(where: { $0.hasPrefix("```") }),
              let close = lines[(open + 1)...].firstIndex(where: { $0.hasPrefix("```") }) else {
            throw CocoaError(.fileReadCorruptFile, userInfo: [NSFilePathErrorKey: readme.path])
        }
        return Array(lines[(open + 1)..<close])
    }

    /// Shell commands with their continuation lines joined.
    static func commands(_ lines: [String]) -> [String] {
        var out: [String] = [], current = ""
        for line in lines {
            let t = line.trimmingCharacters(in: .whitespaces)
            if t.hasSuffix("\\") { current += String(t.dropLast()) + " "; continue }
            current += t
            if !current.isEmpty && !current.hasPrefix("#") { out.append(current) }
            current = ""
        }
        return out
    }

    @Test func walkthroughRunsAsWritten() throws {
        let lines = try Self.block()
        let commands = Self.commands(lines)
        let analyzeCommands = commands.filter { $0.hasPrefix("analyze ") }
        #expect(analyzeCommands.count >= 40, "the walkthrough covers every subcommand")
        let subcommands = Set(analyzeCommands.map { $0.split(separator: " ")[1] })
        for name in ["init", "data", "eval", "score", "train", "rollouts", "table", "tokenize", "logprobs", "jacobian", "entk", "kernel",
                     "kernel-merge", "drift", "decompose", "symmetry", "influence", "perplexity", "plot", "bench"] {
            #expect(subcommands.contains(Substring(name)), "no '\(name)' in the walkthrough")
        }

        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("readme-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let bin = dir.appendingPathComponent("bin")
        try FileManager.default.createDirectory(at: bin, withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(at: bin.appendingPathComponent("analyze"), withDestinationURL: try CLITests.executable())
        let work = dir.appendingPathComponent("work")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        let script = dir.appendingPathComponent("readme.sh")
        try Data((lines.joined(separator: "\n") + "\n").utf8).write(to: script)

        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-e", script.path]
        process.currentDirectoryURL = work
        var environment = ProcessInfo.processInfo.environment
        environment["PATH"] = bin.path + ":" + (environment["PATH"] ?? "/usr/bin:/bin")
        process.environment = environment
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let errData = err.fileHandleForReading.readDataToEndOfFile()
        let stdout = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        let stderr = String(decoding: errData, as: UTF8.self)
        #expect(process.terminationStatus == 0, "the README's walkthrough failed:\n\(stdout)\n\(stderr.suffix(3000))")
        guard process.terminationStatus == 0 else { return }

        // One summary line per command on stdout, as the README promises.
        let printed = stdout.split(separator: "\n")
        #expect(printed.count == analyzeCommands.count, "\(printed.count) stdout lines for \(analyzeCommands.count) commands:\n\(stdout)")

        // Every --out exists (plot's OUT is a prefix of OUT.png, OUT.svg and OUT.gp).
        for command in commands {
            let words = command.split(separator: " ").map(String.init)
            for (i, word) in words.enumerated() where word == "--out" && i + 1 < words.count {
                let target = work.appendingPathComponent(words[i + 1]).path
                let exists = FileManager.default.fileExists(atPath: target) || FileManager.default.fileExists(atPath: target + ".png")
                #expect(exists, "\(words[i + 1]) (from `\(command)`) does not exist")
            }
        }
        // A few outputs by content: the trained runs' final checkpoints, the forgetting table, meta.json beside outputs.
        for run in ["runs/base", "runs/sft-gt", "runs/grpo", "runs/sft-rollouts"] {
            #expect(FileManager.default.fileExists(atPath: work.appendingPathComponent("\(run)/final/model.safetensors").path))
        }
        let table = try String(contentsOf: work.appendingPathComponent("summary.csv"), encoding: .utf8)
        #expect(table.hasPrefix("checkpoint,") && table.contains("sft-gt"))
        #expect(FileManager.default.fileExists(atPath: work.appendingPathComponent("eval/base.meta.json").path))
    }
}
