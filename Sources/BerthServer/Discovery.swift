import BerthModel
import Foundation

/// What kubectl and client libraries read before they make a call: legacy discovery (`/api`,
/// `/api/v1`, `/apis`, `/apis/<group>/<version>`) and a small `/openapi/v3` that lets kubectl hand
/// validation to the server (see ../shared/reference/kubectl-compatibility.md §3–4).
enum Discovery {
    /// The group-versions served, each with its kinds.
    static var groupVersions: [(group: String, version: String, kinds: [KindInfo])] {
        var out: [(String, String, [KindInfo])] = []
        for info in KindInfo.all {
            if let i = out.firstIndex(where: { $0.0 == info.group && $0.1 == info.version }) { out[i].2.append(info) }
            else { out.append((info.group, info.version, [info])) }
        }
        return out
    }

    static let verbs: [JSONValue] = ["create", "delete", "get", "list", "patch", "update", "watch"].map { .string($0) }

    /// The response for a discovery or OpenAPI path, or nil when the path is not one.
    static func response(for rawPath: String) -> JSONValue? {
        let path = rawPath.count > 1 && rawPath.hasSuffix("/") ? String(rawPath.dropLast()) : rawPath
        if path == "/api" {
            return ["kind": "APIVersions", "versions": .array(["v1"]),
                    "serverAddressByClientCIDRs": .array([.object(["clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1"])])]
        }
        if path == "/apis" {
            let groups = groupVersions.filter { !$0.group.isEmpty }.map { gv -> JSONValue in
                let version: JSONValue = ["groupVersion": .string("\(gv.group)/\(gv.version)"), "version": .string(gv.version)]
                return ["name": .string(gv.group), "versions": .array([version]), "preferredVersion": version]
            }
            return ["kind": "APIGroupList", "apiVersion": "v1", "groups": .array(groups)]
        }
        for gv in groupVersions {
            let prefix = gv.group.isEmpty ? "/api/\(gv.version)" : "/apis/\(gv.group)/\(gv.version)"
            if path == prefix { return resourceList(gv.group, gv.version, gv.kinds) }
            if !gv.group.isEmpty, path == "/apis/\(gv.group)" {
                let version: JSONValue = ["groupVersion": .string("\(gv.group)/\(gv.version)"), "version": .string(gv.version)]
                return ["kind": "APIGroup", "apiVersion": "v1", "name": .string(gv.group), "versions": .array([version]), "preferredVersion": version]
            }
        }
        if path == "/openapi/v3" {
            var paths: [String: JSONValue] = [:]
            for gv in groupVersions {
                let key = gv.group.isEmpty ? "api/\(gv.version)" : "apis/\(gv.group)/\(gv.version)"
                paths[key] = ["serverRelativeURL": .string("/openapi/v3/\(key)?hash=berth-\(BerthVersion.current)")]
            }
            return ["paths": .object(paths)]
        }
        for gv in groupVersions {
            let key = gv.group.isEmpty ? "api/\(gv.version)" : "apis/\(gv.group)/\(gv.version)"
            if path == "/openapi/v3/\(key)" { return openAPI(gv.group, gv.version, gv.kinds) }
        }
        return nil
    }

    static func resourceList(_ group: String, _ version: String, _ kinds: [KindInfo]) -> JSONValue {
        var resources: [JSONValue] = []
        for info in kinds {
            resources.append(["name": .string(info.plural), "singularName": .string(info.singular), "namespaced": .bool(info.isNamespaced),
                              "kind": .string(info.kind), "verbs": .array(verbs), "shortNames": .array(info.shortNames.map { .string($0) }),
                              "categories": .array(info == .event || info == .node ? [] : ["all"])])
            if info != .event {
                resources.append(["name": .string("\(info.plural)/status"), "singularName": "", "namespaced": .bool(info.isNamespaced),
                                  "kind": .string(info.kind), "verbs": .array(["get", "patch", "update"])])
            }
            if info == .statefulSet {
                resources.append(["name": "statefulsets/scale", "singularName": "", "namespaced": true, "group": "autoscaling",
                                  "version": "v1", "kind": "Scale", "verbs": .array(["get", "patch", "update"])])
            }
        }
        return ["kind": "APIResourceList", "apiVersion": "v1", "groupVersion": .string(group.isEmpty ? version : "\(group)/\(version)"),
                "resources": .array(resources)]
    }

    /// One PATCH operation per kind, with the `fieldValidation` parameter that tells kubectl the server validates.
    static func openAPI(_ group: String, _ version: String, _ kinds: [KindInfo]) -> JSONValue {
        var paths: [String: JSONValue] = [:]
        for info in kinds {
            let path = info.isNamespaced ? info.objectPath(namespace: "{namespace}", name: "{name}") : info.objectPath(namespace: nil, name: "{name}")
            paths[path] = ["patch": ["x-kubernetes-group-version-kind": ["group": .string(group), "version": .string(version), "kind": .string(info.kind)],
                                     "parameters": .array([["name": "fieldValidation", "in": "query"]])]]
        }
        return ["openapi": "3.0.0", "info": ["title": "berth", "version": .string(BerthVersion.current)], "paths": .object(paths)]
    }

    /// A Kubernetes Table (meta.k8s.io/v1) of objects, with kubectl's columns for the kind; the
    /// `-o wide` columns have priority 1. Each row carries the object's metadata (or the whole object
    /// with `includeObject=Object`), which kubectl needs for `-A` and `--show-labels`.
    static func table(_ info: KindInfo, objects: [JSONValue], resourceVersion: String?, includeObject: Bool, definitions: Bool = true) -> JSONValue {
        let narrow = ObjectTable.table(kind: info, objects: objects, wide: false, withNamespace: false)
        let wide = ObjectTable.table(kind: info, objects: objects, wide: true, withNamespace: false)
        let columns = wide[0].enumerated().map { i, name -> JSONValue in
            let title = name.split(separator: " ").map { $0.prefix(1) + $0.dropFirst().lowercased() }.joined(separator: " ")
            return ["name": .string(title), "type": "string", "format": .string(i == 0 ? "name" : ""), "description": .string(title),
                    "priority": .int(i < narrow[0].count ? 0 : 1)]
        }
        let rows = zip(objects, wide.dropFirst()).map { object, cells -> JSONValue in
            let meta = object["metadata"] ?? .object([:])
            let partial: JSONValue = ["kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": meta]
            return ["cells": .array(cells.map { .string($0) }), "object": includeObject ? object : partial]
        }
        var metadata: [String: JSONValue] = [:]
        if let resourceVersion { metadata["resourceVersion"] = .string(resourceVersion) }
        return ["kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": .object(metadata),
                "columnDefinitions": .array(definitions ? columns : []), "rows": .array(rows)]
    }
}
