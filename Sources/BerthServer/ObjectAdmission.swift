import BerthCatalog
import BerthModel
import Foundation

/// Turns request bodies into stored objects: decoding, defaults, admission, validation. Generic over
/// the kind so that one code path serves every kind.
struct ObjectAdmission<T: KubeObject> {
    /// Decodes a body for `kind` at `namespace`, checking its declared kind and namespace; fields
    /// berth does not know are rejected or reported as `validation` says (the warnings are returned).
    static func decode(_ data: Data, namespace: String?, validation: FieldValidation) throws -> (T, warnings: [String]) {
        let (decoded, unknown) = try T.decodeNotingUnknown(body: data)
        let warnings = try validation.check(unknown, kind: T.info)
        var obj = decoded
        if let kind = obj.kind, !kind.isEmpty, kind != T.info.kind {
            throw BerthError.badRequest("the body is a \(kind), but this path serves \(T.info.kind)")
        }
        if T.info.isNamespaced {
            if let bodyNS = obj.metadata.namespace, !bodyNS.isEmpty, let namespace, bodyNS != namespace {
                throw BerthError.badRequest("the namespace of the provided object (\(bodyNS)) does not match the namespace sent on the request (\(namespace))")
            }
            obj.metadata.namespace = namespace ?? obj.metadata.namespace ?? "default"
        }
        obj.setTypeMeta()
        return (obj, warnings)
    }

    /// Create: defaults, admission, validation, then insert.
    static func create(_ object: T, in tx: any CatalogTransaction) throws -> T {
        var obj = object
        if (obj.metadata.name ?? "").isEmpty, let prefix = obj.metadata.generateName, !prefix.isEmpty {
            let alphabet = Array("bcdfghjklmnpqrstvwxz2456789")
            obj.metadata.name = prefix + String((0..<5).map { _ in alphabet.randomElement()! })
        }
        obj.applyDefaults()
        obj.keepStatus(from: nil)
        try admit(&obj, in: tx)
        try obj.validate().throwIfAny(kind: T.info.kind, name: obj.name)
        obj.metadata.resourceVersion = nil
        return try tx.create(obj)
    }

    /// Replace: keeps status (or, for the status subresource, keeps everything but status).
    static func replace(_ object: T, statusOnly: Bool, in tx: any CatalogTransaction) throws -> T {
        guard let old = try tx.get(T.self, namespace: object.namespace, name: object.name) else {
            throw BerthError.notFound("\(T.info.plural) \"\(object.name)\" not found")
        }
        var obj: T
        if statusOnly {
            var tree = try JSON.tree(old)
            if case .object(var o) = tree {
                o["status"] = try JSON.tree(object)["status"]
                if let rv = object.metadata.resourceVersion { o["metadata"] = (o["metadata"] ?? .null).merged(with: .object(["resourceVersion": .string(rv)])) }
                tree = .object(o)
            }
            obj = try T.decode(tree)
        } else {
            obj = object
            obj.applyDefaults()
            // clients do not set the generation: it is the stored one, raised by keepStatus on a spec change
            obj.metadata.generation = old.metadata.generation
            obj.keepStatus(from: old)
        }
        if old.metadata.isDeleting, !statusOnly {
            obj.metadata.deletionTimestamp = old.metadata.deletionTimestamp
        }
        try obj.validate().throwIfAny(kind: T.info.kind, name: obj.name)
        try obj.validateUpdate(from: old).throwIfAny(kind: T.info.kind, name: obj.name)
        if !statusOnly, let claim = obj as? PersistentVolumeClaim, let previous = old as? PersistentVolumeClaim {
            try admitResize(claim, from: previous, in: tx)
        }
        return try tx.update(obj)
    }

    /// Merge patch (RFC 7386) onto the stored object, then the replace rules.
    static func patch(namespace: String, name: String, patch: JSONValue, statusOnly: Bool, strategic: Bool = false,
                      in tx: any CatalogTransaction) throws -> T {
        try self.patch(namespace: namespace, name: name, patch: patch, statusOnly: statusOnly, strategic: strategic,
                       validation: .ignore, in: tx).object
    }

