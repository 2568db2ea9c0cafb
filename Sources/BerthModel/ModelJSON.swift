// The JSON form of every stored kind, written and read by hand (see FastJSON.swift for why).
// Field names and nesting are Kubernetes'; absent optionals are left out; unknown keys are skipped.
// `ModelJSONTests` checks each type against its Codable conformance both ways.

// MARK: the envelope of kinds with spec and status

/// apiVersion, kind, metadata, spec and status, as every kind with a spec carries them.
struct Envelope<Spec: JSONReadable, Status: JSONReadable> {
    var apiVersion: String?
    var kind: String?
    var metadata: ObjectMeta?
    var spec: Spec?
    var status: Status?

    init(from r: inout JSONReader) throws {
        try r.object { r, k in
            switch k {
            case "apiVersion": apiVersion = try r.optString()
            case "kind": kind = try r.optString()
            case "metadata": metadata = try r.opt()
            case "spec": spec = try r.opt()
            case "status": status = try r.opt()
            default: try r.unknown()
            }
        }
    }

    func requiredMetadata() throws -> ObjectMeta {
        guard let metadata else { throw missing("metadata") }
        return metadata
    }

    func requiredSpec() throws -> Spec {
        guard let spec else { throw missing("spec") }
        return spec
    }
}

extension JSONWriter {
    mutating func envelope(_ apiVersion: String?, _ kind: String?, _ metadata: ObjectMeta, spec: (some JSONWritable)?, status: (some JSONWritable)?) {
        beginObject()
        field("apiVersion", apiVersion)
        field("kind", kind)
        field("metadata", metadata)
        field("spec", spec)
        field("status", status)
        endObject()
    }
}

extension ObjectMeta: JSONCodable {
    public init(from r: inout JSONReader) throws {
        self.init()
        try r.object { r, k in
            switch k {
            case "name": name = try r.optString()
            case "generateName": generateName = try r.optString()
            case "namespace": namespace = try r.optString()
            case "uid": uid = try r.optString()
            case "resourceVersion": resourceVersion = try r.optString()
            case "generation": generation = try r.optInt64()
            case "creationTimestamp": creationTimestamp = try r.optString()
            case "deletionTimestamp": deletionTimestamp = try r.optString()
            case "labels": labels = try r.optStringMap()
            case "annotations": annotations = try r.optStringMap()
            case "finalizers": finalizers = try r.optStrings()
            case "ownerReferences": ownerReferences = try r.optList()
            // Kubernetes' own fields that berth does not keep
            case "selfLink", "deletionGracePeriodSeconds", "managedFields": try r.skip()
            default: try r.unknown()
            }
        }
    }

    public func write(to w: inout JSONWriter) {
        w.beginObject()
        w.field("annotations", annotations)
        w.field("creationTimestamp", creationTimestamp)
        w.field("deletionTimestamp", deletionTimestamp)
        w.field("finalizers", finalizers)
        w.field("generateName", generateName)
        w.field("generation", generation)
        w.field("labels", labels)
        w.field("name", name)
        w.field("namespace", namespace)
        w.field("ownerReferences", ownerReferences)
        w.field("resourceVersion", resourceVersion)
        w.field("uid", uid)
        w.endObject()
    }
}

extension OwnerReference: JSONCodable {
    public init(from r: inout JSONReader) throws {
        var apiVersion: String?, kind: String?, name: String?, uid: String?, controller: Bool?, block: Bool?
        try r.object { r, k in
            switch k {
            case "apiVersion": apiVersion = try r.optString()
            case "kind": kind = try r.optString()
            case "name": name = try r.optString()
            case "uid": uid = try r.optString()
            case "controller": controller = try r.optBool()
            case "blockOwnerDeletion": block = try r.optBool()
            default: try r.unknown()
            }
        }
        guard let apiVersion else { throw missing("apiVersion") }
        guard let kind else { throw missing("kind") }
        guard let name else { throw missing("name") }
        guard let uid else { throw missing("uid") }
        self.init(apiVersion: apiVersion, kind: kind, name: name, uid: uid, controller: controller, blockOwnerDeletion: block)
    }

