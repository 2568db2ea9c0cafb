import BerthModel

/// A root directory on a node with a declared capacity, from which volumes are provisioned.
public struct StoragePool: Sendable, Hashable, Codable {
    public var node: String
    public var name: String
    public var path: String
    public var capacity: Quantity
    /// The id this agent recorded for the pool's root (its `.berth-pool` marker, see `PoolMarker`):
    /// when known, a root holding any other marker is refused. Not part of the configuration.
    public var marker: String?

    enum CodingKeys: String, CodingKey { case node, name, path, capacity }

    public init(node: String, name: String, path: String, capacity: Quantity, marker: String? = nil) {
        self.node = node
        self.name = name
        self.path = path
        self.capacity = capacity
        self.marker = marker
    }

    /// Where a PV's directory lives in this pool.
    public func volumePath(_ pvName: String) -> String {
        (path.hasSuffix("/") ? path : path + "/") + pvName
    }

    /// The path of `absolute` relative to this pool's root, when it lies strictly inside it.
    public func relativePath(of absolute: String) -> String? {
        let root = path.hasSuffix("/") ? path : path + "/"
        guard absolute.hasPrefix(root) else { return nil }
        let rest = String(absolute.dropFirst(root.count))
        let parts = rest.split(separator: "/")
        guard !parts.isEmpty, !parts.contains(".."), !parts.contains(".") else { return nil }
        return parts.joined(separator: "/")
    }
}

/// What berth writes into each volume it provisions, so recovery can verify before it trusts.
public struct VolumeIdentity: Codable, Sendable, Equatable {
    public var volume: String
    public var uid: String
    public var claim: String?
    public var provisioner: String

    public init(volume: String, uid: String, claim: String?, provisioner: String) {
        self.volume = volume
        self.uid = uid
        self.claim = claim
        self.provisioner = provisioner
    }

    public static let fileName = ".berth-volume.json"
}

/// Makes and removes the backing store of volumes. Implementations are idempotent: calling
/// `provision` or `delete` again after a crash finishes the job without doubling anything.
public protocol VolumeProvisioner: Sendable {
    /// The StorageClass provisioner name this serves (`berth.io/hostpath`).
    var name: String { get }
    /// Makes `volume`'s backing store exist in `pool`, fsynced, with its identity recorded.
    func provision(_ volume: PersistentVolume, in pool: StoragePool) async throws
    /// Removes `volume`'s backing store; a store already gone is success.
    func delete(_ volume: PersistentVolume, pools: [StoragePool]) async throws
    /// Whether the backing store exists and belongs to `volume`.
    func verify(_ volume: PersistentVolume, pools: [StoragePool]) async throws -> VolumeHealth
    /// Grows `volume`'s backing store (and its filesystem) to hold `bytes`; idempotent. Returns how
    /// it grew, for the event.
    func expand(_ volume: PersistentVolume, in pool: StoragePool, to bytes: Int64) async throws -> String
}

public enum VolumeHealth: Sendable, Equatable {
    case healthy
    case missing(String)
    case mismatched(String)
}
