import BerthClient
import BerthModel
import BerthTestSupport
import Foundation
import Testing

/// Loop-device volumes through the real agent: real loop devices, mkfs, mount and blkid.
/// Privileged and serialized; each test removes what it made and checks that no device or mount of
/// its own directory is left.
@Suite(.serialized, .timeLimit(.minutes(3)), .enabled(if: Privileged.shouldRun, "needs root, /dev/loop-control and mkfs.ext4"))
struct LoopVolumeEndToEndTests {
    let dir = TemporaryDirectory(prefix: "berth-loop")
    var state: String { dir.sub("state") }
    var pool: String { dir.sub("state/pools/default") }

    func claim(_ name: String, size: String, mode: String = "Filesystem", cls: String = "berth-loop") -> String {
        """
        apiVersion: v1
        kind: PersistentVolumeClaim
        metadata: {name: \(name)}
        spec:
          accessModes: [ReadWriteOnce]
          volumeMode: \(mode)
          storageClassName: \(cls)
          resources: {requests: {storage: \(size)}}
        """
    }

    func apply(_ yaml: String, _ agent: AgentProcess) throws {
        let r = try runCLI(["apply", "-f", "-"], socket: agent.socket, stdin: yaml)
        #expect(r.status == 0, "\(r.stderr)")
    }

    func volume(of claim: String, _ agent: AgentProcess) async throws -> JSONValue? {
        guard try await eventually(timeout: .seconds(30), {
            try await agent.client.get(.persistentVolumeClaim, namespace: "default", name: claim)?["status"]?["phase"]?.stringValue == "Bound"
        }) else { return nil }
        let c = try await agent.client.get(.persistentVolumeClaim, namespace: "default", name: claim)
        return try await agent.client.get(.persistentVolume, namespace: nil, name: c?["spec"]?["volumeName"]?.stringValue ?? "")
    }

