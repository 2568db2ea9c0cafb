import BerthModel
import Testing

@Suite struct BindingRuleTests {
    func pv(_ name: String, _ size: String, modes: [String] = ["ReadWriteOnce"], cls: String = "", labels: [String: String]? = nil,
            phase: String = "Available") throws -> PersistentVolume {
        var v = PersistentVolume(name: name)
        v.spec.capacity = ["storage": try Quantity(parsing: size)]
        v.spec.accessModes = modes
        v.spec.storageClassName = cls
        v.metadata.labels = labels
        v.applyDefaults()
        v.status = .init(phase: phase)
        return v
    }

    func claim(_ size: String, modes: [String] = ["ReadWriteOnce"], cls: String? = "", selector: LabelSelector? = nil) throws -> PersistentVolumeClaim {
        var c = PersistentVolumeClaim(namespace: "ns", name: "c")
        c.metadata.uid = "uid-c"
        c.spec.accessModes = modes
        c.spec.resources = .init(requests: ["storage": try Quantity(parsing: size)])
        c.spec.storageClassName = cls
        c.spec.selector = selector
        c.applyDefaults()
        return c
    }

    @Test func smallestFittingWinsWithinAGroup() throws {
        let c = try claim("5Gi")
        let best = Binding.best(among: [[try pv("a", "10Gi"), try pv("b", "5Gi"), try pv("c", "4Gi")]], for: c)
        #expect(best?.name == "b")
    }

    @Test func fewerAccessModesBeatSmallerSize() throws {
        // a 100Gi [RWO] beats a 10Gi [RWO,ROX] for an RWO claim, as in Kubernetes' index search
        let c = try claim("1Gi")
        let groups = [[try pv("big", "100Gi")], [try pv("small", "10Gi", modes: ["ReadWriteOnce", "ReadOnlyMany"])]]
        #expect(Binding.best(among: groups, for: c)?.name == "big")
    }

    @Test func emptyClassMatchesOnlyEmptyClass() throws {
        #expect(!Binding.isCandidate(try pv("a", "1Gi", cls: "fast"), for: try claim("1Gi", cls: "")))
        #expect(Binding.isCandidate(try pv("a", "1Gi", cls: ""), for: try claim("1Gi", cls: nil)))
        #expect(Binding.isCandidate(try pv("a", "1Gi", cls: "fast"), for: try claim("1Gi", cls: "fast")))
    }

    @Test func selectorExpressionsFilter() throws {
        let sel = LabelSelector(matchExpressions: [.init(key: "tier", operator: "In", values: ["fast"])])
        #expect(Binding.isCandidate(try pv("a", "1Gi", labels: ["tier": "fast"]), for: try claim("1Gi", selector: sel)))
        #expect(!Binding.isCandidate(try pv("a", "1Gi", labels: ["tier": "slow"]), for: try claim("1Gi", selector: sel)))
    }

    @Test func releasedVolumeIsNeverACandidate() throws {
        var v = try pv("a", "1Gi", phase: "Released")
        v.spec.claimRef = ObjectReference(namespace: "ns", name: "old", uid: "uid-old")
        #expect(!Binding.isCandidate(v, for: try claim("1Gi")))
    }

    @Test func prebindingIgnoresSelectorAndClassButNotSize() throws {
        var v = try pv("a", "1Gi", cls: "other", labels: ["x": "y"], phase: "Available")
        v.spec.claimRef = ObjectReference(namespace: "ns", name: "c")
        let sel = LabelSelector(matchLabels: ["tier": "fast"])
        #expect(Binding.isCandidate(v, for: try claim("1Gi", selector: sel)))
        #expect(!Binding.isCandidate(v, for: try claim("2Gi")))
        var other = v
        other.spec.claimRef?.name = "someone-else"
        #expect(!Binding.isCandidate(other, for: try claim("1Gi")))
    }

    @Test func blockBindsOnlyToBlock() throws {
        var v = try pv("a", "1Gi")
        v.spec.volumeMode = "Block"
        #expect(!Binding.isCandidate(v, for: try claim("1Gi")))
    }

    @Test func bindSetsBothSides() throws {
        var v = try pv("a", "2Gi")
        var c = try claim("1Gi")
        Binding.bind(&v, &c)
        #expect(v.spec.claimRef?.uid == "uid-c")
        #expect(v.phase == "Bound")
        #expect(c.volumeName == "a")
        #expect(c.phase == "Bound")
        #expect(c.status?.capacity?["storage"]?.description == "2Gi")
        #expect(c.metadata.annotation(Keys.bindCompleted) == "yes")
        #expect(c.metadata.annotation(Keys.boundByController) == "yes")
    }

    @Test func defaultClassIsTheNewestThenByName() {
        var a = StorageClass(name: "a", provisioner: "p", isDefault: true)
        a.metadata.creationTimestamp = "2026-01-01T00:00:00Z"
        var b = StorageClass(name: "b", provisioner: "p", isDefault: true)
        b.metadata.creationTimestamp = "2026-02-01T00:00:00Z"
        var c = StorageClass(name: "c", provisioner: "p")
        c.metadata.creationTimestamp = "2026-03-01T00:00:00Z"
        #expect(defaultStorageClass([a, b, c])?.name == "b")
    }
}
