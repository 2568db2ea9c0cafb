import Foundation
import Yams

/// Reads manifests as Kubernetes users write them: multi-document YAML or JSON, and `kind: List`.
public enum Manifest {
    /// Parses every document; empty documents are skipped, `List` documents are expanded.
    /// `source` names the file in error messages.
    public static func documents(from text: String, source: String) throws -> [JSONValue] {
        var raw: [JSONValue] = []
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        if trimmed.hasPrefix("{") || trimmed.hasPrefix("[") {
            do {
                raw = [try JSON.parse(Data(trimmed.utf8))]
            } catch let e as BerthError {
                throw BerthError.badRequest("\(source): \(e.message); fix the file and try again")
            }
        } else {
            do {
                // Yams' load_all sequence stops silently at a parse error; nextRoot() throws it
                let parser = try Parser(yaml: text)
                while let node = try parser.nextRoot() {
                    raw.append(try JSONValue(any: node.any))
                }
            } catch let e as BerthError {
                throw BerthError.badRequest("\(source): \(e.message)")
            } catch let e as YamlError {
                throw BerthError.badRequest("\(source): not valid YAML: \(yamlErrorText(e)); fix the file and try again")
            } catch {
                throw BerthError.badRequest("\(source): not valid YAML: \(error); fix the file and try again")
            }
        }
        var out: [JSONValue] = []
        for (i, doc) in raw.enumerated() {
            switch doc {
            case .null: continue
            case .array(let items): out += items
            case .object(let o):
                if o["kind"]?.stringValue == "List" || (o["kind"]?.stringValue ?? "").hasSuffix("List"), case .array(let items)? = o["items"] {
                    out += items
                } else {
                    out.append(doc)
                }
            default:
                throw BerthError.badRequest("\(source): document \(i + 1) is not an object with apiVersion, kind and metadata")
            }
        }
        return out
    }

    static func yamlErrorText(_ e: YamlError) -> String {
        "\(e)".replacingOccurrences(of: "\n", with: " ")
    }

    /// The kind a document declares, checked against what berth serves.
    public static func kindInfo(of doc: JSONValue, source: String) throws -> KindInfo {
        guard let kind = doc["kind"]?.stringValue, !kind.isEmpty else {
            throw BerthError.badRequest("\(source): a document has no 'kind'; every manifest needs apiVersion, kind and metadata")
        }
        guard let info = KindInfo.forKind(kind) else {
            let served = KindInfo.all.map(\.kind).joined(separator: ", ")
            throw BerthError.badRequest("\(source): unknown kind '\(kind)'; berth serves \(served)")
        }
        let apiVersion = doc["apiVersion"]?.stringValue ?? ""
        if apiVersion != info.apiVersion {
            throw BerthError.badRequest("\(source): \(kind) must have apiVersion '\(info.apiVersion)', got '\(apiVersion)'")
        }
        return info
    }
}

/// Maps a kind to its Swift type so that generic code (API, CLI) can admit any object.
public enum ObjectTypes {
    public static func type(for info: KindInfo) -> any KubeObject.Type {
        switch info.kind {
        case "StorageClass": StorageClass.self
        case "PersistentVolume": PersistentVolume.self
        case "PersistentVolumeClaim": PersistentVolumeClaim.self
        case "Node": Node.self
        case "StatefulSet": StatefulSet.self
        case "Pod": Pod.self
        case "ControllerRevision": ControllerRevision.self
        default: Event.self
        }
    }
}