    public func write(to w: inout JSONWriter) {
        w.beginObject()
        w.field("apiVersion", apiVersion)
        w.field("blockOwnerDeletion", blockOwnerDeletion)
        w.field("controller", controller)
        w.field("kind", kind)
        w.field("name", name)
        w.field("uid", uid)
        w.endObject()
    }
}

extension ObjectReference: JSONCodable {
    public init(from r: inout JSONReader) throws {
        self.init()
        try r.object { r, k in
            switch k {
            case "apiVersion": apiVersion = try r.optString()
            case "kind": kind = try r.optString()
            case "namespace": namespace = try r.optString()
            case "name": name = try r.optString()
            case "uid": uid = try r.optString()
            case "resourceVersion": resourceVersion = try r.optString()
            case "fieldPath": fieldPath = try r.optString()
            default: try r.unknown()
            }
        }
    }

    public func write(to w: inout JSONWriter) {
        w.beginObject()
        w.field("apiVersion", apiVersion)
        w.field("fieldPath", fieldPath)
        w.field("kind", kind)
        w.field("name", name)
        w.field("namespace", namespace)
        w.field("resourceVersion", resourceVersion)
        w.field("uid", uid)
        w.endObject()
    }
}

extension LabelSelector: JSONCodable {
    public init(from r: inout JSONReader) throws {
        var labels: [String: String]?, expressions: [Requirement]?
        try r.object { r, k in
            switch k {
            case "matchLabels": labels = try r.optStringMap()
            case "matchExpressions": expressions = try r.optList()
            default: try r.unknown()
            }
        }
        self.init(matchLabels: labels, matchExpressions: expressions)
    }

    public func write(to w: inout JSONWriter) {
        w.beginObject()
        w.field("matchExpressions", matchExpressions)
        w.field("matchLabels", matchLabels)
        w.endObject()
    }
}

extension LabelSelector.Requirement: JSONCodable {
    public init(from r: inout JSONReader) throws {
        var key: String?, op: String?, values: [String]?
        try r.object { r, k in
            switch k {
            case "key": key = try r.optString()
            case "operator": op = try r.optString()
            case "values": values = try r.optStrings()
            default: try r.unknown()
            }
        }
        guard let key else { throw missing("key") }
        guard let op else { throw missing("operator") }
        self.init(key: key, operator: op, values: values)
    }

    public func write(to w: inout JSONWriter) {
        w.beginObject()
        w.field("key", key)
        w.field("operator", self.operator)
        w.field("values", values)
        w.endObject()
    }
}

extension VolumeNodeAffinity: JSONCodable {
    public init(from r: inout JSONReader) throws {
        var required: NodeSelector?
        try r.object { r, k in
            if k == "required" { required = try r.opt() } else { try r.unknown() }
        }
        self.init(required: required)
    }

    public func write(to w: inout JSONWriter) {
        w.beginObject()
        w.field("required", required)
        w.endObject()
    }
}

extension NodeSelector: JSONCodable {
    public init(from r: inout JSONReader) throws {
        var terms: [Term]?
        try r.object { r, k in
            if k == "nodeSelectorTerms" { terms = try r.optList() } else { try r.unknown() }
        }
        guard let terms else { throw missing("nodeSelectorTerms") }
        self.init(nodeSelectorTerms: terms)
    }

    public func write(to w: inout JSONWriter) {
        w.beginObject()
        w.field("nodeSelectorTerms", nodeSelectorTerms)
        w.endObject()
    }
}

extension NodeSelector.Term: JSONCodable {
    public init(from r: inout JSONReader) throws {
        self.init()
        try r.object { r, k in
            switch k {
            case "matchExpressions": matchExpressions = try r.optList()
            case "matchFields": matchFields = try r.optList()
            default: try r.unknown()
            }
        }
    }

    public func write(to w: inout JSONWriter) {
        w.beginObject()
        w.field("matchExpressions", matchExpressions)
        w.field("matchFields", matchFields)
        w.endObject()
    }
}

// MARK: PersistentVolume

