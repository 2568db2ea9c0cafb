import BerthModel
import Foundation
import Testing

/// The hand-written JSON coding of the stored kinds must agree with their Codable form, field by field.
@Suite struct ModelJSONTests {
    static func meta(_ name: String, namespace: String? = nil) -> ObjectMeta {
        var m = ObjectMeta(name: name, namespace: namespace, labels: ["app": "db", "tier": "x"],
                           annotations: ["pv.kubernetes.io/bind-completed": "yes", "note": "a \"quoted\"\nline\\ \u{1} é 🚢"])
        m.uid = "0b8e6c1a-0000-4000-8000-000000000001"
        m.resourceVersion = "42"
        m.generation = 3
        m.creationTimestamp = "2026-11-27T10:00:00Z"
        m.deletionTimestamp = "2026-11-27T11:00:00Z"
        m.finalizers = ["kubernetes.io/pv-protection"]
        m.generateName = "gen-"
        m.ownerReferences = [OwnerReference(apiVersion: "apps/v1", kind: "StatefulSet", name: "web", uid: "u1",
                                            controller: true, blockOwnerDeletion: false)]
        return m
    }

    static func volume() throws -> PersistentVolume {
        var pv = PersistentVolume(name: "pv-1")
        pv.metadata = meta("pv-1")
        pv.spec.capacity = ["storage": try Quantity(parsing: "5Gi")]
        pv.spec.accessModes = ["ReadWriteOnce", "ReadOnlyMany"]
        pv.spec.volumeMode = "Filesystem"
        pv.spec.persistentVolumeReclaimPolicy = "Delete"
        pv.spec.storageClassName = ""
        pv.spec.mountOptions = ["noatime"]
        pv.spec.claimRef = ObjectReference(apiVersion: "v1", kind: "PersistentVolumeClaim", namespace: "ns", name: "c", uid: "u2", resourceVersion: "7")
        pv.spec.nodeAffinity = VolumeNodeAffinity(required: NodeSelector(nodeSelectorTerms: [
            .init(matchExpressions: [.init(key: "kubernetes.io/hostname", operator: "In", values: ["n1", "n2"])]),
        ]))
        pv.spec.hostPath = .init(path: "/srv/a", type: "DirectoryOrCreate")
        pv.status = .init(phase: "Bound")
        pv.status?.message = "m"
        pv.status?.reason = "r"
        pv.status?.lastPhaseTransitionTime = "2026-11-27T10:00:01Z"
        return pv
    }

    static func claim() throws -> PersistentVolumeClaim {
        var c = PersistentVolumeClaim(namespace: "ns", name: "c")
        c.metadata = meta("c", namespace: "ns")
        c.spec.accessModes = ["ReadWriteOnce"]
        c.spec.selector = LabelSelector(matchLabels: ["a": "b"], matchExpressions: [.init(key: "k", operator: "Exists")])
        c.spec.resources = .init(requests: ["storage": try Quantity(parsing: "1.5Gi")])
        c.spec.resources?.limits = ["storage": try Quantity(parsing: "2G")]
        c.spec.volumeName = "pv-1"
        c.spec.storageClassName = "fast"
        c.spec.volumeMode = "Block"
        c.spec.dataSource = .object(["kind": .string("PersistentVolumeClaim"), "name": .string("src"), "n": .int(-3), "d": .double(0.5),
                                     "b": .bool(true), "z": .null, "l": .array([.int(1), .string("x")])])
        c.status = .init(phase: "Bound")
        c.status?.accessModes = ["ReadWriteOnce"]
        c.status?.capacity = ["storage": try Quantity(parsing: "5Gi")]
        c.status?.allocatedResources = ["storage": try Quantity(parsing: "5Gi")]
        c.status?.allocatedResourceStatuses = ["storage": "ControllerResizeInProgress"]
        return c
    }

    static func storageClass() -> StorageClass {
        var sc = StorageClass(name: "fast", provisioner: "berth.io/loop", parameters: ["fsType": "xfs"], reclaimPolicy: "Retain",
                              volumeBindingMode: "WaitForFirstConsumer", isDefault: true)
        sc.metadata = meta("fast")
        sc.allowVolumeExpansion = true
        sc.mountOptions = ["noatime", "discard"]
        sc.allowedTopologies = [.object(["matchLabelExpressions": .array([])])]
        return sc
    }

    static func node() throws -> Node {
        var n = Node(name: "n1", labels: ["kubernetes.io/hostname": "n1"])
        n.metadata = meta("n1")
        n.spec = .init(unschedulable: true)
        n.spec?.taints = [.object(["key": .string("k"), "effect": .string("NoSchedule")])]
        var s = Node.Status()
        s.capacity = ["berth.io/pool.default": try Quantity(parsing: "100Gi")]
        s.allocatable = ["berth.io/pool.default": try Quantity(parsing: "90Gi")]
        var cond = Node.Condition(type: "Ready", status: "True", reason: "r", message: "m")
        cond.lastHeartbeatTime = "2026-11-27T10:00:00Z"
        cond.lastTransitionTime = "2026-11-27T10:00:00Z"
        s.conditions = [cond]
        s.addresses = [.init(type: "Hostname", address: "n1")]
        s.nodeInfo = ["kernelVersion": "6.1"]
        n.status = s
        return n
    }

