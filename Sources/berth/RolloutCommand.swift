import ArgumentParser
import BerthClient
import BerthModel
import Foundation

/// `berth rollout status|history|undo statefulset NAME`, with kubectl's meanings and output.
struct RolloutCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rollout", abstract: "Follow, list and undo a StatefulSet's rolling updates.",
        subcommands: [RolloutStatus.self, RolloutHistory.self, RolloutUndo.self])
}

/// `statefulset NAME`, `sts NAME` or `statefulset/NAME`; `usage` says how the command is written.
func statefulSetName(_ args: [String], usage: String) throws -> String {
    var kind = args.first ?? "", name = args.count > 1 ? args[1] : ""
    if kind.contains("/") {
        let parts = kind.split(separator: "/", maxSplits: 1).map(String.init)
        kind = parts[0]
        name = parts.count > 1 ? parts[1] : ""
    }
    guard KindInfo.resolve(kind) == .statefulSet, !name.isEmpty else {
        throw BerthError.invalid("say which StatefulSet: '\(usage)'")
    }
    return name
}

/// What every rollout subcommand takes: the agent, the namespace and the StatefulSet.
struct RolloutTarget: ParsableArguments {
    @OptionGroup var client: ClientOptions
    @Option(name: [.short, .long], help: "Namespace.")
    var namespace: String = "default"
    @Argument(help: "statefulset NAME, or statefulset/NAME")
    var args: [String]

    /// The client, the set's name and the set itself.
    func load(_ verb: String) async throws -> (APIClient, String, JSONValue) {
        let name = try statefulSetName(args, usage: "berth rollout \(verb) statefulset NAME (rollouts are StatefulSets' only)")
        let api = try client.client()
        guard let set = try await api.get(.statefulSet, namespace: namespace, name: name) else {
            throw BerthError.notFound("statefulsets.apps \"\(name)\" not found")
        }
        return (api, name, set)
    }
}

/// The set's revisions, oldest first: the ControllerRevisions it controls.
func revisionHistory(_ api: APIClient, namespace: String, set: JSONValue) async throws -> [JSONValue] {
    let uid = set["metadata"]?["uid"]?.stringValue ?? ""
    let all = try await api.list(.controllerRevision, namespace: namespace).items
    return all.filter { r in
        guard case .array(let refs)? = r["metadata"]?["ownerReferences"] else { return false }
        return refs.contains { $0["uid"]?.stringValue == uid && $0["controller"]?.scalarText == "true" }
    }.sorted { (Int($0["revision"]?.scalarText ?? "") ?? 0) < (Int($1["revision"]?.scalarText ?? "") ?? 0) }
}

struct RolloutStatus: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status", abstract: "Wait until a StatefulSet's rolling update is complete, printing its progress.")

    @OptionGroup var target: RolloutTarget
    @Option(help: "Keep watching until the rollout is done (true), or print the state once (false).")
    var watch: Bool = true
    @Option(help: "Give up after this long (for example 60s, 5m); 0 waits for ever.")
    var timeout: String = "0s"

    /// kubectl's StatefulSetStatusViewer: the message and whether the rollout is done.
    static func status(_ set: JSONValue) throws -> (String, Bool) {
        func int(_ v: JSONValue?) -> Int { Int(v?.scalarText ?? "") ?? 0 }
        let spec = set["spec"], status = set["status"]
        if (spec?["updateStrategy"]?["type"]?.stringValue ?? "RollingUpdate") != "RollingUpdate" {
            throw BerthError.badRequest("rollout status is only available for RollingUpdate strategy type")
        }
        let generation = int(set["metadata"]?["generation"]), observed = int(status?["observedGeneration"])
        if observed == 0 || generation > observed { return ("Waiting for statefulset spec update to be observed...", false) }
        let replicas = spec?["replicas"].map { int($0) } ?? 1
        if int(status?["readyReplicas"]) < replicas {
            return ("Waiting for \(replicas - int(status?["readyReplicas"])) pods to be ready...", false)
        }
        // as kubectl: with a rollingUpdate block (which defaulting always adds, partition 0) the
        // messages are the partitioned ones
        if let rolling = spec?["updateStrategy"]?["rollingUpdate"], rolling != .null {
            if let p = rolling["partition"], p != .null, int(status?["updatedReplicas"]) < replicas - int(p) {
                return ("Waiting for partitioned roll out to finish: \(int(status?["updatedReplicas"])) out of \(replicas - int(p)) new pods have been updated...", false)
            }
            return ("partitioned roll out complete: \(int(status?["updatedReplicas"])) new pods have been updated...", true)
        }
        let update = status?["updateRevision"]?.stringValue ?? "", current = status?["currentRevision"]?.stringValue ?? ""
        if update != current {
            return ("waiting for statefulset rolling update to complete \(int(status?["updatedReplicas"])) pods at revision \(update)...", false)
        }
        return ("statefulset rolling update complete \(int(status?["currentReplicas"])) pods at revision \(current)...", true)
    }

    func run() async throws {
        try await Berth.guarded {
            let limit = try DurationText.parse(timeout)
            let deadline = ContinuousClock.now + limit
            var last = ""
            while true {
                let (_, name, set) = try await target.load("status")
                let (message, done) = try Self.status(set)
                if message != last { print(message) }
                last = message
                if done || !watch { return }
                if limit > .zero, ContinuousClock.now >= deadline {
                    throw BerthError(.unavailable, "timed out waiting for the rollout of statefulset \(name) after \(timeout)")
                }
                try await Task.sleep(for: .milliseconds(200))
            }
        }
    }
}

