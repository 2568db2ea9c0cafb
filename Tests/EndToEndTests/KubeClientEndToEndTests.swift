import BerthClient
import BerthModel
import BerthTestSupport
import Foundation
import Testing

/// A real, unmodified kubectl and the official Python client against a real agent listening on
/// loopback TCP. scripts/test installs both into `.build/kube-clients` (see scripts/kube-clients).
@Suite(.timeLimit(.minutes(5)), .enabled(if: KubeClients.shouldRun, "needs kubectl and the kubernetes Python client (scripts/test installs them)"))
struct KubeClientEndToEndTests {
    let dir = TemporaryDirectory(prefix: "berth-kube")

    /// An agent on a free loopback port; `token` makes it require a bearer token.
    func startAgent(token: String? = nil) async throws -> (AgentProcess, Int) {
        #expect(KubeClients.isAvailable, "kubectl or the Python client is missing: run scripts/test, which installs them")
        var lastError: (any Error)?
        for _ in 0..<3 {
            let port = freeLoopbackPort()
            let agent = AgentProcess(stateDir: dir.sub("state"), arguments: ["--listen", "127.0.0.1:\(port)"] + (token.map { ["--token", $0] } ?? []))
            do {
                try await agent.start()
                return (agent, port)
            } catch {
                lastError = error // the port was taken in between: another one
                await agent.stop()
            }
        }
        throw lastError!
    }

    /// kubectl as the issue asks: no kubeconfig, the server by flag, a fresh cache directory.
    func kubectl(_ port: Int, _ args: [String], stdin: String? = nil) throws -> CLIResult {
        try runProgram(KubeClients.kubectl, ["--kubeconfig=/dev/null", "--server", "http://127.0.0.1:\(port)",
                                             "--cache-dir", dir.sub("kcache")] + args, stdin: stdin)
    }

    func ok(_ r: CLIResult, _ what: String, sourceLocation: SourceLocation = #_sourceLocation) -> String {
        #expect(r.status == 0, "kubectl \(what) failed (\(r.status)): \(r.stderr)\(r.stdout)", sourceLocation: sourceLocation)
        return r.stdout
    }

    static let claim = """
        apiVersion: v1
        kind: PersistentVolumeClaim
        metadata: {name: data, labels: {app: db}}
        spec:
          accessModes: [ReadWriteOnce]
          resources: {requests: {storage: 1Gi}}
        """

    static func statefulSet(replicas: Int, tier: String? = nil) -> String {
        """
        apiVersion: apps/v1
        kind: StatefulSet
        metadata: {name: web}
        spec:
          serviceName: web
          replicas: \(replicas)
          selector: {matchLabels: {app: web}}
          template:
            metadata: {labels: {app: web\(tier.map { ", tier: \($0)" } ?? "")}}
            spec:
              containers:
              - name: nginx
                image: nginx
                ports: [{containerPort: 80, name: web}]
                volumeMounts: [{name: www, mountPath: /usr/share/nginx/html}]
          volumeClaimTemplates:
          - metadata: {name: www}
            spec:
              accessModes: [ReadWriteOnce]
              resources: {requests: {storage: 1Gi}}
        """
    }

