/// Turns a `DecodingError` into one line that names the offending key path.
enum JSONErrorText {
    static func describe(_ error: Error) -> String {
        guard let decoding = error as? DecodingError else { return "\(error)" }
        func path(_ context: DecodingError.Context) -> String {
            let p = context.codingPath.map { $0.intValue.map(String.init) ?? $0.stringValue }.joined(separator: ".")
            return p.isEmpty ? "top level" : "'\(p)'"
        }
        switch decoding {
        case let .keyNotFound(key, context):
            let where_ = context.codingPath.isEmpty ? "" : " in \(path(context))"
            return "missing key '\(key.stringValue)'\(where_)"
        case let .typeMismatch(_, context), let .valueNotFound(_, context):
            return "wrong type at \(path(context)): \(context.debugDescription)"
        case let .dataCorrupted(context):
            return "\(context.debugDescription) at \(path(context))"
        @unknown default:
            return "\(error)"
        }
    }
}
