import ArgumentParser
import BerthClient
import BerthModel
import Foundation

/// Reads `-f FILE` or `-f -` (standard input); a directory applies every .yaml, .yml and .json in it.
func readManifests(_ path: String, namespace: String) throws -> [ManifestObject] {
    if path == "-" {
        let data = FileHandle.standardInput.readDataToEndOfFile()
        return try ManifestLoader.load(text: String(decoding: data, as: UTF8.self), source: "<stdin>", defaultNamespace: namespace)
    }
    var isDir: ObjCBool = false
    guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else {
        throw BerthError.notFound("the path \"\(path)\" does not exist; pass a manifest file, a directory or - for standard input")
    }
    var files = [path]
    if isDir.boolValue {
        files = try FileManager.default.contentsOfDirectory(atPath: path).sorted()
            .filter { $0.hasSuffix(".yaml") || $0.hasSuffix(".yml") || $0.hasSuffix(".json") }
            .map { path + "/" + $0 }
    }
    var out: [ManifestObject] = []
    for file in files {
        guard let text = try? String(contentsOfFile: file, encoding: .utf8) else {
            throw BerthError.badRequest("cannot read \(file) as UTF-8 text")
        }
        out += try ManifestLoader.load(text: text, source: file, defaultNamespace: namespace)
    }
    return out
}

struct ApplyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "apply", abstract: "Create or update objects from manifests.")

    @OptionGroup var client: ClientOptions
    @Option(name: .shortAndLong, help: "Manifest file, directory, or - for standard input.")
    var filename: String
    @Option(name: [.short, .long], help: "Namespace for objects that do not name one.")
    var namespace: String = "default"

    func run() async throws {
        try await Berth.guarded {
            let objects = try readManifests(filename, namespace: namespace)
            let api = try client.client()
            for object in objects {
                print(try await apply(object, api: api))
            }
        }
    }

    /// Creates the object, or merges the manifest into the existing one.
    func apply(_ object: ManifestObject, api: APIClient) async throws -> String {
        guard let existing = try await api.get(object.info, namespace: object.namespace, name: object.name) else {
            _ = try await api.call(.POST, APIClient.collectionPath(object.info, namespace: object.namespace), body: object.body)
            return "\(object.display) created"
        }
        var patch = object.body
        if case .object(var o) = patch {
            o.removeValue(forKey: "status")
            patch = .object(o)
        }
        let updated = try await api.call(.PATCH, APIClient.objectPath(object.info, namespace: object.namespace, name: object.name),
                                         body: patch, contentType: "application/merge-patch+json")
        let before = existing["metadata"]?["resourceVersion"]?.stringValue
        let after = updated["metadata"]?["resourceVersion"]?.stringValue
        return "\(object.display) \(before == after ? "unchanged" : "configured")"
    }
}

struct CreateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "create", abstract: "Create objects from manifests; fails when one exists.")

    @OptionGroup var client: ClientOptions
    @Option(name: .shortAndLong, help: "Manifest file, directory, or - for standard input.")
    var filename: String
    @Option(name: [.short, .long], help: "Namespace for objects that do not name one.")
    var namespace: String = "default"

    func run() async throws {
        try await Berth.guarded {
            let objects = try readManifests(filename, namespace: namespace)
            let api = try client.client()
            for object in objects {
                do {
                    _ = try await api.call(.POST, APIClient.collectionPath(object.info, namespace: object.namespace), body: object.body)
                } catch let e as BerthError where e.code == .alreadyExists {
                    throw BerthError(.alreadyExists, "\(e.message); use 'berth apply -f' to update it")
                }
                print("\(object.display) created")
            }
        }
    }
}
