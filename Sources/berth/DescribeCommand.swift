import ArgumentParser
import BerthClient
import BerthModel
import Foundation

struct DescribeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "describe", abstract: "Show an object in detail, with its events.")

    @OptionGroup var client: ClientOptions
    @Option(name: [.short, .long], help: "Namespace.")
    var namespace: String = "default"
    @Argument(help: "Kind (pvc, pv, sc, no, or KIND/NAME).")
    var kind: String
    @Argument(help: "Names of objects to describe.")
    var names: [String] = []

    func run() async throws {
        try await Berth.guarded {
            var kindText = kind
            var names = self.names
            if let slash = kind.firstIndex(of: "/") {
                kindText = String(kind[..<slash])
                names.insert(String(kind[kind.index(after: slash)...]), at: 0)
            }
            guard let info = try resolveKinds(kindText).first else { return }
            let api = try client.client()
            if names.isEmpty {
                names = try await api.list(info, namespace: namespace).items.compactMap { $0["metadata"]?["name"]?.stringValue }
            }
            for (i, name) in names.enumerated() {
                guard let obj = try await api.get(info, namespace: namespace, name: name) else {
                    throw BerthError.notFound("\(info.plural) \"\(name)\" not found")
                }
                let eventNamespace = info.isNamespaced ? namespace : "default"
                let uid = obj["metadata"]?["uid"]?.stringValue ?? ""
                let events = try await api.list(.event, namespace: eventNamespace, fieldSelector: "involvedObject.uid=\(uid)").items
                // a claim's pods, as kubectl's "Used By" (why a Terminating claim waits)
                var usedBy: [String]?
                if info.kind == KindInfo.persistentVolumeClaim.kind {
                    usedBy = try await api.list(.pod, namespace: namespace).items.filter { pod in
                        guard case .array(let volumes)? = pod["spec"]?["volumes"] else { return false }
                        return volumes.contains { $0["persistentVolumeClaim"]?["claimName"]?.stringValue == name }
                    }.compactMap { $0["metadata"]?["name"]?.stringValue }
                }
                if i > 0 { print("\n") }
                print(Describer.describe(info: info, object: obj, events: events, usedBy: usedBy))
            }
        }
    }
}

/// The text of `describe`, in kubectl's layout.
enum Describer {
    /// A pod template as kubectl prints it: labels, then each container with image, ports, env and mounts.
    static func podTemplate(_ t: JSONValue?) -> String {
        func s(_ v: JSONValue?) -> String { v?.scalarText ?? "" }
        var out = ["Pod Template:"]
        let labels = (t?["metadata"]?["labels"]?.objectValue ?? [:]).sorted { $0.key < $1.key }.map { "\($0.key)=\(s($0.value))" }
        out.append("  Labels:  " + (labels.isEmpty ? "<none>" : labels.joined(separator: "\n           ")))
        let annotations = (t?["metadata"]?["annotations"]?.objectValue ?? [:]).sorted { $0.key < $1.key }.map { "\($0.key): \(s($0.value))" }
        if !annotations.isEmpty { out.append("  Annotations:  " + annotations.joined(separator: "\n                ")) }
        out.append("  Containers:")
        if case .array(let containers)? = t?["spec"]?["containers"] {
            for c in containers {
                out.append("   \(s(c["name"])):")
                out.append("    Image:      \(s(c["image"]).isEmpty ? "<none>" : s(c["image"]))")
                if case .array(let ports)? = c["ports"] {
                    for p in ports { out.append("    Port:       \(s(p["containerPort"]))/\(s(p["protocol"]).isEmpty ? "TCP" : s(p["protocol"]))") }
                }
                if case .array(let env)? = c["env"], !env.isEmpty {
                    out.append("    Environment:")
                    for e in env { out.append("      \(s(e["name"])):  \(s(e["value"]))") }
                }
                if case .array(let mounts)? = c["volumeMounts"], !mounts.isEmpty {
                    out.append("    Mounts:")
                    for m in mounts { out.append("      \(s(m["mountPath"])) from \(s(m["name"]))") }
                }
            }
        }
        return out.joined(separator: "\n")
    }