extension PersistentVolume: JSONCodable {
    public init(from r: inout JSONReader) throws {
        let e = try Envelope<Spec, Status>(from: &r)
        self.init(name: "", spec: try e.requiredSpec())
        (apiVersion, kind, metadata, status) = (e.apiVersion, e.kind, try e.requiredMetadata(), e.status)
    }

    public func write(to w: inout JSONWriter) { w.envelope(apiVersion, kind, metadata, spec: spec, status: status) }
}

extension PersistentVolume.Spec: JSONCodable {
    public init(from r: inout JSONReader) throws {
        self.init()
        try r.object { r, k in
            switch k {
            case "capacity": capacity = try r.optMap()
            case "accessModes": accessModes = try r.optStrings()
            case "volumeMode": volumeMode = try r.optString()
            case "persistentVolumeReclaimPolicy": persistentVolumeReclaimPolicy = try r.optString()
            case "storageClassName": storageClassName = try r.optString()
            case "mountOptions": mountOptions = try r.optStrings()
            case "claimRef": claimRef = try r.opt()
            case "nodeAffinity": nodeAffinity = try r.opt()
            case "hostPath": hostPath = try r.opt()
            case "local": local = try r.opt()
            default: try r.unknown()
            }
        }
    }

    public func write(to w: inout JSONWriter) {
        w.beginObject()
        w.field("accessModes", accessModes)
        w.field("capacity", capacity)
        w.field("claimRef", claimRef)
        w.field("hostPath", hostPath)
        w.field("local", local)
        w.field("mountOptions", mountOptions)
        w.field("nodeAffinity", nodeAffinity)
        w.field("persistentVolumeReclaimPolicy", persistentVolumeReclaimPolicy)
        w.field("storageClassName", storageClassName)
        w.field("volumeMode", volumeMode)
        w.endObject()
    }
}

extension PersistentVolume.HostPathSource: JSONCodable {
    public init(from r: inout JSONReader) throws {
        var path: String?, type: String?
        try r.object { r, k in
            switch k {
            case "path": path = try r.optString()
            case "type": type = try r.optString()
            default: try r.unknown()
            }
        }
        guard let path else { throw missing("path") }
        self.init(path: path, type: type)
    }

    public func write(to w: inout JSONWriter) {
        w.beginObject()
        w.field("path", path)
        w.field("type", type)
        w.endObject()
    }
}

extension PersistentVolume.LocalSource: JSONCodable {
    public init(from r: inout JSONReader) throws {
        var path: String?, fsType: String?
        try r.object { r, k in
            switch k {
            case "path": path = try r.optString()
            case "fsType": fsType = try r.optString()
            default: try r.unknown()
            }
        }
        guard let path else { throw missing("path") }
        self.init(path: path, fsType: fsType)
    }

    public func write(to w: inout JSONWriter) {
        w.beginObject()
        w.field("fsType", fsType)
        w.field("path", path)
        w.endObject()
    }
}

extension PersistentVolume.Status: JSONCodable {
    public init(from r: inout JSONReader) throws {
        self.init()
        try r.object { r, k in
            switch k {
            case "phase": phase = try r.optString()
            case "message": message = try r.optString()
            case "reason": reason = try r.optString()
            case "lastPhaseTransitionTime": lastPhaseTransitionTime = try r.optString()
            default: try r.unknown()
            }
        }
    }

    public func write(to w: inout JSONWriter) {
        w.beginObject()
        w.field("lastPhaseTransitionTime", lastPhaseTransitionTime)
        w.field("message", message)
        w.field("phase", phase)
        w.field("reason", reason)
        w.endObject()
    }
}

// MARK: PersistentVolumeClaim

extension PersistentVolumeClaim: JSONCodable {
    public init(from r: inout JSONReader) throws {
        let e = try Envelope<Spec, Status>(from: &r)
        self.init(namespace: "", name: "", spec: try e.requiredSpec())
        (apiVersion, kind, metadata, status) = (e.apiVersion, e.kind, try e.requiredMetadata(), e.status)
    }

    public func write(to w: inout JSONWriter) { w.envelope(apiVersion, kind, metadata, spec: spec, status: status) }
}

