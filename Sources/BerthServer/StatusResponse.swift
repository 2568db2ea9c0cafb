import BerthModel
import Foundation

/// Kubernetes `Status` objects: the one mapping from `BerthError` to the API.
enum StatusResponse {
    static func body(for error: BerthError, kind: String? = nil, name: String? = nil) -> Data {
        var details: [String: JSONValue] = [:]
        if let name { details["name"] = .string(name) }
        if let kind { details["kind"] = .string(kind) }
        if !error.causes.isEmpty {
            details["causes"] = .array(error.causes.map { cause in
                .object(["reason": .string("FieldValueInvalid"), "message": .string(cause.message), "field": .string(cause.field)])
            })
        }
        var status: [String: JSONValue] = [
            "kind": .string("Status"),
            "apiVersion": .string("v1"),
            "metadata": .object([:]),
            "status": .string("Failure"),
            "message": .string(error.message),
            "reason": .string(reason(error.code)),
            "code": .int(Int64(error.httpStatus)),
        ]
        if !details.isEmpty { status["details"] = .object(details) }
        return (try? JSON.encode(JSONValue.object(status))) ?? Data("{}".utf8)
    }

    static func reason(_ code: BerthError.Code) -> String {
        switch code {
        case .gone: "Expired"
        case .insufficientCapacity: "Invalid"
        case .internalError: "InternalError"
        default: code.rawValue
        }
    }
}
