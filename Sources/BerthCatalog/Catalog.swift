import BerthModel
import Foundation

/// One object as stored: its key, its revision and its JSON body (which carries the same revision).
public struct StoredObject: Sendable {
    public var kind: String
    public var namespace: String
    public var name: String
    public var revision: Int64
    public var data: Data

    public init(kind: String, namespace: String, name: String, revision: Int64, data: Data) {
        self.kind = kind
        self.namespace = namespace
        self.name = name
        self.revision = revision
        self.data = data
    }

    public func decode<T: KubeObject>(_ type: T.Type) throws -> T {
        try T.decode(data: data)
    }

    /// False only when the stored JSON certainly does not contain `text` (as berth encodes it:
    /// member names as `"name":`, strings with only quotes, backslashes and control characters
    /// escaped). A cheap test before a decode.
    public func mayContain(_ text: String) -> Bool {
        data.range(of: Data(text.utf8)) != nil
    }
}

/// One entry of the change log: what a write did to one object.
public struct Change: Sendable {
    public enum ChangeType: String, Sendable { case added = "ADDED", modified = "MODIFIED", deleted = "DELETED" }
    public var type: ChangeType
    public var object: StoredObject
    /// The object as a typed value, when the writer had it (saves watchers a decode).
    public var typed: (any KubeObject)?
    public var revision: Int64 { object.revision }

    public init(type: ChangeType, object: StoredObject, typed: (any KubeObject)? = nil) {
        self.type = type
        self.object = object
        self.typed = typed
    }

    /// Who wrote it (the `origin` given to `Catalog.write`), if anyone said.
    public var origin: String?

    /// The object typed as `T`, from the writer's value or by decoding the stored bytes.
    public func decode<T: KubeObject>(_ type: T.Type) throws -> T {
        if let t = typed as? T { return t }
        return try object.decode(T.self)
    }

    /// False only when the object certainly has no field named `member` at any depth: its stored
    /// JSON (berth's own encoding, which writes every member name as `"name":`) never contains that
    /// text. A watcher that only needs such a field tests this before paying for a decode.
    public func mayHave(member: String) -> Bool {
        typed != nil || object.mayContain("\"\(member)\":")
    }
}

/// The catalog: berth's single source of truth. Every read-modify-write runs inside one `write`
/// transaction; writes from many callers may share one durable commit (group commit).
///
/// This protocol is what controllers and the API see, so that a second backend (etcd) can be added
/// without touching them.
public protocol Catalog: Sendable {
    /// Runs `body` in one write transaction. Everything it writes commits together, durably, or not at all.
    /// `origin` is stamped on the resulting changes, so that a controller can tell its own writes.
    @discardableResult
    func write<T: Sendable>(origin: String?, _ body: @escaping @Sendable (any CatalogTransaction) throws -> T) async throws -> T
    /// Runs `body` on a consistent read-only snapshot.
    func read<T: Sendable>(_ body: @escaping @Sendable (any CatalogTransaction) throws -> T) async throws -> T
    /// The revision of the newest committed write.
    var currentRevision: Int64 { get }
    /// Changes after `revision`, then every change as it commits, in batches (a commit's changes
    /// together, in order); only changes of `kinds` when given. Throws `gone` when `revision` was
    /// compacted. A batch is one array shared by every watcher, not a copy per change and watcher.
    func watch(after revision: Int64, kinds: Set<String>?) async throws -> AsyncThrowingStream<[Change], any Error>
}

extension Catalog {
    /// Changes of every kind after `revision`, then as they commit.
    public func watch(after revision: Int64) async throws -> AsyncThrowingStream<[Change], any Error> {
        try await watch(after: revision, kinds: nil)
    }

    /// A write without an origin.
    @discardableResult
    public func write<T: Sendable>(_ body: @escaping @Sendable (any CatalogTransaction) throws -> T) async throws -> T {
        try await write(origin: nil, body)
    }
}

