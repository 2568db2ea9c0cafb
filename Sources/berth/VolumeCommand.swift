import ArgumentParser
import BerthClient
import BerthModel
import Foundation

struct VolumeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "volume", abstract: "Conveniences for volumes: create a claim, print a claim's path.",
        subcommands: [Create.self, Path.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a claim, wait until it is bound, print its path.")

        @OptionGroup var client: ClientOptions
        @Option(name: [.short, .long], help: "Namespace.")
        var namespace: String = "default"
        @Argument(help: "Claim name.")
        var name: String
        @Option(name: .long, help: "Requested size, e.g. 5Gi.")
        var size: String
        @Option(name: .long, help: "StorageClass (default: the default class).")
        var `class`: String?
        @Option(name: .long, help: "Access mode: ReadWriteOnce, ReadOnlyMany, ReadWriteMany, ReadWriteOncePod.")
        var accessMode: String = "ReadWriteOnce"
        @Option(name: .long, help: "How long to wait for the claim to be bound.")
        var timeout: String = "60s"

        func run() async throws {
            try await Berth.guarded {
                var spec: [String: JSONValue] = [
                    "accessModes": .array([.string(accessMode)]),
                    "resources": .object(["requests": .object(["storage": .string(size)])]),
                ]
                if let c = `class` { spec["storageClassName"] = .string(c) }
                let body: JSONValue = .object([
                    "apiVersion": .string("v1"), "kind": .string("PersistentVolumeClaim"),
                    "metadata": .object(["name": .string(name), "namespace": .string(namespace)]),
                    "spec": .object(spec),
                ])
                let object = try ManifestLoader.load(text: String(decoding: try JSON.encode(body), as: UTF8.self),
                                                     source: "volume \(name)", defaultNamespace: namespace)[0]
                let api = try client.client()
                // a class that does not exist would leave a Pending claim behind: refuse first
                if let c = `class`, try await api.get(.storageClass, namespace: nil, name: c) == nil {
                    let known = try await api.list(.storageClass, namespace: nil).items.compactMap { $0["metadata"]?["name"]?.stringValue }
                    throw BerthError.notFound("storage class \"\(c)\" does not exist (there are: \(known.joined(separator: ", "))); nothing was created — pick one with --class, or create the class first")
                }
                do {
                    _ = try await api.call(.POST, APIClient.collectionPath(.persistentVolumeClaim, namespace: namespace), body: object.body)
                } catch let e as BerthError where e.code == .alreadyExists {
                    throw BerthError(.alreadyExists, "\(e.message); 'berth volume path \(name)' prints its path")
                }
                let deadline = ContinuousClock.now + (try DurationText.parse(timeout))
                while true {
                    if let claim = try await api.get(.persistentVolumeClaim, namespace: namespace, name: name),
                       claim["status"]?["phase"]?.stringValue == "Bound" { break }
                    if ContinuousClock.now > deadline {
                        throw BerthError(.unavailable, "claim \(namespace)/\(name) was created but is not Bound after \(timeout); 'berth describe pvc \(name) -n \(namespace)' shows why ('berth delete pvc \(name) -n \(namespace)' removes it)")
                    }
                    try await Task.sleep(for: .milliseconds(50))
                }
                print("persistentvolumeclaim/\(name) bound")
                print(try await VolumeCommand.path(api: api, namespace: namespace, claim: name))
            }
        }
    }

    struct Path: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print the directory behind a claim (as the last line).")

        @OptionGroup var client: ClientOptions
        @Option(name: [.short, .long], help: "Namespace.")
        var namespace: String = "default"
        @Argument(help: "Claim name.")
        var claim: String

        func run() async throws {
            try await Berth.guarded {
                print(try await VolumeCommand.path(api: try client.client(), namespace: namespace, claim: claim))
            }
        }
    }

    static func path(api: APIClient, namespace: String, claim: String) async throws -> String {
        guard let pvc = try await api.get(.persistentVolumeClaim, namespace: namespace, name: claim) else {
            throw BerthError.notFound("persistentvolumeclaims \"\(claim)\" not found in namespace \(namespace)")
        }
        guard let volume = pvc["spec"]?["volumeName"]?.stringValue, !volume.isEmpty, pvc["status"]?["phase"]?.stringValue == "Bound" else {
            throw BerthError(.unavailable, "claim \(namespace)/\(claim) is \(pvc["status"]?["phase"]?.stringValue ?? "Pending"), not Bound; 'berth describe pvc \(claim) -n \(namespace)' shows why")
        }
        guard let pv = try await api.get(.persistentVolume, namespace: nil, name: volume) else {
            throw BerthError.notFound("claim \(namespace)/\(claim) names volume \(volume), which does not exist")
        }
        guard let path = (pv["spec"]?["hostPath"]?["path"] ?? pv["spec"]?["local"]?["path"])?.stringValue else {
            throw BerthError.notFound("volume \(volume) has no path")
        }
        return path
    }
}
