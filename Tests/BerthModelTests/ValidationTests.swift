import BerthModel
import Foundation
import Testing

@Suite struct ValidationTests {
    func claim(name: String = "data", storage: String = "1Gi", modes: [String] = ["ReadWriteOnce"]) throws -> PersistentVolumeClaim {
        let yaml = """
            apiVersion: v1
            kind: PersistentVolumeClaim
            metadata: {name: "\(name)", namespace: default}
            spec:
              accessModes: [\(modes.joined(separator: ","))]
              resources: {requests: {storage: "\(storage)"}}
            """
        return try PersistentVolumeClaim.decode(Manifest.documents(from: yaml, source: "t")[0])
    }

    @Test(arguments: ["../x", "Data", String(repeating: "a", count: 300), "-data", "da_ta", ""])
    func rejectsInvalidNames(name: String) throws {
        let errors = try claim(name: name).validate()
        #expect(errors.contains { $0.field == "metadata.name" })
    }

    @Test(arguments: ["data", "a.b-c", "0abc"])
    func acceptsValidNames(name: String) throws {
        #expect(try claim(name: name).validate().isEmpty)
    }

    @Test func rejectsZeroRequestNamingTheField() throws {
        let errors = try claim(storage: "0").validate()
        #expect(errors.map(\.field) == ["spec.resources.requests.storage"])
        #expect(errors[0].message.contains("must be greater than 0"))
    }

    @Test func rejectsMalformedQuantityWithFieldPath() {
        #expect {
            _ = try claim(storage: "1GB")
        } throws: { error in
            let e = error as? BerthError
            return e?.code == .invalid && e!.message.contains("spec.resources.requests.storage") && e!.message.contains("1GB")
        }
    }

    @Test func rejectsUnknownAccessModeAndRWOPMix() throws {
        #expect(try claim(modes: ["ReadWriteSometimes"]).validate().contains { $0.field == "spec.accessModes" })
        #expect(try claim(modes: ["ReadWriteOncePod", "ReadWriteOnce"]).validate().contains { $0.message.contains("ReadWriteOncePod") })
    }

    @Test func labelKeysAndValuesFollowKubernetes() {
        #expect(Validation.qualifiedNameProblems("example.com/My_Name").isEmpty)
        #expect(!Validation.qualifiedNameProblems("a/b/c").isEmpty)
        #expect(!Validation.qualifiedNameProblems("-bad").isEmpty)
        #expect(Validation.labelValueProblems("").isEmpty)
        #expect(!Validation.labelValueProblems(String(repeating: "v", count: 64)).isEmpty)
    }

    @Test func claimSpecIsImmutableExceptRequestsWhenBound() throws {
        var old = try claim()
        old.status = .init(phase: "Bound")
        var grown = old
        grown.spec.resources?.requests?["storage"] = try Quantity(parsing: "2Gi")
        #expect(grown.validateUpdate(from: old).isEmpty)
        var shrunk = old
        shrunk.spec.resources?.requests?["storage"] = try Quantity(parsing: "512Mi")
        #expect(shrunk.validateUpdate(from: old).contains { $0.message.contains("less than previous") })
        var changed = old
        changed.spec.accessModes = ["ReadWriteMany"]
        #expect(!changed.validateUpdate(from: old).isEmpty)
    }

    @Test func defaultsAsKubernetesDoes() throws {
        var pv = PersistentVolume(name: "v")
        pv.applyDefaults()
        #expect(pv.spec.persistentVolumeReclaimPolicy == "Retain")
        #expect(pv.spec.volumeMode == "Filesystem")
        var sc = StorageClass(name: "c", provisioner: "berth.io/hostpath")
        sc.applyDefaults()
        #expect(sc.reclaimPolicy == "Delete")
        #expect(sc.volumeBindingMode == "Immediate")
    }
}

@Suite struct ManifestTests {
    @Test func readsMultiDocumentYAMLAndLists() throws {
        let yaml = """
            apiVersion: v1
            kind: PersistentVolumeClaim
            metadata: {name: a}
            ---
            # comment only
            ---
            apiVersion: v1
            kind: List
            items:
            - {apiVersion: v1, kind: PersistentVolume, metadata: {name: b}}
            """
        let docs = try Manifest.documents(from: yaml, source: "f.yaml")
        #expect(docs.count == 2)
        #expect(docs[1]["kind"]?.stringValue == "PersistentVolume")
    }

