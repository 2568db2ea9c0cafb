import Foundation

/// The columns kubectl prints for each kind, computed from objects as JSON trees: used by the CLI's
/// `get` and by the API's Table responses (`Accept: …;as=Table`), so both print the same.
public enum ObjectTable {
    /// kubectl's age format: 45s, 12m, 5h, 3d.
    public static func age(_ timestamp: String?, now: Date = Date()) -> String {
        guard let t = timestamp.flatMap(Timestamp.parse) else { return "<unknown>" }
        let s = max(0, Int(now.timeIntervalSince(t)))
        if s < 120 { return "\(s)s" }
        if s < 600 { return "\(s / 60)m\(s % 60 == 0 ? "" : "\(s % 60)s")" }
        if s < 3 * 3600 { return "\(s / 60)m" }
        if s < 48 * 3600 { return "\(s / 3600)h" }
        return "\(s / 86400)d"
    }

    static func str(_ v: JSONValue?) -> String { v?.scalarText ?? "" }

    /// A volume's or claim's status column: its phase, or `Terminating` once it is being deleted
    /// (as kubectl prints it).
    static func phase(_ o: JSONValue) -> String {
        o["metadata"]?["deletionTimestamp"] != nil ? "Terminating" : str(o["status"]?["phase"])
    }

    static func accessModes(_ v: JSONValue?) -> String {
        guard case .array(let a)? = v else { return "" }
        return AccessModeSet(a.compactMap(\.stringValue)).abbreviated
    }

