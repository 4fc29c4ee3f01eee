@testable import Dynamics
import Foundation
import Testing

/// Each output table's columns are written once, as the analysis's header constant: the code writes them, the
/// commands' help text quotes them (`OutputDescriptions`), and the README must quote them as they are.
@Suite struct SchemaTests {
    @Test func theReadmeQuotesEachTableSchemaAsItsConstantHasIt() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        // Lines wrap inside long schemas: compare without whitespace.
        let readme = try String(contentsOf: root.appendingPathComponent("README.md"), encoding: .utf8).filter { !$0.isWhitespace }
        let schemas = [SymmetryStudy.pointsHeader, SymmetryStudy.slopesHeader, OneStepDecomposition.changesHeader, OneStepDecomposition.sharesHeader,
                       InfluenceMatrix.header(measured: false), InfluenceMatrix.tasksHeader, ProbeKernel.pairHeader, ProbeKernel.tensorHeader,
                       ScoredResponse.header]
        for header in schemas {
            #expect(readme.contains(header.joined(separator: ",")), "README lacks the schema \(header.joined(separator: ","))")
        }
        let help = [SymmetryStudy.outputs, OneStepDecomposition.outputs, InfluenceMatrix.outputs, ProbeKernel.outputs, PerplexityReport.outputs]
            .joined().filter { !$0.isWhitespace }
        for header in schemas { #expect(help.contains(header.joined(separator: ",")), "no help text quotes \(header.joined(separator: ","))") }
    }
}