extension PersistentVolumeClaim.Spec: JSONCodable {
    public init(from r: inout JSONReader) throws {
        self.init()
        try r.object { r, k in
            switch k {
            case "accessModes": accessModes = try r.optStrings()
            case "selector": selector = try r.opt()
            case "resources": resources = try r.opt()
            case "volumeName": volumeName = try r.optString()
            case "storageClassName": storageClassName = try r.optString()
            case "volumeMode": volumeMode = try r.optString()
            case "dataSource": dataSource = try r.opt()
            case "dataSourceRef": dataSourceRef = try r.opt()
            default: try r.unknown()
            }
        }
    }

    public func write(to w: inout JSONWriter) {
        w.beginObject()
        w.field("accessModes", accessModes)
        w.field("dataSource", dataSource)
        w.field("dataSourceRef", dataSourceRef)
        w.field("resources", resources)
        w.field("selector", selector)
        w.field("storageClassName", storageClassName)
        w.field("volumeMode", volumeMode)
        w.field("volumeName", volumeName)
        w.endObject()
    }
}

extension PersistentVolumeClaim.Resources: JSONCodable {
    public init(from r: inout JSONReader) throws {
        self.init()
        try r.object { r, k in
            switch k {
            case "requests": requests = try r.optMap()
            case "limits": limits = try r.optMap()
            default: try r.unknown()
            }
        }
    }

    public func write(to w: inout JSONWriter) {
        w.beginObject()
        w.field("limits", limits)
        w.field("requests", requests)
        w.endObject()
    }
}

extension PersistentVolumeClaim.Condition: JSONCodable {
    public init(from r: inout JSONReader) throws {
        var type: String?, status: String?, reason: String?, message: String?, transition: String?, probe: String?
        try r.object { r, k in
            switch k {
            case "type": type = try r.optString()
            case "status": status = try r.optString()
            case "reason": reason = try r.optString()
            case "message": message = try r.optString()
            case "lastTransitionTime": transition = try r.optString()
            case "lastProbeTime": probe = try r.optString()
            default: try r.unknown()
            }
        }
        guard let type else { throw missing("type") }
        guard let status else { throw missing("status") }
        self.init(type: type, status: status, reason: reason, message: message, lastTransitionTime: transition, lastProbeTime: probe)
    }

    public func write(to w: inout JSONWriter) {
        w.beginObject()
        w.field("lastProbeTime", lastProbeTime)
        w.field("lastTransitionTime", lastTransitionTime)
        w.field("message", message)
        w.field("reason", reason)
        w.field("status", status)
        w.field("type", type)
        w.endObject()
    }
}

extension PersistentVolumeClaim.Status: JSONCodable {
    public init(from r: inout JSONReader) throws {
        self.init()
        try r.object { r, k in
            switch k {
            case "phase": phase = try r.optString()
            case "accessModes": accessModes = try r.optStrings()
            case "capacity": capacity = try r.optMap()
            case "conditions": conditions = try r.optList()
            case "allocatedResources": allocatedResources = try r.optMap()
            case "allocatedResourceStatuses": allocatedResourceStatuses = try r.optStringMap()
            default: try r.unknown()
            }
        }
    }

    public func write(to w: inout JSONWriter) {
        w.beginObject()
        w.field("accessModes", accessModes)
        w.field("allocatedResourceStatuses", allocatedResourceStatuses)
        w.field("allocatedResources", allocatedResources)
        w.field("capacity", capacity)
        w.field("conditions", conditions)
        w.field("phase", phase)
        w.endObject()
    }
}

// MARK: StorageClass, Node, Event

