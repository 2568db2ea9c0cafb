import CBlkid
import Glibc

/// What libblkid finds on a device or file: the safe probe that decides whether it may be formatted.
public enum BlockProbe: Sendable, Equatable {
    /// No signature at all: the only state in which berth formats.
    case empty
    /// One unambiguous result: TYPE, UUID, PTTYPE, … as libblkid names them.
    case found([String: String])
    /// Several signatures: never formatted, never mounted.
    case ambivalent
    case failed(errno: Int32)

    /// Probes `path` with the superblock and partition chains, bad checksums reported rather than
    /// hidden (a damaged superblock must not look like an empty device).
    /// The corresponding call is `blkid_do_safeprobe`.
    ///
    /// - Parameter onlyType: look for this filesystem type alone (no partition tables): for
    ///   confirming what mkfs just wrote, where the full probe would read many more places on a
    ///   cold device. Never use it to decide whether a device may be formatted.
    public static func probe(_ path: String, onlyType: String? = nil) -> BlockProbe {
        guard let probe = blkid_new_probe_from_filename(path) else { return .failed(errno: errno == 0 ? EIO : errno) }
        defer { blkid_free_probe(probe) }
        blkid_probe_enable_superblocks(probe, 1)
        blkid_probe_set_superblocks_flags(probe, BLKID_SUBLKS_TYPE | BLKID_SUBLKS_UUID | BLKID_SUBLKS_LABEL
                                                 | BLKID_SUBLKS_USAGE | BLKID_SUBLKS_BADCSUM)
        if let onlyType {
            let filtered = onlyType.withCString { name -> Int32 in
                var names: [UnsafeMutablePointer<CChar>?] = [UnsafeMutablePointer(mutating: name), nil]
                return names.withUnsafeMutableBufferPointer { blkid_probe_filter_superblocks_type(probe, BLKID_FLTR_ONLYIN, $0.baseAddress!) }
            }
            if filtered != 0 { return .failed(errno: EINVAL) }
        } else {
            blkid_probe_enable_partitions(probe, 1)
            blkid_probe_set_partitions_flags(probe, BLKID_PARTS_MAGIC)
        }
        switch blkid_do_safeprobe(probe) {
        case 1: return .empty
        case -2: return .ambivalent
        case 0:
            var values: [String: String] = [:]
            for key in ["TYPE", "UUID", "LABEL", "USAGE", "PTTYPE", "PTUUID", "SBBADCSUM"] {
                var data: UnsafePointer<CChar>?
                var length = 0
                if blkid_probe_lookup_value(probe, key, &data, &length) == 0, let data { values[key] = String(cString: data) }
            }
            return .found(values)
        default:
            return .failed(errno: errno == 0 ? EIO : errno)
        }
    }

    /// A one-line account for messages: `ext4 (UUID 412e…)`, `a dos partition table`.
    public var summary: String {
        switch self {
        case .empty: return "no filesystem or partition table"
        case .ambivalent: return "several conflicting signatures"
        case .failed(let e): return "an unreadable device (\(String(cString: strerror(e))))"
        case .found(let v):
            if let pt = v["PTTYPE"] { return "a \(pt) partition table" }
            return "\(v["TYPE"] ?? "an unknown signature")\(v["UUID"].map { " (UUID \($0))" } ?? "")"
        }
    }
}