    static func event() -> Event {
        var e = Event(about: ObjectReference(apiVersion: "v1", kind: "PersistentVolumeClaim", namespace: "ns", name: "c", uid: "u"),
                      type: "Warning", reason: "ProvisioningFailed", message: "no pool has 5Gi free", host: "vm")
        e.metadata = meta("c.1", namespace: "ns")
        e.involvedObject.fieldPath = "spec"
        return e
    }

    static func pod() -> Pod {
        var p = Pod(namespace: "ns", name: "web-0", spec: PodSpec(fields: ["containers": .array([.object(["name": .string("c"), "image": .string("i")])]),
                                                                    "nodeSelector": .object(["disk": .string("ssd")])]))
        p.metadata = meta("web-0", namespace: "ns")
        p.spec.volumes = [PodVolume(name: "data", claimName: "data-web-0")]
        p.spec.nodeName = "n1"
        p.spec.hostname = "web-0"
        p.spec.subdomain = "web"
        p.status = .init(phase: "Running")
        p.status?.hostIP = "127.0.0.1"
        p.status?.startTime = "2026-11-27T10:00:00Z"
        p.setCondition("Ready", true, reason: "r", message: "m")
        return p
    }

    static func statefulSet() throws -> StatefulSet {
        var set = StatefulSet(namespace: "ns", name: "web")
        set.metadata = meta("web", namespace: "ns")
        set.spec.replicas = 3
        set.spec.selector = LabelSelector(matchLabels: ["app": "web"])
        set.spec.serviceName = "web"
        set.spec.template = .init(metadata: ObjectMeta(labels: ["app": "web"]), spec: pod().spec)
        set.spec.volumeClaimTemplates = [try claim()]
        set.spec.podManagementPolicy = "Parallel"
        set.spec.updateStrategy = .object(["type": .string("OnDelete")])
        set.spec.revisionHistoryLimit = 10
        set.spec.minReadySeconds = 5
        set.spec.ordinals = .init(start: 5)
        set.spec.persistentVolumeClaimRetentionPolicy = .init(whenDeleted: "Delete", whenScaled: "Retain")
        var status = StatefulSet.Status(replicas: 3)
        status.readyReplicas = 2
        status.currentReplicas = 3
        status.updatedReplicas = 3
        status.availableReplicas = 2
        status.observedGeneration = 4
        status.currentRevision = "web-1"
        status.updateRevision = "web-2"
        status.collisionCount = 0
        set.status = status
        return set
    }

    func check<T: KubeObject & Hashable>(_ object: T) throws {
        let fast = object.jsonData()
        // the hand-written form decodes to the same value through Codable, and the other way round
        #expect(try JSONDecoder().decode(T.self, from: fast) == object)
        let codable = try JSON.encoder().encode(object)
        #expect(try JSONReader.decode(T.self, from: codable) == object)
        #expect(try T.decode(data: fast) == object)
        // and the bytes are the same as sorted-key JSONEncoder output, apart from how strings are escaped
        let plain = String(decoding: fast, as: UTF8.self)
        let reference = String(decoding: codable, as: UTF8.self)
        if !reference.contains("\\") { #expect(plain == reference) }
    }

    @Test func everyKindAgreesWithCodable() throws {
        try check(try Self.volume())
        try check(try Self.claim())
        try check(Self.storageClass())
        try check(try Self.node())
        try check(Self.event())
        try check(Self.pod())
        try check(try Self.statefulSet())
        var revision = ControllerRevision(namespace: "default", name: "web-5d8f7c9b4", data: ["spec": ["template": ["$patch": "replace",
                                          "metadata": ["labels": ["app": "web"]]]]], revision: 3)
        revision.metadata.ownerReferences = [OwnerReference(apiVersion: "apps/v1", kind: "StatefulSet", name: "web", uid: "u", controller: true)]
        try check(revision)
        #expect(revision.template?.metadata?.labels == ["app": "web"])
        // the same without the escaped annotation, so that the byte-for-byte comparison runs
        var pv = try Self.volume()
        pv.metadata.annotations = ["a": "b"]
        try check(pv)
        #expect(String(decoding: pv.jsonData(), as: UTF8.self) == String(decoding: try JSON.encoder().encode(pv), as: UTF8.self))
        // and the minimal forms
        try check(PersistentVolume(name: "x"))
        try check(PersistentVolumeClaim(namespace: "n", name: "x"))
    }

    @Test func typeErrorsNameTheFieldPath() {
        func message(_ json: String) -> String {
            do {
                _ = try PersistentVolumeClaim.decode(data: Data(json.utf8))
                return "no error"
            } catch {
                return "\(error)"
            }
        }
        #expect(message(#"{"metadata":{"name":7},"spec":{}}"#).contains("metadata.name: expected a string, got a number"))
        #expect(message(#"{"metadata":{},"spec":{"accessModes":["ReadWriteOnce",3]}}"#).contains("spec.accessModes[1]: expected a string"))
        #expect(message(#"{"metadata":{},"spec":{"resources":{"requests":{"storage":"1GB"}}}}"#).contains("spec.resources.requests.storage:"))
        #expect(message(#"{"metadata":{}}"#).contains("spec: required field is missing"))
        #expect(message(#"{"metadata":{},"spec":{"selector":{"matchExpressions":[{"key":"a"}]}}}"#)
            .contains("spec.selector.matchExpressions[0].operator: required field is missing"))
        #expect(message(#"{"metadata":{},"spec":{}"#).contains("not valid JSON"))
    }