extension StorageClass: JSONCodable {
    public init(from r: inout JSONReader) throws {
        var apiVersion: String?, kind: String?, metadata: ObjectMeta?, provisioner: String?, parameters: [String: String]?
        var reclaimPolicy: String?, bindingMode: String?, allowExpansion: Bool?, mountOptions: [String]?, topologies: [JSONValue]?
        try r.object { r, k in
            switch k {
            case "apiVersion": apiVersion = try r.optString()
            case "kind": kind = try r.optString()
            case "metadata": metadata = try r.opt()
            case "provisioner": provisioner = try r.optString()
            case "parameters": parameters = try r.optStringMap()
            case "reclaimPolicy": reclaimPolicy = try r.optString()
            case "volumeBindingMode": bindingMode = try r.optString()
            case "allowVolumeExpansion": allowExpansion = try r.optBool()
            case "mountOptions": mountOptions = try r.optStrings()
            case "allowedTopologies": topologies = try r.optList()
            default: try r.unknown()
            }
        }
        guard let metadata else { throw missing("metadata") }
        guard let provisioner else { throw missing("provisioner") }
        self.init(name: "", provisioner: provisioner, parameters: parameters, reclaimPolicy: reclaimPolicy, volumeBindingMode: bindingMode)
        self.apiVersion = apiVersion
        self.kind = kind
        self.metadata = metadata
        self.allowVolumeExpansion = allowExpansion
        self.mountOptions = mountOptions
        self.allowedTopologies = topologies
    }

    public func write(to w: inout JSONWriter) {
        w.beginObject()
        w.field("allowVolumeExpansion", allowVolumeExpansion)
        w.field("allowedTopologies", allowedTopologies)
        w.field("apiVersion", apiVersion)
        w.field("kind", kind)
        w.field("metadata", metadata)
        w.field("mountOptions", mountOptions)
        w.field("parameters", parameters)
        w.field("provisioner", provisioner)
        w.field("reclaimPolicy", reclaimPolicy)
        w.field("volumeBindingMode", volumeBindingMode)
        w.endObject()
    }
}

extension Node: JSONCodable {
    public init(from r: inout JSONReader) throws {
        let e = try Envelope<Spec, Status>(from: &r)
        self.init(name: "")
        (apiVersion, kind, metadata, spec, status) = (e.apiVersion, e.kind, try e.requiredMetadata(), e.spec, e.status)
    }

    public func write(to w: inout JSONWriter) { w.envelope(apiVersion, kind, metadata, spec: spec, status: status) }
}

extension Node.Spec: JSONCodable {
    public init(from r: inout JSONReader) throws {
        self.init()
        try r.object { r, k in
            switch k {
            case "unschedulable": unschedulable = try r.optBool()
            case "taints": taints = try r.optList()
            default: try r.unknown()
            }
        }
    }

    public func write(to w: inout JSONWriter) {
        w.beginObject()
        w.field("taints", taints)
        w.field("unschedulable", unschedulable)
        w.endObject()
    }
}

extension Node.Condition: JSONCodable {
    public init(from r: inout JSONReader) throws {
        var type: String?, status: String?, reason: String?, message: String?, heartbeat: String?, transition: String?
        try r.object { r, k in
            switch k {
            case "type": type = try r.optString()
            case "status": status = try r.optString()
            case "reason": reason = try r.optString()
            case "message": message = try r.optString()
            case "lastHeartbeatTime": heartbeat = try r.optString()
            case "lastTransitionTime": transition = try r.optString()
            default: try r.unknown()
            }
        }
        guard let type else { throw missing("type") }
        guard let status else { throw missing("status") }
        self.init(type: type, status: status, reason: reason, message: message)
        lastHeartbeatTime = heartbeat
        lastTransitionTime = transition
    }

    public func write(to w: inout JSONWriter) {
        w.beginObject()
        w.field("lastHeartbeatTime", lastHeartbeatTime)
        w.field("lastTransitionTime", lastTransitionTime)
        w.field("message", message)
        w.field("reason", reason)
        w.field("status", status)
        w.field("type", type)
        w.endObject()
    }
}

extension Node.Address: JSONCodable {
    public init(from r: inout JSONReader) throws {
        var type: String?, address: String?
        try r.object { r, k in
            switch k {
            case "type": type = try r.optString()
            case "address": address = try r.optString()
            default: try r.unknown()
            }
        }
        guard let type else { throw missing("type") }
        guard let address else { throw missing("address") }
        self.init(type: type, address: address)
    }