    /// `usedBy`: for a claim, the pods that use it.
    static func describe(info: KindInfo, object o: JSONValue, events: [JSONValue], usedBy: [String]? = nil) -> String {
        var lines: [(String, String)] = []
        func s(_ v: JSONValue?) -> String { v?.scalarText ?? "" }
        func map(_ v: JSONValue?) -> String {
            let m = (v?.objectValue ?? [:]).sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value.scalarText ?? "")" }
            return m.isEmpty ? "<none>" : m.joined(separator: "\n               ")
        }
        let meta = o["metadata"]
        lines.append(("Name", s(meta?["name"])))
        if info.isNamespaced { lines.append(("Namespace", s(meta?["namespace"]))) }
        let spec = o["spec"], status = o["status"]
        // kubectl's status line: the phase, or how long deletion has waited (for its finalizers)
        let phase = meta?["deletionTimestamp"].map { "Terminating (lasts \(ObjectTable.age($0.stringValue)))" } ?? s(status?["phase"])
        switch info.kind {
        case "PersistentVolumeClaim":
            lines.append(("StorageClass", s(spec?["storageClassName"])))
            lines.append(("Status", phase))
            lines.append(("Volume", s(spec?["volumeName"])))
            lines.append(("Labels", map(meta?["labels"])))
            lines.append(("Annotations", map(meta?["annotations"])))
            lines.append(("Finalizers", "[\((meta?["finalizers"].flatMap { if case .array(let a) = $0 { a.compactMap(\.stringValue) } else { nil } } ?? []).joined(separator: " "))]"))
            lines.append(("Capacity", s(status?["capacity"]?["storage"])))
            lines.append(("Requested", s(spec?["resources"]?["requests"]?["storage"])))
            lines.append(("Access Modes", Printer.table(kind: info, objects: [o], wide: false, withNamespace: false)[1][4]))
            lines.append(("VolumeMode", s(spec?["volumeMode"])))
            if let usedBy { lines.append(("Used By", usedBy.isEmpty ? "<none>" : usedBy.joined(separator: "\n               "))) }
        case "PersistentVolume":
            lines.append(("Labels", map(meta?["labels"])))
            lines.append(("Annotations", map(meta?["annotations"])))
            lines.append(("StorageClass", s(spec?["storageClassName"])))
            lines.append(("Status", phase))
            if let ref = spec?["claimRef"] { lines.append(("Claim", "\(s(ref["namespace"]))/\(s(ref["name"]))")) }
            lines.append(("Reclaim Policy", s(spec?["persistentVolumeReclaimPolicy"])))
            lines.append(("Access Modes", Printer.table(kind: info, objects: [o], wide: false, withNamespace: false)[1][2]))
            lines.append(("VolumeMode", s(spec?["volumeMode"])))
            lines.append(("Capacity", s(spec?["capacity"]?["storage"])))
            if let terms = spec?["nodeAffinity"]?["required"]?["nodeSelectorTerms"], case .array(let list) = terms {
                let text = list.compactMap { term -> String? in
                    guard case .array(let exprs)? = term["matchExpressions"] else { return nil }
                    return exprs.map { e in
                        let values: [String] = if case .array(let v)? = e["values"] { v.compactMap(\.stringValue) } else { [] }
                        return "\(s(e["key"])) \(s(e["operator"]).lowercased()) [\(values.joined(separator: " "))]"
                    }.joined(separator: ", ")
                }.joined(separator: "\n               ")
                lines.append(("Node Affinity", "\n  Required Terms:\n    Term 0:        " + text))
            } else {
                lines.append(("Node Affinity", "<none>"))
            }
            lines.append(("Message", s(status?["message"])))
            let path = s(spec?["hostPath"]?["path"] ?? spec?["local"]?["path"])
            lines.append(("Source", "\n    Type:          \(spec?["hostPath"] != nil ? "HostPath (bare host directory volume)" : "LocalVolume")\n    Path:          \(path)"))
        case "StorageClass":
            let isDefault = meta?["annotations"]?[Keys.defaultClass]?.stringValue == "true"
            lines.append(("IsDefaultClass", isDefault ? "Yes" : "No"))
            lines.append(("Annotations", map(meta?["annotations"])))
            lines.append(("Provisioner", s(o["provisioner"])))
            lines.append(("Parameters", map(o["parameters"])))
            lines.append(("AllowVolumeExpansion", o["allowVolumeExpansion"].map(s) ?? "<unset>"))
            lines.append(("MountOptions", "<none>"))
            lines.append(("ReclaimPolicy", s(o["reclaimPolicy"])))
            lines.append(("VolumeBindingMode", s(o["volumeBindingMode"])))
        case "Node":
            lines.append(("Labels", map(meta?["labels"])))
            lines.append(("Unschedulable", s(spec?["unschedulable"]).isEmpty ? "false" : s(spec?["unschedulable"])))
            let caps = status?["capacity"]?.objectValue ?? [:]
            let free = status?["allocatable"]?.objectValue ?? [:]
            let pools = caps.keys.filter { $0.hasPrefix("berth.io/pool.") }.sorted().map { key -> String in
                let total = (try? Quantity(parsing: s(caps[key]))) ?? Quantity(bytes: 0)
                let available = (try? Quantity(parsing: s(free[key]))) ?? Quantity(bytes: 0)
                let used = Quantity(bytes: max(total.bytes - available.bytes, 0))
                return "\n  \(key.dropFirst("berth.io/pool.".count)):  capacity \(total)  allocated \(used)  free \(available)"
            }
            lines.append(("Storage Pools", pools.joined()))
        case "Pod":
            lines.append(("Node", s(spec?["nodeName"]).isEmpty ? "<none>" : s(spec?["nodeName"])))
            lines.append(("Start Time", s(status?["startTime"]).isEmpty ? "<none>" : s(status?["startTime"])))
            lines.append(("Labels", map(meta?["labels"])))
            lines.append(("Annotations", map(meta?["annotations"])))
            lines.append(("Status", meta?["deletionTimestamp"] != nil ? "Terminating" : (status?["phase"]?.stringValue ?? "Pending")))
            if let reason = status?["reason"]?.stringValue { lines.append(("Reason", reason)) }
            if let message = status?["message"]?.stringValue { lines.append(("Message", message)) }
            if case .array(let owners)? = meta?["ownerReferences"], let owner = owners.first(where: { $0["controller"]?.scalarText == "true" }) {
                lines.append(("Controlled By", "\(s(owner["kind"]))/\(s(owner["name"]))"))
            }
            let host = s(spec?["hostname"]), sub = s(spec?["subdomain"])
            if !host.isEmpty, !sub.isEmpty { lines.append(("DNS Name", "\(host).\(sub).\(s(meta?["namespace"]))")) }
            if case .array(let conds)? = status?["conditions"] {
                lines.append(("Conditions", conds.map { "\n  \(s($0["type"]).padding(toLength: 16, withPad: " ", startingAt: 0))\(s($0["status"]))" }.joined()))
            }
            let base = s(meta?["annotations"]?["berth.io/volumes-path"])
            var volumes = ""
            if case .array(let vs)? = spec?["volumes"] {
                for v in vs {
                    volumes += "\n  \(s(v["name"])):"
                    if let claim = v["persistentVolumeClaim"]?["claimName"]?.stringValue {
                        volumes += "\n    Type:       PersistentVolumeClaim\n    ClaimName:  \(claim)"
                        volumes += "\n    Path:       \(base.isEmpty ? "<not materialised yet>" : "\(base)/\(s(v["name"]))")"
                    }
                }
            }
            lines.append(("Volumes", volumes.isEmpty ? "<none>" : volumes))
        case "StatefulSet":
            lines.append(("CreationTimestamp", s(meta?["creationTimestamp"])))
            let selector = (spec?["selector"]?["matchLabels"]?.objectValue ?? [:]).sorted { $0.key < $1.key }.map { "\($0.key)=\(s($0.value))" }
            lines.append(("Selector", selector.isEmpty ? "<none>" : selector.joined(separator: ",")))
            lines.append(("Labels", map(meta?["labels"])))
            lines.append(("Annotations", map(meta?["annotations"])))
            lines.append(("Replicas", "\(s(spec?["replicas"])) desired | \(s(status?["replicas"]).isEmpty ? "0" : s(status?["replicas"])) total"))
            lines.append(("Ordinals start", s(spec?["ordinals"]?["start"]).isEmpty ? "0" : s(spec?["ordinals"]?["start"])))
            lines.append(("Update Strategy", s(spec?["updateStrategy"]?["type"])))
            if let partition = spec?["updateStrategy"]?["rollingUpdate"]?["partition"] { lines.append(("  Partition", s(partition))) }
            if let current = status?["currentRevision"]?.stringValue { lines.append(("Current Revision", current)) }
            if let update = status?["updateRevision"]?.stringValue { lines.append(("Update Revision", update)) }
            lines.append(("Pods Status", "\(s(status?["readyReplicas"]).isEmpty ? "0" : s(status?["readyReplicas"])) Ready"))
            lines.append(("Pod Management Policy", s(spec?["podManagementPolicy"])))
            let policy = spec?["persistentVolumeClaimRetentionPolicy"]
            lines.append(("PVC Retention Policy", "whenDeleted: \(s(policy?["whenDeleted"])), whenScaled: \(s(policy?["whenScaled"]))"))
            var claims = ""
            if case .array(let templates)? = spec?["volumeClaimTemplates"] {
                for t in templates {
                    claims += "\n  Name:          \(s(t["metadata"]?["name"]))\n  StorageClass:  \(s(t["spec"]?["storageClassName"]))"
                    claims += "\n  Capacity:      \(s(t["spec"]?["resources"]?["requests"]?["storage"]))"
                }
            }
            lines.append(("Pod Template", "\n" + Self.podTemplate(spec?["template"]).split(separator: "\n").dropFirst().joined(separator: "\n")))
            lines.append(("Volume Claims", claims.isEmpty ? "<none>" : claims))
        default:
            lines.append(("Labels", map(meta?["labels"])))
        }
        var out = lines.map { label, value in (label + ":").padding(toLength: max(15, label.count + 2), withPad: " ", startingAt: 0) + value }
            .joined(separator: "\n")
        if events.isEmpty {
            out += "\nEvents:        <none>"
        } else {
            var table = [["Type", "Reason", "Age", "From", "Message"], ["----", "------", "----", "----", "-------"]]
            for e in events.sorted(by: { s($0["lastTimestamp"]) < s($1["lastTimestamp"]) }) {
                let count = Int(s(e["count"])) ?? 1
                let age = Printer.age(e["lastTimestamp"]?.stringValue) + (count > 1 ? " (x\(count) over \(Printer.age(e["firstTimestamp"]?.stringValue)))" : "")
                table.append([s(e["type"]), s(e["reason"]), age, s(e["source"]?["component"]), s(e["message"])])
            }
            out += "\nEvents:\n" + Printer.render(table).split(separator: "\n").map { "  " + $0 }.joined(separator: "\n")
        }
        return out
    }
}
