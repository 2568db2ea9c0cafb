import BerthModel
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix

/// Where an agent listens.
public enum Endpoint: Sendable, CustomStringConvertible {
    case unix(String)
    case tcp(host: String, port: Int)

    /// Parses `--server http://HOST:PORT`.
    public static func parse(server: String) throws -> Endpoint {
        guard let url = URL(string: server), url.scheme == "http", let host = url.host else {
            throw BerthError.badRequest("--server '\(server)' must look like http://127.0.0.1:6443 (berth's client speaks plain HTTP; use a Unix socket or an SSH tunnel across hosts)")
        }
        return .tcp(host: host, port: url.port ?? 80)
    }

    public var description: String {
        switch self {
        case .unix(let path): "socket \(path)"
        case .tcp(let host, let port): "http://\(host):\(port)"
        }
    }
}

/// A response: status code and body.
public struct APIResponse: Sendable {
    public var status: Int
    public var body: Data

    public var json: JSONValue {
        get throws { try JSON.parse(body) }
    }
}

/// The agent's HTTP API over a Unix socket or TCP, through NIO's HTTP/1.1 client codec.
public struct APIClient: Sendable {
    public let endpoint: Endpoint
    public let token: String?

    public init(endpoint: Endpoint, token: String? = nil) {
        self.endpoint = endpoint
        self.token = token
    }

    typealias Channel = NIOAsyncChannel<HTTPClientResponsePart, HTTPClientRequestPart>

    func connect() async throws -> Channel {
        let bootstrap = ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connectTimeout(.seconds(5))
        let initializer: @Sendable (any NIOCore.Channel) -> EventLoopFuture<Channel> = { channel in
            channel.eventLoop.makeCompletedFuture {
                try channel.pipeline.syncOperations.addHTTPClientHandlers()
                return try Channel(wrappingChannelSynchronously: channel)
            }
        }
        do {
            switch endpoint {
            case .unix(let path):
                return try await bootstrap.connect(unixDomainSocketPath: path, channelInitializer: initializer)
            case .tcp(let host, let port):
                return try await bootstrap.connect(host: host, port: port, channelInitializer: initializer)
            }
        } catch let e as IOError where e.errnoCode == EACCES || e.errnoCode == EPERM {
            // an agent may well be there: the socket (mode 0660) refuses this user
            throw BerthError(.unavailable, "permission denied connecting to the berth agent at \(endpoint): its socket is mode 0660 (owner and group only); run the client as root (sudo) or as a member of the socket's group")
        } catch let e as IOError {
            throw BerthError(.unavailable, "no berth agent answers at \(endpoint) (\(String(cString: strerror(e.errnoCode)))); start one with 'berth agent', or point the client at it with --socket, BERTH_SOCKET or --server")
        } catch {
            throw BerthError(.unavailable, "no berth agent answers at \(endpoint) (\(error)); start one with 'berth agent', or point the client at it with --socket, BERTH_SOCKET or --server")
        }
    }

    func head(_ method: HTTPMethod, _ path: String, bodyLength: Int?, contentType: String) -> HTTPRequestHead {
        var head = HTTPRequestHead(version: .http1_1, method: method, uri: path)
        head.headers.add(name: "Host", value: "localhost")
        head.headers.add(name: "Accept", value: "application/json")
        head.headers.add(name: "User-Agent", value: "berth-cli")
        head.headers.add(name: "Connection", value: "close")
        if let bodyLength {
            head.headers.add(name: "Content-Type", value: contentType)
            head.headers.add(name: "Content-Length", value: String(bodyLength))
        }
        if let token { head.headers.add(name: "Authorization", value: "Bearer \(token)") }
        return head
    }

    /// Sends one request and collects the whole response.
    public func send(_ method: HTTPMethod, _ path: String, body: Data? = nil,
                     contentType: String = "application/json") async throws -> APIResponse {
        var status = 0
        var collected = ByteBuffer()
        try await exchange(method, path, body: body, contentType: contentType) { part in
            switch part {
            case .head(let h): status = Int(h.status.code)
            case .body(var b): collected.writeBuffer(&b)
            case .end: break
            }
            return true
        }
        guard status != 0 else {
            throw BerthError(.unavailable, "the berth agent at \(endpoint) closed the connection without answering \(method) \(path); check the agent's log")
        }
        return APIResponse(status: status, body: Data(collected.readableBytesView))
    }

