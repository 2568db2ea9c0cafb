/// berth's one domain error. Every message names the object, what is wrong and what to do.
public struct BerthError: Error, Sendable, CustomStringConvertible, Equatable {
    public enum Code: String, Sendable, Equatable {
        case notFound = "NotFound"
        case alreadyExists = "AlreadyExists"
        case invalid = "Invalid"
        case badRequest = "BadRequest"
        case conflict = "Conflict"
        case gone = "Gone"
        case insufficientCapacity = "InsufficientCapacity"
        case permissionDenied = "Forbidden"
        case unauthorized = "Unauthorized"
        case unavailable = "ServiceUnavailable"
        case methodNotAllowed = "MethodNotAllowed"
        case internalError = "InternalError"
    }

    public var code: Code
    public var message: String
    /// Field-level causes for `invalid` (path and rule each).
    public var causes: [FieldError]
    /// What went wrong underneath (an errno, a tool's stderr), for logs.
    public var underlying: String?
    /// The object a request named in its body (a create), for the API's Status details.
    public var objectName: String?

    public init(_ code: Code, _ message: String, causes: [FieldError] = [], underlying: String? = nil) {
        self.code = code
        self.message = message
        self.causes = causes
        self.underlying = underlying
    }

    public var description: String { message }

    public static func notFound(_ m: String) -> BerthError { .init(.notFound, m) }
    public static func alreadyExists(_ m: String) -> BerthError { .init(.alreadyExists, m) }
    public static func invalid(_ m: String, causes: [FieldError] = []) -> BerthError { .init(.invalid, m, causes: causes) }
    public static func badRequest(_ m: String) -> BerthError { .init(.badRequest, m) }
    public static func conflict(_ m: String) -> BerthError { .init(.conflict, m) }
    public static func internalError(_ m: String, underlying: String? = nil) -> BerthError {
        .init(.internalError, m, underlying: underlying)
    }

    /// The HTTP status of this error at the API boundary.
    public var httpStatus: Int {
        switch code {
        case .notFound: 404
        case .alreadyExists, .conflict: 409
        case .invalid: 422
        case .badRequest: 400
        case .gone: 410
        case .insufficientCapacity: 422
        case .permissionDenied: 403
        case .unauthorized: 401
        case .unavailable: 503
        case .methodNotAllowed: 405
        case .internalError: 500
        }
    }
}

/// One field-level validation failure: `spec.resources.requests.storage: must be greater than 0, got '0'`.
public struct FieldError: Sendable, Equatable, Codable, CustomStringConvertible {
    public var field: String
    public var message: String

    public init(_ field: String, _ message: String) {
        self.field = field
        self.message = message
    }

    public var description: String { "\(field): \(message)" }
}

extension Array where Element == FieldError {
    /// Throws an `invalid` error for `kind/name` when any field failed.
    public func throwIfAny(kind: String, name: String) throws {
        guard !isEmpty else { return }
        let shown = name.isEmpty ? kind : "\(kind) \"\(name)\""
        throw BerthError.invalid("\(shown) is invalid: " + map(\.description).joined(separator: "; "), causes: self)
    }
}
