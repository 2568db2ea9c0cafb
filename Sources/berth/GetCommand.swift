import ArgumentParser
import BerthClient
import BerthModel
import Foundation

/// Resolves `pvc`, `pv,pvc`, `storageclass.storage.k8s.io` and the like.
func resolveKinds(_ text: String) throws -> [KindInfo] {
    try text.split(separator: ",").map { part in
        guard let info = KindInfo.resolve(String(part)) else {
            let served = KindInfo.all.map { $0.shortNames.isEmpty ? $0.plural : "\($0.plural) (\($0.shortNames.joined(separator: ", ")))" }
            throw BerthError.notFound("the server doesn't have a resource type \"\(part)\"; berth serves \(served.dropLast().joined(separator: ", ")) and \(served.last!)")
        }
        return info
    }
}

struct GetCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "get", abstract: "List objects, or show some by name.")

    @OptionGroup var client: ClientOptions
    @OptionGroup var ns: NamespaceOptions
    @Argument(help: "Kind(s), comma-separated: sc, pv, pvc, no, ev, sts, po, controllerrevisions (or their full names); or KIND/NAME….")
    var kinds: String
    @Argument(help: "Names of objects to show.")
    var names: [String] = []
    @Option(name: .shortAndLong, help: "Output format: wide, json, yaml, name, jsonpath=TEMPLATE.")
    var output: String?
    @Option(name: [.customShort("l"), .long], help: "Label selector, e.g. app=db,tier!=cache.")
    var selector: String?
    @Option(name: .long, help: "Field selector, e.g. metadata.name=data or status.phase=Bound.")
    var fieldSelector: String?
    @Flag(name: [.customShort("w"), .long], help: "After listing, watch for changes.")
    var watch = false
    @Flag(name: .long, help: "Show labels as the last column.")
    var showLabels = false

    mutating func run() async throws {
        // kubectl's `get pvc/data pvc/logs`: one kind, named in each argument
        var kinds = self.kinds, names = self.names
        try await Berth.guarded {
            guard kinds.contains("/") else { return }
            let entries = ([kinds] + names).map { $0.split(separator: "/", maxSplits: 1).map(String.init) }
            guard entries.allSatisfy({ $0.count == 2 && !$0[1].isEmpty }), Set(entries.map { $0[0] }).count == 1 else {
                throw BerthError.invalid("'\(([kinds] + names).joined(separator: " "))': give KIND/NAME for every object, all of one kind (or KIND NAME…)")
            }
            kinds = entries[0][0]
            names = entries.map { $0[1] }
        }
        self.kinds = kinds
        self.names = names
        try await Berth.guarded {
            let infos = try resolveKinds(kinds)
            let api = try client.client()
            if let output, !["wide", "json", "yaml", "name"].contains(output), !output.hasPrefix("jsonpath=") {
                throw BerthError.invalid("--output '\(output)' is not one of wide, json, yaml, name, jsonpath=TEMPLATE")
            }
            // a malformed template is refused before anything is asked of the agent
            if let output, output.hasPrefix("jsonpath=") { _ = try JSONPathTemplate(String(output.dropFirst("jsonpath=".count))) }
            let namespace: String? = ns.allNamespaces ? nil : ns.resolved
            var lastRevision = ""
            var allItems: [(KindInfo, JSONValue)] = []
            for info in infos {
                var items: [JSONValue]
                if names.isEmpty {
                    let result = try await api.list(info, namespace: namespace, labelSelector: selector, fieldSelector: fieldSelector)
                    items = result.items
                    lastRevision = result.resourceVersion
                } else {
                    items = []
                    for name in names {
                        guard let obj = try await api.get(info, namespace: ns.resolved, name: name) else {
                            throw BerthError.notFound("\(info.plural)\(info.group.isEmpty ? "" : "." + info.group) \"\(name)\" not found")
                        }
                        items.append(obj)
                    }
                }
                allItems += items.map { (info, $0) }
            }
            try print(infos: infos, items: allItems, headers: true)
            if allItems.isEmpty, output == nil || output == "wide" {
                let where_ = infos.allSatisfy(\.isNamespaced) && namespace != nil ? " in \(namespace!) namespace" : ""
                FileHandle.standardError.write(Data("No resources found\(where_).\n".utf8))
            }
            if watch, let info = infos.first {
                var q: [(String, String)] = [("watch", "true"), ("resourceVersion", lastRevision.isEmpty ? "0" : lastRevision)]
                if let selector { q.append(("labelSelector", selector)) }
                if let fieldSelector { q.append(("fieldSelector", fieldSelector)) }
                if !names.isEmpty { q.append(("fieldSelector", "metadata.name=\(names[0])")) }
                let path = APIClient.collectionPath(info, namespace: namespace) + APIClient.query(q)
                try await api.watch(path) { event in
                    if let obj = event["object"] { try self.print(infos: [info], items: [(info, obj)], headers: false) }
                    fflush(nil)
                    return true
                }
            }
        }
    }

    func print(infos: [KindInfo], items: [(KindInfo, JSONValue)], headers: Bool) throws {
        switch output {
        case "json":
            if items.count == 1, !names.isEmpty || !headers { Swift.print(try Printer.json(items[0].1)); return }
            Swift.print(try Printer.json(.object(["apiVersion": .string("v1"), "kind": .string("List"), "items": .array(items.map(\.1)),
                                                 "metadata": .object(["resourceVersion": .string("")])])))
        case "yaml":
            if items.count == 1, !names.isEmpty || !headers { Swift.print(try Printer.yaml(items[0].1), terminator: ""); return }
            Swift.print(try Printer.yaml(.object(["apiVersion": .string("v1"), "kind": .string("List"), "items": .array(items.map(\.1)),
                                                 "metadata": .object(["resourceVersion": .string("")])])), terminator: "")
        case "name":
            for (info, obj) in items {
                Swift.print("\(info.singular)\(info.group.isEmpty ? "" : "." + info.group)/\(obj["metadata"]?["name"]?.stringValue ?? "")")
            }
        case let o? where o.hasPrefix("jsonpath="):
            // as kubectl: a named object (or a watch event) is the template's root; a list is a List
            let template = try JSONPathTemplate(String(o.dropFirst("jsonpath=".count)))
            let root = items.count == 1 && (!names.isEmpty || !headers) ? items[0].1
                : .object(["apiVersion": .string("v1"), "kind": .string("List"), "items": .array(items.map(\.1)),
                           "metadata": .object(["resourceVersion": .string("")])])
            // no newline of its own, as kubectl (a template ends lines with {"\n"} where it wants them)
            Swift.print(template.render(root), terminator: "")
        default:
            var first = true
            for info in infos {
                let objects = items.filter { $0.0 == info }.map(\.1)
                if objects.isEmpty { continue }
                var table = Printer.table(kind: info, objects: objects, wide: output == "wide", withNamespace: ns.allNamespaces)
                // several kinds: names as kubectl prints them, kind-qualified (events have no NAME column)
                if infos.count > 1, let nameColumn = table[0].firstIndex(of: "NAME") {
                    let prefix = "\(info.singular)\(info.group.isEmpty ? "" : "." + info.group)/"
                    for i in 1..<table.count { table[i][nameColumn] = prefix + table[i][nameColumn] }
                }
                if showLabels {
                    table[0].append("LABELS")
                    for (i, obj) in objects.enumerated() {
                        let labels = (obj["metadata"]?["labels"]?.objectValue ?? [:]).sorted { $0.key < $1.key }
                            .map { "\($0.key)=\($0.value.stringValue ?? "")" }.joined(separator: ",")
                        table[i + 1].append(labels.isEmpty ? "<none>" : labels)
                    }
                }
                if !first { Swift.print("") }
                Swift.print(Printer.render(table, header: headers))
                first = false
            }
        }
    }
}
