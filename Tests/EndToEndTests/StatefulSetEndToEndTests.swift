import BerthClient
import BerthModel
import BerthTestSupport
import Foundation
import Testing

/// StatefulSets through the real agent: one stable volume per ordinal, seen as real directories
/// under each pod's path, through scaling, pod deletion, restarts, kill -9 and node loss.
@Suite(.timeLimit(.minutes(3))) struct StatefulSetEndToEndTests {
    let dir = TemporaryDirectory(prefix: "berth-sts")
    var state: String { dir.sub("state") }

    func set(_ name: String = "web", replicas: Int, start: Int? = nil, policy: String = "OrderedReady",
             whenScaled: String = "Retain", whenDeleted: String = "Retain", cls: String? = nil) -> String {
        ManifestText.statefulSet(name, replicas: replicas, start: start, policy: policy, whenScaled: whenScaled,
                                 whenDeleted: whenDeleted, cls: cls)
    }

    func cli(_ args: [String], _ agent: AgentProcess, stdin: String? = nil) throws -> CLIResult {
        try runCLI(args, socket: agent.socket, stdin: stdin)
    }

    func volumePath(_ pod: String, _ volume: String = "data") -> String { "\(state)/pods/default/\(pod)/volumes/\(volume)" }

    /// Pods of a set that are Running and Ready, by name.
    func running(_ agent: AgentProcess) async throws -> Set<String> {
        Set(try await agent.client.list(.pod, namespace: "default").items.filter {
            $0["status"]?["phase"]?.stringValue == "Running" && $0["metadata"]?["deletionTimestamp"] == nil
        }.compactMap { $0["metadata"]?["name"]?.stringValue })
    }

    /// claim name → bound PV name.
    func bindings(_ agent: AgentProcess) async throws -> [String: String] {
        var out: [String: String] = [:]
        for c in try await agent.client.list(.persistentVolumeClaim, namespace: "default").items {
            out[c["metadata"]?["name"]?.stringValue ?? ""] = c["spec"]?["volumeName"]?.stringValue ?? ""
        }
        return out
    }

    func waitRunning(_ agent: AgentProcess, _ names: Set<String>, timeout: Duration = .seconds(30)) async throws -> Bool {
        try await eventually(timeout: timeout) { try await running(agent) == names }
    }

    @Test func eachOrdinalKeepsItsVolumeThroughScalingDeletionRestartAndKill9() async throws {
        var agent = AgentProcess(stateDir: state)
        try await agent.start()
        #expect(try cli(["apply", "-f", "-"], agent, stdin: set(replicas: 3)).status == 0)
        #expect(try await waitRunning(agent, ["web-0", "web-1", "web-2"]))
        let original = try await bindings(agent)
        #expect(Set(original.keys) == ["data-web-0", "data-web-1", "data-web-2"])
        #expect(original.values.allSatisfy { !$0.isEmpty })
        try "replica one".write(toFile: volumePath("web-1") + "/f", atomically: false, encoding: .utf8)
        func readOne() -> String? { try? String(contentsOfFile: volumePath("web-1") + "/f", encoding: .utf8) }
        func othersClean() -> Bool {
            ["web-0", "web-2", "web-3", "web-4", "web-5"].allSatisfy { !FileManager.default.fileExists(atPath: volumePath($0) + "/f") }
        }

        // scale to 1 and back to 3: the claims stay, web-1 gets its data back
        #expect(try cli(["scale", "statefulset", "web", "--replicas", "1"], agent).status == 0)
        #expect(try await waitRunning(agent, ["web-0"]))
        // the pod's directory goes with it (its bind mount comes off first)
        #expect(try await eventually { !FileManager.default.fileExists(atPath: "\(state)/pods/default/web-1") })
        #expect(try await bindings(agent) == original)
        #expect(try cli(["scale", "sts/web", "--replicas", "3"], agent).status == 0)
        #expect(try await waitRunning(agent, ["web-0", "web-1", "web-2"]))
        #expect(readOne() == "replica one")
        #expect(othersClean())

        // a deleted pod comes back with the same name and claim
        let oldUID = try await agent.client.get(.pod, namespace: "default", name: "web-1")?["metadata"]?["uid"]?.stringValue
        #expect(try cli(["delete", "pod", "web-1"], agent).status == 0)
        #expect(try await eventually {
            let p = try await agent.client.get(.pod, namespace: "default", name: "web-1")
            return p?["metadata"]?["uid"]?.stringValue != oldUID && p?["status"]?["phase"]?.stringValue == "Running"
        })
        #expect(readOne() == "replica one")

        // restart
        await agent.stop()
        agent = AgentProcess(stateDir: state)
        try await agent.start()
        #expect(try await waitRunning(agent, ["web-0", "web-1", "web-2"]))
        #expect(readOne() == "replica one")

        // kill -9 during a scale-up from 3 to 6 (Parallel would be faster; OrderedReady has more steps to interrupt)
        #expect(try cli(["scale", "statefulset", "web", "--replicas", "6"], agent).status == 0)
        try await Task.sleep(for: .milliseconds(150))
        await agent.kill()
        agent = AgentProcess(stateDir: state)
        try await agent.start()
        // OrderedReady: three more pods, one after the other, on a machine busy with the other suites
        let converged = try await waitRunning(agent, ["web-0", "web-1", "web-2", "web-3", "web-4", "web-5"], timeout: .seconds(90))
        if !converged {
            let pods = try await agent.client.list(.pod, namespace: "default").items.map {
                "\($0["metadata"]?["name"]?.stringValue ?? ""): \($0["status"]?["phase"]?.stringValue ?? "") \($0["status"]?["message"]?.stringValue ?? "")"
            }
            Issue.record("not all 6 Running after kill -9 mid scale-up: \(pods); agent log tail: \(agent.log().suffix(3000))")
        }
        let after = try await bindings(agent)
        #expect(after.count == 6)
        for (claim, pv) in original { #expect(after[claim] == pv, "\(claim) moved from \(pv) to \(after[claim] ?? "nothing")") }
        #expect(Set(after.values).count == 6)
        #expect(readOne() == "replica one")
        #expect(othersClean())
        let status = try await agent.client.get(.statefulSet, namespace: "default", name: "web")?["status"]
        #expect(status?["readyReplicas"]?.scalarText == "6" && status?["replicas"]?.scalarText == "6")
        await agent.stop()
    }

    @Test func ordinalsStartNamesPodsAndClaims() async throws {
        let agent = AgentProcess(stateDir: state)
        try await agent.start()
        #expect(try cli(["apply", "-f", "-"], agent, stdin: set(replicas: 2, start: 5, policy: "Parallel")).status == 0)
        #expect(try await waitRunning(agent, ["web-5", "web-6"]))
        #expect(Set(try await bindings(agent).keys) == ["data-web-5", "data-web-6"])
        let pod = try await agent.client.get(.pod, namespace: "default", name: "web-5")
        #expect(pod?["spec"]?["hostname"]?.stringValue == "web-5" && pod?["spec"]?["subdomain"]?.stringValue == "web")
        #expect(pod?["metadata"]?["labels"]?["apps.kubernetes.io/pod-index"]?.stringValue == "5")
        let wide = try cli(["get", "pods", "-o", "wide"], agent)
        #expect(wide.stdout.contains("web-5.web.default") && wide.stdout.contains("data=data-web-5"))
        let described = try cli(["describe", "pod", "web-5"], agent).stdout
        #expect(described.contains("ClaimName:  data-web-5") && described.contains(volumePath("web-5")) && described.contains("StatefulSet/web"))
        #expect(try cli(["describe", "sts", "web"], agent).stdout.contains("Ordinals start:"))
        await agent.stop()
    }

    /// A state directory reached through a symlink (/var/lib/berth → /data/berth, say): the kernel's
    /// mount table names the real path, and pods still come down, their bind mounts with them.
    @Test func aStateDirectoryThroughASymlinkStillScalesDown() async throws {
        let real = dir.sub("real-state")
        let link = dir.sub("linked-state")
        try FileManager.default.createDirectory(atPath: real, withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: real)
        let agent = AgentProcess(stateDir: link)
        try await agent.start()
        #expect(try cli(["apply", "-f", "-"], agent, stdin: set(replicas: 1)).status == 0)
        #expect(try await waitRunning(agent, ["web-0"]))
        let mountPoint = "\(real)/pods/default/web-0/volumes/data"
        func mounts() -> Int { Int(shell("grep -c ' \(mountPoint) ' /proc/self/mountinfo").output.trimmingCharacters(in: .whitespacesAndNewlines)) ?? -1 }
        if getuid() == 0 { #expect(mounts() == 1) }
        #expect(try cli(["scale", "statefulset", "web", "--replicas=0"], agent).status == 0)
        #expect(try await eventually { try await agent.client.list(.pod, namespace: "default").items.isEmpty },
                "the pod never went away; agent log: \(agent.log().suffix(1500))")
        #expect(mounts() == 0)
        #expect(!FileManager.default.fileExists(atPath: "\(real)/pods/default/web-0"))
        await agent.stop()
    }

    @Test func retentionPolicyDecidesWhatScalingAndDeletionKeep() async throws {
        let agent = AgentProcess(stateDir: state)
        try await agent.start()
        #expect(try cli(["apply", "-f", "-"], agent, stdin: set(replicas: 3, policy: "Parallel", whenScaled: "Delete", whenDeleted: "Retain")).status == 0)
        #expect(try await waitRunning(agent, ["web-0", "web-1", "web-2"]))
        let original = try await bindings(agent)
        // whenScaled: Delete — the scaled-down claims go, and their volumes with them (Delete reclaim policy)
        #expect(try cli(["scale", "statefulset", "web", "--replicas", "1"], agent).status == 0)
        #expect(try await eventually { Set(try await bindings(agent).keys) == ["data-web-0"] })
        #expect(try await eventually {
            let pvs = Set(try await agent.client.list(.persistentVolume, namespace: nil).items.compactMap { $0["metadata"]?["name"]?.stringValue })
            return pvs == [original["data-web-0"]!]
        })
        // whenDeleted: Retain — deleting the set keeps the claim; a new set of the same name gets it back
        try "zero".write(toFile: volumePath("web-0") + "/f", atomically: false, encoding: .utf8)
        #expect(try cli(["delete", "statefulset", "web"], agent).status == 0)
        #expect(try await eventually { try await agent.client.list(.pod, namespace: "default").items.isEmpty })
        #expect(try await bindings(agent) == ["data-web-0": original["data-web-0"]!])
        #expect(try cli(["apply", "-f", "-"], agent, stdin: set(replicas: 1)).status == 0)
        #expect(try await waitRunning(agent, ["web-0"]))
        #expect(try String(contentsOfFile: volumePath("web-0") + "/f", encoding: .utf8) == "zero")
        #expect(try await bindings(agent) == ["data-web-0": original["data-web-0"]!])
        await agent.stop()
    }

    @Test func aNodeDownKeepsItsPodsPendingWithoutNewVolumesAndUpBringsThemBack() async throws {
        let config = dir.sub("agent.yaml")
        try """
            nodes:
              - name: node-a
                pools: [{name: default, path: \(dir.sub("a")), capacity: 10Gi}]
              - name: node-b
                pools: [{name: default, path: \(dir.sub("b")), capacity: 10Gi}]
            """.write(toFile: config, atomically: true, encoding: .utf8)
        let agent = AgentProcess(stateDir: state, arguments: ["--config", config])
        try await agent.start()
        #expect(try cli(["apply", "-f", "-"], agent, stdin: set(replicas: 4, policy: "Parallel", cls: "late")
            .replacingOccurrences(of: "apiVersion: apps/v1", with: """
                apiVersion: storage.k8s.io/v1
                kind: StorageClass
                metadata: {name: late}
                provisioner: berth.io/hostpath
                volumeBindingMode: WaitForFirstConsumer
                ---
                apiVersion: apps/v1
                """)).status == 0)
        #expect(try await waitRunning(agent, ["web-0", "web-1", "web-2", "web-3"]))
        // spread by free capacity: both nodes get pods
        var nodeOf: [String: String] = [:]
        for p in try await agent.client.list(.pod, namespace: "default").items {
            nodeOf[p["metadata"]?["name"]?.stringValue ?? ""] = p["spec"]?["nodeName"]?.stringValue
        }
        #expect(Set(nodeOf.values) == ["node-a", "node-b"])
        let original = try await bindings(agent)
        let onA = Set(nodeOf.filter { $0.value == "node-a" }.keys)
        for pod in onA { try pod.write(toFile: volumePath(pod) + "/f", atomically: false, encoding: .utf8) }

        #expect(try cli(["node", "down", "node-a"], agent).status == 0)
        // node-a's pods are made again and wait: Pending, saying why, with no new volume anywhere
        #expect(try await eventually {
            let pods = try await agent.client.list(.pod, namespace: "default").items
            return onA.allSatisfy { name in
                let p = pods.first { $0["metadata"]?["name"]?.stringValue == name }
                return p?["status"]?["phase"]?.stringValue == "Pending" && p?["status"]?["message"]?.stringValue?.contains("is down") == true
            }
        })
        try await Task.sleep(for: .seconds(1))
        #expect(try await bindings(agent) == original)
        #expect(try await agent.client.list(.persistentVolume, namespace: nil).items.count == 4)

        #expect(try cli(["node", "up", "node-a"], agent).status == 0)
        #expect(try await waitRunning(agent, ["web-0", "web-1", "web-2", "web-3"]))
        for pod in onA {
            #expect(try String(contentsOfFile: volumePath(pod) + "/f", encoding: .utf8) == pod)
            #expect(try await agent.client.get(.pod, namespace: "default", name: pod)?["spec"]?["nodeName"]?.stringValue == "node-a")
        }
        #expect(try await bindings(agent) == original)
        await agent.stop()
    }
}
