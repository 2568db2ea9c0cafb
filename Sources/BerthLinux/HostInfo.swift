import Foundation

/// What a Node reports about the host it runs on: processors, memory and the system's identity,
/// read from /proc and /etc as the kubelet reads them.
public struct HostInfo: Sendable, Equatable {
    public var cpus: Int
    public var memoryBytes: Int64
    public var kernelVersion: String
    public var osImage: String
    public var architecture: String
    public var machineID: String
    public var bootID: String

    public static func current() -> HostInfo {
        func read(_ path: String) -> String {
            ((try? String(contentsOfFile: path, encoding: .utf8)) ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
        }
        var osImage = "Linux"
        for line in read("/etc/os-release").split(separator: "\n") where line.hasPrefix("PRETTY_NAME=") {
            osImage = line.dropFirst("PRETTY_NAME=".count).trimmingCharacters(in: CharacterSet(charactersIn: "\""))
        }
        #if arch(x86_64)
        let architecture = "amd64"
        #elseif arch(arm64)
        let architecture = "arm64"
        #else
        let architecture = "unknown"
        #endif
        return HostInfo(cpus: ProcessInfo.processInfo.activeProcessorCount,
                        memoryBytes: Int64(clamping: ProcessInfo.processInfo.physicalMemory),
                        kernelVersion: read("/proc/sys/kernel/osrelease"), osImage: osImage, architecture: architecture,
                        machineID: read("/etc/machine-id"), bootID: read("/proc/sys/kernel/random/boot_id"))
    }
}
