/// `metadata` of every object, with Kubernetes' field names.
public struct ObjectMeta: Codable, Sendable, Hashable {
    public var name: String?
    public var generateName: String?
    public var namespace: String?
    public var uid: String?
    public var resourceVersion: String?
    public var generation: Int64?
    public var creationTimestamp: String?
    public var deletionTimestamp: String?
    public var labels: [String: String]?
    public var annotations: [String: String]?
    public var finalizers: [String]?
    public var ownerReferences: [OwnerReference]?

    public init(name: String? = nil, namespace: String? = nil, labels: [String: String]? = nil,
                annotations: [String: String]? = nil) {
        self.name = name
        self.namespace = namespace
        self.labels = labels
        self.annotations = annotations
    }

    public var nameOrEmpty: String { name ?? "" }
    public var namespaceOrEmpty: String { namespace ?? "" }

    public func annotation(_ key: String) -> String? { annotations?[key] }

    public mutating func setAnnotation(_ key: String, _ value: String?) {
        var a = annotations ?? [:]
        a[key] = value
        annotations = a.isEmpty ? nil : a
    }

    public var isDeleting: Bool { deletionTimestamp != nil }

    public func hasFinalizer(_ f: String) -> Bool { finalizers?.contains(f) ?? false }

    public mutating func addFinalizer(_ f: String) {
        if !hasFinalizer(f) { finalizers = (finalizers ?? []) + [f] }
    }

    public mutating func removeFinalizer(_ f: String) {
        finalizers = finalizers?.filter { $0 != f }
        if finalizers?.isEmpty == true { finalizers = nil }
    }
}

public struct OwnerReference: Codable, Sendable, Hashable {
    public var apiVersion: String
    public var kind: String
    public var name: String
    public var uid: String
    public var controller: Bool?
    public var blockOwnerDeletion: Bool?

    public init(apiVersion: String, kind: String, name: String, uid: String, controller: Bool? = nil, blockOwnerDeletion: Bool? = nil) {
        self.apiVersion = apiVersion
        self.kind = kind
        self.name = name
        self.uid = uid
        self.controller = controller
        self.blockOwnerDeletion = blockOwnerDeletion
    }
}

/// A reference to another object (`claimRef`, `involvedObject`).
public struct ObjectReference: Codable, Sendable, Hashable {
    public var apiVersion: String?
    public var kind: String?
    public var namespace: String?
    public var name: String?
    public var uid: String?
    public var resourceVersion: String?
    public var fieldPath: String?

    public init(apiVersion: String? = nil, kind: String? = nil, namespace: String? = nil, name: String? = nil,
                uid: String? = nil, resourceVersion: String? = nil) {
        self.apiVersion = apiVersion
        self.kind = kind
        self.namespace = namespace
        self.name = name
        self.uid = uid
        self.resourceVersion = resourceVersion
    }
}

/// Annotation and finalizer keys that Kubernetes and berth write.
public enum Keys {
    public static let bindCompleted = "pv.kubernetes.io/bind-completed"
    public static let boundByController = "pv.kubernetes.io/bound-by-controller"
    public static let provisionedBy = "pv.kubernetes.io/provisioned-by"
    public static let selectedNode = "volume.kubernetes.io/selected-node"
    public static let storageProvisioner = "volume.kubernetes.io/storage-provisioner"
    public static let betaStorageProvisioner = "volume.beta.kubernetes.io/storage-provisioner"
    public static let betaStorageClass = "volume.beta.kubernetes.io/storage-class"
    public static let defaultClass = "storageclass.kubernetes.io/is-default-class"
    public static let betaDefaultClass = "storageclass.beta.kubernetes.io/is-default-class"
    public static let hostnameLabel = "kubernetes.io/hostname"

    /// Set on a PV between "intent recorded" and "directory made and bound".
    public static let provisioning = "berth.io/provisioning"
    /// Set on a PV whose backing store berth is deleting.
    public static let deleting = "berth.io/deleting"
    public static let node = "berth.io/node"
    public static let pool = "berth.io/pool"
    /// Loop volumes: the filesystem type and UUID chosen before mkfs and checked at every attach.
    public static let fsType = "berth.io/fs-type"
    public static let fsUUID = "berth.io/fs-uuid"
    /// Set on a PV while it grows: the size (bytes) its pool reserves for it until the growth is
    /// done, so that two claims growing at once cannot both be promised the same free space.
    public static let resizeReserved = "berth.io/resize-reserved-bytes"

    public static let hostPathProvisioner = "berth.io/hostpath"
    public static let loopProvisioner = "berth.io/loop"
    /// Finalizer (Kubernetes' StorageObjectInUseProtection): a PV is not removed while it is Bound.
    public static let pvProtection = "kubernetes.io/pv-protection"
    /// Finalizer: berth must delete the backing store before the PV object goes away.
    public static let reclaimFinalizer = "berth.io/reclaim"
}
