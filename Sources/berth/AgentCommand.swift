import ArgumentParser
import BerthLinux
import BerthModel
import BerthServer
import Foundation
import Logging

struct AgentCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "agent",
        abstract: "Run the berth agent: the catalog, the controllers and the API.")

    @Option(name: .long, help: "State directory: catalog, default socket and default pool (default: $BERTH_STATE_DIR or /var/lib/berth).")
    var stateDir: String?

    @Option(name: .long, help: "Agent config file (YAML) declaring nodes and storage pools.")
    var config: String?

    @Option(name: .long, help: "Unix socket to serve the API on, mode 0660 (default: <state-dir>/berth.sock).")
    var socket: String?

    @Option(name: .long, help: "Also serve the API over TCP on HOST:PORT; loopback only unless --token is given.")
    var listen: String?

    @Option(name: .long, help: "Bearer token required on the TCP listener (default: $BERTH_TOKEN).")
    var token: String?

    @Option(name: .long, help: "Seconds between full resyncs of the controllers.")
    var resync: Int = 15

    @Option(name: .long, help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: String = "info"

    func run() async throws {
        reexecWithMallocArenaLimit()
        raiseOpenFileLimit()
        try await Berth.guarded {
            guard let level = Logger.Level(rawValue: logLevel) else {
                throw BerthError.invalid("--log-level '\(logLevel)' is not one of trace, debug, info, notice, warning, error, critical")
            }
            guard resync > 0 else { throw BerthError.invalid("--resync must be at least 1 second, got \(resync)") }
            LoggingSystem.bootstrap { label in
                var handler = StreamLogHandler.standardError(label: label)
                handler.logLevel = level
                return handler
            }
            let env = ProcessInfo.processInfo.environment
            let dir = stateDir ?? env["BERTH_STATE_DIR"] ?? "/var/lib/berth"
            let absolute = dir.hasPrefix("/") ? dir : FileManager.default.currentDirectoryPath + "/" + dir
            let options = AgentOptions(stateDir: absolute, configPath: config, socketPath: socket, listen: listen,
                                       token: token ?? env["BERTH_TOKEN"], resyncSeconds: resync)
            try await Agent.run(options: options, logger: Logger(label: "berth"))
        }
    }
}