    @Test func getAndDescribeShowWhatAClusterShows() async throws {
        let (agent, port) = try await startAgent()
        defer { Task { [agent] in await agent.stop() } }
        let k = { (args: [String]) in try self.kubectl(port, args) }
        _ = ok(try kubectl(port, ["apply", "-f", "-"], stdin: Self.claim + "\n---\n" + Self.statefulSet(replicas: 2)), "apply")
        _ = ok(try k(["wait", "--for=jsonpath={.status.phase}=Bound", "pvc/data", "--timeout=30s"]), "wait pvc")
        _ = ok(try k(["wait", "--for=jsonpath={.status.readyReplicas}=2", "sts/web", "--timeout=30s"]), "wait sts")

        let all = ok(try k(["get", "pv,pvc,sc,sts,pods"]), "get pv,pvc,sc,sts,pods")
        for text in ["CAPACITY", "ACCESS MODES", "RECLAIM POLICY", "STATUS", "CLAIM", "STORAGECLASS", "VOLUME", "AGE", "PROVISIONER",
                     "persistentvolumeclaim/data", "Bound", "RWO", "storageclass.storage.k8s.io/berth-hostpath (default)",
                     "statefulset.apps/web", "2/2", "pod/web-0", "pod/web-1", "Running"] {
            #expect(all.contains(text), "get pv,pvc,sc,sts,pods lacks \(text):\n\(all)")
        }
        #expect(ok(try k(["get", "pvc", "-o", "wide"]), "get -o wide").contains("VOLUMEMODE"))
        let everywhere = ok(try k(["get", "pvc", "-A"]), "get -A")
        #expect(everywhere.hasPrefix("NAMESPACE") && everywhere.contains("default "), "\(everywhere)")
        #expect(ok(try k(["get", "pvc", "data", "--show-labels"]), "get --show-labels").contains("app=db"))
        #expect(ok(try k(["get", "pvc", "-l", "app=db", "-o", "name"]), "get -l -o name") == "persistentvolumeclaim/data\n")
        let volume = ok(try k(["get", "pvc", "data", "-o", "jsonpath={.spec.volumeName}"]), "get -o jsonpath")
        #expect(volume.hasPrefix("pvc-"))
        let json = try JSONDecoder().decode(JSONValue.self, from: Data(ok(try k(["get", "pv", volume, "-o", "json"]), "get -o json").utf8))
        #expect(json["spec"]?["claimRef"]?["name"]?.stringValue == "data")
        #expect(ok(try k(["get", "sc", "berth-loop", "-o", "yaml"]), "get -o yaml").contains("provisioner: berth.io/loop"))
        #expect(ok(try k(["get", "nodes"]), "get nodes").contains("Ready"))
        #expect(ok(try k(["get", "events"]), "get events").contains("ProvisioningSucceeded"))

        let claim = ok(try k(["describe", "pvc", "data"]), "describe pvc")
        for text in ["Status:", "Bound", "Volume:", volume, "Events:", "ProvisioningSucceeded"] { #expect(claim.contains(text), "describe pvc lacks \(text):\n\(claim)") }
        let pv = ok(try k(["describe", "pv", volume]), "describe pv")
        #expect(pv.contains("default/data") && pv.contains("HostPath"), "\(pv)")
        let sc = ok(try k(["describe", "sc", "berth-hostpath"]), "describe sc")
        #expect(sc.split(separator: "\n").contains { $0.hasPrefix("IsDefaultClass:") && $0.hasSuffix("Yes") }, "\(sc)")
        let sts = ok(try k(["describe", "sts", "web"]), "describe sts")
        #expect(sts.contains("SuccessfulCreate") && sts.contains("2 Running"), "\(sts)")
        let pod = ok(try k(["describe", "pod", "web-0"]), "describe pod")
        for text in ["Controlled By:  StatefulSet/web", "ClaimName:   www-web-0", "Port:         80/TCP", "Scheduled"] {
            #expect(pod.contains(text), "describe pod lacks \(text):\n\(pod)")
        }
        let node = ok(try k(["describe", "node"]), "describe node")
        #expect(node.contains("berth.io/pool.default") && node.contains("(2 in total)") && !node.contains("-9223372036854775808"), "\(node)")
    }

    @Test func createApplyScaleWaitAndDelete() async throws {
        let (agent, port) = try await startAgent()
        defer { Task { [agent] in await agent.stop() } }
        let k = { (args: [String]) in try self.kubectl(port, args) }
        let file = dir.sub("claim.yaml")
        try Self.claim.write(toFile: file, atomically: true, encoding: .utf8)
        #expect(ok(try k(["create", "-f", file]), "create") == "persistentvolumeclaim/data created\n")
        let again = try k(["create", "-f", file])
        #expect(again.status != 0 && again.stderr.contains("Error from server (AlreadyExists)") && again.stderr.contains("\"data\" already exists"), "\(again.stderr)")

        // client-side apply: create, then a strategic merge patch of the template and replicas
        #expect(ok(try kubectl(port, ["apply", "-f", "-"], stdin: Self.statefulSet(replicas: 1)), "apply").contains("statefulset.apps/web created"))
        #expect(ok(try kubectl(port, ["apply", "-f", "-"], stdin: Self.statefulSet(replicas: 2, tier: "gold")), "apply again").contains("statefulset.apps/web configured"))
        let labels = ok(try k(["get", "sts", "web", "-o", "jsonpath={.spec.replicas} {.spec.template.metadata.labels.tier} {.spec.template.spec.containers[0].name}"]), "get sts")
        #expect(labels == "2 gold nginx", "\(labels)")
        _ = ok(try k(["wait", "--for=jsonpath={.status.readyReplicas}=2", "sts/web", "--timeout=30s"]), "wait sts")

        // kubectl's rollout commands read the set's status and its ControllerRevisions
        #expect(ok(try k(["rollout", "status", "sts", "web", "--timeout=60s"]), "rollout status").contains("partitioned roll out complete: 2 new pods have been updated"))
        let history = ok(try k(["rollout", "history", "sts", "web"]), "rollout history")
        #expect(history.contains("REVISION") && history.contains("\n1 ") && history.contains("\n2 "), "\(history)")
        #expect(ok(try k(["rollout", "undo", "sts", "web"]), "rollout undo").contains("statefulset.apps/web rolled back"))
        _ = ok(try k(["rollout", "status", "sts", "web", "--timeout=60s"]), "rollout status after undo")
        #expect(ok(try k(["get", "sts", "web", "-o", "jsonpath={.spec.template.metadata.labels.tier}"]), "get after undo") == "")
        #expect(ok(try k(["get", "controllerrevisions"]), "get controllerrevisions").contains("statefulset.apps/web"))

        // server-side apply: create, then a simple update
        let ssa = { (v: String) in Self.claim.replacingOccurrences(of: "name: data, labels: {app: db}", with: "name: ssa, labels: {v: \"\(v)\"}") }
        #expect(ok(try kubectl(port, ["apply", "--server-side", "-f", "-"], stdin: ssa("1")), "apply --server-side").contains("persistentvolumeclaim/ssa serverside-applied"))
        _ = ok(try kubectl(port, ["apply", "--server-side", "-f", "-"], stdin: ssa("2")), "apply --server-side again")
        #expect(ok(try k(["get", "pvc", "ssa", "-o", "jsonpath={.metadata.labels.v}"]), "get ssa") == "2")

        #expect(ok(try k(["scale", "sts", "web", "--replicas", "3"]), "scale").contains("statefulset.apps/web scaled"))
        _ = ok(try k(["wait", "--for=jsonpath={.status.readyReplicas}=3", "sts/web", "--timeout=30s"]), "wait scaled")
        #expect(ok(try k(["get", "pods", "-o", "name"]), "get pods") == "pod/web-0\npod/web-1\npod/web-2\n")

        // --cascade=orphan keeps the pods; the set made again adopts them
        let podUID = ok(try k(["get", "pod", "web-0", "-o", "jsonpath={.metadata.uid}"]), "get pod uid")
        _ = ok(try k(["delete", "sts", "web", "--cascade=orphan"]), "delete --cascade=orphan")
        #expect(ok(try k(["get", "pods", "-o", "name"]), "get orphans") == "pod/web-0\npod/web-1\npod/web-2\n")
        // (the same template the pods run since the undo: nothing to roll)
        _ = ok(try kubectl(port, ["apply", "-f", "-"], stdin: Self.statefulSet(replicas: 3)), "apply after orphaning")
        _ = ok(try k(["wait", "--for=jsonpath={.status.readyReplicas}=3", "sts/web", "--timeout=30s"]), "wait adopted")
        let setUID = ok(try k(["get", "sts", "web", "-o", "jsonpath={.metadata.uid}"]), "get sts uid")
        #expect(ok(try k(["get", "pod", "web-0", "-o", "jsonpath={.metadata.uid} {.metadata.ownerReferences[0].uid}"]), "get adopted")
                == "\(podUID) \(setUID)")

        // delete by name (waiting, the default), by file, and without waiting followed by wait --for=delete
        #expect(ok(try k(["delete", "pvc", "ssa"]), "delete by name").contains("persistentvolumeclaim \"ssa\" deleted"))
        #expect(try k(["get", "pvc", "ssa"]).stderr.contains("NotFound"))
        _ = ok(try k(["delete", "-f", file, "--wait"]), "delete -f")
        #expect(try k(["get", "pvc", "data"]).stderr.contains("NotFound"))
        _ = ok(try k(["delete", "sts", "web", "--wait=false"]), "delete --wait=false")
        _ = ok(try k(["wait", "--for=delete", "sts/web", "--timeout=30s"]), "wait --for=delete")
        _ = ok(try k(["wait", "--for=delete", "pod/web-0", "pod/web-1", "pod/web-2", "--timeout=30s"]), "wait pods deleted")
    }