    public func write(to w: inout JSONWriter) {
        w.beginObject()
        w.field("address", address)
        w.field("type", type)
        w.endObject()
    }
}

extension Node.Status: JSONCodable {
    public init(from r: inout JSONReader) throws {
        self.init()
        try r.object { r, k in
            switch k {
            case "capacity": capacity = try r.optMap()
            case "allocatable": allocatable = try r.optMap()
            case "conditions": conditions = try r.optList()
            case "addresses": addresses = try r.optList()
            case "nodeInfo": nodeInfo = try r.optStringMap()
            default: try r.unknown()
            }
        }
    }

    public func write(to w: inout JSONWriter) {
        w.beginObject()
        w.field("addresses", addresses)
        w.field("allocatable", allocatable)
        w.field("capacity", capacity)
        w.field("conditions", conditions)
        w.field("nodeInfo", nodeInfo)
        w.endObject()
    }
}

extension Event: JSONCodable {
    public init(from r: inout JSONReader) throws {
        var apiVersion: String?, kind: String?, metadata: ObjectMeta?, involved: ObjectReference?, reason: String?
        var message: String?, type: String?, count: Int?, first: String?, last: String?, source: Source?
        var component: String?, instance: String?
        try r.object { r, k in
            switch k {
            case "apiVersion": apiVersion = try r.optString()
            case "kind": kind = try r.optString()
            case "metadata": metadata = try r.opt()
            case "involvedObject": involved = try r.opt()
            case "reason": reason = try r.optString()
            case "message": message = try r.optString()
            case "type": type = try r.optString()
            case "count": count = try r.optInt()
            case "firstTimestamp": first = try r.optString()
            case "lastTimestamp": last = try r.optString()
            case "source": source = try r.opt()
            case "reportingComponent": component = try r.optString()
            case "reportingInstance": instance = try r.optString()
            default: try r.unknown()
            }
        }
        guard let metadata else { throw missing("metadata") }
        guard let involved else { throw missing("involvedObject") }
        self.init(metadata: metadata, involvedObject: involved)
        self.apiVersion = apiVersion
        self.kind = kind
        self.reason = reason
        self.message = message
        self.type = type
        self.count = count
        self.firstTimestamp = first
        self.lastTimestamp = last
        self.source = source
        self.reportingComponent = component
        self.reportingInstance = instance
    }

    public func write(to w: inout JSONWriter) {
        w.beginObject()
        w.field("apiVersion", apiVersion)
        w.field("count", count)
        w.field("firstTimestamp", firstTimestamp)
        w.field("involvedObject", involvedObject)
        w.field("kind", kind)
        w.field("lastTimestamp", lastTimestamp)
        w.field("message", message)
        w.field("metadata", metadata)
        w.field("reason", reason)
        w.field("reportingComponent", reportingComponent)
        w.field("reportingInstance", reportingInstance)
        w.field("source", source)
        w.field("type", type)
        w.endObject()
    }
}

extension Event.Source: JSONCodable {
    public init(from r: inout JSONReader) throws {
        var component: String?, host: String?
        try r.object { r, k in
            switch k {
            case "component": component = try r.optString()
            case "host": host = try r.optString()
            default: try r.unknown()
            }
        }
        self.init(component: component, host: host)
    }

    public func write(to w: inout JSONWriter) {
        w.beginObject()
        w.field("component", component)
        w.field("host", host)
        w.endObject()
    }
}

// MARK: Pod and StatefulSet

extension Pod: JSONCodable {
    public init(from r: inout JSONReader) throws {
        let e = try Envelope<PodSpec, Status>(from: &r)
        self.init(namespace: "", name: "", spec: e.spec ?? PodSpec())
        (apiVersion, kind, metadata, status) = (e.apiVersion, e.kind, try e.requiredMetadata(), e.status)
    }

    public func write(to w: inout JSONWriter) { w.envelope(apiVersion, kind, metadata, spec: spec, status: status) }
}

