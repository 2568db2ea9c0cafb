import ArgumentParser
import BerthClient
import BerthModel
import Foundation

/// `berth scale statefulset NAME --replicas N`, through the scale subresource as kubectl does.
struct ScaleCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "scale", abstract: "Set the number of replicas of a StatefulSet.")

    @OptionGroup var client: ClientOptions
    @Option(name: [.short, .long], help: "Namespace.")
    var namespace: String = "default"
    @Option(name: .long, help: "The new number of replicas.")
    var replicas: Int
    @Argument(help: "statefulset NAME, or statefulset/NAME")
    var args: [String]

    func run() async throws {
        try await Berth.guarded {
            let name = try statefulSetName(args, usage: "berth scale statefulset NAME --replicas N (only StatefulSets scale)")
            guard replicas >= 0 else { throw BerthError.invalid("--replicas must be 0 or more, got \(replicas)") }
            let api = try client.client()
            let body = JSONValue.object(["spec": .object(["replicas": .int(Int64(replicas))])]).jsonData()
            let path = KindInfo.statefulSet.objectPath(namespace: namespace, name: name) + "/scale"
            let r = try await api.send(.PATCH, path, body: body, contentType: "application/merge-patch+json")
            guard r.status == 200 else { throw APIClient.error(from: r) }
            print("statefulset.apps/\(name) scaled")
        }
    }
}

/// `berth cordon NODE` / `berth uncordon NODE`: stop or resume placing pods on a node.
struct CordonCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "cordon", abstract: "Mark a node unschedulable: no new pods are placed on it.")
    @OptionGroup var client: ClientOptions
    @Argument(help: "Node name.") var node: String
    func run() async throws { try await Berth.guarded { try await setNode(client, node, ["spec": .object(["unschedulable": .bool(true)])], "cordoned") } }
}

struct UncordonCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "uncordon", abstract: "Mark a node schedulable again.")
    @OptionGroup var client: ClientOptions
    @Argument(help: "Node name.") var node: String
    func run() async throws { try await Berth.guarded { try await setNode(client, node, ["spec": .object(["unschedulable": .null])], "uncordoned") } }
}

/// `berth node down NODE` / `berth node up NODE`: rehearse the loss of a node and its return.
struct NodeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "node", abstract: "Mark a simulated node down or up, to rehearse node loss.",
        discussion: """
            down: the node's pods are evicted; their StatefulSets make them again, and each stays Pending while \
            its volumes live on the down node (it is never given a new, empty volume elsewhere).
            up: the node is usable again; the waiting pods are placed there and run with their data.
            """,
        subcommands: [Down.self, Up.self])

    struct Down: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Mark a node down.")
        @OptionGroup var client: ClientOptions
        @Argument(help: "Node name.") var node: String
        func run() async throws {
            try await Berth.guarded {
                try await setNode(client, node, ["metadata": .object(["annotations": .object([downAnnotation: .string("true")])])], "marked down")
            }
        }
    }

    struct Up: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Mark a node up again.")
        @OptionGroup var client: ClientOptions
        @Argument(help: "Node name.") var node: String
        func run() async throws {
            try await Berth.guarded {
                try await setNode(client, node, ["metadata": .object(["annotations": .object([downAnnotation: .null])])], "marked up")
            }
        }
    }
}

let downAnnotation = "berth.io/down"

func setNode(_ client: ClientOptions, _ node: String, _ patch: [String: JSONValue], _ done: String) async throws {
    let api = try client.client()
    let r = try await api.send(.PATCH, KindInfo.node.objectPath(namespace: nil, name: node), body: JSONValue.object(patch).jsonData(),
                               contentType: "application/merge-patch+json")
    guard r.status == 200 else { throw APIClient.error(from: r) }
    print("node/\(node) \(done)")
}
