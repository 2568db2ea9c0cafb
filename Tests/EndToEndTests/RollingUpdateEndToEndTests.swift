import BerthClient
import BerthModel
import BerthTestSupport
import Foundation
import Testing

/// StatefulSet rolling updates through the real agent and CLI: revisions, the replacement order,
/// partitions, OnDelete, rollbacks and a kill -9 in the middle, each pod keeping its claim, its
/// volume and the data written through its path.
@Suite(.timeLimit(.minutes(3))) struct RollingUpdateEndToEndTests {
    let dir = TemporaryDirectory(prefix: "berth-roll")
    var state: String { dir.sub("state") }

    func set(image: String, replicas: Int = 4, strategy: String = "{type: RollingUpdate}", historyLimit: Int = 10) -> String {
        """
        apiVersion: apps/v1
        kind: StatefulSet
        metadata: {name: web}
        spec:
          serviceName: web
          replicas: \(replicas)
          revisionHistoryLimit: \(historyLimit)
          updateStrategy: \(strategy)
          selector: {matchLabels: {app: web}}
          template:
            metadata: {labels: {app: web}}
            spec:
              containers: [{name: db, image: "\(image)"}]
          volumeClaimTemplates:
          - metadata: {name: data}
            spec:
              accessModes: [ReadWriteOnce]
              resources: {requests: {storage: 1Gi}}
        """
    }

    func cli(_ args: String..., stdin: String? = nil, agent: AgentProcess) throws -> CLIResult {
        let r = try runCLI(args, socket: agent.socket, stdin: stdin)
        #expect(r.status == 0, "berth \(args.joined(separator: " ")) failed: \(r.stderr)")
        return r
    }

    func volumePath(_ pod: String) -> String { "\(state)/pods/default/\(pod)/volumes/data" }

    /// pod → (uid, revision label, image, Running and Ready).
    func pods(_ agent: AgentProcess) async throws -> [String: (uid: String, revision: String, image: String, ready: Bool)] {
        var out: [String: (uid: String, revision: String, image: String, ready: Bool)] = [:]
        for p in try await agent.client.list(.pod, namespace: "default").items where p["metadata"]?["deletionTimestamp"] == nil {
            var ready = p["status"]?["phase"]?.stringValue == "Running"
            if case .array(let conds)? = p["status"]?["conditions"] { ready = ready && conds.contains { $0["type"]?.stringValue == "Ready" && $0["status"]?.stringValue == "True" } }
            var image = ""
            if case .array(let cs)? = p["spec"]?["containers"], let first = cs.first { image = first["image"]?.stringValue ?? "" }
            out[p["metadata"]?["name"]?.stringValue ?? ""] = (p["metadata"]?["uid"]?.stringValue ?? "",
                                                             p["metadata"]?["labels"]?["controller-revision-hash"]?.stringValue ?? "", image, ready)
        }
        return out
    }

    func status(_ agent: AgentProcess) async throws -> JSONValue {
        try await agent.client.get(.statefulSet, namespace: "default", name: "web")?["status"] ?? .null
    }

    /// claim → (claim uid, volume).
    func claims(_ agent: AgentProcess) async throws -> [String: [String]] {
        var out: [String: [String]] = [:]
        for c in try await agent.client.list(.persistentVolumeClaim, namespace: "default").items {
            out[c["metadata"]?["name"]?.stringValue ?? ""] = [c["metadata"]?["uid"]?.stringValue ?? "", c["spec"]?["volumeName"]?.stringValue ?? ""]
        }
        return out
    }

    /// The catalog's revision now, to watch from.
    func revisionNow(_ agent: AgentProcess) async throws -> String {
        try await agent.client.send(.GET, "/api/v1/namespaces/default/pods").json["metadata"]?["resourceVersion"]?.stringValue ?? "0"
    }

    /// Every pod removal since `revision`, in order, as a watch reports them (DELETED events).
    func deletions(_ agent: AgentProcess, since revision: String) async throws -> [String] {
        try await podEvents(agent, since: revision).filter { $0.hasPrefix("DELETED ") }.map { String($0.dropFirst("DELETED ".count)) }
    }

    /// `ADDED web-3`, `DELETED web-2` … since `revision`, as a watch reports them.
    func podEvents(_ agent: AgentProcess, since revision: String) async throws -> [String] {
        let r = try await agent.client.send(.GET, "/api/v1/namespaces/default/pods?watch=true&resourceVersion=\(revision)&timeoutSeconds=1")
        return String(decoding: r.body, as: UTF8.self).split(separator: "\n").compactMap { line -> String? in
            guard let event = try? JSON.parse(Data(line.utf8)), let type = event["type"]?.stringValue, type != "MODIFIED" else { return nil }
            return "\(type) \(event["object"]?["metadata"]?["name"]?.stringValue ?? "")"
        }
    }

    func allOn(_ agent: AgentProcess, image: String, count: Int = 4) async throws -> Bool {
        let p = try await pods(agent)
        return p.count == count && p.values.allSatisfy { $0.image == image && $0.ready }
    }

    /// Starts an agent, makes the 4-replica set and writes one file per replica through its path.
    func startWithData() async throws -> AgentProcess {
        let agent = AgentProcess(stateDir: state)
        try await agent.start()
        _ = try cli("apply", "-f", "-", stdin: set(image: "db:1"), agent: agent)
        _ = try cli("rollout", "status", "statefulset", "web", "--timeout", "30s", agent: agent)
        #expect(try await eventually { try await allOn(agent, image: "db:1") })
        for i in 0..<4 { try "replica \(i)".write(toFile: volumePath("web-\(i)") + "/id", atomically: false, encoding: .utf8) }
        return agent
    }

    func expectDataInPlace(sourceLocation: SourceLocation = #_sourceLocation) {
        for i in 0..<4 {
            let text = try? String(contentsOfFile: volumePath("web-\(i)") + "/id", encoding: .utf8)
            #expect(text == "replica \(i)", "web-\(i) lost its data", sourceLocation: sourceLocation)
        }
    }

    @Test func aTemplateChangeReplacesPodsFromTheHighestOrdinalKeepingTheirVolumesAndUndoReturns() async throws {
        let agent = try await startWithData()
        defer { Task { [agent] in await agent.stop() } }
        let claimsBefore = try await claims(agent)
        let first = try await status(agent)["updateRevision"]?.stringValue ?? ""
        let initial = try await pods(agent)
        #expect(!first.isEmpty && initial.values.allSatisfy { $0.revision == first })

        let from = try await revisionNow(agent)
        _ = try cli("apply", "-f", "-", stdin: set(image: "db:2"), agent: agent)
        let progress = try cli("rollout", "status", "statefulset", "web", "--timeout", "60s", agent: agent).stdout
        // kubectl's words: defaulting adds rollingUpdate.partition 0, so the messages are the partitioned ones
        #expect(progress.hasSuffix("partitioned roll out complete: 4 new pods have been updated...\n"), "\(progress)")
        #expect(try await eventually { try await allOn(agent, image: "db:2") })
        #expect(try await deletions(agent, since: from) == ["web-3", "web-2", "web-1", "web-0"])
        let s = try await status(agent)
        let second = s["updateRevision"]?.stringValue ?? ""
        #expect(second != first && s["currentRevision"]?.stringValue == second)
        #expect(s["updatedReplicas"]?.scalarText == "4" && s["currentReplicas"]?.scalarText == "4" && s["readyReplicas"]?.scalarText == "4")
        let updated = try await pods(agent)
        #expect(updated.values.allSatisfy { $0.revision == second })
        #expect(try await claims(agent) == claimsBefore)
        expectDataInPlace()
        let revisions = try cli("get", "controllerrevisions", agent: agent).stdout
        #expect(revisions.contains(first) && revisions.contains(second) && revisions.contains("statefulset.apps/web"), "\(revisions)")
        // each pod's identity survives the replacement
        let described = try cli("describe", "pod", "web-2", agent: agent).stdout
        #expect(described.contains("DNS Name") && described.contains("web-2.web.default"), "\(described)")

        // undo: back to the first template, in the same order, reusing the first revision
        let beforeUndo = try await revisionNow(agent)
        #expect(try cli("rollout", "undo", "statefulset", "web", agent: agent).stdout == "statefulset.apps/web rolled back\n")
        _ = try cli("rollout", "status", "statefulset", "web", "--timeout", "60s", agent: agent)
        #expect(try await eventually { try await allOn(agent, image: "db:1") })
        #expect(try await deletions(agent, since: beforeUndo) == ["web-3", "web-2", "web-1", "web-0"])
        #expect(try await status(agent)["currentRevision"]?.stringValue == first)
        let history = try cli("rollout", "history", "statefulset", "web", agent: agent).stdout
        #expect(history.contains("REVISION") && history.contains("2 ") && history.contains("3 ") && !history.contains("\n1 "), "\(history)")
        #expect(try await claims(agent) == claimsBefore)
        expectDataInPlace()
    }

    @Test func aPartitionHoldsTheLowerOrdinalsUntilItIsLowered() async throws {
        let agent = try await startWithData()
        defer { Task { [agent] in await agent.stop() } }
        let old = try await status(agent)["currentRevision"]?.stringValue ?? ""
        _ = try cli("apply", "-f", "-", stdin: set(image: "db:2", strategy: "{type: RollingUpdate, rollingUpdate: {partition: 2}}"), agent: agent)
        let partial = try cli("rollout", "status", "statefulset", "web", "--timeout", "60s", agent: agent).stdout
        #expect(partial.contains("partitioned roll out complete: 2 new pods have been updated..."), "\(partial)")
        let p = try await pods(agent)
        #expect(p["web-0"]?.image == "db:1" && p["web-1"]?.image == "db:1" && p["web-2"]?.image == "db:2" && p["web-3"]?.image == "db:2")
        var s = try await status(agent)
        #expect(s["currentRevision"]?.stringValue == old && s["updateRevision"]?.stringValue != old)
        #expect(s["updatedReplicas"]?.scalarText == "2" && s["currentReplicas"]?.scalarText == "2")
        // pods below the partition that are deleted come back on the old revision; while they are
        // gone the update is not complete (every pod left is updated, but not every pod of the set)
        // (a finalizer of the test's own holds both in Terminating at once)
        func setFinalizers(_ pod: String, _ change: ([String]) -> [String]) async throws {
            let path = KindInfo.pod.objectPath(namespace: "default", name: pod)
            let current = try await agent.client.call(.GET, path)["metadata"]?["finalizers"]
            var list: [String] = []
            if case .array(let items)? = current { list = items.compactMap(\.stringValue) }
            let patch: JSONValue = ["metadata": ["finalizers": .array(change(list).map { .string($0) })]]
            _ = try await agent.client.call(.PATCH, path, body: patch, contentType: "application/merge-patch+json")
        }
        for pod in ["web-0", "web-1"] {
            try await setFinalizers(pod) { $0 + ["example.com/hold"] }
            _ = try await agent.client.call(.DELETE, KindInfo.pod.objectPath(namespace: "default", name: pod))
        }
        try await Task.sleep(for: .milliseconds(500))
        #expect(try await status(agent)["currentRevision"]?.stringValue == old, "the update was taken as complete while pods below the partition were going")
        for pod in ["web-0", "web-1"] { try await setFinalizers(pod) { $0.filter { $0 != "example.com/hold" } } }
        #expect(try await eventually { let p = try await pods(agent); return p.count == 4 && p.values.allSatisfy(\.ready) })
        let back = try await pods(agent)
        #expect(back["web-0"]?.image == "db:1" && back["web-1"]?.image == "db:1" && back["web-0"]?.revision == old, "\(back)")
        #expect(try await status(agent)["currentRevision"]?.stringValue == old)

        _ = try cli("apply", "-f", "-", stdin: set(image: "db:2", strategy: "{type: RollingUpdate, rollingUpdate: {partition: 0}}"), agent: agent)
        _ = try cli("rollout", "status", "statefulset", "web", "--timeout", "60s", agent: agent)
        #expect(try await eventually { try await allOn(agent, image: "db:2") })
        s = try await status(agent)
        #expect(s["currentRevision"]?.stringValue == s["updateRevision"]?.stringValue && s["updatedReplicas"]?.scalarText == "4")
        expectDataInPlace()
    }

    @Test func onDeleteMovesAPodOnlyWhenItIsDeleted() async throws {
        let agent = AgentProcess(stateDir: state)
        try await agent.start()
        defer { Task { [agent] in await agent.stop() } }
        _ = try cli("apply", "-f", "-", stdin: set(image: "db:1", strategy: "{type: OnDelete}"), agent: agent)
        #expect(try await eventually { try await allOn(agent, image: "db:1") })
        for i in 0..<4 { try "replica \(i)".write(toFile: volumePath("web-\(i)") + "/id", atomically: false, encoding: .utf8) }
        let before = try await pods(agent)
        _ = try cli("apply", "-f", "-", stdin: set(image: "db:2", strategy: "{type: OnDelete}"), agent: agent)
        #expect(try await eventually { try await status(agent)["updateRevision"]?.stringValue != before["web-0"]?.revision })
        try await Task.sleep(for: .seconds(2)) // several passes: nothing may move
        var now = try await pods(agent)
        #expect(now.mapValues(\.uid) == before.mapValues(\.uid) && now.values.allSatisfy { $0.image == "db:1" })
        #expect(try await status(agent)["updatedReplicas"]?.scalarText == "0")

        _ = try cli("delete", "pod", "web-1", agent: agent)
        #expect(try await eventually { (try await pods(agent))["web-1"].map { $0.ready && $0.image == "db:2" && $0.uid != before["web-1"]?.uid } ?? false })
        now = try await pods(agent)
        for other in ["web-0", "web-2", "web-3"] { #expect(now[other]?.uid == before[other]?.uid && now[other]?.image == "db:1") }
        #expect(try await status(agent)["updatedReplicas"]?.scalarText == "1")
        let refused = try runCLI(["rollout", "status", "statefulset", "web"], socket: agent.socket)
        #expect(refused.status != 0 && refused.stderr.contains("only available for RollingUpdate"))
        expectDataInPlace()
    }

    @Test func aKill9MidUpdateResumesInOrderReplacingNoPodTwice() async throws {
        var agent = try await startWithData()
        let claimsBefore = try await claims(agent)
        let from = try await revisionNow(agent)
        await agent.stop()
        // crash right after the first replacement is committed (web-3 deleted, not yet made again)
        agent = AgentProcess(stateDir: state)
        try await agent.start(failpoint: "after-rolling-update-delete")
        _ = try runCLI(["apply", "-f", "-"], socket: agent.socket, stdin: set(image: "db:2")) // its answer may be lost to the crash
        #expect(await agent.waitForExit(timeout: .seconds(30)) == SIGKILL, "the first failpoint was not hit")
        // and again after the next one (web-3 is back on the new revision, web-2 deleted)
        agent = AgentProcess(stateDir: state)
        try? await agent.start(failpoint: "after-rolling-update-delete")
        #expect(await agent.waitForExit(timeout: .seconds(30)) == SIGKILL, "the second failpoint was not hit")
        agent = AgentProcess(stateDir: state)
        try await agent.start()
        defer { Task { [agent] in await agent.stop() } }
        _ = try cli("rollout", "status", "statefulset", "web", "--timeout", "60s", agent: agent)
        #expect(try await eventually { try await allOn(agent, image: "db:2") })
        #expect(try await deletions(agent, since: from) == ["web-3", "web-2", "web-1", "web-0"])
        #expect(try await claims(agent) == claimsBefore)
        expectDataInPlace()
    }

    @Test func maxUnavailableReplacesThatManyPodsAtOnce() async throws {
        let agent = try await startWithData()
        defer { Task { [agent] in await agent.stop() } }
        let from = try await revisionNow(agent)
        _ = try cli("apply", "-f", "-", stdin: set(image: "db:2", strategy: "{type: RollingUpdate, rollingUpdate: {maxUnavailable: 2}}"), agent: agent)
        _ = try cli("rollout", "status", "statefulset", "web", "--timeout", "60s", agent: agent)
        #expect(try await eventually { try await allOn(agent, image: "db:2") })
        let events = try await podEvents(agent, since: from)
        // the two highest first (together, so either may be gone first), then the two lowest
        let deleted = events.filter { $0.hasPrefix("DELETED") }
        #expect(deleted.count == 4 && Set(deleted.prefix(2)) == ["DELETED web-3", "DELETED web-2"] && Set(deleted.suffix(2)) == ["DELETED web-1", "DELETED web-0"], "\(events)")
        // two at a time: web-2 goes before web-3 is back, web-0 before web-1 is back
        let index = { (e: String) in events.firstIndex(of: e) ?? Int.max }
        #expect(index("DELETED web-2") < index("ADDED web-3") && index("DELETED web-3") < index("ADDED web-2"), "not two at once: \(events)")
        #expect(index("DELETED web-0") < index("ADDED web-1") && index("DELETED web-1") < index("ADDED web-0"), "not two at once: \(events)")
        #expect(max(index("ADDED web-3"), index("ADDED web-2")) < min(index("DELETED web-1"), index("DELETED web-0")),
                "more than two pods were down at once: \(events)")
        expectDataInPlace()
    }

    @Test func revisionHistoryLimitKeepsThatManyOldRevisions() async throws {
        let agent = AgentProcess(stateDir: state)
        try await agent.start()
        defer { Task { [agent] in await agent.stop() } }
        for version in 1...4 {
            _ = try cli("apply", "-f", "-", stdin: set(image: "db:\(version)", replicas: 2, historyLimit: 1), agent: agent)
            _ = try cli("rollout", "status", "statefulset", "web", "--timeout", "60s", agent: agent)
            #expect(try await eventually { try await allOn(agent, image: "db:\(version)", count: 2) })
        }
        // the current revision (4) and one more (3); 1 and 2 are gone
        let numbers = try await agent.client.list(.controllerRevision, namespace: "default").items.compactMap { $0["revision"]?.scalarText }.sorted()
        #expect(numbers == ["3", "4"])
        let history = try cli("rollout", "history", "statefulset", "web", agent: agent).stdout
        #expect(history.contains("\n3 ") && history.contains("\n4 ") && !history.contains("\n2 "), "\(history)")
        // deleting the set takes its revisions with it (garbage collection by ownerReference)
        _ = try cli("delete", "statefulset", "web", agent: agent)
        #expect(try await eventually { try await agent.client.list(.controllerRevision, namespace: "default").items.isEmpty })
    }
}