extension PodSpec: JSONCodable {
    /// Kubernetes' PodSpec fields (v1.33): the spec is kept whole, but a key outside these is a
    /// typo that strict field validation reports. Container fields are not checked.
    static let knownFields: Set<String> = [
        "activeDeadlineSeconds", "affinity", "automountServiceAccountToken", "containers", "dnsConfig", "dnsPolicy",
        "enableServiceLinks", "ephemeralContainers", "hostAliases", "hostIPC", "hostNetwork", "hostPID", "hostUsers",
        "hostname", "hostnameOverride", "imagePullSecrets", "initContainers", "nodeName", "nodeSelector", "os", "overhead",
        "preemptionPolicy", "priority", "priorityClassName", "readinessGates", "resourceClaims", "resources",
        "restartPolicy", "runtimeClassName", "schedulerName", "schedulingGates", "securityContext", "serviceAccount",
        "serviceAccountName", "setHostnameAsFQDN", "shareProcessNamespace", "subdomain", "terminationGracePeriodSeconds",
        "tolerations", "topologySpreadConstraints", "volumes",
    ]

    public init(from r: inout JSONReader) throws {
        let value = try r.value()
        guard case .object(let o) = value else { throw JSONReadError("expected an object") }
        r.noteUnknownKeys(of: value, known: Self.knownFields)
        self.init(fields: o)
    }

    public func write(to w: inout JSONWriter) { JSONValue.object(fields).write(to: &w) }
}

extension Pod.Condition: JSONCodable {
    public init(from r: inout JSONReader) throws {
        var type: String?, status: String?, reason: String?, message: String?, transition: String?
        try r.object { r, k in
            switch k {
            case "type": type = try r.optString()
            case "status": status = try r.optString()
            case "reason": reason = try r.optString()
            case "message": message = try r.optString()
            case "lastTransitionTime": transition = try r.optString()
            default: try r.unknown()
            }
        }
        guard let type else { throw missing("type") }
        guard let status else { throw missing("status") }
        self.init(type: type, status: status, reason: reason, message: message, lastTransitionTime: transition)
    }

    public func write(to w: inout JSONWriter) {
        w.beginObject()
        w.field("lastTransitionTime", lastTransitionTime)
        w.field("message", message)
        w.field("reason", reason)
        w.field("status", status)
        w.field("type", type)
        w.endObject()
    }
}

extension Pod.Status: JSONCodable {
    public init(from r: inout JSONReader) throws {
        self.init()
        try r.object { r, k in
            switch k {
            case "phase": phase = try r.optString()
            case "conditions": conditions = try r.optList()
            case "message": message = try r.optString()
            case "reason": reason = try r.optString()
            case "hostIP": hostIP = try r.optString()
            case "startTime": startTime = try r.optString()
            default: try r.unknown()
            }
        }
    }

    public func write(to w: inout JSONWriter) {
        w.beginObject()
        w.field("conditions", conditions)
        w.field("hostIP", hostIP)
        w.field("message", message)
        w.field("phase", phase)
        w.field("reason", reason)
        w.field("startTime", startTime)
        w.endObject()
    }
}

extension StatefulSet: JSONCodable {
    public init(from r: inout JSONReader) throws {
        let e = try Envelope<Spec, Status>(from: &r)
        self.init(namespace: "", name: "", spec: try e.requiredSpec())
        (apiVersion, kind, metadata, status) = (e.apiVersion, e.kind, try e.requiredMetadata(), e.status)
    }

    public func write(to w: inout JSONWriter) { w.envelope(apiVersion, kind, metadata, spec: spec, status: status) }
}