    /// A patch whose result is checked for fields berth does not know, as `validation` says.
    static func patch(namespace: String, name: String, patch: JSONValue, statusOnly: Bool, strategic: Bool = false,
                      validation: FieldValidation, in tx: any CatalogTransaction) throws -> (object: T, warnings: [String]) {
        guard let stored = try tx.getStored(kind: T.info.kind, namespace: T.info.isNamespaced ? namespace : "", name: name) else {
            throw BerthError.notFound("\(T.info.plural) \"\(name)\" not found")
        }
        let current = try JSON.parse(stored.data)
        var merged = strategic ? StrategicMerge.apply(patch, to: current) : current.merged(with: patch)
        // without a resourceVersion in the patch, a patch applies to whatever is current
        if patch["metadata"]?["resourceVersion"] == nil, case .object(var o) = merged {
            o["metadata"] = (o["metadata"] ?? .null).merged(with: .object(["resourceVersion": .string(String(stored.revision))]))
            merged = .object(o)
        }
        // the stored object has no unknown fields, so whatever is unknown came with the patch
        let (decoded, unknown) = try T.decodeNotingUnknown(body: merged.jsonData())
        let warnings = try validation.check(unknown, kind: T.info)
        var obj = decoded
        obj.metadata.name = name
        if T.info.isNamespaced { obj.metadata.namespace = namespace }
        return (try replace(obj, statusOnly: statusOnly, in: tx), warnings)
    }

    /// `PersistentVolumeClaimResize` admission: a larger request needs a bound claim whose class
    /// allows expansion.
    static func admitResize(_ claim: PersistentVolumeClaim, from old: PersistentVolumeClaim, in tx: any CatalogTransaction) throws {
        guard let new = claim.request, let previous = old.request, new > previous else { return }
        let field = "spec.resources.requests.storage"
        guard old.phase == "Bound" else {
            throw BerthError(.permissionDenied, "persistentvolumeclaims \"\(claim.name)\" is forbidden: only bound persistent volume claims can be expanded",
                             causes: [FieldError(field, "Forbidden: only bound persistent volume claims can be expanded")])
        }
        let cls = claim.storageClass
        let sc = cls.isEmpty ? nil : try tx.get(StorageClass.self, name: cls)
        guard cls == old.storageClass, sc?.allowVolumeExpansion == true else {
            let why = "only dynamically provisioned pvc can be resized and the storageclass that provisions the pvc must support resize"
            throw BerthError(.permissionDenied, "persistentvolumeclaims \"\(claim.name)\" is forbidden: \(why) (class \"\(cls)\" does not set allowVolumeExpansion: true)",
                             causes: [FieldError(field, "Forbidden: \(why)")])
        }
    }

    /// Admission plugins that Kubernetes runs on create.
    static func admit(_ obj: inout T, in tx: any CatalogTransaction) throws {
        if var pv = obj as? PersistentVolume {
            // StorageObjectInUseProtection admission: a Bound PV is not removed under its claim
            pv.metadata.addFinalizer(Keys.pvProtection)
            if let typed = pv as? T { obj = typed }
        }
        if var claim = obj as? PersistentVolumeClaim {
            // DefaultStorageClass admission
            if !claim.hasClass, let def = defaultStorageClass(try tx.list(StorageClass.self)) {
                claim.spec.storageClassName = def.name
            }
            // StorageObjectInUseProtection admission: a claim is not removed while a pod uses it
            claim.metadata.addFinalizer("kubernetes.io/pvc-protection")
            if let typed = claim as? T { obj = typed }
        }
    }
}

/// Kubernetes' `fieldValidation` query parameter: what a write does with fields berth does not
/// know. kubectl sends Strict by default (`--validate=strict`); without the parameter it is Warn.
enum FieldValidation: String, Sendable {
    case ignore = "Ignore"
    case warn = "Warn"
    case strict = "Strict"

    static func from(_ text: String?) throws -> FieldValidation {
        guard let text, !text.isEmpty else { return .warn }
        guard let v = FieldValidation(rawValue: text) else {
            throw BerthError.badRequest("fieldValidation=\(text) is not one of Ignore, Warn, Strict")
        }
        return v
    }

    /// Throws a BadRequest for Strict, returns one warning per field for Warn.
    func check(_ unknown: [String], kind: KindInfo) throws -> [String] {
        guard !unknown.isEmpty, self != .ignore else { return [] }
        let fields = unknown.map { "unknown field \"\($0)\"" }
        if self == .strict {
            throw BerthError.badRequest("\(kind.kind) in version \"\(kind.version)\" cannot be handled as a \(kind.kind): strict decoding error: "
                + fields.joined(separator: ", ")
                + " (remove the field, or have it dropped with kubectl --validate=false or berth apply --validate=ignore)")
        }
        return fields
    }
}
