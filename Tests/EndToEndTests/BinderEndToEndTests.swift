import BerthClient
import BerthModel
import BerthTestSupport
import Foundation
import Testing

/// Kubernetes' binding rules, through the real agent and CLI.
@Suite(.timeLimit(.minutes(3))) struct BinderEndToEndTests {
    let dir = TemporaryDirectory(prefix: "berth-e2e")

    func pv(_ name: String, _ size: String, modes: String = "[ReadWriteOnce]", cls: String = "\"\"",
            labels: String = "{}", claimRef: String? = nil) -> String {
        ManifestText.pv(name, size, modes: modes, cls: cls, labels: labels, directory: dir.sub("static"),
                        extra: claimRef.map { "  claimRef: \($0)" } ?? "")
    }

    func pvc(_ name: String, _ size: String, modes: String = "[ReadWriteOnce]", cls: String? = "\"\"", extra: String = "") -> String {
        ManifestText.pvc(name, size, modes: modes, cls: cls, extra: extra)
    }

    @Test func bindingRulesHoldThroughTheAgent() async throws {
        let agent = AgentProcess(stateDir: dir.sub("state"))
        try await agent.start()
        let volumes = pv("big", "10Gi") + pv("fit", "5Gi") + pv("tiny", "1Gi")
            + pv("rwx", "20Gi", modes: "[ReadWriteOnce, ReadWriteMany]")
            + pv("gold", "3Gi", cls: "gold-class", labels: "{tier: gold}")
            + pv("labelled", "8Gi", labels: "{tier: fast, zone: a}")
            + pv("reserved", "2Gi", claimRef: "{namespace: default, name: wants-reserved}")
            + pv("named", "9Gi")
        #expect(try runCLI(["apply", "-f", "-"], socket: agent.socket, stdin: volumes).status == 0)
        try await Task.sleep(for: .milliseconds(300))
        let claims = pvc("smallest", "4Gi")
            + pvc("needs-rwx", "1Gi", modes: "[ReadWriteMany]")
            + pvc("selective", "1Gi", extra: "  selector: {matchExpressions: [{key: tier, operator: In, values: [fast]}, {key: zone, operator: NotIn, values: [b]}]}")
            + pvc("no-class-match", "2Gi", cls: "gold-missing-class-is-not-provisioned", extra: "")
            + pvc("wants-reserved", "1Gi")
            + pvc("by-name", "1Gi", extra: "  volumeName: named")
        let applied = try runCLI(["apply", "-f", "-"], socket: agent.socket, stdin: claims)
        #expect(applied.status == 0, "\(applied.stderr)")
        let api = agent.client
        func volumeOf(_ claim: String) async throws -> String? {
            let c = try await api.get(.persistentVolumeClaim, namespace: "default", name: claim)
            return c?["status"]?["phase"]?.stringValue == "Bound" ? c?["spec"]?["volumeName"]?.stringValue : nil
        }
        #expect(try await eventually { try await volumeOf("by-name") != nil })
        #expect(try await volumeOf("smallest") == "fit")
        #expect(try await volumeOf("needs-rwx") == "rwx")
        #expect(try await volumeOf("selective") == "labelled")
        #expect(try await volumeOf("wants-reserved") == "reserved")
        #expect(try await volumeOf("by-name") == "named")
        #expect(try await volumeOf("no-class-match") == nil)
        // the empty class never takes a classed volume, and a Released volume is not rebound
        #expect(try runCLI(["delete", "pvc", "smallest"], socket: agent.socket).status == 0)
        #expect(try await eventually {
            try await api.get(.persistentVolume, namespace: nil, name: "fit")?["status"]?["phase"]?.stringValue == "Released"
        })
        #expect(try runCLI(["apply", "-f", "-"], socket: agent.socket, stdin: pvc("smallest", "4Gi")).status == 0)
        #expect(try await eventually { try await volumeOf("smallest") == "big" })
        #expect(try await api.get(.persistentVolume, namespace: nil, name: "gold")?["status"]?["phase"]?.stringValue == "Available")
        await agent.stop()
    }

    @Test func deletingAClaimRemovesItsDirectoryButNotAPlantedSymlinksTarget() async throws {
        let agent = AgentProcess(stateDir: dir.sub("state"))
        try await agent.start()
        let outside = dir.sub("outside")
        try FileManager.default.createDirectory(atPath: outside, withIntermediateDirectories: true)
        try Data("must survive".utf8).write(to: URL(fileURLWithPath: outside + "/precious"))
        let created = try runCLI(["volume", "create", "victim", "--size", "1Gi"], socket: agent.socket)
        #expect(created.status == 0, "\(created.stderr)")
        let path = created.stdout.split(separator: "\n").last.map(String.init) ?? ""
        try FileManager.default.createSymbolicLink(atPath: path + "/escape", withDestinationPath: outside)
        try FileManager.default.createSymbolicLink(atPath: path + "/escape-file", withDestinationPath: outside + "/precious")
        let deleted = try runCLI(["delete", "pvc", "victim"], socket: agent.socket)
        #expect(deleted.status == 0)
        #expect(try await eventually { !FileManager.default.fileExists(atPath: path) })
        #expect(try await eventually { try await agent.client.list(.persistentVolume, namespace: nil).items.isEmpty })
        #expect(try String(contentsOfFile: outside + "/precious", encoding: .utf8) == "must survive")
        await agent.stop()
    }

    @Test func aBoundVolumeIsNotRemovedUnderItsClaim() async throws {
        let agent = AgentProcess(stateDir: dir.sub("state"))
        try await agent.start()
        #expect(try runCLI(["apply", "-f", "-"], socket: agent.socket, stdin: pv("kept", "1Gi") + pvc("user", "1Gi")).status == 0)
        let api = agent.client
        #expect(try await eventually {
            try await api.get(.persistentVolumeClaim, namespace: "default", name: "user")?["status"]?["phase"]?.stringValue == "Bound"
        })
        let deleted = try runCLI(["delete", "pv", "kept", "--wait", "false"], socket: agent.socket)
        #expect(deleted.status == 0, "\(deleted.stderr)")
        try await Task.sleep(for: .milliseconds(500))
        let pvNow = try await api.get(.persistentVolume, namespace: nil, name: "kept")
        #expect(pvNow?["metadata"]?["deletionTimestamp"] != nil)
        #expect(pvNow?["status"]?["phase"]?.stringValue == "Bound")
        #expect(try await api.get(.persistentVolumeClaim, namespace: "default", name: "user")?["status"]?["phase"]?.stringValue == "Bound")
        // shown as kubectl shows it: Terminating, and for how long
        let listed = try runCLI(["get", "pv", "kept"], socket: agent.socket).stdout
        #expect(listed.contains("Terminating"), "\(listed)")
        #expect(try runCLI(["describe", "pv", "kept"], socket: agent.socket).stdout.contains("Terminating (lasts"))
        // deleting the file that made both: every deletion is asked for before any is waited for,
        // so the volume (listed first) is not waited for while its claim still exists
        let both = try runCLI(["delete", "-f", "-", "--timeout", "30s"], socket: agent.socket, stdin: pv("kept", "1Gi") + pvc("user", "1Gi"))
        #expect(both.status == 0, "\(both.stderr)")
        #expect(try await api.get(.persistentVolume, namespace: nil, name: "kept") == nil)
        #expect(try await api.get(.persistentVolumeClaim, namespace: "default", name: "user") == nil)
        await agent.stop()
    }

    @Test func batchApplyIsAllOrNothingOnTheServer() async throws {
        let agent = AgentProcess(stateDir: dir.sub("state"))
        try await agent.start()
        #expect(try runCLI(["create", "-f", "-"], socket: agent.socket, stdin: pvc("exists", "1Gi")).status == 0)
        // the first item is fine, the second collides only when written: nothing may be applied
        let body = try jsonValue(#"{"mode":"create","items":[{"apiVersion":"v1","kind":"PersistentVolumeClaim","metadata":{"name":"fresh"},"spec":{"accessModes":["ReadWriteOnce"],"storageClassName":"","resources":{"requests":{"storage":"1Gi"}}}},{"apiVersion":"v1","kind":"PersistentVolumeClaim","metadata":{"name":"exists"},"spec":{"accessModes":["ReadWriteOnce"],"storageClassName":"","resources":{"requests":{"storage":"1Gi"}}}}]}"#)
        await #expect {
            _ = try await agent.client.call(.POST, "/apis/berth.io/v1/apply", body: body)
        } throws: { e in
            let error = e as? BerthError
            return error?.code == .alreadyExists && error!.message.contains("item 2") && error!.message.contains("nothing was applied")
        }
        #expect(try await agent.client.get(.persistentVolumeClaim, namespace: "default", name: "fresh") == nil)
        let cli = try runCLI(["create", "-f", "-"], socket: agent.socket, stdin: pvc("fresh", "1Gi") + pvc("exists", "1Gi"))
        #expect(cli.status != 0 && cli.stderr.contains("already exists") && cli.stderr.contains("berth apply"))
        #expect(try await agent.client.get(.persistentVolumeClaim, namespace: "default", name: "fresh") == nil)
        let names = try await agent.client.list(.persistentVolumeClaim, namespace: "default").items.compactMap { $0["metadata"]?["name"]?.stringValue }
        #expect(names == ["exists"])
        await agent.stop()
    }

    @Test func getWatchStreamsChanges() async throws {
        let agent = AgentProcess(stateDir: dir.sub("state"))
        try await agent.start()
        let p = Process()
        p.executableURL = URL(fileURLWithPath: BerthBinary.path)
        p.arguments = ["get", "pvc", "-w", "--socket", agent.socket]
        let out = Pipe()
        p.standardOutput = out
        try p.run()
        try await Task.sleep(for: .milliseconds(300))
        #expect(try runCLI(["volume", "create", "streamed", "--size", "1Gi"], socket: agent.socket).status == 0)
        try await Task.sleep(for: .milliseconds(500))
        p.terminate()
        p.waitUntilExit()
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(text.contains("streamed   Pending") || text.contains("streamed"))
        #expect(text.contains("Bound"))
        await agent.stop()
    }
}

