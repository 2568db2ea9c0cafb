import BerthControllers
import BerthLinux
import BerthModel
import BerthStorage
import Foundation
import Yams

/// What `berth agent` runs with: its flags and its YAML config file.
public struct AgentOptions: Sendable {
    public var stateDir: String
    public var configPath: String?
    public var socketPath: String?
    public var listen: String?
    public var token: String?
    public var resyncSeconds: Int = 15

    public init(stateDir: String, configPath: String? = nil, socketPath: String? = nil, listen: String? = nil,
                token: String? = nil, resyncSeconds: Int = 15) {
        self.stateDir = stateDir
        self.configPath = configPath
        self.socketPath = socketPath
        self.listen = listen
        self.token = token
        self.resyncSeconds = resyncSeconds
    }

    public var resolvedSocket: String { socketPath ?? (stateDir.hasSuffix("/") ? stateDir : stateDir + "/") + "berth.sock" }
}

/// The agent's config file:
///
/// ```yaml
/// nodes:
///   - name: node-a
///     labels: {topology.kubernetes.io/zone: a}
///     pools:
///       - name: default
///         path: /srv/berth/node-a
///         capacity: 100Gi
/// ```
struct ConfigFile: Decodable {
    struct NodeEntry: Decodable {
        var name: String
        var labels: [String: String]?
        var pools: [PoolEntry]?
    }
    struct PoolEntry: Decodable {
        var name: String
        var path: String
        var capacity: Quantity?
    }
    var nodes: [NodeEntry]?

    /// Reads and checks the file; every error names the file and the entry.
    static func load(path: String) throws -> ConfigFile {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw BerthError.invalid("cannot read the agent config \(path); check the path given to --config")
        }
        do {
            // unknown fields first: a misspelt required one ('nmae:') is named as what it is
            try checkKnownFields(text, path: path)
            return try YAMLDecoder().decode(ConfigFile.self, from: text)
        } catch let e as BerthError {
            throw e
        } catch let e as DecodingError {
            throw BerthError.invalid("agent config \(path): \(DecodingErrorText.describe(e))")
        } catch {
            throw BerthError.invalid("agent config \(path) is not valid YAML: \(error)")
        }
    }

    /// A misspelt key (`pool:` for `pools:`) would otherwise be ignored, and the agent start
    /// without what it was meant to have.
    static func checkKnownFields(_ text: String, path: String) throws {
        func check(_ value: Any?, _ field: String, _ known: [String]) throws {
            guard let map = value as? [AnyHashable: Any] else { return }
            for key in map.keys.map({ "\($0)" }).sorted() where !known.contains(key) {
                let at = field.isEmpty ? "" : " in \(field)"
                throw BerthError.invalid("agent config \(path): unknown field \"\(key)\"\(at); the fields are \(known.joined(separator: ", ")) — fix the spelling")
            }
        }
        let root = try Yams.load(yaml: text)
        try check(root, "", ["nodes"])
        let nodes = (root as? [AnyHashable: Any])?["nodes"] as? [Any] ?? []
        for (i, node) in nodes.enumerated() {
            try check(node, "nodes[\(i)]", ["name", "labels", "pools"])
            let pools = (node as? [AnyHashable: Any])?["pools"] as? [Any] ?? []
            for (j, pool) in pools.enumerated() { try check(pool, "nodes[\(i)].pools[\(j)]", ["name", "path", "capacity"]) }
        }
    }
}

extension Topology {
    /// Builds the nodes and pools from the config, or the embedded default: one node named after the
    /// host with one pool under the state directory, sized to its filesystem.
    static func make(options: AgentOptions) throws -> Topology {
        let host = FileSystemInfo.hostname().lowercased()
        let stateDir = options.stateDir
        guard let configPath = options.configPath else {
            let poolPath = stateDir + "/pools/default"
            let nodeName = Validation.dnsSubdomainProblems(host).isEmpty ? host : "localhost"
            let capacity = (try? FileSystemInfo.totalBytes(path: stateDir)) ?? (100 << 30)
            return Topology(nodes: [.init(name: nodeName, labels: [:], pools: [
                StoragePool(node: nodeName, name: "default", path: poolPath, capacity: Quantity(bytes: capacity)),
            ])], hostName: host)
        }
        let file = try ConfigFile.load(path: configPath)
        var nodes: [Topology.NodeSpec] = []
        var seenPaths: [String: String] = [:]
        for (i, entry) in (file.nodes ?? []).enumerated() {
            let field = "nodes[\(i)]"
            if let p = Validation.dnsSubdomainProblems(entry.name).first {
                throw BerthError.invalid("agent config \(configPath): \(field).name: Invalid value: \"\(entry.name)\": \(p)")
            }
            if nodes.contains(where: { $0.name == entry.name }) {
                throw BerthError.invalid("agent config \(configPath): \(field).name: Duplicate value: \"\(entry.name)\"")
            }
            if let e = Validation.validateLabels(entry.labels, field: "\(field).labels").first {
                throw BerthError.invalid("agent config \(configPath): \(e)")
            }
            var pools: [StoragePool] = []
            for (j, p) in (entry.pools ?? []).enumerated() {
                let pf = "\(field).pools[\(j)]"
                guard p.path.hasPrefix("/"), !p.path.split(separator: "/").contains("..") else {
                    throw BerthError.invalid("agent config \(configPath): \(pf).path: must be an absolute path without '..', got '\(p.path)'")
                }
                let path = p.path.count > 1 && p.path.hasSuffix("/") ? String(p.path.dropLast()) : p.path
                if let other = seenPaths[path] {
                    throw BerthError.invalid("agent config \(configPath): \(pf).path: \(path) is already used by \(other); give each pool its own directory")
                }
                seenPaths[path] = "\(entry.name)/\(p.name)"
                let capacity = try p.capacity ?? Quantity(bytes: {
                    guard FileManager.default.fileExists(atPath: path) else {
                        throw BerthError.invalid("agent config \(configPath): \(pf).capacity is needed when \(path) does not exist yet (berth sizes a pool from its filesystem)")
                    }
                    return try FileSystemInfo.totalBytes(path: path)
                }())
                guard capacity.isPositive else {
                    throw BerthError.invalid("agent config \(configPath): \(pf).capacity: must be greater than 0, got '\(capacity)'")
                }
                pools.append(StoragePool(node: entry.name, name: p.name, path: path, capacity: capacity))
            }
            nodes.append(.init(name: entry.name, labels: entry.labels ?? [:], pools: pools))
        }
        guard !nodes.isEmpty else {
            throw BerthError.invalid("agent config \(configPath): 'nodes' is empty; declare at least one node with a pool")
        }
        return Topology(nodes: nodes, hostName: host)
    }
}
