/// YAML documents for tests, each ending with `---` so that they concatenate into one manifest.
public enum ManifestText {
    /// A host-path PersistentVolume at `directory/name`; `extra` is appended under `spec:` (indent it by two).
    public static func pv(_ name: String, _ size: String, modes: String = "[ReadWriteOnce]", cls: String = "\"\"",
                          labels: String = "{}", directory: String = "/srv/static", extra: String = "") -> String {
        """
        apiVersion: v1
        kind: PersistentVolume
        metadata: {name: \(name), labels: \(labels)}
        spec:
          capacity: {storage: \(size)}
          accessModes: \(modes)
          storageClassName: \(cls)
          hostPath: {path: \(directory)/\(name)}
        \(extra)
        ---

        """
    }

    /// A PersistentVolumeClaim; `cls: nil` leaves the class out (the default class applies).
    public static func pvc(_ name: String, _ size: String, modes: String = "[ReadWriteOnce]", cls: String? = "\"\"",
                           extra: String = "") -> String {
        """
        apiVersion: v1
        kind: PersistentVolumeClaim
        metadata: {name: \(name)}
        spec:
          accessModes: \(modes)
          resources: {requests: {storage: \(size)}}
        \(cls.map { "  storageClassName: \($0)" } ?? "")
        \(extra)
        ---

        """
    }

    /// A StatefulSet whose pods each get one claim, `data`, from its template; `cls: nil` leaves the
    /// class out (the default class applies).
    public static func statefulSet(_ name: String = "web", replicas: Int, start: Int? = nil, policy: String = "OrderedReady",
                                   whenScaled: String = "Retain", whenDeleted: String = "Retain", cls: String? = nil,
                                   size: String = "1Gi") -> String {
        """
        apiVersion: apps/v1
        kind: StatefulSet
        metadata: {name: \(name)}
        spec:
          serviceName: \(name)
          replicas: \(replicas)
          podManagementPolicy: \(policy)
        \(start.map { "  ordinals: {start: \($0)}" } ?? "")
          persistentVolumeClaimRetentionPolicy: {whenScaled: \(whenScaled), whenDeleted: \(whenDeleted)}
          selector: {matchLabels: {app: \(name)}}
          template:
            metadata: {labels: {app: \(name)}}
            spec:
              containers: [{name: db, image: postgres:16}]
          volumeClaimTemplates:
          - metadata: {name: data}
            spec:
              accessModes: [ReadWriteOnce]
        \(cls.map { "      storageClassName: \($0)" } ?? "")
              resources: {requests: {storage: \(size)}}
        ---

        """
    }
}