    /// Loop devices and mounts that belong to this test's directory.
    func leftovers() -> String {
        let loops = shell("losetup -a | grep -F '\(dir.path)' || true").output
        let mounts = shell("grep -F '\(dir.path)' /proc/self/mountinfo || true").output
        return (loops + mounts).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Deletes a claim and waits for its PV to go; nothing of this test's (device, mount) may remain.
    func deleteLeavingNothing(claim: String, volume: String, _ agent: AgentProcess) async throws {
        #expect(try runCLI(["delete", "pvc", claim], socket: agent.socket).status == 0)
        #expect(try await eventually(timeout: .seconds(30)) { try await agent.client.get(.persistentVolume, namespace: nil, name: volume) == nil })
        #expect(leftovers().isEmpty)
    }

    func deviceOf(mountPoint: String) -> String {
        shell("findmnt -n -o SOURCE --target '\(mountPoint)'").output.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    @Test func ext4VolumeIsFormattedMountedLimitedAndSurvivesCrashRebootAndDelete() async throws {
        var agent = AgentProcess(stateDir: state)
        try await agent.start()
        try apply(claim("data", size: "64Mi"), agent)
        let pv = try #require(try await volume(of: "data", agent))
        let name = pv["metadata"]?["name"]?.stringValue ?? ""
        let uuid = try #require(pv["metadata"]?["annotations"]?[Keys.fsUUID]?.stringValue)
        let path = try #require(pv["spec"]?["local"]?["path"]?.stringValue)
        #expect(path == "\(pool)/\(name)")
        // blkid on its device reports ext4 and the UUID the PV records; the path is its mount point
        let device = deviceOf(mountPoint: path)
        #expect(device.hasPrefix("/dev/loop"))
        #expect(shell("blkid -p -s TYPE -o value \(device)").output.contains("ext4"))
        #expect(shell("blkid -p -s UUID -o value \(device)").output.trimmingCharacters(in: .whitespacesAndNewlines) == uuid)
        #expect(shell("findmnt -n -o TARGET --source \(device)").output.contains(path))
        // the capacity is a hard limit
        #expect(shell("echo kept > '\(path)/data.txt' && sync").status == 0)
        #expect(shell("dd if=/dev/zero of='\(path)/big' bs=1M count=80 2>&1").status != 0)
        #expect(shell("rm -f '\(path)/big'").status == 0)
        let described = try runCLI(["describe", "pv", name], socket: agent.socket)
        #expect(described.stdout.contains(uuid) && described.stdout.contains("berth.io/fs-type=ext4"))

        // kill -9, start: the same device identity and data
        await agent.kill()
        agent = AgentProcess(stateDir: state)
        try await agent.start()
        #expect(shell("cat '\(path)/data.txt'").output == "kept\n")
        #expect(shell("blkid -p -s UUID -o value \(deviceOf(mountPoint: path))").output.contains(uuid))

        // a simulated reboot: unmount and detach behind the agent's back, then start it
        _ = await agent.stop()
        let dev = deviceOf(mountPoint: path)
        #expect(shell("umount '\(path)' && losetup -d \(dev)").status == 0)
        #expect(leftovers().isEmpty)
        agent = AgentProcess(stateDir: state)
        try await agent.start()
        #expect(shell("cat '\(path)/data.txt'").output == "kept\n")
        #expect(shell("blkid -p -s UUID -o value \(deviceOf(mountPoint: path))").output.contains(uuid))

        // delete: mount, device and file go
        try await deleteLeavingNothing(claim: "data", volume: name, agent)
        #expect(!FileManager.default.fileExists(atPath: "\(pool)/\(name).img"))
        #expect(!FileManager.default.fileExists(atPath: path))
        _ = await agent.stop()
    }

    /// While the agent runs, someone unmounts a volume, then detaches its device too: at the next
    /// resync berth mounts the same filesystem again (same UUID, same data), with an event, so that
    /// nothing is written into the empty directory below the mount point.
    @Test func aVolumeUnmountedWhileTheAgentRunsIsMountedAgain() async throws {
        let agent = AgentProcess(stateDir: state)
        try await agent.start(resync: 1)
        try apply(claim("data", size: "32Mi"), agent)
        let pv = try #require(try await volume(of: "data", agent))
        let name = pv["metadata"]?["name"]?.stringValue ?? ""
        let uuid = try #require(pv["metadata"]?["annotations"]?[Keys.fsUUID]?.stringValue)
        let path = "\(pool)/\(name)"
        #expect(shell("echo kept > '\(path)/data.txt' && sync").status == 0)
        for behindTheBack in ["umount '\(path)'", "dev=$(findmnt -n -o SOURCE '\(path)') && case $dev in /dev/loop*) ;; *) exit 1 ;; esac && umount '\(path)' && losetup -d $dev"] {
            #expect(shell(behindTheBack).status == 0)
            #expect(try await eventually(timeout: .seconds(20)) { self.deviceOf(mountPoint: path).hasPrefix("/dev/loop") && shell("findmnt -n '\(path)'").status == 0 },
                    "\(behindTheBack): not mounted again; agent log: \(agent.log().suffix(2000))")
            #expect(shell("cat '\(path)/data.txt'").output == "kept\n")
            #expect(shell("blkid -p -s UUID -o value \(deviceOf(mountPoint: path))").output.contains(uuid))
        }
        // one mount, not a stack of them, and an event that says what happened
        #expect(shell("grep -c ' \(path) ' /proc/self/mountinfo").output.trimmingCharacters(in: .whitespacesAndNewlines) == "1")
        let described = try runCLI(["describe", "pv", name], socket: agent.socket)
        #expect(described.stdout.contains("VolumeRemounted"), "\(described.stdout)")
        try await deleteLeavingNothing(claim: "data", volume: name, agent)
        _ = await agent.stop()
    }

    /// A pod that starts while its loop volume is unmounted behind berth's back must not get the
    /// empty directory below the mount point (what it wrote there would vanish under the volume once
    /// it is mounted again): it waits with a FailedMount event, and starts on the real filesystem.
    @Test func aPodWaitsForItsLoopVolumeToBeMountedAgain() async throws {
        let agent = AgentProcess(stateDir: state)
        // a resync slow enough that the new pod comes before the volume is mounted again
        try await agent.start(resync: 4)
        try apply(ManifestText.statefulSet(replicas: 1, cls: "berth-loop", size: "32Mi"), agent)
        func runningUID() async throws -> String? {
            let pod = try await agent.client.get(.pod, namespace: "default", name: "web-0")
            guard pod?["status"]?["phase"]?.stringValue == "Running", pod?["metadata"]?["deletionTimestamp"] == nil else { return nil }
            return pod?["metadata"]?["uid"]?.stringValue
        }
        #expect(try await eventually(timeout: .seconds(30)) { try await runningUID() != nil })
        let first = try #require(try await runningUID())
        let podPath = "\(state)/pods/default/web-0/volumes/data"
        #expect(shell("echo kept > '\(podPath)/data.txt' && sync").status == 0)
        let pv = try #require(try await volume(of: "data-web-0", agent))
        let name = pv["metadata"]?["name"]?.stringValue ?? ""
        let path = "\(pool)/\(name)"

        // unmounted behind berth's back, then the pod deleted: the set makes a new one at once. When
        // a resync happens to mount the volume again before the new pod is set up, the pod never had
        // to wait; then the round is repeated, so that the test cannot pass without the wait
        var previous = first, waited = false
        for _ in 0..<3 where !waited {
            #expect(shell("umount '\(path)'").status == 0)
            #expect(try runCLI(["delete", "pod", "web-0"], socket: agent.socket).status == 0)
            #expect(try await eventually(timeout: .seconds(30)) { try await runningUID().map { $0 != previous } ?? false },
                    "the new web-0 never ran; agent log: \(agent.log().suffix(2000))")
            #expect(shell("cat '\(podPath)/data.txt'").output == "kept\n", "the pod did not get its volume's filesystem")
            #expect(deviceOf(mountPoint: podPath).hasPrefix("/dev/loop"))
            previous = try #require(try await runningUID())
            let events = try await agent.client.list(.event, namespace: "default").items
            waited = events.contains { $0["reason"]?.stringValue == "FailedMount" && $0["involvedObject"]?["uid"]?.stringValue == previous }
        }
        #expect(waited, "in three rounds the new pod never had to wait for its volume")

        #expect(try runCLI(["delete", "statefulset", "web"], socket: agent.socket).status == 0)
        #expect(try await eventually(timeout: .seconds(30)) { try await agent.client.get(.pod, namespace: "default", name: "web-0") == nil })
        try await deleteLeavingNothing(claim: "data-web-0", volume: name, agent)
        _ = await agent.stop()
    }