    @Test func errorsReadAsTheyDoAgainstACluster() async throws {
        let (agent, port) = try await startAgent()
        defer { Task { [agent] in await agent.stop() } }
        let k = { (args: [String]) in try self.kubectl(port, args) }
        let missing = try k(["get", "pvc", "nope"])
        #expect(missing.status != 0 && missing.stderr.contains(#"Error from server (NotFound): persistentvolumeclaims "nope" not found"#), "\(missing.stderr)")

        let invalid = try kubectl(port, ["create", "-f", "-"], stdin: Self.claim.replacingOccurrences(of: "name: data", with: "name: Bad_Name")
            .replacingOccurrences(of: "ReadWriteOnce", with: "ReadWriteSometimes"))
        #expect(invalid.status != 0)
        for text in [#"The PersistentVolumeClaim "Bad_Name" is invalid"#, #"metadata.name: Invalid value: "Bad_Name""#,
                     #"spec.accessModes: Unsupported value: "ReadWriteSometimes""#] {
            #expect(invalid.stderr.contains(text), "\(invalid.stderr)")
        }
        let unknown = Self.claim.replacingOccurrences(of: "resources:", with: "resourcez: {}\n  resources:")
        let strict = try kubectl(port, ["create", "-f", "-"], stdin: unknown)
        #expect(strict.status != 0 && strict.stderr.contains("Error from server (BadRequest)")
                && strict.stderr.contains(#"strict decoding error: unknown field "spec.resourcez""#), "\(strict.stderr)")
        #expect(try k(["get", "pvc", "data"]).status != 0, "a refused create changed something")
        let warned = try kubectl(port, ["create", "--validate=warn", "-f", "-"], stdin: unknown)
        #expect(warned.status == 0 && warned.stderr.contains(#"Warning: unknown field "spec.resourcez""#), "\(warned.stderr)")

        // Conflict: a replace that carries a resourceVersion someone else has moved past
        _ = ok(try k(["wait", "--for=jsonpath={.status.phase}=Bound", "pvc/data", "--timeout=30s"]), "wait")
        let stale = ok(try k(["get", "pvc", "data", "-o", "yaml"]), "get -o yaml")
        _ = ok(try k(["label", "pvc", "data", "moved=on"]), "label")
        let conflict = try kubectl(port, ["replace", "-f", "-"], stdin: stale)
        #expect(conflict.status != 0 && conflict.stderr.contains("Error from server (Conflict)")
                && conflict.stderr.contains("the object has been modified"), "\(conflict.stderr)")
    }

