import BerthClient
import BerthModel
import BerthTestSupport
import Foundation
import Testing

/// A seeded, reproducible walk of a few hundred random steps — scale, pod deletion, agent restart,
/// kill -9, cordon, node down, StatefulSet deletion and re-creation, and (where loop volumes run) a
/// simulated reboot — checking DESIGN.md §4's invariants after every step, with
/// host-path volumes and (where the host can) loop volumes.
///
/// `BERTH_RANDOM_SEED` and `BERTH_RANDOM_STEPS` reproduce or lengthen a run; a failure prints the seed
/// and the step.
@Suite(.serialized, .timeLimit(.minutes(10))) struct StatefulSetRandomizedTests {
    let dir = TemporaryDirectory(prefix: "berth-random")
    var state: String { dir.sub("state") }

    struct Set_ { var name: String; var cls: String; var policy: String; var size: String }

    func manifest(_ s: Set_, replicas: Int) -> String {
        """
        apiVersion: apps/v1
        kind: StatefulSet
        metadata: {name: \(s.name)}
        spec:
          serviceName: \(s.name)
          replicas: \(replicas)
          podManagementPolicy: \(s.policy)
          selector: {matchLabels: {app: \(s.name)}}
          template:
            metadata: {labels: {app: \(s.name)}}
            spec: {containers: [{name: c, image: busybox}]}
          volumeClaimTemplates:
          - metadata: {name: data}
            spec:
              accessModes: [ReadWriteOnce]
              storageClassName: \(s.cls)
              resources: {requests: {storage: \(s.size)}}
        """
    }

    func volumeFile(_ pod: String) -> String { "\(state)/pods/default/\(pod)/volumes/data/marker" }

    @Test func randomStepsKeepEveryOrdinalOnItsVolume() async throws {
        let env = ProcessInfo.processInfo.environment
        let seed = UInt64(env["BERTH_RANDOM_SEED"] ?? "") ?? 20_261_127
        let steps = Int(env["BERTH_RANDOM_STEPS"] ?? "") ?? 200
        var rng = SeededRandom(seed: seed)
        let config = dir.sub("agent.yaml")
        try """
            nodes:
              - name: node-a
                pools: [{name: default, path: \(dir.sub("a")), capacity: 50Gi}]
              - name: node-b
                pools: [{name: default, path: \(dir.sub("b")), capacity: 50Gi}]
            """.write(toFile: config, atomically: true, encoding: .utf8)
        var agent = AgentProcess(stateDir: state, arguments: ["--config", config])
        try await agent.start()
        var sets = [Set_(name: "hp", cls: "hp-late", policy: "Parallel", size: "1Gi")]
        var classes = """
            apiVersion: storage.k8s.io/v1
            kind: StorageClass
            metadata: {name: hp-late}
            provisioner: berth.io/hostpath
            volumeBindingMode: WaitForFirstConsumer
            """
        if Privileged.isAvailable {
            sets.append(Set_(name: "lp", cls: "loop-late", policy: "OrderedReady", size: "16Mi"))
            classes += """

                ---
                apiVersion: storage.k8s.io/v1
                kind: StorageClass
                metadata: {name: loop-late}
                provisioner: berth.io/loop
                volumeBindingMode: WaitForFirstConsumer
                """
        }
        let initial = sets.map { manifest($0, replicas: 2) }.joined(separator: "\n---\n")
        #expect(try runCLI(["apply", "-f", "-"], socket: agent.socket, stdin: classes + "\n---\n" + initial).status == 0)

        var boundPV: [String: String] = [:]     // claim → the PV it was first seen bound to
        var claimUID: [String: String] = [:]    // claim → uid (claims are retained: none may vanish)
        var fsUUID: [String: String] = [:]      // loop PV → filesystem UUID
        var marked = Set<String>()              // claims whose volume carries a marker
        var down = Set<String>(), cordoned = Set<String>()
        let nodes = ["node-a", "node-b"]
        var history: [String] = []

        func fail(_ what: String) {
            Issue.record("seed \(seed), after step \(history.count): \(history.suffix(5).joined(separator: "; ")): \(what)")
        }

        /// Waits until nothing is in flight: no pod terminating, every pod Running or explained Pending.
        func settle() async throws {
            let deadline = ContinuousClock.now + .seconds(20)
            var last = ""
            while ContinuousClock.now < deadline {
                let pods = try await agent.client.list(.pod, namespace: "default").items
                let summary = pods.map { p in
                    "\(p["metadata"]?["name"]?.stringValue ?? "")=\(p["status"]?["phase"]?.stringValue ?? "")/\(p["metadata"]?["deletionTimestamp"] == nil)/\(p["status"]?["message"]?.stringValue != nil)"
                }.sorted().joined(separator: ",")
                let quiet = pods.allSatisfy { p in
                    p["metadata"]?["deletionTimestamp"] == nil
                        && (p["status"]?["phase"]?.stringValue == "Running" || p["status"]?["message"]?.stringValue != nil)
                }
                if quiet, summary == last { return }
                last = summary
                try await Task.sleep(for: .milliseconds(150))
            }
            fail("did not settle in 20 s: \(last)")
        }

        func check() async throws {
            let claims = try await agent.client.list(.persistentVolumeClaim, namespace: "default").items
            let pvs = try await agent.client.list(.persistentVolume, namespace: nil).items
            let pods = try await agent.client.list(.pod, namespace: "default").items
            var claimsOfPV: [String: Int] = [:]
            var seen = Set<String>()
            for c in claims {
                let name = c["metadata"]?["name"]?.stringValue ?? "", uid = c["metadata"]?["uid"]?.stringValue ?? ""
                seen.insert(name)
                if let known = claimUID[name], known != uid { fail("claim \(name) was replaced (uid \(known) → \(uid))") }
                claimUID[name] = uid
                guard c["status"]?["phase"]?.stringValue == "Bound", let pv = c["spec"]?["volumeName"]?.stringValue, !pv.isEmpty else { continue }
                if let first = boundPV[name], first != pv { fail("claim \(name) moved from \(first) to \(pv)") }
                boundPV[name] = pv
                claimsOfPV[pv, default: 0] += 1
                let volume = pvs.first { $0["metadata"]?["name"]?.stringValue == pv }
                if volume?["spec"]?["claimRef"]?["uid"]?.stringValue != uid { fail("claim \(name) is Bound to \(pv), which does not point back at it") }
                if let u = volume?["metadata"]?["annotations"]?[Keys.fsUUID]?.stringValue {
                    if let known = fsUUID[pv], known != u { fail("PV \(pv) changed filesystem UUID \(known) → \(u)") }
                    fsUUID[pv] = u
                }
            }
            for (pv, n) in claimsOfPV where n > 1 { fail("PV \(pv) is bound to \(n) claims") }
            for name in claimUID.keys where !seen.contains(name) { fail("claim \(name) vanished (the retention policy is Retain)") }
            // every Running pod sees its own ordinal's data, and only that
            for p in pods where p["status"]?["phase"]?.stringValue == "Running" && p["metadata"]?["deletionTimestamp"] == nil {
                let pod = p["metadata"]?["name"]?.stringValue ?? ""
                let claim = "data-\(pod)"
                // a pod runs only where its volume lives, and never on a node that is down
                let node = p["spec"]?["nodeName"]?.stringValue ?? ""
                if let pv = boundPV[claim], let volume = pvs.first(where: { $0["metadata"]?["name"]?.stringValue == pv }),
                   let home = volume["metadata"]?["annotations"]?[Keys.node]?.stringValue, home != node {
                    fail("pod \(pod) runs on \(node), but its volume \(pv) lives on \(home)")
                }
                if down.contains(node) { fail("pod \(pod) runs on \(node), which is down") }
                let content = try? String(contentsOfFile: volumeFile(pod), encoding: .utf8)
                if marked.contains(claim) {
                    if content != claim { fail("pod \(pod) sees \(content.map { "'\($0)'" } ?? "no marker") instead of its own data") }
                } else if let content {
                    fail("pod \(pod)'s new volume already holds '\(content)'")
                } else if (try? claim.write(toFile: volumeFile(pod), atomically: false, encoding: .utf8)) != nil {
                    marked.insert(claim)
                }
            }
        }

        for _ in 0..<steps {
            let roll = rng.below(100)
            var step = ""
            switch roll {
            case 0..<30:
                let s = sets[rng.below(sets.count)], n = rng.below(5)
                step = "scale \(s.name) to \(n)"
                _ = try runCLI(["scale", "statefulset", s.name, "--replicas", "\(n)"], socket: agent.socket)
            case 30..<50:
                let pods = try await agent.client.list(.pod, namespace: "default").items.compactMap { $0["metadata"]?["name"]?.stringValue }
                guard !pods.isEmpty else { continue }
                let pod = pods[rng.below(pods.count)]
                step = "delete pod \(pod)"
                _ = try runCLI(["delete", "pod", pod, "--wait=false"], socket: agent.socket)
            case 50..<58:
                step = "restart the agent"
                await agent.stop()
                agent = AgentProcess(stateDir: state, arguments: ["--config", config])
                try await agent.start()
            case 58..<66:
                let s = sets[rng.below(sets.count)], n = rng.below(5), delay = rng.below(200)
                step = "scale \(s.name) to \(n), kill -9 after \(delay) ms"
                _ = try runCLI(["scale", "statefulset", s.name, "--replicas", "\(n)"], socket: agent.socket)
                try await Task.sleep(for: .milliseconds(delay))
                await agent.kill()
                agent = AgentProcess(stateDir: state, arguments: ["--config", config])
                try await agent.start()
            case 66..<76:
                let node = nodes[rng.below(nodes.count)]
                let on = cordoned.contains(node)
                step = "\(on ? "uncordon" : "cordon") \(node)"
                _ = try runCLI([on ? "uncordon" : "cordon", node], socket: agent.socket)
                if on { cordoned.remove(node) } else { cordoned.insert(node) }
            case 76..<86:
                let node = nodes[rng.below(nodes.count)]
                let isDown = down.contains(node)
                step = "node \(isDown ? "up" : "down") \(node)"
                _ = try runCLI(["node", isDown ? "up" : "down", node], socket: agent.socket)
                if isDown { down.remove(node) } else { down.insert(node) }
            case 86..<91:
                // delete a set (its pods go; its claims stay: Retain), maybe crash meanwhile, then make it again
                let s = sets[rng.below(sets.count)], n = rng.below(5), crash = rng.below(2) == 0, delay = rng.below(150)
                step = "delete statefulset \(s.name)\(crash ? ", kill -9 after \(delay) ms" : ""), re-create it with \(n)"
                _ = try runCLI(["delete", "statefulset", s.name, "--wait=false"], socket: agent.socket)
                if crash {
                    try await Task.sleep(for: .milliseconds(delay))
                    await agent.kill()
                    agent = AgentProcess(stateDir: state, arguments: ["--config", config])
                    try await agent.start()
                }
                _ = try await eventually(timeout: .seconds(20)) {
                    try await agent.client.list(.pod, namespace: "default").items.allSatisfy {
                        $0["metadata"]?["labels"]?["app"]?.stringValue != s.name
                    }
                }
                _ = try runCLI(["apply", "-f", "-"], socket: agent.socket, stdin: manifest(s, replicas: n))
            case 91..<95 where Privileged.isAvailable:
                // a simulated reboot: the agent stops, and every mount and loop device goes with the "host"
                step = "reboot"
                await agent.stop()
                let prefix = dir.path + "/"
                let mounts = shell("grep -o ' \(prefix)[^ ]*' /proc/self/mountinfo").output.split(separator: "\n")
                    .map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
                for m in mounts.sorted(by: { $0.count > $1.count }) { _ = shell("umount '\(m)'") }
                _ = shell("for d in $(losetup -a | grep -F '\(prefix)' | cut -d: -f1); do losetup -d $d; done")
                agent = AgentProcess(stateDir: state, arguments: ["--config", config])
                try await agent.start()
            default:
                step = "wait"
                try await Task.sleep(for: .milliseconds(100))
            }
            history.append(step)
            try await settle()
            try await check()
        }

        // the end: every node usable, every set at 3, everything Running, every ordinal with its data
        for node in nodes {
            _ = try runCLI(["uncordon", node], socket: agent.socket)
            _ = try runCLI(["node", "up", node], socket: agent.socket)
        }
        down.removeAll()
        cordoned.removeAll()
        for s in sets { _ = try runCLI(["scale", "statefulset", s.name, "--replicas", "3"], socket: agent.socket) }
        history.append("all nodes up and uncordoned, every set at 3")
        let expected = Set(sets.flatMap { s in (0..<3).map { "\(s.name)-\($0)" } })
        let converged = try await eventually(timeout: .seconds(60)) {
            let pods = try await agent.client.list(.pod, namespace: "default").items
            return Set(pods.filter { $0["status"]?["phase"]?.stringValue == "Running" }.compactMap { $0["metadata"]?["name"]?.stringValue }) == expected
        }
        if !converged { fail("did not converge to \(expected.sorted())") }
        try await check()

        // clean up what the test made: deleting the claims reclaims the volumes (loop devices included)
        for s in sets { _ = try runCLI(["delete", "statefulset", s.name], socket: agent.socket) }
        let claims = try await agent.client.list(.persistentVolumeClaim, namespace: "default").items.compactMap { $0["metadata"]?["name"]?.stringValue }
        if !claims.isEmpty { _ = try runCLI(["delete", "pvc"] + claims, socket: agent.socket) }
        #expect(try await eventually(timeout: .seconds(60)) { try await agent.client.list(.persistentVolume, namespace: nil).items.isEmpty })
        await agent.stop()
        print("randomized StatefulSet test: seed \(seed), \(steps) steps, \(marked.count) volumes marked, \(boundPV.count) claims")
    }
}