    /// A Block volume's device detached behind berth's back: at the next resync its file is attached
    /// again and the link re-pointed, so the link never leads to a loop number another file may get.
    @Test func aBlockVolumeDetachedWhileTheAgentRunsIsAttachedAgain() async throws {
        let agent = AgentProcess(stateDir: state)
        try await agent.start(resync: 1)
        try apply(claim("raw", size: "16Mi", mode: "Block"), agent)
        let pv = try #require(try await volume(of: "raw", agent))
        let name = pv["metadata"]?["name"]?.stringValue ?? ""
        let link = try #require(pv["spec"]?["local"]?["path"]?.stringValue)
        let image = "\(pool)/\(name).img"
        let device = try FileManager.default.destinationOfSymbolicLink(atPath: link)
        #expect(device.hasPrefix("/dev/loop"))
        #expect(shell("printf kept | dd of=\(device) conv=fsync status=none").status == 0)
        #expect(shell("losetup -d \(device)").status == 0)
        #expect(try await eventually(timeout: .seconds(20)) {
            let now = (try? FileManager.default.destinationOfSymbolicLink(atPath: link)) ?? ""
            return now.hasPrefix("/dev/loop") && shell("losetup -j '\(image)'").output.contains(now + ":")
        }, "not attached again; agent log: \(agent.log().suffix(2000))")
        let now = try FileManager.default.destinationOfSymbolicLink(atPath: link)
        #expect(shell("head -c 4 \(now)").output == "kept")
        let described = try runCLI(["describe", "pv", name], socket: agent.socket)
        #expect(described.stdout.contains("VolumeReattached"), "\(described.stdout)")
        try await deleteLeavingNothing(claim: "raw", volume: name, agent)
        _ = await agent.stop()
    }

    @Test func blockModeAndXfsAndAMissingBackingFile() async throws {
        var agent = AgentProcess(stateDir: state)
        try await agent.start()
        try apply("""
            apiVersion: storage.k8s.io/v1
            kind: StorageClass
            metadata: {name: loop-xfs}
            provisioner: berth.io/loop
            parameters: {fsType: xfs}
            """, agent)
        try apply([claim("raw", size: "32Mi", mode: "Block"), claim("xfs", size: "320Mi", cls: "loop-xfs"),
                   claim("gone", size: "16Mi")].joined(separator: "\n---\n"), agent)
        // Block: the path is a link to a loop device whose size is the request
        let raw = try #require(try await volume(of: "raw", agent))
        let link = try #require(raw["spec"]?["local"]?["path"]?.stringValue)
        let target = try FileManager.default.destinationOfSymbolicLink(atPath: link)
        #expect(target.hasPrefix("/dev/loop"))
        #expect(shell("blockdev --getsize64 \(target)").output.trimmingCharacters(in: .whitespacesAndNewlines) == "\(32 << 20)")
        let path = try runCLI(["volume", "path", "raw"], socket: agent.socket)
        #expect(path.stdout.contains(link), "\(path.stdout) \(path.stderr)")
        // xfs by parameter
        let xfs = try #require(try await volume(of: "xfs", agent))
        let xfsPath = xfs["spec"]?["local"]?["path"]?.stringValue ?? ""
        #expect(shell("findmnt -n -o FSTYPE --target '\(xfsPath)'").output.contains("xfs"))
        // a missing backing file: Failed with an event, nothing created in its place
        let gone = try #require(try await volume(of: "gone", agent))
        let goneName = gone["metadata"]?["name"]?.stringValue ?? ""
        let gonePath = gone["spec"]?["local"]?["path"]?.stringValue ?? ""
        _ = await agent.stop()
        let device = deviceOf(mountPoint: gonePath)
        #expect(shell("umount '\(gonePath)' && losetup -d \(device) && rm '\(pool)/\(goneName).img'").status == 0)
        agent = AgentProcess(stateDir: state)
        try await agent.start()
        let failed = try await agent.client.get(.persistentVolume, namespace: nil, name: goneName)
        #expect(failed?["status"]?["phase"]?.stringValue == "Failed")
        #expect(failed?["status"]?["message"]?.stringValue?.contains("backing file") == true)
        #expect(!FileManager.default.fileExists(atPath: "\(pool)/\(goneName).img"))
        // everything deleted leaves nothing behind
        #expect(try runCLI(["delete", "pvc", "raw", "xfs", "gone"], socket: agent.socket).status == 0)
        #expect(try await eventually(timeout: .seconds(30)) {
            try await agent.client.list(.persistentVolume, namespace: nil).items.isEmpty
        })
        #expect(leftovers().isEmpty)
        _ = await agent.stop()
    }

    @Test(arguments: ["mkfs.ext4 -q", "echo 'label: dos' | sfdisk -q"])
    func aFileThatAlreadyCarriesASignatureIsNeverFormatted(writer: String) async throws {
        // an image with a filesystem or a partition table, put where a berth volume's file belongs,
        // is refused: never formatted, never mounted
        let agent = AgentProcess(stateDir: state)
        try await agent.start()
        try apply(claim("first", size: "16Mi"), agent)
        let pv = try #require(try await volume(of: "first", agent))
        let name = pv["metadata"]?["name"]?.stringValue ?? ""
        let uuid = pv["metadata"]?["annotations"]?[Keys.fsUUID]?.stringValue ?? ""
        _ = await agent.stop()
        let path = "\(pool)/\(name)"
        let image = "\(pool)/\(name).img"
        let dev = deviceOf(mountPoint: path)
        #expect(shell("umount '\(path)' && losetup -d \(dev)").status == 0)
        #expect(shell("rm '\(image)' && truncate -s 16M '\(image)' && \(writer) '\(image)'").status == 0)
        let before = shell("md5sum < '\(image)'").output
        let again = AgentProcess(stateDir: state)
        try await again.start()
        let after = try await again.client.get(.persistentVolume, namespace: nil, name: name)
        #expect(after?["status"]?["phase"]?.stringValue == "Failed")
        #expect(after?["status"]?["message"]?.stringValue?.contains("will not format or mount") == true, "\(after?["status"] ?? .null)")
        #expect(shell("md5sum < '\(image)'").output == before)
        #expect(!shell("blkid -p '\(image)'").output.contains(uuid))
        #expect(shell("findmnt '\(path)'").status != 0)
        // deleting the claim (Delete policy) does not delete the foreign image either
        #expect(try runCLI(["delete", "pvc", "first", "--timeout", "20s"], socket: again.socket).status == 0)
        #expect(try await eventually {
            try await again.client.get(.persistentVolume, namespace: nil, name: name)?["status"]?["reason"]?.stringValue == "VolumeFailedDelete"
        })
        let refused = try await again.client.get(.persistentVolume, namespace: nil, name: name)
        #expect(refused?["status"]?["message"]?.stringValue?.contains("will not delete it") == true, "\(refused?["status"] ?? .null)")
        #expect(shell("md5sum < '\(image)'").output == before)
        _ = await again.stop()
        // clean up what the test made (the agent refuses to touch a foreign image, as it should)
        _ = shell("for d in $(losetup -j '\(image)' | cut -d: -f1); do losetup -d $d; done")
        #expect(leftovers().isEmpty)
    }

    @Test func doctorSaysThisHostCanDoLoopVolumes() throws {
        let r = try runCLI(["doctor"], socket: nil)
        #expect(r.status == 0, "\(r.stdout)")
        #expect(r.stdout.contains("ok   /dev/loop-control") && r.stdout.contains("libblkid"))
    }

    @Test(arguments: ["loop-after-unmount", "loop-after-detach"])
    func aCrashBetweenDeletionStepsStillEndsWithNothingLeft(failpoint: String) async throws {
        var agent = AgentProcess(stateDir: state)
        try await agent.start()
        try apply(claim("doomed", size: "16Mi"), agent)
        let pv = try #require(try await volume(of: "doomed", agent))
        let name = pv["metadata"]?["name"]?.stringValue ?? ""
        _ = await agent.stop()
        agent = AgentProcess(stateDir: state)
        try await agent.start(failpoint: failpoint)
        _ = try runCLI(["delete", "pvc", "doomed", "--wait=false"], socket: agent.socket)
        // the agent dies (SIGKILL) between two steps of the deletion
        _ = await agent.waitForExit(timeout: .seconds(30))
        agent = AgentProcess(stateDir: state)
        try await agent.start()
        #expect(try await eventually(timeout: .seconds(30)) { try await agent.client.get(.persistentVolume, namespace: nil, name: name) == nil })
        #expect(leftovers().isEmpty)
        #expect(!FileManager.default.fileExists(atPath: "\(pool)/\(name).img"))
        #expect(!FileManager.default.fileExists(atPath: "\(pool)/\(name)"))
        _ = await agent.stop()
    }

    /// kill -9 at random moments while loop volumes are made and deleted (an attach, an mkfs or a
    /// mount may be under way, and a tool the agent started outlives it), several times in a row: the
    /// agent that stays up ends with each claim on one mounted device that carries the UUID its PV
    /// records, and deleting them all leaves no device, mount or file. `BERTH_RANDOM_SEED` replays a run.
    @Test func killedAtRandomMomentsWhileLoopVolumesAreMadeAndDeletedItConverges() async throws {
        let context = try await killAtRandomMoments(stateDir: state, rounds: 6, perRound: 4, deletesPerRound: 2, delays: 10..<160,
                                                    claimName: { "l\($0)-\($1)" },
                                                    manifest: { round in (0..<4).map { claim("l\(round)-\($0)", size: "16Mi") }.joined(separator: "\n---\n") })
        let agent = AgentProcess(stateDir: state)
        try await agent.start()
        #expect(try await volumesConverged(agent), "\(context); agent log: \(agent.log().suffix(2000))")
        let pvs = try await agent.client.list(.persistentVolume, namespace: nil).items
        for pv in pvs {
            let name = pv["metadata"]?["name"]?.stringValue ?? ""
            let path = pv["spec"]?["local"]?["path"]?.stringValue ?? ""
            let device = deviceOf(mountPoint: path)
            #expect(device.hasPrefix("/dev/loop") && shell("findmnt -n -o TARGET --source \(device)").output.contains(path),
                    "\(context): \(name) is not mounted from a loop device at \(path)")
            #expect(shell("blkid -p -s UUID -o value \(device)").output.trimmingCharacters(in: .whitespacesAndNewlines)
                        == pv["metadata"]?["annotations"]?[Keys.fsUUID]?.stringValue, "\(context): \(name) carries another filesystem")
        }
        let volumes = Set(((try? FileManager.default.contentsOfDirectory(atPath: pool)) ?? []).filter { !$0.hasPrefix(".") })
        #expect(volumes == Set(pvs.flatMap { pv in
            let name = pv["metadata"]?["name"]?.stringValue ?? ""
            return [name, name + ".img"]
        }), "\(context): the pool holds \(volumes.sorted())")
        // and all of it goes away
        let claims = try await agent.client.list(.persistentVolumeClaim, namespace: nil).items.compactMap { $0["metadata"]?["name"]?.stringValue }
        if !claims.isEmpty { #expect(try runCLI(["delete", "pvc"] + claims, socket: agent.socket).status == 0) }
        #expect(try await eventually(timeout: .seconds(60)) { try await agent.client.list(.persistentVolume, namespace: nil).items.isEmpty }, "\(context)")
        #expect(leftovers().isEmpty, "\(context)")
        #expect(((try? FileManager.default.contentsOfDirectory(atPath: pool)) ?? []).allSatisfy { $0.hasPrefix(".") }, "\(context)")
        print("random-kill loop test: \(pvs.count) volumes after 6 kills; \(context)")
        _ = await agent.stop()
    }

    @Test func growingKeepsTheDataAndShrinkingIsRefused() async throws {
        let agent = AgentProcess(stateDir: state)
        try await agent.start()
        try apply("""
            apiVersion: storage.k8s.io/v1
            kind: StorageClass
            metadata: {name: loop-xfs}
            provisioner: berth.io/loop
            allowVolumeExpansion: true
            mountOptions: [noatime]
            parameters: {fsType: xfs}
            """, agent)
        try apply([claim("ext", size: "1Gi"), claim("xfs", size: "320Mi", cls: "loop-xfs"),
                   claim("raw", size: "32Mi", mode: "Block")].joined(separator: "\n---\n"), agent)
        var paths: [String: String] = [:]
        for name in ["ext", "xfs", "raw"] {
            let pv = try #require(try await volume(of: name, agent))
            paths[name] = pv["spec"]?["local"]?["path"]?.stringValue ?? ""
        }
        for name in ["ext", "xfs"] { #expect(shell("echo \(name) > '\(paths[name]!)/keep' && sync").status == 0) }
        // the class's mountOptions reach mount(2)
        #expect(shell("findmnt -n -o OPTIONS --target '\(paths["xfs"]!)'").output.contains("noatime"))
        func size(_ path: String) -> Int64 { Int64(shell("df -B1 --output=size '\(path)' | tail -1").output.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0 }
        let before = (size(paths["ext"]!), size(paths["xfs"]!))
        try apply([claim("ext", size: "2Gi"), claim("xfs", size: "640Mi", cls: "loop-xfs"),
                   claim("raw", size: "64Mi", mode: "Block")].joined(separator: "\n---\n"), agent)
        for name in ["ext", "xfs", "raw"] {
            #expect(try await eventually(timeout: .seconds(30)) {
                let c = try await agent.client.get(.persistentVolumeClaim, namespace: "default", name: name)
                return c?["status"]?["capacity"]?["storage"] == c?["spec"]?["resources"]?["requests"]?["storage"]
                    && c?["status"]?["allocatedResourceStatuses"] == nil
            }, "\(name) did not finish growing")
        }
        // the filesystems grew (about twice as large) and kept their data
        #expect(size(paths["ext"]!) > before.0 * 3 / 2)
        #expect(size(paths["xfs"]!) > before.1 * 3 / 2)
        #expect(shell("cat '\(paths["ext"]!)/keep' '\(paths["xfs"]!)/keep'").output == "ext\nxfs\n")
        let device = try FileManager.default.destinationOfSymbolicLink(atPath: paths["raw"]!)
        #expect(shell("blockdev --getsize64 \(device)").output.trimmingCharacters(in: .whitespacesAndNewlines) == "\(64 << 20)")
        let pv = try await agent.client.get(.persistentVolume, namespace: nil,
                                            name: URL(fileURLWithPath: paths["ext"]!).lastPathComponent)
        #expect(pv?["spec"]?["capacity"]?["storage"]?.stringValue == "2Gi")
        // shrinking is refused and changes nothing
        let shrink = try runCLI(["apply", "-f", "-"], socket: agent.socket, stdin: claim("ext", size: "1Gi"))
        #expect(shrink.status != 0)
        #expect(shrink.stderr.contains("spec.resources.requests.storage") && shrink.stderr.contains("less than previous value"))
        #expect(try await agent.client.get(.persistentVolumeClaim, namespace: "default", name: "ext")?["spec"]?["resources"]?["requests"]?["storage"]?.stringValue == "2Gi")
        // a class without allowVolumeExpansion refuses to grow
        try apply(claim("fixed", size: "16Mi", cls: "berth-hostpath"), agent)
        _ = try await volume(of: "fixed", agent)
        let refused = try runCLI(["apply", "-f", "-"], socket: agent.socket, stdin: claim("fixed", size: "32Mi", cls: "berth-hostpath"))
        #expect(refused.status != 0 && refused.stderr.contains("must support resize"))
        #expect(try runCLI(["delete", "pvc", "ext", "xfs", "raw", "fixed"], socket: agent.socket).status == 0)
        #expect(try await eventually(timeout: .seconds(30)) { try await agent.client.list(.persistentVolume, namespace: nil).items.isEmpty })
        #expect(leftovers().isEmpty)
        _ = await agent.stop()
    }
}
