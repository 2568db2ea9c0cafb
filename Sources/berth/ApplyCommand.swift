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
        // read as a stream, so that /dev/stdin and <(…) work as well as regular files
        guard let handle = FileHandle(forReadingAtPath: file) else {
            throw BerthError.badRequest("cannot open \(file) for reading; check its permissions")
        }
        defer { try? handle.close() }
        guard let text = String(data: handle.readDataToEndOfFile(), encoding: .utf8) else {
            throw BerthError.badRequest("cannot read \(file) as UTF-8 text")
        }
        out += try ManifestLoader.load(text: text, source: file, defaultNamespace: namespace)
    }
    return out
}

/// Sends every object in one atomic request; prints `kind/name created|configured|unchanged`.
func applyBatch(_ objects: [ManifestObject], mode: String, namespace: String, validate: FieldValidationOption, api: APIClient) async throws {
    let body: JSONValue = .object(["mode": .string(mode), "namespace": .string(namespace), "fieldValidation": .string(validate.wire),
                                   "items": .array(objects.map(\.body))])
    let answer = try await api.call(.POST, "/apis/berth.io/v1/apply", body: body)
    if case .array(let warnings)? = answer["warnings"] {
        for w in warnings { FileHandle.standardError.write(Data("Warning: \(w.stringValue ?? "")\n".utf8)) }
    }
    guard case .array(let results)? = answer["items"] else { return }
    for r in results {
        let info = KindInfo.forKind(r["kind"]?.stringValue ?? "")
        let kind = info.map { "\($0.singular)\($0.group.isEmpty ? "" : "." + $0.group)" } ?? "object"
        print("\(kind)/\(r["name"]?.stringValue ?? "") \(r["result"]?.stringValue ?? "")")
    }
}

struct ApplyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "apply", abstract: "Create or update objects from manifests, all or nothing.",
        discussion: "Every object is validated first and then written in one transaction: a file with one bad object changes nothing.")

    @OptionGroup var client: ClientOptions
    @Option(name: .shortAndLong, help: "Manifest file, directory, or - for standard input.")
    var filename: String
    @Option(name: [.short, .long], help: "Namespace for objects that do not name one.")
    var namespace: String = "default"
    @Option(help: "What to do with fields berth does not know: strict (refuse, the default), warn, or ignore.")
    var validate: FieldValidationOption = .strict

    func run() async throws {
        try await Berth.guarded {
            let objects = try readManifests(filename, namespace: namespace)
            try await applyBatch(objects, mode: "apply", namespace: namespace, validate: validate, api: try client.client())
        }
    }
}

struct CreateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "create", abstract: "Create objects from manifests; fails, changing nothing, when one exists.")

    @OptionGroup var client: ClientOptions
    @Option(name: .shortAndLong, help: "Manifest file, directory, or - for standard input.")
    var filename: String
    @Option(name: [.short, .long], help: "Namespace for objects that do not name one.")
    var namespace: String = "default"
    @Option(help: "What to do with fields berth does not know: strict (refuse, the default), warn, or ignore.")
    var validate: FieldValidationOption = .strict

    func run() async throws {
        try await Berth.guarded {
            let objects = try readManifests(filename, namespace: namespace)
            do {
                try await applyBatch(objects, mode: "create", namespace: namespace, validate: validate, api: try client.client())
            } catch let e as BerthError where e.code == .alreadyExists {
                throw BerthError(.alreadyExists, "\(e.message); use 'berth apply -f' to update it")
            }
        }
    }
}

/// `--validate`, as kubectl's: what the agent does with fields it does not know.
enum FieldValidationOption: String, ExpressibleByArgument, CaseIterable {
    case strict, warn, ignore
    // kubectl's spellings too
    init?(argument: String) {
        switch argument {
        case "strict", "true": self = .strict
        case "warn": self = .warn
        case "ignore", "false": self = .ignore
        default: return nil
        }
    }

    var wire: String { rawValue.prefix(1).uppercased() + rawValue.dropFirst() }
}
