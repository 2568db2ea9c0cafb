import BerthCatalog
import BerthControllers
import BerthLinux
import BerthModel
import BerthStorage
import Foundation
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle

/// `berth agent`: opens the catalog, bootstraps it, and serves the API while the controllers reconcile.
public enum Agent {
    public static func run(options: AgentOptions, logger: Logger) async throws {
        let stateDir = options.stateDir
        do {
            _ = try SafeDirectory.makeRoot(path: stateDir)
        } catch {
            throw BerthError(.permissionDenied, "cannot create the state directory \(stateDir): \(error); choose another with --state-dir")
        }
        guard let lock = try StateLock(path: stateDir + "/agent.lock") else {
            throw BerthError(.unavailable, "another berth agent is already running with state directory \(stateDir); stop it first, or use another --state-dir")
        }
        var topology = try Topology.make(options: options)
        for pool in topology.pools {
            switch try PoolMarker.prepare(pool, stateDir: stateDir) {
            case .ready: break
            case .initialized: logger.info("storage pool initialised", metadata: ["pool": "\(pool.node)/\(pool.name)", "path": "\(pool.path)"])
            case .missing(let why): logger.error("storage pool unavailable; its volumes are not provisioned or deleted until it is back", metadata: ["why": "\(why)"])
            }
        }
        // every later use of a pool's root checks it holds the marker recorded for that pool
        for n in topology.nodes.indices {
            for p in topology.nodes[n].pools.indices {
                topology.nodes[n].pools[p].marker = PoolMarker.recorded(topology.nodes[n].pools[p], stateDir: stateDir)
            }
        }
        let catalog = try SQLiteCatalog(path: stateDir + "/catalog.sqlite", logger: logger)
        try await bootstrap(catalog: catalog, stateDir: stateDir, logger: logger)

        let workloads = WorkloadController(catalog: catalog, topology: topology, stateDir: stateDir,
                                           resyncInterval: .seconds(options.resyncSeconds), logger: logger)
        let controller = VolumeController(catalog: catalog, topology: topology, provisioners: [HostPathProvisioner(), LoopProvisioner()],
                                          resyncInterval: .seconds(options.resyncSeconds), logger: logger,
                                          volumesCameBack: { workloads.poke() })
        try await controller.refreshNodes()
        await controller.restoreVolumes()

        let api = APIRouter(catalog: catalog, version: VersionInfo(), logger: logger)
        let socket = options.resolvedSocket
        if FileManager.default.fileExists(atPath: socket) {
            // the state lock is ours, so whatever left this socket is gone
            try? FileManager.default.removeItem(atPath: socket)
        }
        var services: [any Service] = []
        let unixApp = Application(
            router: api.makeRouter(token: nil),
            configuration: .init(address: .unixDomainSocket(path: socket), serverName: "berth"),
            onServerRunning: { _ in
                try? setMode(socket, 0o660)
                logger.info("berth agent serving", metadata: ["socket": "\(socket)", "state-dir": "\(stateDir)"])
            },
            logger: logger)
        services.append(unixApp)
        if let listen = options.listen {
            let (host, port) = try parseListen(listen, token: options.token)
            services.append(Application(
                router: api.makeRouter(token: options.token),
                configuration: .init(address: .hostname(host, port: port), serverName: "berth"),
                onServerRunning: { channel in
                    logger.info("berth agent serving TCP", metadata: ["address": "\(channel.localAddress.map { "\($0)" } ?? listen)"])
                },
                logger: logger))
        }
        services.append(controller)
        services.append(workloads)
        services.append(EventPruner(catalog: catalog, logger: logger))
        // last in the list, so first to stop: ends open watches so the HTTP servers can drain
        services.append(CatalogCloser(catalog: catalog))
        let group = ServiceGroup(configuration: .init(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
        withExtendedLifetime(lock) {}
        logger.info("berth agent stopped")
    }

    static func parseListen(_ text: String, token: String?) throws -> (String, Int) {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]), (0...65535).contains(port) else {
            throw BerthError.invalid("--listen '\(text)' is not HOST:PORT (for example 127.0.0.1:6443)")
        }
        var host = String(text[..<colon])
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        let loopback = host == "localhost" || host.hasPrefix("127.") || host == "::1"
        if !loopback, (token ?? "").isEmpty {
            throw BerthError(.permissionDenied, "--listen \(text) is not a loopback address; berth listens beyond loopback only with --token (a bearer token clients must send)")
        }
        return (host, port)
    }

    /// First start: the default StorageClasses, `berth-hostpath` (the default) and `berth-loop`.
    /// A class the user deleted later is not brought back; an agent that bootstrapped before loop
    /// volumes existed gets `berth-loop` once.
    static func bootstrap(catalog: SQLiteCatalog, stateDir: String, logger: Logger) async throws {
        let root = try SafeDirectory(path: stateDir)
        let defaults: [(marker: String, make: () -> StorageClass)] = [
            ("bootstrapped", {
                StorageClass(name: "berth-hostpath", provisioner: Keys.hostPathProvisioner, parameters: ["pool": "default"], isDefault: true)
            }),
            ("bootstrapped-loop", {
                var sc = StorageClass(name: "berth-loop", provisioner: Keys.loopProvisioner, parameters: ["pool": "default", "fsType": "ext4"],
                                      reclaimPolicy: "Delete")
                sc.allowVolumeExpansion = true
                return sc
            }),
        ]
        for (marker, make) in defaults {
            if try root.readFile(marker) != nil { continue }
            let sc = make()
            let created = try await catalog.write { tx -> Bool in
                guard try tx.get(StorageClass.self, name: sc.name) == nil else { return false }
                var c = sc
                c.applyDefaults()
                try tx.create(c)
                return true
            }
            try root.writeFile(marker, contents: Array("1\n".utf8))
            if created { logger.info("created default StorageClass \(sc.name)") }
        }
    }
}

/// Closes the catalog's watches at graceful shutdown.
struct CatalogCloser: Service {
    let catalog: SQLiteCatalog

    func run() async throws {
        try? await gracefulShutdown()
        catalog.close()
    }
}