@Suite(.timeLimit(.minutes(2))) struct SelectiveWatchTests {
    let dir = TemporaryDirectory(prefix: "berth-e2e")

    @Test func objectsEnteringAndLeavingASelectorAreAddedAndDeleted() async throws {
        let agent = AgentProcess(stateDir: dir.sub("state"))
        try await agent.start()
        let api = agent.client
        #expect(try runCLI(["apply", "-f", "-"], socket: agent.socket,
                           stdin: ManifestText.pv("v1", "1Gi", labels: "{tier: gold}")).status == 0)
        // from the list's version, so that the watch covers every change below however late it connects
        let from = try await api.send(.GET, "/api/v1/persistentvolumes").json["metadata"]?["resourceVersion"]?.stringValue ?? "0"
        let watcher = collectWatch(api, "/api/v1/persistentvolumes?watch=true&labelSelector=tier%3Dgold&resourceVersion=\(from)", until: "ADDED v2")
        let patch = try jsonValue(#"{"metadata":{"labels":{"tier":"bronze"}}}"#)
        _ = try await api.call(.PATCH, "/api/v1/persistentvolumes/v1", body: patch, contentType: "application/merge-patch+json")
        #expect(try runCLI(["apply", "-f", "-"], socket: agent.socket,
                           stdin: ManifestText.pv("v2", "1Gi", labels: "{tier: bronze}")).status == 0)
        let back = try jsonValue(#"{"metadata":{"labels":{"tier":"gold"}}}"#)
        _ = try await api.call(.PATCH, "/api/v1/persistentvolumes/v2", body: back, contentType: "application/merge-patch+json")
        let seen = try await watcher.value
        // v1 left the selector; v2, made after the watch's version, entered it
        #expect(seen.filter { $0.hasSuffix(" v1") || $0.hasSuffix(" v2") }.suffix(2) == ["DELETED v1", "ADDED v2"], "\(seen)")
        // a watch from now starts with what matches now, as ADDED
        let fresh = collectWatch(api, "/api/v1/persistentvolumes?watch=true&labelSelector=tier%3Dgold", until: "ADDED v2")
        #expect(try await fresh.value == ["ADDED v2"])
        await agent.stop()
    }
}
