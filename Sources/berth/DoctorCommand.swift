import ArgumentParser
import BerthLinux
import Foundation

/// `berth doctor`: whether this host can do loop volumes, and what to change when it cannot.
struct DoctorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "doctor",
        abstract: "Check whether this host can serve loop-device volumes (root, /dev/loop-control, mkfs, libblkid).",
        discussion: "Exits 0 when every check passes, 1 otherwise; each failed check says what to install or change.")

    func run() async throws {
        let findings = HostCheck.run()
        for f in findings {
            print("\(f.isOK ? "ok  " : "FAIL") \(f.name.padding(toLength: 18, withPad: " ", startingAt: 0)) \(f.detail)")
            if !f.isOK { print("     fix: \(f.fix)") }
        }
        if findings.allSatisfy(\.isOK) {
            print("this host can serve berth.io/loop volumes")
        } else {
            print("this host cannot serve berth.io/loop volumes until the checks above pass; berth.io/hostpath volumes still work")
            throw ExitCode(1)
        }
    }
}
