/// storage.k8s.io/v1 StorageClass.
public struct StorageClass: KubeObject, Hashable {
    public static let info = KindInfo.storageClass
    public var apiVersion: String?
    public var kind: String?
    public var metadata: ObjectMeta
    public var provisioner: String
    public var parameters: [String: String]?
    public var reclaimPolicy: String?
    public var volumeBindingMode: String?
    public var allowVolumeExpansion: Bool?
    public var mountOptions: [String]?
    public var allowedTopologies: [JSONValue]?

    public init(name: String, provisioner: String, parameters: [String: String]? = nil, reclaimPolicy: String? = nil,
                volumeBindingMode: String? = nil, isDefault: Bool = false) {
        self.metadata = ObjectMeta(name: name, annotations: isDefault ? [Keys.defaultClass: "true"] : nil)
        self.provisioner = provisioner
        self.parameters = parameters
        self.reclaimPolicy = reclaimPolicy
        self.volumeBindingMode = volumeBindingMode
        setTypeMeta()
    }

    public var isDefault: Bool {
        metadata.annotation(Keys.defaultClass) == "true" || metadata.annotation(Keys.betaDefaultClass) == "true"
    }

    public var isWaitForFirstConsumer: Bool { volumeBindingMode == "WaitForFirstConsumer" }

    public mutating func applyDefaults() {
        if reclaimPolicy == nil { reclaimPolicy = "Delete" }
        if volumeBindingMode == nil { volumeBindingMode = "Immediate" }
    }

    public func validate() -> [FieldError] {
        var e = Validation.validateMeta(metadata, info: Self.info)
        if provisioner.isEmpty {
            e.append(FieldError("provisioner", "Required value"))
        } else {
            for p in Validation.qualifiedNameProblems(provisioner.lowercased()) {
                e.append(FieldError("provisioner", "Invalid value: \"\(provisioner)\": \(p)"))
            }
        }
        if let r = reclaimPolicy, r != "Delete", r != "Retain" {
            e.append(FieldError("reclaimPolicy", "Unsupported value: \"\(r)\": supported values: \"Delete\", \"Retain\""))
        }
        if let m = volumeBindingMode, m != "Immediate", m != "WaitForFirstConsumer" {
            e.append(FieldError("volumeBindingMode", "Unsupported value: \"\(m)\": supported values: \"Immediate\", \"WaitForFirstConsumer\""))
        }
        if (parameters?.count ?? 0) > 512 {
            e.append(FieldError("parameters", "Too many: must have at most 512 parameters"))
        }
        return e
    }

    public func validateUpdate(from old: StorageClass) -> [FieldError] {
        var e: [FieldError] = []
        if provisioner != old.provisioner { e.append(FieldError("provisioner", "Forbidden: updates to provisioner are forbidden.")) }
        if (parameters ?? [:]) != (old.parameters ?? [:]) { e.append(FieldError("parameters", "Forbidden: updates to parameters are forbidden.")) }
        if reclaimPolicy != old.reclaimPolicy { e.append(FieldError("reclaimPolicy", "Forbidden: updates to reclaimPolicy are forbidden.")) }
        if volumeBindingMode != old.volumeBindingMode { e.append(FieldError("volumeBindingMode", "Forbidden: field is immutable")) }
        return e
    }

    public mutating func keepStatus(from old: StorageClass?) {}
}

/// The default class as Kubernetes picks it: among defaults, the newest, then by name.
public func defaultStorageClass(_ classes: [StorageClass]) -> StorageClass? {
    classes.filter(\.isDefault).sorted { a, b in
        let ta = a.metadata.creationTimestamp ?? "", tb = b.metadata.creationTimestamp ?? ""
        return ta != tb ? ta > tb : a.name < b.name
    }.first
}