/// The operations available inside a catalog transaction.
public protocol CatalogTransaction: AnyObject {
    func getStored(kind: String, namespace: String, name: String) throws -> StoredObject?
    /// One object, typed (implementations may serve it from a cache of committed objects).
    func fetch<T: KubeObject>(_ type: T.Type, namespace: String, name: String) throws -> T?
    func listStored(kind: String, namespace: String?) throws -> [StoredObject]
    /// The namespace and name of every object of a kind, without reading their bodies.
    func keys(kind: String) throws -> [(namespace: String, name: String)]
    /// Every object of a kind (in a namespace, or all), typed.
    func list<T: KubeObject>(_ type: T.Type, namespace: String?) throws -> [T]
    /// The revision a list read at.
    var revision: Int64 { get }

    /// Creates an object: sets uid, creationTimestamp and resourceVersion. Throws alreadyExists.
    @discardableResult func create<T: KubeObject>(_ object: T) throws -> T
    /// Replaces an object. A non-empty `metadata.resourceVersion` must equal the stored one (else conflict).
    /// uid and creationTimestamp are kept from the stored object. An object being deleted whose last
    /// finalizer is removed is deleted.
    @discardableResult func update<T: KubeObject>(_ object: T) throws -> T
    /// Deletes an object, or marks it deleting (deletionTimestamp) while it has finalizers.
    /// Returns the object as it was last stored, or nil when it did not exist.
    @discardableResult func delete<T: KubeObject>(_ type: T.Type, namespace: String, name: String, uid: String?) throws -> T?

    // Indexed queries for the controllers.

    /// Available, unreserved PVs of one class and exact access-mode set, at least `minBytes`, smallest first.
    func volumeCandidates(storageClass: String, accessModes: AccessModeSet, volumeMode: String, minBytes: Int64,
                          limit: Int) throws -> [PersistentVolume]
    /// Whether any Available, unreserved PV of the class exists (one index lookup): a claim of a
    /// class that only provisions skips the search by access modes.
    func hasAvailableVolumes(storageClass: String) throws -> Bool
    /// PVs whose claimRef names this claim.
    func volumesReserved(claimNamespace: String, claimName: String) throws -> [PersistentVolume]
    /// The names of all PVs, sorted.
    func volumeNames() throws -> [String]
    /// Runs `body` in a savepoint: when it throws, only its own writes are undone.
    func withSavepoint<T>(_ body: () throws -> T) throws -> T
    /// Bound claims whose spec.volumeName is `volume`, as (namespace, name).
    func claimKeys(boundToVolume volume: String) throws -> [(String, String)]
    /// Claims without the bind-completed annotation, as (namespace, name).
    func unboundClaimKeys() throws -> [(String, String)]
    /// Bytes of PVs accounted to a node's pool.
    func allocatedBytes(node: String, pool: String) throws -> Int64
}

extension CatalogTransaction {
    public func get<T: KubeObject>(_ type: T.Type, namespace: String = "", name: String) throws -> T? {
        try fetch(T.self, namespace: T.info.isNamespaced ? namespace : "", name: name)
    }

    public func list<T: KubeObject>(_ type: T.Type) throws -> [T] {
        try list(type, namespace: nil)
    }

    /// Records an event about `object`, aggregating repeats (same object, reason and message) into a count.
    public func recordEvent(about object: ObjectReference, type: String, reason: String, message: String, host: String) throws {
        var event = Event(about: object, type: type, reason: reason, message: message, host: host)
        let key = "\(object.uid ?? object.name ?? "")|\(reason)|\(message)"
        event.metadata.name = "\(object.name ?? "object").\(fnv1a(key))"
        let namespace = event.metadata.namespace ?? "default"
        if var existing = try get(Event.self, namespace: namespace, name: event.metadata.name!) {
            existing.count = (existing.count ?? 1) + 1
            existing.lastTimestamp = Timestamp.now()
            existing.metadata.resourceVersion = nil
            try update(existing)
        } else {
            try create(event)
        }
    }
}

func fnv1a(_ s: String) -> String {
    var h: UInt64 = 0xcbf29ce484222325
    for b in s.utf8 {
        h ^= UInt64(b)
        h = h &* 0x100000001b3
    }
    return String(h, radix: 16)
}
