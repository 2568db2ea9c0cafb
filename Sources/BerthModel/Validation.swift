/// Kubernetes' name and label rules (apimachinery `validation.go`).
public enum Validation {
    static func isAlnumLower(_ c: Character) -> Bool { c.isASCII && (c.isLowercase || c.isNumber) }
    static func isAlnum(_ c: Character) -> Bool { c.isASCII && (c.isLetter || c.isNumber) }

    /// DNS-1123 label: `[a-z0-9]([-a-z0-9]*[a-z0-9])?`, at most 63.
    public static func dnsLabelProblems(_ s: String) -> [String] {
        var out: [String] = []
        if s.count > 63 { out.append("must be no more than 63 characters") }
        let ok = !s.isEmpty && s.allSatisfy { isAlnumLower($0) || $0 == "-" }
            && isAlnumLower(s.first!) && isAlnumLower(s.last!)
        if !ok {
            out.append("a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name', or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')")
        }
        return out
    }

    /// DNS-1123 subdomain: labels joined by dots, at most 253.
    public static func dnsSubdomainProblems(_ s: String) -> [String] {
        var out: [String] = []
        if s.count > 253 { out.append("must be no more than 253 characters") }
        let labels = s.split(separator: ".", omittingEmptySubsequences: false)
        let ok = !s.isEmpty && labels.allSatisfy { l in
            !l.isEmpty && l.allSatisfy { isAlnumLower($0) || $0 == "-" } && isAlnumLower(l.first!) && isAlnumLower(l.last!)
        }
        if !ok {
            out.append("a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')")
        }
        return out
    }

    static func qualifiedNamePartOK(_ s: Substring) -> Bool {
        !s.isEmpty && s.count <= 63 && isAlnum(s.first!) && isAlnum(s.last!)
            && s.allSatisfy { isAlnum($0) || $0 == "-" || $0 == "_" || $0 == "." }
    }

    /// A label or annotation key: `[prefix/]name`.
    public static func qualifiedNameProblems(_ s: String) -> [String] {
        let parts = s.split(separator: "/", omittingEmptySubsequences: false)
        let rule = "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName', or 'my.name', or '123-abc'), with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName'), at most 63 characters"
        switch parts.count {
        case 1:
            return qualifiedNamePartOK(parts[0]) ? [] : [rule]
        case 2:
            var out: [String] = []
            if parts[0].isEmpty { out.append("prefix part must be non-empty") }
            else { out += dnsSubdomainProblems(String(parts[0])).map { "prefix part " + $0 } }
            if !qualifiedNamePartOK(parts[1]) { out.append(rule) }
            return out
        default:
            return [rule]
        }
    }

    /// A label value: empty, or at most 63 characters of the name-part alphabet.
    public static func labelValueProblems(_ s: String) -> [String] {
        if s.isEmpty { return [] }
        return qualifiedNamePartOK(Substring(s)) ? [] : ["a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character, at most 63 characters"]
    }

    /// Validates `metadata` for a kind: name rule, namespace presence, labels, annotations.
    public static func validateMeta(_ meta: ObjectMeta, info: KindInfo, nameRule: ((String) -> [String])? = nil) -> [FieldError] {
        var errors: [FieldError] = []
        let name = meta.name ?? ""
        if name.isEmpty {
            errors.append(FieldError("metadata.name", "Required value: name or generateName is required"))
        } else {
            for p in (nameRule ?? dnsSubdomainProblems)(name) {
                errors.append(FieldError("metadata.name", "Invalid value: \"\(name)\": \(p)"))
            }
        }
        if info.isNamespaced {
            let ns = meta.namespace ?? ""
            if ns.isEmpty { errors.append(FieldError("metadata.namespace", "Required value")) }
            for p in dnsLabelProblems(ns) where !ns.isEmpty {
                errors.append(FieldError("metadata.namespace", "Invalid value: \"\(ns)\": \(p)"))
            }
        } else if let ns = meta.namespace, !ns.isEmpty {
            errors.append(FieldError("metadata.namespace", "Forbidden: not allowed on this type (\(info.kind) is cluster-scoped)"))
        }
        errors += validateLabels(meta.labels, field: "metadata.labels")
        var annotationBytes = 0
        for (k, v) in meta.annotations ?? [:] {
            for p in qualifiedNameProblems(k.lowercased()) {
                errors.append(FieldError("metadata.annotations", "Invalid value: \"\(k)\": \(p)"))
            }
            annotationBytes += k.utf8.count + v.utf8.count
        }
        if annotationBytes > 256 * 1024 {
            errors.append(FieldError("metadata.annotations", "Too long: must have at most 262144 bytes"))
        }
        return errors
    }

    public static func validateLabels(_ labels: [String: String]?, field: String) -> [FieldError] {
        var errors: [FieldError] = []
        for (k, v) in (labels ?? [:]).sorted(by: { $0.key < $1.key }) {
            for p in qualifiedNameProblems(k) { errors.append(FieldError(field, "Invalid value: \"\(k)\": \(p)")) }
            for p in labelValueProblems(v) { errors.append(FieldError(field, "Invalid value: \"\(v)\": \(p)")) }
        }
        return errors
    }

    public static let accessModes: Set<String> = ["ReadWriteOnce", "ReadOnlyMany", "ReadWriteMany", "ReadWriteOncePod"]
    public static let volumeModes: Set<String> = ["Filesystem", "Block"]

    public static func validateAccessModes(_ modes: [String]?, field: String, required: Bool) -> [FieldError] {
        var errors: [FieldError] = []
        let modes = modes ?? []
        if modes.isEmpty, required {
            errors.append(FieldError(field, "Required value: at least 1 access mode is required"))
        }
        for m in modes where !accessModes.contains(m) {
            errors.append(FieldError(field, "Unsupported value: \"\(m)\": supported values: \"ReadOnlyMany\", \"ReadWriteMany\", \"ReadWriteOnce\", \"ReadWriteOncePod\""))
        }
        if modes.contains("ReadWriteOncePod"), modes.count > 1 {
            errors.append(FieldError(field, "Forbidden: may not use ReadWriteOncePod with other access modes"))
        }
        return errors
    }

    public static func validateVolumeMode(_ mode: String?, field: String) -> [FieldError] {
        guard let mode, !volumeModes.contains(mode) else { return [] }
        return [FieldError(field, "Unsupported value: \"\(mode)\": supported values: \"Block\", \"Filesystem\"")]
    }
}
