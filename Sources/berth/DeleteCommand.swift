import ArgumentParser
import BerthClient
import BerthModel
import Foundation

struct DeleteCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "delete", abstract: "Delete objects by kind and name, or those in manifests.")

    @OptionGroup var client: ClientOptions
    @Option(name: [.short, .long], help: "Namespace.")
    var namespace: String = "default"
    @Option(name: .shortAndLong, help: "Delete the objects in this manifest file (or - for standard input).")
    var filename: String?
    @Option(name: .long, help: "Wait until the objects are gone (finalizers done): true or false.")
    var wait: Bool = true
    @Option(name: .long, help: "How long --wait may take.")
    var timeout: String = "60s"
    @Flag(name: .long, help: "Treat a missing object as success.")
    var ignoreNotFound = false
    @Argument(help: "KIND NAME… or KIND/NAME…")
    var args: [String] = []

    func run() async throws {
        try await Berth.guarded {
            var targets: [(KindInfo, String?, String)] = []
            if let filename {
                targets = try readManifests(filename, namespace: namespace).map { ($0.info, $0.namespace, $0.name) }
            } else if let first = args.first, first.contains("/") {
                for a in args {
                    let parts = a.split(separator: "/", maxSplits: 1).map(String.init)
                    guard parts.count == 2, let info = try resolveKinds(parts[0]).first else {
                        throw BerthError.invalid("'\(a)' is not KIND/NAME")
                    }
                    targets.append((info, namespace, parts[1]))
                }
            } else if args.count >= 2, let info = try resolveKinds(args[0]).first {
                targets = args.dropFirst().map { (info, namespace, $0) }
            } else {
                throw BerthError.invalid("say what to delete: 'berth delete pvc NAME', 'berth delete pvc/NAME' or 'berth delete -f FILE'")
            }
            let api = try client.client()
            let deadline = ContinuousClock.now + (try DurationText.parse(timeout))
            // every deletion is asked for first, then waited for, as kubectl does: a volume's
            // protection finalizer waits for its claim, which may come later in the same manifest
            typealias Deleted = (info: KindInfo, namespace: String?, name: String, uid: String?)
            var deleted: [Deleted] = []
            var failures: [BerthError] = []
            for (info, ns, name) in targets {
                let response = try await api.send(.DELETE, APIClient.objectPath(info, namespace: ns, name: name))
                if response.status == 404 {
                    if !ignoreNotFound { failures.append(BerthError.notFound("\(info.plural) \"\(name)\" not found")) }
                    continue
                }
                guard (200..<300).contains(response.status) else {
                    failures.append(APIClient.error(from: response))
                    continue
                }
                print("\(info.singular)\(info.group.isEmpty ? "" : "." + info.group) \"\(name)\" deleted")
                // the object is gone when no object of its UID is: a controller may make a new one of the same name
                deleted.append((info, ns, name, (try? JSON.parse(response.body))?["metadata"]?["uid"]?.stringValue))
            }
            while wait, !deleted.isEmpty {
                var remaining: [Deleted] = []
                for d in deleted {
                    if let current = try await api.get(d.info, namespace: d.namespace, name: d.name),
                       d.uid == nil || current["metadata"]?["uid"]?.stringValue == d.uid {
                        remaining.append(d)
                    }
                }
                deleted = remaining
                guard let first = deleted.first else { break }
                if ContinuousClock.now > deadline {
                    let others = deleted.count > 1 ? " (and \(deleted.count - 1) more)" : ""
                    failures.insert(BerthError(.unavailable, "\(first.info.singular) \"\(first.name)\"\(others) is still being deleted (finalizers pending) after \(timeout); check 'berth describe \(first.info.singular) \(first.name)'"), at: 0)
                    break
                }
                try await Task.sleep(for: .milliseconds(100))
            }
            if let first = failures.first {
                if failures.count == 1 { throw first }
                throw BerthError(first.code, "\(first.message) (and \(failures.count - 1) more errors)")
            }
        }
    }
}

struct WaitCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "wait",
        abstract: "Wait until an object meets a condition.",
        discussion: "berth wait pvc/data --for=jsonpath='{.status.phase}'=Bound --timeout 30s\nberth wait pvc/data --for=delete")

    @OptionGroup var client: ClientOptions
    @Option(name: [.short, .long], help: "Namespace.")
    var namespace: String = "default"
    @Option(name: .customLong("for"), help: "jsonpath='{…}'=VALUE, or delete.")
    var condition: String
    @Option(name: .long, help: "Give up after this long (e.g. 30s, 2m).")
    var timeout: String = "30s"
    @Argument(help: "KIND/NAME")
    var target: String

    func run() async throws {
        try await Berth.guarded {
            let parts = target.split(separator: "/", maxSplits: 1).map(String.init)
            guard parts.count == 2, let info = try resolveKinds(parts[0]).first else {
                throw BerthError.invalid("'\(target)' is not KIND/NAME (e.g. pvc/data)")
            }
            let name = parts[1]
            var path: String?
            var expected: String?
            if condition != "delete" {
                guard condition.hasPrefix("jsonpath=") else {
                    throw BerthError.invalid("--for '\(condition)' is not supported; use --for=jsonpath='{.status.phase}'=Bound or --for=delete")
                }
                let expr = String(condition.dropFirst("jsonpath=".count))
                guard let close = expr.lastIndex(of: "}"), expr.index(after: close) < expr.endIndex, expr[expr.index(after: close)] == "=" else {
                    throw BerthError.invalid("--for '\(condition)' needs a value: jsonpath='{.status.phase}'=Bound")
                }
                path = String(expr[...close])
                expected = String(expr[expr.index(close, offsetBy: 2)...])
                // a malformed template is an error now, not a wait that can never succeed
                _ = try JSONPathTemplate(String(expr[...close]))
            }
            let api = try client.client()
            let limit = try DurationText.parse(timeout)
            let deadline = ContinuousClock.now + limit
            var last = "<missing>"
            var exists = false
            while true {
                let obj = try await api.get(info, namespace: namespace, name: name)
                exists = obj != nil
                if let path, let expected {
                    if let obj {
                        last = Printer.jsonPath(path, in: obj)?.scalarText ?? "<none>"
                        if last == expected { print("\(info.singular)/\(name) condition met"); return }
                    }
                } else if obj == nil {
                    print("\(info.singular)/\(name) condition met")
                    return
                }
                if ContinuousClock.now > deadline {
                    if path != nil, !exists {
                        throw BerthError(.notFound, "timed out after \(timeout) waiting for \(info.singular)/\(name): it does not exist in namespace \(namespace); check the name ('berth get \(info.plural)')")
                    }
                    let detail = path.map { "\($0) is '\(last)', not '\(expected ?? "")'" } ?? "it still exists"
                    throw BerthError(.unavailable, "timed out after \(timeout) waiting for \(info.singular)/\(name): \(detail); 'berth describe \(info.singular) \(name)' shows why")
                }
                try await Task.sleep(for: .milliseconds(50))
            }
        }
    }
}