    /// Sends one request and hands each response part to `onPart` until it returns false or the response ends.
    func exchange(_ method: HTTPMethod, _ path: String, body: Data?, contentType: String,
                  onPart: (HTTPClientResponsePart) async throws -> Bool) async throws {
        let channel = try await connect()
        try await channel.executeThenClose { inbound, outbound in
            // one write and one flush: the server may answer and close as soon as it has the request
            var parts: [HTTPClientRequestPart] = [.head(head(method, path, bodyLength: body?.count, contentType: contentType))]
            if let body { parts.append(.body(.byteBuffer(ByteBuffer(bytes: body)))) }
            parts.append(.end(nil))
            try await outbound.write(contentsOf: parts)
            for try await part in inbound {
                guard try await onPart(part) else { return }
                if case .end = part { return }
            }
        }
    }

    /// Streams a watch: calls `onEvent` with each newline-delimited event until it returns false.
    public func watch(_ path: String, onEvent: (JSONValue) async throws -> Bool) async throws {
        var status = 0
        var pending = ByteBuffer()
        var errorBody = Data()
        try await exchange(.GET, path, body: nil, contentType: "application/json") { part in
            switch part {
            case .head(let h):
                status = Int(h.status.code)
                return true
            case .body(var b):
                if status >= 300 {
                    errorBody.append(contentsOf: b.readableBytesView)
                    return true
                }
                pending.writeBuffer(&b)
                while let newline = pending.readableBytesView.firstIndex(of: UInt8(ascii: "\n")) {
                    let length = newline - pending.readerIndex
                    let line = pending.readSlice(length: length)!
                    pending.moveReaderIndex(forwardBy: 1)
                    if line.readableBytes == 0 { continue }
                    let event = try JSON.parse(Data(line.readableBytesView))
                    if try await !onEvent(event) { return false }
                }
                pending.discardReadBytes()
                return true
            case .end:
                return true
            }
        }
        if status >= 300 {
            throw Self.error(from: APIResponse(status: status, body: errorBody))
        }
    }

    /// Turns a non-2xx response (a Kubernetes Status) into a `BerthError`.
    public static func error(from response: APIResponse) -> BerthError {
        let status = try? response.json
        var message = status?["message"]?.stringValue ?? String(decoding: response.body, as: UTF8.self)
        if response.status == 401 { message += " (berth's client: --token TOKEN or $BERTH_TOKEN)" }
        let code: BerthError.Code = switch response.status {
        case 400: .badRequest
        case 401: .unauthorized
        case 403: .permissionDenied
        case 404: .notFound
        case 405: .methodNotAllowed
        case 409: status?["reason"]?.stringValue == "AlreadyExists" ? .alreadyExists : .conflict
        case 410: .gone
        case 422: .invalid
        case 503: .unavailable
        default: .internalError
        }
        var causes: [FieldError] = []
        if case .array(let list)? = status?["details"]?["causes"] {
            causes = list.map { FieldError($0["field"]?.stringValue ?? "", $0["message"]?.stringValue ?? "") }
        }
        return BerthError(code, message.isEmpty ? "the agent answered HTTP \(response.status)" : message, causes: causes)
    }

    /// Sends a request and returns the body as JSON, throwing the agent's error on failure.
    public func call(_ method: HTTPMethod, _ path: String, body: JSONValue? = nil,
                     contentType: String = "application/json") async throws -> JSONValue {
        let data = try body.map { try JSON.encode($0) }
        let response = try await send(method, path, body: data, contentType: contentType)
        guard (200..<300).contains(response.status) else { throw Self.error(from: response) }
        return try response.json
    }
}

extension APIClient {
    /// Percent-encodes a query value.
    public static func query(_ items: [(String, String)]) -> String {
        var allowed = CharacterSet.urlQueryAllowed
        allowed.remove(charactersIn: "&=+,;!()/")
        let parts = items.map { "\($0.0)=\($0.1.addingPercentEncoding(withAllowedCharacters: allowed) ?? $0.1)" }
        return parts.isEmpty ? "" : "?" + parts.joined(separator: "&")
    }
}
