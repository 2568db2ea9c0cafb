/// berth's own version, reported by `/version`, `berth version` and each Node's kubeletVersion.
public enum BerthVersion {
    public static let current = "0.1.0"
}
