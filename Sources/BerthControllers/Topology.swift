import BerthModel
import BerthStorage

/// The nodes and storage pools this agent serves, from its configuration.
public struct Topology: Sendable {
    public struct NodeSpec: Sendable, Hashable {
        public var name: String
        public var labels: [String: String]
        public var pools: [StoragePool]
        public init(name: String, labels: [String: String], pools: [StoragePool]) {
            self.name = name
            self.labels = labels
            self.pools = pools
        }
    }

    public var nodes: [NodeSpec]
    public var hostName: String

    public init(nodes: [NodeSpec], hostName: String) {
        self.nodes = nodes
        self.hostName = hostName
    }

    public var pools: [StoragePool] { nodes.flatMap(\.pools) }

    public func pool(node: String, name: String) -> StoragePool? {
        pools.first { $0.node == node && $0.name == name }
    }
}