    /// Column headers and cells for one kind.
    public static func table(kind: KindInfo, objects: [JSONValue], wide: Bool, withNamespace: Bool, now: Date = Date()) -> [[String]] {
        var header: [String]
        var rows: [[String]] = []
        switch kind.kind {
        case "StorageClass":
            header = ["NAME", "PROVISIONER", "RECLAIMPOLICY", "VOLUMEBINDINGMODE", "ALLOWVOLUMEEXPANSION", "AGE"]
            for o in objects {
                let annotations = o["metadata"]?["annotations"]
                let isDefault = annotations?[Keys.defaultClass]?.stringValue == "true" || annotations?[Keys.betaDefaultClass]?.stringValue == "true"
                rows.append([str(o["metadata"]?["name"]) + (isDefault ? " (default)" : ""), str(o["provisioner"]),
                             str(o["reclaimPolicy"]), str(o["volumeBindingMode"]),
                             o["allowVolumeExpansion"]?.scalarText ?? "false", age(o["metadata"]?["creationTimestamp"]?.stringValue, now: now)])
            }
        case "PersistentVolume":
            header = ["NAME", "CAPACITY", "ACCESS MODES", "RECLAIM POLICY", "STATUS", "CLAIM", "STORAGECLASS", "VOLUMEATTRIBUTESCLASS", "REASON", "AGE"]
            if wide { header += ["VOLUMEMODE", "PATH", "NODE"] }
            for o in objects {
                let ref = o["spec"]?["claimRef"]
                let claim = ref.map { "\(str($0["namespace"]))/\(str($0["name"]))" } ?? ""
                var row = [str(o["metadata"]?["name"]), str(o["spec"]?["capacity"]?["storage"]), accessModes(o["spec"]?["accessModes"]),
                           str(o["spec"]?["persistentVolumeReclaimPolicy"]), phase(o), claim,
                           str(o["spec"]?["storageClassName"]), "<unset>", str(o["status"]?["reason"]),
                           age(o["metadata"]?["creationTimestamp"]?.stringValue, now: now)]
                if wide {
                    row += [str(o["spec"]?["volumeMode"]), str(o["spec"]?["hostPath"]?["path"] ?? o["spec"]?["local"]?["path"]),
                            str(o["metadata"]?["annotations"]?[Keys.node])]
                }
                rows.append(row)
            }
        case "PersistentVolumeClaim":
            header = ["NAME", "STATUS", "VOLUME", "CAPACITY", "ACCESS MODES", "STORAGECLASS", "VOLUMEATTRIBUTESCLASS", "AGE"]
            if wide { header += ["VOLUMEMODE"] }
            for o in objects {
                var row = [str(o["metadata"]?["name"]), phase(o), str(o["spec"]?["volumeName"]),
                           str(o["status"]?["capacity"]?["storage"]), accessModes(o["status"]?["accessModes"]),
                           str(o["spec"]?["storageClassName"]), "<unset>", age(o["metadata"]?["creationTimestamp"]?.stringValue, now: now)]
                if wide { row.append(str(o["spec"]?["volumeMode"])) }
                rows.append(row)
            }
        case "Node":
            header = ["NAME", "STATUS", "ROLES", "AGE", "VERSION"]
            if wide { header += ["POOLS"] }
            for o in objects {
                var ready = "Unknown"
                if case .array(let conds)? = o["status"]?["conditions"], let r = conds.first(where: { $0["type"]?.stringValue == "Ready" }) {
                    ready = r["status"]?.stringValue == "True" ? "Ready" : "NotReady"
                }
                if o["spec"]?["unschedulable"]?.scalarText == "true" { ready += ",SchedulingDisabled" }
                var row = [str(o["metadata"]?["name"]), ready, "<none>", age(o["metadata"]?["creationTimestamp"]?.stringValue, now: now), "berth"]
                if wide {
                    let caps = o["status"]?["capacity"]?.objectValue ?? [:]
                    let free = o["status"]?["allocatable"]?.objectValue ?? [:]
                    let pools = caps.keys.filter { $0.hasPrefix("berth.io/pool.") }.sorted().map { key in
                        "\(key.dropFirst("berth.io/pool.".count))=\(str(free[key]))/\(str(caps[key]))"
                    }
                    row.append(pools.joined(separator: ","))
                }
                rows.append(row)
            }
        case "StatefulSet":
            header = ["NAME", "READY", "AGE"]
            if wide { header += ["SERVICE", "ORDINALS", "POLICY"] }
            for o in objects {
                let ready = o["status"]?["readyReplicas"]?.scalarText ?? "0"
                let replicas = o["spec"]?["replicas"]?.scalarText ?? "1"
                var row = [str(o["metadata"]?["name"]), "\(ready)/\(replicas)", age(o["metadata"]?["creationTimestamp"]?.stringValue, now: now)]
                if wide {
                    let start = Int(o["spec"]?["ordinals"]?["start"]?.scalarText ?? "0") ?? 0
                    let n = Int(replicas) ?? 1
                    row += [str(o["spec"]?["serviceName"]), n > 0 ? "\(start)..\(start + n - 1)" : "-", str(o["spec"]?["podManagementPolicy"])]
                }
                rows.append(row)
            }
        case "Pod":
            header = ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]
            if wide { header += ["IP", "NODE", "NOMINATED NODE", "READINESS GATES", "DNS NAME", "VOLUMES", "VOLUMES PATH"] }
            for o in objects {
                var ready = "0/1"
                if case .array(let conds)? = o["status"]?["conditions"],
                   conds.contains(where: { $0["type"]?.stringValue == "Ready" && $0["status"]?.stringValue == "True" }) { ready = "1/1" }
                let deleting = o["metadata"]?["deletionTimestamp"] != nil
                var row = [str(o["metadata"]?["name"]), ready, deleting ? "Terminating" : (o["status"]?["phase"]?.stringValue ?? "Pending"), "0",
                           age(o["metadata"]?["creationTimestamp"]?.stringValue, now: now)]
                if wide {
                    let host = str(o["spec"]?["hostname"]), sub = str(o["spec"]?["subdomain"])
                    let dns = host.isEmpty || sub.isEmpty ? "<none>" : "\(host).\(sub).\(str(o["metadata"]?["namespace"]))"
                    var volumes: [String] = []
                    if case .array(let vs)? = o["spec"]?["volumes"] {
                        volumes = vs.compactMap { v in v["persistentVolumeClaim"]?["claimName"]?.stringValue.map { "\(str(v["name"]))=\($0)" } }
                    }
                    let node = str(o["spec"]?["nodeName"])
                    let path = str(o["metadata"]?["annotations"]?["berth.io/volumes-path"])
                    row += ["<none>", node.isEmpty ? "<none>" : node, "<none>", "<none>", dns, volumes.isEmpty ? "<none>" : volumes.joined(separator: ","),
                            path.isEmpty ? "<none>" : path]
                }
                rows.append(row)
            }
        case "ControllerRevision":
            header = ["NAME", "CONTROLLER", "REVISION", "AGE"]
            for o in objects {
                var controller = "<none>"
                if case .array(let refs)? = o["metadata"]?["ownerReferences"], let ref = refs.first(where: { $0["controller"]?.scalarText == "true" }) {
                    let group = str(ref["apiVersion"]).split(separator: "/").dropLast().first.map { ".\($0)" } ?? ""
                    controller = "\(str(ref["kind"]).lowercased())\(group)/\(str(ref["name"]))"
                }
                rows.append([str(o["metadata"]?["name"]), controller, str(o["revision"]), age(o["metadata"]?["creationTimestamp"]?.stringValue, now: now)])
            }
        default:
            header = ["LAST SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"]
            for o in objects {
                let io = o["involvedObject"]
                rows.append([age(o["lastTimestamp"]?.stringValue, now: now), str(o["type"]), str(o["reason"]),
                             "\(str(io?["kind"]).lowercased())/\(str(io?["name"]))", str(o["message"])])
            }
        }
        if withNamespace, kind.isNamespaced {
            header.insert("NAMESPACE", at: 0)
            for i in rows.indices { rows[i].insert(str(objects[i]["metadata"]?["namespace"]), at: 0) }
        }
        return [header] + rows
    }
}
