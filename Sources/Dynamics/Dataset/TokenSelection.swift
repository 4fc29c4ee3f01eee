/// Which token examples (THEORY §1) of an encoded example a probe set uses.
///
/// - `answer`: the first token after the response's `<answer>` tag (the first response token when there is no
///   tag) — where a grounding box `{` and a jigsaw permutation `[` compete (paper §5.2).
/// - `first`: the first response token.
/// - `last`: the last scored token (`<eos>`).
/// - `all`: every scored token, each its own token example.
public enum TokenSelection: String, CaseIterable, Sendable {
    case answer, first, last, all

    /// The sequence positions (as `logprobs` numbers them: the index of the predicted token) this selection
    /// takes from `example`, in increasing order; never empty.
    public func positions(in example: EncodedExample) -> [Int] {
        let scored = example.responsePositions
        switch self {
        case .first: return [scored.lowerBound]
        case .last: return [scored.upperBound - 1]
        case .all: return Array(scored)
        case .answer:
            let tag = scored.first { example.token(at: $0) == Tokenizer.answerOpen }
            if let tag, tag + 1 < scored.upperBound { return [tag + 1] }
            return [scored.lowerBound]
        }
    }

    /// The token references of every example, in file order, then position order.
    public func references(_ examples: [EncodedExample]) -> [TokenReference] {
        examples.flatMap { e in positions(in: e).map { TokenReference(id: e.id, position: $0) } }
    }
}
