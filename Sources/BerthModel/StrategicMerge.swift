/// Kubernetes' strategic merge patch, for the kinds berth serves: like a JSON merge patch, except
/// that lists of objects with a merge key (a pod's `containers`, `volumes`, `env`, `ports`, …) are
/// merged element by element, `$patch: delete` removes an element, `$patch: replace` replaces a map or
/// list, and the ordering and retain directives (`$setElementOrder/…`, `$retainKeys`) are honoured
/// only as far as a merge needs them (they are dropped). kubectl's client-side apply sends these.
public enum StrategicMerge {
    /// Merge keys of the lists that have them, by field name (Kubernetes' `patchMergeKey` tags for
    /// the PodSpec, which is the only place in berth's kinds that has keyed lists).
    public static let mergeKeys: [String: String] = [
        "containers": "name", "initContainers": "name", "ephemeralContainers": "name", "volumes": "name",
        "env": "name", "ports": "containerPort", "volumeMounts": "mountPath", "volumeDevices": "devicePath",
        "imagePullSecrets": "name", "hostAliases": "ip", "tolerations": "key", "topologySpreadConstraints": "topologyKey",
        "resourceClaims": "name", "conditions": "type",
    ]

    /// Removes the directives a merge does not act on (`$setElementOrder/…`, `$retainKeys`,
    /// `$deleteFromPrimitiveList/…`), keeping `$patch`.
    public static func normalize(_ patch: JSONValue) -> JSONValue {
        switch patch {
        case .object(let o):
            var out: [String: JSONValue] = [:]
            for (k, v) in o where !(k.hasPrefix("$") && k != "$patch") { out[k] = normalize(v) }
            return .object(out)
        case .array(let a):
            return .array(a.map(normalize))
        default:
            return patch
        }
    }

    /// Applies `patch` to `original`.
    public static func apply(_ patch: JSONValue, to original: JSONValue) -> JSONValue {
        guard case .object(let p) = patch else { return patch }
        if p["$patch"]?.stringValue == "replace" {
            var replaced = p
            replaced.removeValue(forKey: "$patch")
            return .object(replaced)
        }
        if p["$patch"]?.stringValue == "delete" { return .null }
        var result = original.objectValue ?? [:]
        for (key, value) in p where key != "$patch" {
            if case .null = value {
                result.removeValue(forKey: key)
            } else if case .array(let items) = value, let mergeKey = mergeKeys[key], case .array(let current)? = result[key],
                      items.allSatisfy({ $0.objectValue != nil }) {
                result[key] = .array(mergeList(current, items, key: mergeKey))
            } else if case .object = value {
                result[key] = apply(value, to: result[key] ?? .null)
            } else {
                result[key] = value
            }
        }
        return .object(result)
    }

    /// Merges a keyed list: patch elements update (or, with `$patch: delete`, remove) the element with
    /// the same key; new keys are appended; a `$patch: replace` element replaces the whole list.
    static func mergeList(_ current: [JSONValue], _ patch: [JSONValue], key: String) -> [JSONValue] {
        if patch.contains(where: { $0["$patch"]?.stringValue == "replace" }) {
            return patch.filter { $0["$patch"]?.stringValue != "replace" }
        }
        var out = current
        for element in patch {
            guard let k = element[key] else { continue }
            let index = out.firstIndex { $0[key] == k }
            if element["$patch"]?.stringValue == "delete" {
                if let index { out.remove(at: index) }
            } else if let index {
                out[index] = apply(element, to: out[index])
            } else {
                out.append(apply(element, to: .null))
            }
        }
        return out
    }
}