    /// As in Kubernetes: a body that is not JSON, or not an object, is a bad request (400); an
    /// object with a field of the wrong type is invalid (422), naming the field.
    @Test func aBodyThatIsNotAnObjectIsABadRequest() {
        for body in ["not json", "nul", "trueish", "[1,2]", "\"x\"", "7"] {
            #expect("\(body)") { _ = try PersistentVolumeClaim.decode(body: Data(body.utf8)) } throws: { ($0 as? BerthError)?.code == .badRequest }
        }
        #expect { _ = try PersistentVolumeClaim.decode(body: Data(#"{"spec":{"resources":5}}"#.utf8)) } throws: {
            ($0 as? BerthError)?.code == .invalid && "\($0)".contains("spec.resources")
        }
    }

    @Test func readerFollowsTheJSONGrammar() throws {
        func tree(_ s: String) throws -> JSONValue { try JSONReader.read(Data(s.utf8)) { try $0.value() } }
        #expect(try tree(#" {"a" : [1, -2.5e1, true, false, null, "\u00e9\ud83d\udea2\n"] } "#)
            == .object(["a": .array([.int(1), .double(-25), .bool(true), .bool(false), .null, .string("é🚢\n")])]))
        for bad in ["", "{", "[1,]", "{\"a\":1,}", "01", "1.", "\"\\x\"", "\"\\ud83d\"", "tru", "{} {}", "\"a\nb\""] {
            #expect(throws: JSONReadError.self, "\(bad)") { _ = try tree(bad) }
        }
        // unknown fields are skipped, nulls read as absent
        let c = try PersistentVolumeClaim.decode(data: Data(#"{"metadata":{"name":"c","labels":null,"x":{"y":[1,{"z":null}]}},"spec":{"volumeName":null},"extra":1}"#.utf8))
        #expect(c.name == "c" && c.metadata.labels == nil && c.spec.volumeName == nil)
        // a quantity may be a number
        let pv = try PersistentVolume.decode(data: Data(#"{"metadata":{"name":"p"},"spec":{"capacity":{"storage":1073741824}}}"#.utf8))
        #expect(pv.capacityBytes == 1 << 30)
    }

    /// Kubernetes' strict field validation: every key no decoder knows, with its path.
    @Test func unknownFieldsAreNotedWithTheirPaths() throws {
        let body = #"""
        {"apiVersion":"apps/v1","kind":"StatefulSet","colour":"red",
         "metadata":{"name":"web","managedFields":[],"labelz":{}},
         "spec":{"selector":{"matchLabels":{"a":"b"}},
                 "updateStrategy":{"type":"RollingUpdate","rollingUpdate":{"partiton":2}},
                 "template":{"metadata":{"labels":{"a":"b"}},"spec":{"nodeSelecter":{},"containers":[{"name":"c","imagez":"x"}]}},
                 "volumeClaimTemplates":[{"metadata":{"name":"d"},"spec":{"resources":{"requests":{"storage":"1Gi"}}}},
                                         {"metadata":{"name":"e"},"spec":{"resourcez":{}}}]}}
        """#
        let (set, unknown) = try StatefulSet.decodeNotingUnknown(body: Data(body.utf8))
        #expect(set.name == "web")
        // managedFields is Kubernetes' own and dropped quietly; a pod spec's own keys are checked, its
        // containers' are not
        #expect(unknown == ["colour", "metadata.labelz", "spec.updateStrategy.rollingUpdate.partiton", "spec.template.spec.nodeSelecter",
                            "spec.volumeClaimTemplates[1].spec.resourcez"])
        let (_, none) = try PersistentVolumeClaim.decodeNotingUnknown(body: JSON.encode(set.spec.volumeClaimTemplates![0]))
        #expect(none.isEmpty)
    }
}

@Suite struct UUIDFormTests {
    @Test func theLowercaseFormIsFoundationsFormLowercased() {
        for _ in 0..<1000 {
            let id = UUID()
            #expect(id.lowercaseString == id.uuidString.lowercased())
        }
        let fixed = UUID(uuid: (0x00, 0x01, 0x0a, 0xff, 0x10, 0x20, 0x30, 0x40, 0x50, 0x60, 0x70, 0x80, 0x90, 0xa0, 0xb0, 0xc0))
        #expect(fixed.lowercaseString == "00010aff-1020-3040-5060-708090a0b0c0")
    }
}