extension StatefulSet.Spec: JSONCodable {
    public init(from r: inout JSONReader) throws {
        var template: StatefulSet.PodTemplate?
        var spec = StatefulSet.Spec()
        try r.object { r, k in
            switch k {
            case "replicas": spec.replicas = try r.optInt()
            case "selector": spec.selector = try r.opt()
            case "serviceName": spec.serviceName = try r.optString()
            case "template": template = try r.opt()
            case "volumeClaimTemplates": spec.volumeClaimTemplates = try r.optList()
            case "podManagementPolicy": spec.podManagementPolicy = try r.optString()
            case "updateStrategy":
                spec.updateStrategy = try r.opt()
                r.noteUnknownKeys(of: spec.updateStrategy, known: ["type", "rollingUpdate"])
                r.noteUnknownKeys(of: spec.updateStrategy, known: ["partition", "maxUnavailable"], at: ["rollingUpdate"])
            case "revisionHistoryLimit": spec.revisionHistoryLimit = try r.optInt()
            case "minReadySeconds": spec.minReadySeconds = try r.optInt()
            case "ordinals": spec.ordinals = try r.opt()
            case "persistentVolumeClaimRetentionPolicy": spec.persistentVolumeClaimRetentionPolicy = try r.opt()
            default: try r.unknown()
            }
        }
        guard let template else { throw missing("template") }
        spec.template = template
        self = spec
    }

    public func write(to w: inout JSONWriter) {
        w.beginObject()
        w.field("minReadySeconds", minReadySeconds)
        w.field("ordinals", ordinals)
        w.field("persistentVolumeClaimRetentionPolicy", persistentVolumeClaimRetentionPolicy)
        w.field("podManagementPolicy", podManagementPolicy)
        w.field("replicas", replicas)
        w.field("revisionHistoryLimit", revisionHistoryLimit)
        w.field("selector", selector)
        w.field("serviceName", serviceName)
        w.field("template", template)
        w.field("updateStrategy", updateStrategy)
        w.field("volumeClaimTemplates", volumeClaimTemplates)
        w.endObject()
    }
}

extension StatefulSet.PodTemplate: JSONCodable {
    public init(from r: inout JSONReader) throws {
        self.init()
        try r.object { r, k in
            switch k {
            case "metadata": metadata = try r.opt()
            case "spec": spec = try r.opt()
            default: try r.unknown()
            }
        }
    }

    public func write(to w: inout JSONWriter) {
        w.beginObject()
        w.field("metadata", metadata)
        w.field("spec", spec)
        w.endObject()
    }
}

extension StatefulSet.Ordinals: JSONCodable {
    public init(from r: inout JSONReader) throws {
        self.init()
        try r.object { r, k in
            if k == "start" { start = try r.optInt() } else { try r.unknown() }
        }
    }

    public func write(to w: inout JSONWriter) {
        w.beginObject()
        w.field("start", start)
        w.endObject()
    }
}

extension StatefulSet.RetentionPolicy: JSONCodable {
    public init(from r: inout JSONReader) throws {
        self.init()
        try r.object { r, k in
            switch k {
            case "whenDeleted": whenDeleted = try r.optString()
            case "whenScaled": whenScaled = try r.optString()
            default: try r.unknown()
            }
        }
    }

    public func write(to w: inout JSONWriter) {
        w.beginObject()
        w.field("whenDeleted", whenDeleted)
        w.field("whenScaled", whenScaled)
        w.endObject()
    }
}

extension StatefulSet.Status: JSONCodable {
    public init(from r: inout JSONReader) throws {
        self.init()
        try r.object { r, k in
            switch k {
            case "observedGeneration": observedGeneration = try r.optInt64()
            case "replicas": replicas = try r.optInt() ?? 0
            case "readyReplicas": readyReplicas = try r.optInt()
            case "currentReplicas": currentReplicas = try r.optInt()
            case "updatedReplicas": updatedReplicas = try r.optInt()
            case "availableReplicas": availableReplicas = try r.optInt()
            case "currentRevision": currentRevision = try r.optString()
            case "updateRevision": updateRevision = try r.optString()
            case "collisionCount": collisionCount = try r.optInt()
            default: try r.unknown()
            }
        }
    }

    public func write(to w: inout JSONWriter) {
        w.beginObject()
        w.field("availableReplicas", availableReplicas)
        w.field("collisionCount", collisionCount)
        w.field("currentReplicas", currentReplicas)
        w.field("currentRevision", currentRevision)
        w.field("observedGeneration", observedGeneration)
        w.field("readyReplicas", readyReplicas)
        w.field("replicas", replicas)
        w.field("updateRevision", updateRevision)
        w.field("updatedReplicas", updatedReplicas)
        w.endObject()
    }
}