    @Test func getWatchSeesAnObjectAppear() async throws {
        let (agent, port) = try await startAgent()
        defer { Task { [agent] in await agent.stop() } }
        let output = dir.sub("watch.out")
        _ = FileManager.default.createFile(atPath: output, contents: nil)
        let watcher = Process()
        watcher.executableURL = URL(fileURLWithPath: "/usr/bin/timeout")
        watcher.arguments = ["-k", "5", "60", KubeClients.kubectl, "--kubeconfig=/dev/null", "--server", "http://127.0.0.1:\(port)",
                             "--cache-dir", dir.sub("kcache"), "get", "pvc", "-w"]
        watcher.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: output))
        watcher.standardError = watcher.standardOutput
        try watcher.run()
        defer { if watcher.isRunning { watcher.terminate() } }
        try await Task.sleep(for: .seconds(2)) // kubectl discovers, lists (nothing) and starts watching
        _ = ok(try kubectl(port, ["create", "-f", "-"], stdin: Self.claim), "create")
        let seen = try await eventually(timeout: .seconds(30)) {
            let text = (try? String(contentsOfFile: output, encoding: .utf8)) ?? ""
            return text.split(separator: "\n").contains { $0.hasPrefix("data ") && $0.contains("Bound") }
        }
        watcher.terminate()
        #expect(seen, "kubectl get -w did not show the claim becoming Bound: \((try? String(contentsOfFile: output, encoding: .utf8)) ?? "")")
    }

    @Test func aKubeconfigFileAndBearerTokens() async throws {
        let (agent, port) = try await startAgent(token: "s3cret-token")
        defer { Task { [agent] in await agent.stop() } }
        let kubeconfig = dir.sub("kubeconfig")
        try """
        apiVersion: v1
        kind: Config
        clusters:
        - name: berth
          cluster: {server: "http://127.0.0.1:\(port)"}
        users:
        - name: berth
          user: {token: s3cret-token}
        contexts:
        - name: berth
          context: {cluster: berth, user: berth, namespace: default}
        current-context: berth
        """.write(toFile: kubeconfig, atomically: true, encoding: .utf8)
        let withFile = try runProgram(KubeClients.kubectl, ["--kubeconfig", kubeconfig, "--cache-dir", dir.sub("kcache"), "get", "sc"])
        // kubectl sends no token over plain http: a token-protected listener refuses it
        #expect(withFile.status != 0 && withFile.stderr.contains("You must be logged in to the server"), "\(withFile.stdout)\(withFile.stderr)")
        let api = APIClient(endpoint: .tcp(host: "127.0.0.1", port: port), token: "s3cret-token")
        #expect(try await api.send(.GET, "/api/v1/persistentvolumes").status == 200)
        #expect(try await APIClient(endpoint: .tcp(host: "127.0.0.1", port: port)).send(.GET, "/api/v1/persistentvolumes").status == 401)
        await agent.stop()

        // without a token, the kubeconfig file works as it does against a cluster
        let (open, openPort) = try await startAgent()
        defer { Task { [open] in await open.stop() } }
        try String(contentsOfFile: kubeconfig, encoding: .utf8).replacingOccurrences(of: "\(port)", with: "\(openPort)")
            .replacingOccurrences(of: "{token: s3cret-token}", with: "{}").write(toFile: kubeconfig, atomically: true, encoding: .utf8)
        let listed = try runProgram(KubeClients.kubectl, ["--kubeconfig", kubeconfig, "--cache-dir", dir.sub("kcache2"), "get", "sc"])
        #expect(listed.status == 0 && listed.stdout.contains("berth-hostpath (default)"), "\(listed.stdout)\(listed.stderr)")
    }

    @Test func theOfficialPythonClient() async throws {
        let (agent, port) = try await startAgent()
        defer { Task { [agent] in await agent.stop() } }
        let kubeconfig = dir.sub("kubeconfig")
        try """
        apiVersion: v1
        kind: Config
        clusters: [{name: berth, cluster: {server: "http://127.0.0.1:\(port)"}}]
        users: [{name: berth, user: {}}]
        contexts: [{name: berth, context: {cluster: berth, user: berth}}]
        current-context: berth
        """.write(toFile: kubeconfig, atomically: true, encoding: .utf8)
        let script = KubeClients.packageRoot + "/Tests/KubeClients/python_client.py"
        let run = try runProgram(KubeClients.python, [script, "http://127.0.0.1:\(port)", kubeconfig], timeoutSeconds: 180)
        #expect(run.status == 0 && run.stdout.contains("python client: all steps passed"), "\(run.stdout)\n\(run.stderr)\n\(agent.log())")
    }

    /// Older Python clients (32.x) send `watch=True`; a server that reads only `true` answers with a
    /// plain list and the client's watch silently sees nothing.
    @Test func watchTrueAsOlderPythonClientsSendIt() async throws {
        let (agent, _) = try await startAgent()
        defer { Task { [agent] in await agent.stop() } }
        let r = try await agent.client.send(.GET, "/apis/storage.k8s.io/v1/storageclasses?watch=True&timeoutSeconds=1")
        let text = String(decoding: r.body, as: UTF8.self)
        #expect(r.status == 200 && text.hasPrefix(#"{"type":"ADDED""#) && text.contains("berth-hostpath"), "\(text)")
    }
}