struct RolloutHistory: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "history", abstract: "List a StatefulSet's revisions, or show one with --revision.")

    @OptionGroup var target: RolloutTarget
    @Option(help: "Show the pod template of this revision.")
    var revision: Int = 0

    func run() async throws {
        try await Berth.guarded {
            let (api, name, set) = try await target.load("history")
            let history = try await revisionHistory(api, namespace: target.namespace, set: set)
            if revision > 0 {
                guard let r = history.first(where: { Int($0["revision"]?.scalarText ?? "") == revision }) else {
                    throw BerthError.notFound("unable to find the specified revision \(revision) of statefulset \(name)")
                }
                print("statefulset.apps/\(name) with revision #\(revision)")
                print(Describer.podTemplate(r["data"]?["spec"]?["template"]))
                return
            }
            guard !history.isEmpty else {
                print("No rollout history found in statefulset \"\(name)\"")
                return
            }
            var rows = [["REVISION", "CHANGE-CAUSE"]]
            for r in history {
                let cause = r["metadata"]?["annotations"]?["kubernetes.io/change-cause"]?.stringValue ?? "<none>"
                rows.append([r["revision"]?.scalarText ?? "", cause])
            }
            print("statefulset.apps/\(name) ")
            print(Printer.render(rows))
            print("")
        }
    }
}

struct RolloutUndo: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "undo", abstract: "Roll a StatefulSet back to its previous revision (or --to-revision N).",
        discussion: "The set's template becomes that revision's again; its pods are then replaced in order, each keeping its claims and data.")

    @OptionGroup var target: RolloutTarget
    @Option(name: .customLong("to-revision"), help: "The revision to go back to; 0 (the default) means the previous one.")
    var toRevision: Int = 0

    func run() async throws {
        try await Berth.guarded {
            let (api, name, set) = try await target.load("undo")
            let history = try await revisionHistory(api, namespace: target.namespace, set: set)
            let chosen: JSONValue
            if toRevision == 0 {
                guard history.count >= 2 else { throw BerthError.badRequest("no rollout history found for statefulset \"\(name)\"") }
                chosen = history[history.count - 2]
            } else {
                guard let found = history.first(where: { Int($0["revision"]?.scalarText ?? "") == toRevision }) else {
                    throw BerthError.notFound("unable to find specified revision \(toRevision) in history")
                }
                chosen = found
            }
            let number = chosen["revision"]?.scalarText ?? ""
            guard var data = chosen["data"], case .object(var template)? = data["spec"]?["template"] else {
                throw BerthError.internalError("revision \(number) of statefulset \(name) holds no pod template")
            }
            template.removeValue(forKey: "$patch")
            if JSONValue.object(template) == set["spec"]?["template"] {
                print("statefulset.apps/\(name) skipped rollback (current template already matches revision \(number))")
                return
            }
            // kubectl sends the revision's data as a strategic merge patch: the template is replaced whole
            data = .object(["spec": .object(["template": .object(template.merging(["$patch": .string("replace")]) { $1 })])])
            _ = try await api.call(.PATCH, KindInfo.statefulSet.objectPath(namespace: target.namespace, name: name), body: data,
                                   contentType: "application/strategic-merge-patch+json")
            print("statefulset.apps/\(name) rolled back")
        }
    }
}
