import ArgumentParser
import BerthClient
import BerthModel
import Foundation

@main
struct Berth: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "berth",
        abstract: "Kubernetes-style persistent volumes on Linux hosts.",
        discussion: """
            Start the agent with 'berth agent', then drive it like kubectl:
              berth apply -f claim.yaml
              berth get pvc
              berth volume path data
            """,
        version: BerthServerVersion.current,
        subcommands: [AgentCommand.self, ApplyCommand.self, CreateCommand.self, GetCommand.self, DescribeCommand.self,
                      DeleteCommand.self, WaitCommand.self, ScaleCommand.self, RolloutCommand.self, CordonCommand.self, UncordonCommand.self,
                      NodeCommand.self, VolumeCommand.self, DoctorCommand.self])

    /// ArgumentParser's entry point, except that a usage error (a missing option, an unknown flag)
    /// is one line `error: …` and exit status 1, as every other error, with a pointer to --help.
    static func main() async {
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            if exitCode(for: error) == .validationFailure {
                let text = message(for: error).split(separator: "\n").first.map(String.init) ?? "\(error)"
                printError("\(text.hasPrefix("Error: ") ? String(text.dropFirst(7)) : text) (see 'berth --help', or 'berth COMMAND --help')")
                Foundation.exit(ExitCode.failure.rawValue)
            }
            exit(withError: error)
        }
    }

    /// Runs a command body, turning any error into one line `error: …` and exit status 1.
    static func guarded(_ body: () async throws -> Void) async throws {
        do {
            try await body()
        } catch let e as BerthError {
            printError(e.message)
            throw ExitCode.failure
        } catch let e as ExitCode {
            throw e
        } catch is CancellationError {
            throw ExitCode.failure
        } catch {
            printError("\(error)")
            throw ExitCode.failure
        }
    }

    static func printError(_ message: String) {
        FileHandle.standardError.write(Data("error: \(message)\n".utf8))
    }
}

/// How a client finds the agent: --socket, then BERTH_SOCKET, then the default sockets; or --server.
struct ClientOptions: ParsableArguments {
    @Option(name: .long, help: "Path of the agent's Unix socket (default: $BERTH_SOCKET, then /run/berth/berth.sock, then /var/lib/berth/berth.sock).")
    var socket: String?

    @Option(name: .long, help: "Agent URL over TCP, e.g. http://127.0.0.1:6443 (instead of a socket).")
    var server: String?

    @Option(name: .long, help: "Bearer token for an agent started with --token.")
    var token: String?

    func client() throws -> APIClient {
        let token = self.token ?? ProcessInfo.processInfo.environment["BERTH_TOKEN"]
        if let server { return APIClient(endpoint: try Endpoint.parse(server: server), token: token) }
        if let socket { return APIClient(endpoint: .unix(socket), token: token) }
        if let env = ProcessInfo.processInfo.environment["BERTH_SOCKET"], !env.isEmpty {
            return APIClient(endpoint: .unix(env), token: token)
        }
        let candidates = ["/run/berth/berth.sock", "/var/lib/berth/berth.sock"]
        let found = candidates.first { FileManager.default.fileExists(atPath: $0) } ?? candidates[1]
        return APIClient(endpoint: .unix(found), token: token)
    }
}

/// The namespace flags of namespaced commands.
struct NamespaceOptions: ParsableArguments {
    @Option(name: [.short, .long], help: "Namespace (default: 'default').")
    var namespace: String?

    @Flag(name: [.customShort("A"), .customLong("all-namespaces")], help: "List across all namespaces.")
    var allNamespaces = false

    var resolved: String { namespace ?? "default" }
}

enum BerthServerVersion {
    static let current = "0.1.0"
}