    @Test func readsJSON() throws {
        let docs = try Manifest.documents(from: #"{"apiVersion":"v1","kind":"Node","metadata":{"name":"n"}}"#, source: "f.json")
        #expect(docs.count == 1)
    }

    @Test func malformedYAMLNamesTheFile() {
        #expect {
            _ = try Manifest.documents(from: "kind: \"unterminated\nmetadata: {name: x", source: "broken.yaml")
        } throws: { ($0 as? BerthError)?.message.contains("broken.yaml") == true }
    }

    @Test func unknownKindIsNamed() throws {
        let doc = try Manifest.documents(from: "apiVersion: v1\nkind: Secret\nmetadata: {name: s}", source: "s.yaml")[0]
        #expect {
            _ = try Manifest.kindInfo(of: doc, source: "s.yaml")
        } throws: { ($0 as? BerthError)?.message.contains("unknown kind 'Secret'") == true }
    }

    @Test func mergePatchFollowsRFC7386() throws {
        let a = try JSON.decode(JSONValue.self, from: Data(#"{"a":1,"b":{"c":2,"d":3},"e":[1]}"#.utf8))
        let p = try JSON.decode(JSONValue.self, from: Data(#"{"b":{"c":null,"x":9},"e":[2],"f":"new"}"#.utf8))
        let want = try JSON.decode(JSONValue.self, from: Data(#"{"a":1,"b":{"d":3,"x":9},"e":[2],"f":"new"}"#.utf8))
        #expect(a.merged(with: p) == want)
    }
}

@Suite struct SelectorTests {
    @Test func matchExpressionsFollowKubernetes() {
        let labels = ["tier": "fast", "zone": "a"]
        #expect(LabelSelector.Requirement(key: "tier", operator: "In", values: ["fast", "slow"]).matches(labels))
        #expect(!LabelSelector.Requirement(key: "tier", operator: "NotIn", values: ["fast"]).matches(labels))
        #expect(LabelSelector.Requirement(key: "missing", operator: "NotIn", values: ["x"]).matches(labels))
        #expect(LabelSelector.Requirement(key: "zone", operator: "Exists").matches(labels))
        #expect(LabelSelector.Requirement(key: "gpu", operator: "DoesNotExist").matches(labels))
        #expect(LabelSelector().matches(labels), "an empty selector matches everything")
    }

    @Test func parsesTheStringForm() throws {
        let s = try LabelSelector.parse("app=db, tier!=cache,zone in (a, b),!gpu,ssd")
        #expect(s.matches(["app": "db", "zone": "b", "ssd": "1"]))
        #expect(!s.matches(["app": "db", "zone": "c", "ssd": "1"]))
        #expect(!s.matches(["app": "db", "zone": "a", "ssd": "1", "gpu": "y"]))
        #expect(throws: BerthError.self) { try LabelSelector.parse("a in b") }
    }

    @Test func accessModeSupersetsComeFewestFirst() {
        let rwo = AccessModeSet(["ReadWriteOnce"])
        let groups = rwo.supersets
        #expect(groups.first == rwo)
        #expect(groups.allSatisfy { $0.contains(rwo) })
        #expect(groups.count == 8)
        #expect(groups.map(\.count) == groups.map(\.count).sorted())
    }
}

@Suite struct JSONParseTests {
    @Test func keepsBooleansIntegersAndDoublesApart() throws {
        let v = try JSON.parse(Data(#"{"a":true,"b":1,"c":1.5,"d":"x","e":null,"f":[false,0],"g":9007199254740993}"#.utf8))
        #expect(v["a"] == .bool(true))
        #expect(v["b"] == .int(1))
        #expect(v["c"] == .double(1.5))
        #expect(v["d"] == .string("x"))
        #expect(v["e"] == .null)
        #expect(v["f"] == .array([.bool(false), .int(0)]))
        #expect(v["g"] == .int(9_007_199_254_740_993))
        #expect(throws: BerthError.self) { try JSON.parse(Data("{".utf8)) }
    }
}
