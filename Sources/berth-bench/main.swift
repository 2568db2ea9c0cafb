import BerthCatalog
import BerthClient
import BerthControllers
import BerthLinux
import BerthModel
import BerthTestSupport
import Foundation
import Logging

// scripts/bench: measures the real agent (the binary in $BERTH_BINARY) through its socket.
// Prints a table and one JSON object; every number comes from this run.

struct Result: Codable {
    var name: String
    var value: Double
    var unit: String
    var target: String
    var baseline: String
    var met: Bool
}

var results: [Result] = [] {
    didSet { if let r = results.last { FileHandle.standardError.write(Data((line(r) + "\n").utf8)) } }
}
let args = CommandLine.arguments
let quick = args.contains("--quick")

func seconds(_ d: Duration) -> Double {
    Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
}

/// CPU seconds (user + system) a process has used so far.
func cpuSeconds(pid: Int32) -> Double {
    guard let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
          let close = text.lastIndex(of: ")") else { return 0 }
    let fields = text[text.index(after: close)...].split(separator: " ")
    guard fields.count > 13, let user = Double(fields[11]), let system = Double(fields[12]) else { return 0 }
    return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
}

func peakRSS(pid: Int32) -> Int64 {
    guard let text = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return 0 }
    for line in text.split(separator: "\n") where line.hasPrefix("VmHWM:") {
        let kb = line.split(separator: " ").compactMap { Int64($0) }.first ?? 0
        return kb * 1024
    }
    return 0
}

/// Sends `bodies` to `path` with `concurrency` requests in flight.
func post(_ api: APIClient, _ path: (Int) -> String, _ bodies: [Data], concurrency: Int = 32) async throws {
    var next = 0
    try await withThrowingTaskGroup(of: Void.self) { group in
        func add() {
            let i = next
            next += 1
            let p = path(i)
            let body = bodies[i]
            group.addTask {
                let r = try await api.send(.POST, p, body: body)
                guard r.status == 201 else { throw APIClient.error(from: r) }
            }
        }
        for _ in 0..<min(concurrency, bodies.count) { add() }
        while try await group.next() != nil {
            if next < bodies.count { add() }
        }
    }
}

/// Counts claims reaching Bound through a watch; returns when `count` are Bound.
func waitBound(_ api: APIClient, namespace: String, count: Int, from revision: String) async throws {
    var bound = Set<String>()
    try await api.watch("/api/v1/namespaces/\(namespace)/persistentvolumeclaims?watch=true&resourceVersion=\(revision)&timeoutSeconds=600") { event in
        if event["object"]?["status"]?["phase"]?.stringValue == "Bound", let n = event["object"]?["metadata"]?["name"]?.stringValue {
            bound.insert(n)
        }
        return bound.count < count
    }
    guard bound.count >= count else { throw BerthError.internalError("watch ended with \(bound.count)/\(count) Bound") }
}

func pvBody(_ i: Int) -> Data {
    Data(#"{"apiVersion":"v1","kind":"PersistentVolume","metadata":{"name":"pv-\#(i)"},"spec":{"capacity":{"storage":"\#(1 + i % 7)Gi"},"accessModes":["ReadWriteOnce"],"storageClassName":"","hostPath":{"path":"/srv/bench/pv-\#(i)"}}}"#.utf8)
}

func pvcBody(_ i: Int, cls: String, size: String = "1Gi") -> Data {
    Data(#"{"apiVersion":"v1","kind":"PersistentVolumeClaim","metadata":{"name":"claim-\#(i)"},"spec":{"accessModes":["ReadWriteOnce"],"storageClassName":"\#(cls)","resources":{"requests":{"storage":"\#(size)"}}}}"#.utf8)
}

/// What `berth apply -f` sends: one atomic request for a whole manifest.
func applyBatch(_ api: APIClient, _ bodies: [Data], namespace: String) async throws {
    var body = Data(#"{"mode":"apply","namespace":"\#(namespace)","items":["#.utf8)
    for (i, b) in bodies.enumerated() {
        if i > 0 { body.append(UInt8(ascii: ",")) }
        body.append(b)
    }
    body.append(contentsOf: Array("]}".utf8))
    let r = try await api.send(.POST, "/apis/berth.io/v1/apply", body: body)
    guard r.status == 200 else { throw APIClient.error(from: r) }
}

/// A fresh agent in a temporary state directory, and the claims' list revision to watch from.
func startBenchAgent() async throws -> (TemporaryDirectory, AgentProcess, String) {
    let dir = TemporaryDirectory(prefix: "berth-bench")
    let agent = AgentProcess(stateDir: dir.sub("state"), arguments: ["--log-level", "warning"])
    try await agent.start(resync: 15)
    if let pid = agent.process?.processIdentifier { FileHandle.standardError.write(Data("agent pid \(pid)\n".utf8)) }
    let revision = try await agent.client.list(.persistentVolumeClaim, namespace: "bench").resourceVersion
    return (dir, agent, revision)
}

func staticPairs(_ n: Int, keep: Bool = false, batch: Bool = true) async throws -> (total: Double, bind: Double, rss: Int64, dir: TemporaryDirectory, agent: AgentProcess) {
    let (dir, agent, revision) = try await startBenchAgent()
    let api = agent.client
    let start = ContinuousClock.now
    if batch {
        try await applyBatch(api, (0..<n).map(pvBody), namespace: "bench")
    } else {
        try await post(api, { _ in "/api/v1/persistentvolumes" }, (0..<n).map(pvBody))
    }
    let claimsStart = ContinuousClock.now
    async let bound: Void = waitBound(api, namespace: "bench", count: n, from: revision)
    if batch {
        try await applyBatch(api, (0..<n).map { pvcBody($0, cls: "") }, namespace: "bench")
    } else {
        try await post(api, { _ in "/api/v1/namespaces/bench/persistentvolumeclaims" }, (0..<n).map { pvcBody($0, cls: "") })
    }
    try await bound
    let end = ContinuousClock.now
    let rss = peakRSS(pid: agent.process!.processIdentifier)
    FileHandle.standardError.write(Data(String(format: "agent CPU %.2f s, bench CPU %.2f s\n",
        cpuSeconds(pid: agent.process!.processIdentifier), cpuSeconds(pid: getpid())).utf8))
    if !keep { await agent.stop() }
    return (seconds(end - start), seconds(end - claimsStart), rss, dir, agent)
}

func line(_ r: Result) -> String {
    let v = r.unit == "MiB" ? String(format: "%.1f", r.value) : (r.value >= 100 ? String(format: "%.0f", r.value) : String(format: "%.3f", r.value))
    return [r.name.padding(toLength: 46, withPad: " ", startingAt: 0), (v + " " + r.unit).padding(toLength: 16, withPad: " ", startingAt: 0),
            r.target.padding(toLength: 20, withPad: " ", startingAt: 0), (r.met ? "met" : "MISSED").padding(toLength: 8, withPad: " ", startingAt: 0),
            r.baseline].joined()
}

if let i = args.firstIndex(of: "--http"), i + 1 < args.count, let n = Int(args[i + 1]) {
    // profiling aid: the cost of a request round trip alone
    let dir = TemporaryDirectory(prefix: "berth-bench")
    let agent = AgentProcess(stateDir: dir.sub("state"), arguments: ["--log-level", "warning"])
    try await agent.start(resync: 15)
    let api = agent.client
    let t0 = ContinuousClock.now
    try await withThrowingTaskGroup(of: Void.self) { group in
        for w in 0..<32 {
            group.addTask { for _ in stride(from: w, to: n, by: 32) { _ = try await api.send(.GET, "/healthz") } }
        }
        try await group.waitForAll()
    }
    print(String(format: "%d GET /healthz: %.3f s", n, seconds(ContinuousClock.now - t0)))
    await agent.stop()
    dir.remove()
    exit(0)
}

if let i = args.firstIndex(of: "--catalog"), i + 1 < args.count, let n = Int(args[i + 1]) {
    // profiling aid: the catalog alone, in this process: n PVs created in one transaction, then
    // updated (made Available) in transactions of 512, as the controller does
    let dir = TemporaryDirectory(prefix: "berth-bench")
    let catalog = try SQLiteCatalog(path: dir.sub("catalog.db"))
    let pvs = try (0..<n).map { try PersistentVolume.decode(data: pvBody($0)) }
    var t0 = ContinuousClock.now
    try await catalog.write { tx in for pv in pvs { try tx.create(pv) } }
    print(String(format: "create %d PVs in one transaction: %.3f s (%.1f µs each)", n, seconds(ContinuousClock.now - t0),
                 seconds(ContinuousClock.now - t0) * 1e6 / Double(n)))
    t0 = ContinuousClock.now
    for names in stride(from: 0, to: n, by: 512).map({ Array($0..<min($0 + 512, n)).map { "pv-\($0)" } }) {
        try await catalog.write { tx in
            for name in names {
                guard var pv = try tx.get(PersistentVolume.self, name: name) else { continue }
                pv.setPhase("Available")
                try tx.update(pv)
            }
        }
    }
    print(String(format: "update %d PVs, 512 per transaction: %.3f s (%.1f µs each)", n, seconds(ContinuousClock.now - t0),
                 seconds(ContinuousClock.now - t0) * 1e6 / Double(n)))
    dir.remove()
    exit(0)
}

if let i = args.firstIndex(of: "--binder"), i + 1 < args.count, let n = Int(args[i + 1]) {
    // profiling aid: the volume controller alone, in this process, on a real catalog: n PVs created
    // in one transaction until all are Available, then n claims until all are Bound
    let dir = TemporaryDirectory(prefix: "berth-bench")
    let catalog = try SQLiteCatalog(path: dir.sub("catalog.db"))
    let controller = VolumeController(catalog: catalog, topology: Topology(nodes: [], hostName: "bench"), provisioners: [],
                                      logger: Logger(label: "bench"))
    let running = Task { try await controller.run() }
    func admitted<T: KubeObject>(_ type: T.Type, _ data: Data) throws -> T {
        var o = try T.decode(data: data)
        if T.info.isNamespaced { o.metadata.namespace = "bench" }
        o.applyDefaults()
        o.keepStatus(from: nil)
        return o
    }
    let pvs = try (0..<n).map { try admitted(PersistentVolume.self, pvBody($0)) }
    let claims = try (0..<n).map { try admitted(PersistentVolumeClaim.self, pvcBody($0, cls: "")) }
    /// Follows the catalog (as a watching client would) until `n` objects of a kind reached `phase`.
    func until(_ kind: String, _ phase: String, after revision: Int64) async throws {
        var reached = Set<String>()
        for try await batch in try await catalog.watch(after: revision, kinds: [kind]) {
            for c in batch {
                let p = kind == PersistentVolume.info.kind ? try c.decode(PersistentVolume.self).phase
                    : try c.decode(PersistentVolumeClaim.self).phase
                if p == phase { reached.insert(c.object.name) }
            }
            if reached.count >= n { return }
        }
    }
    var t0 = ContinuousClock.now
    async let available: Void = until(PersistentVolume.info.kind, "Available", after: catalog.currentRevision)
    try await catalog.write { tx in for pv in pvs { try tx.create(pv) } }
    try await available
    print(String(format: "%d PVs created and Available: %.3f s", n, seconds(ContinuousClock.now - t0)))
    t0 = ContinuousClock.now
    async let bound: Void = until(PersistentVolumeClaim.info.kind, "Bound", after: catalog.currentRevision)
    try await catalog.write { tx in for c in claims { try tx.create(c) } }
    try await bound
    print(String(format: "%d claims created and Bound: %.3f s (%.1f µs each)", n, seconds(ContinuousClock.now - t0),
                 seconds(ContinuousClock.now - t0) * 1e6 / Double(n)))
    running.cancel()
    dir.remove()
    exit(0)
}

/// (b): claims of the default host-path class, created in one apply, until all are Bound; claims
/// per second. The run's directory (its state and its n volume directories) is returned, not
/// removed: see the (b) section for why removal waits.
func provisionRate(_ n: Int) async throws -> (rate: Double, dir: TemporaryDirectory) {
    let (dir, agent, revision) = try await startBenchAgent()
    let api = agent.client
    let t0 = ContinuousClock.now
    async let bound: Void = waitBound(api, namespace: "bench", count: n, from: revision)
    try await applyBatch(api, (0..<n).map { pvcBody($0, cls: "berth-hostpath", size: "16Mi") }, namespace: "bench")
    try await bound
    let rate = Double(n) / seconds(ContinuousClock.now - t0)
    FileHandle.standardError.write(Data(String(format: "agent CPU %.2f s, bench CPU %.2f s\n",
        cpuSeconds(pid: agent.process!.processIdentifier), cpuSeconds(pid: getpid())).utf8))
    await agent.stop()
    return (rate, dir)
}

if args.contains("--codec") {
    // profiling aid: what one encode and one decode of a PersistentVolume cost
    var pv = try PersistentVolume.decode(data: pvBody(1))
    pv.metadata.uid = "0b6f0c1e-2f3a-4c5d-8e9f-0a1b2c3d4e5f"
    pv.metadata.resourceVersion = "12345"
    pv.metadata.creationTimestamp = Timestamp.now()
    pv.status = .init(phase: "Available")
    let n = 20000
    func perCall(_ body: () throws -> Void) rethrows -> Double {
        let t0 = ContinuousClock.now
        for _ in 0..<n { try body() }
        return seconds(ContinuousClock.now - t0) / Double(n) * 1e6
    }
    let encoder = JSON.encoder()
    let data = pv.jsonData()
    let codableEncode = try perCall { _ = try encoder.encode(pv) }
    let codableDecode = try perCall { _ = try JSONDecoder().decode(PersistentVolume.self, from: data) }
    let encode = perCall { _ = pv.jsonData() }
    let decode = try perCall { _ = try PersistentVolume.decode(data: data) }
    let parse = try perCall { _ = try JSON.parse(data) }
    print(String(format: "PV (%d bytes): hand-written encode %.1f µs, decode %.1f µs; Codable (Foundation) encode %.1f µs, decode %.1f µs; parse to tree %.1f µs",
                 data.count, encode, decode, codableEncode, codableDecode, parse))
    exit(0)
}

if let i = args.firstIndex(of: "--provision"), i + 1 < args.count, let n = Int(args[i + 1]) {
    // profiling aid: `--against OTHER` alternates $BERTH_BINARY and OTHER, `--runs K` times each,
    // and removes the runs' directories only at the end (see (b) below for why)
    let against = args.firstIndex(of: "--against").flatMap { $0 + 1 < args.count ? args[$0 + 1] : nil }
    let runs = args.firstIndex(of: "--runs").flatMap { $0 + 1 < args.count ? Int(args[$0 + 1]) : nil } ?? 1
    let binaries = [BerthBinary.path] + (against.map { [$0] } ?? [])
    var kept: [TemporaryDirectory] = []
    var rates: [String: [Double]] = [:]
    for _ in 0..<runs {
        for binary in binaries {
            setenv("BERTH_BINARY", binary, 1)
            let run = try await provisionRate(n)
            kept.append(run.dir)
            rates[binary, default: []].append(run.rate)
            print("\(binary): " + String(format: "provisioned %d: %.0f vol/s", n, run.rate))
        }
    }
    kept.removeAll()
    for binary in binaries where runs > 1 {
        let r = rates[binary]!.sorted()
        print("\(binary): " + String(format: "median %.0f vol/s over %d runs", r[r.count / 2], r.count))
    }
    exit(0)
}

/// The floor for a formatted, mounted 1 GiB ext4 loop volume, as the reference defines it
/// (loop-devices-and-blkid.md, its timings: native calls plus one mkfs process), done the fastest way
/// known here so that berth ÷ floor does not flatter berth: a new file made 1 GiB and fsynced, formatted
/// by one mkfs.ext4 process with berth's own options (no discard, the file before any device shows
/// it), attached with LOOP_CONFIGURE, mount(2). Returns the seconds it took; what it made is taken
/// down again (untimed), and what cannot be is reported.
func loopFloorOnce(in dir: String, _ i: Int) throws -> Double {
    let image = "\(dir)/floor\(i).img", target = "\(dir)/floor\(i)"
    try FileManager.default.createDirectory(atPath: target, withIntermediateDirectories: true)
    var device: LoopDevice?
    defer {
        do {
            try Mount.unmount(target)
            try device?.detach()
        } catch {
            FileHandle.standardError.write(Data("floor run \(i): cannot take down \(target): \(error)\n".utf8))
        }
        unlink(image)
        rmdir(target)
    }
    let t0 = ContinuousClock.now
    let fd = open(image, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0o600)
    guard fd >= 0 else { throw SystemError("open", path: image, errno: errno) }
    let sized = ftruncate(fd, 1 << 30) == 0 && fsync(fd) == 0
    let sizeErrno = errno
    close(fd)
    guard sized else { throw SystemError("ftruncate", path: image, errno: sizeErrno) }
    try Filesystem.make("ext4", on: image, uuid: UUID().uuidString.lowercased())
    device = try LoopDevice.attach(backing: image, tag: "berth-bench:floor", adopt: false).device
    try Mount.mount(device: device!.path, at: target, type: "ext4", options: [])
    return seconds(ContinuousClock.now - t0)
}

/// Loop volumes: the median time from "claim created" to "Bound" (Bound comes after the mount) for a
/// 1 GiB ext4 volume, one at a time; the reference's floor measured in this run, each floor run
/// right after a berth run so that both see the same machine; and the same steps done by hand in a
/// shell script — truncate, losetup, mkfs.ext4, mount — as a user would otherwise write them, timed
/// inside the script. One watch, opened (and serving) before the first claim, reports each claim
/// Bound: setting up the observer is not part of any timed interval.
func loopCreateMedians(_ n: Int) async throws -> (berth: Double, script: Double, mkfs: Double, floor: Double) {
    let (dir, agent, _) = try await startBenchAgent()
    defer { withExtendedLifetime(dir) {} }
    let api = agent.client
    let (boundNames, bound) = AsyncThrowingStream<String, any Error>.makeStream()
    let (readyStream, ready) = AsyncStream<Void>.makeStream()
    let watcher = Task {
        do {
            try await api.watch("/api/v1/namespaces/bench/persistentvolumeclaims?watch=true&sendInitialEvents=true&allowWatchBookmarks=true&resourceVersionMatch=NotOlderThan&timeoutSeconds=3600") { event in
                let object = event["object"]
                if event["type"]?.stringValue == "BOOKMARK" {
                    ready.yield()
                } else if object?["status"]?["phase"]?.stringValue == "Bound", let name = object?["metadata"]?["name"]?.stringValue {
                    bound.yield(name)
                }
                return true
            }
            bound.finish()
        } catch {
            bound.finish(throwing: error)
        }
        ready.finish()
    }
    defer { watcher.cancel() }
    // the watch serves once its initial-events bookmark has arrived
    for await _ in readyStream { break }
    var boundIterator = boundNames.makeAsyncIterator()
    var times: [Double] = []
    var floors: [Double] = []
    for i in 0..<n {
        let t0 = ContinuousClock.now
        let r = try await api.send(.POST, "/api/v1/namespaces/bench/persistentvolumeclaims", body: pvcBody(i, cls: "berth-loop", size: "1Gi"))
        guard r.status == 201 else { throw APIClient.error(from: r) }
        while true {
            guard let name = try await boundIterator.next() else { throw BerthError.internalError("the watch ended before claim-\(i) was Bound") }
            if name == "claim-\(i)" { break }
        }
        times.append(seconds(ContinuousClock.now - t0))
        _ = try await api.send(.DELETE, "/api/v1/namespaces/bench/persistentvolumeclaims/claim-\(i)")
        // each create is timed alone: the previous volume's deletion finishes first, then a pause
        for _ in 0..<400 where !(try await api.list(.persistentVolume, namespace: nil).items.isEmpty) {
            try await Task.sleep(for: .milliseconds(10))
        }
        try await Task.sleep(for: .milliseconds(200))
        do {
            floors.append(try loopFloorOnce(in: dir.path, i))
        } catch {
            FileHandle.standardError.write(Data("floor run \(i) failed: \(error)\n".utf8))
        }
        try await Task.sleep(for: .milliseconds(200))
    }
    watcher.cancel()
    await agent.stop()
    let work = dir.sub("script")
    try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
    let script = """
        set -e
        cd '\(work)'
        for i in $(seq 1 \(n)); do
          t0=$(date +%s%N)
          truncate -s 1G v$i.img
          dev=$(losetup -f --show v$i.img)
          m0=$(date +%s%N)
          mkfs.ext4 -q $dev
          m1=$(date +%s%N)
          mkdir -p m$i
          mount $dev m$i
          t1=$(date +%s%N)
          echo $(( (t1 - t0) / 1000 )) $(( (m1 - m0) / 1000 ))
          umount m$i
          losetup -d $dev
          rm -f v$i.img
        done
        """
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/bin/bash")
    p.arguments = ["-c", script]
    let pipe = Pipe()
    p.standardOutput = pipe
    try p.run()
    let out = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    p.waitUntilExit()
    guard p.terminationStatus == 0 else { throw BerthError.internalError("the baseline script failed (status \(p.terminationStatus))") }
    let rows = out.split(separator: "\n").map { $0.split(separator: " ").compactMap { Double($0) } }.filter { $0.count == 2 }
    func median(_ v: [Double]) -> Double { v.sorted()[v.count / 2] }
    return (median(times), median(rows.map { $0[0] / 1e6 }), median(rows.map { $0[1] / 1e6 }), floors.isEmpty ? .nan : median(floors))
}

if let i = args.firstIndex(of: "--loop"), i + 1 < args.count, let n = Int(args[i + 1]) {
    let (b, sh, mk, fl) = try await loopCreateMedians(n)
    print(String(format: "1 GiB ext4 loop volume, claim to Bound and mounted, median of %d: berth %.1f ms, floor %.1f ms (berth ÷ floor %.2f), shell script %.1f ms (its mkfs.ext4 alone %.1f ms)",
                 n, b * 1000, fl * 1000, b / fl, sh * 1000, mk * 1000))
    exit(0)
}

/// StatefulSets (issue 4): a Parallel host-path set scaled 0 → n until every pod is Running, then
/// n → 0 (until no pod is left) and 0 → n again, reusing the claims and volumes of the first round.
func statefulSetScaling(_ n: Int) async throws -> (up: Double, down: Double, again: Double) {
    let (dir, agent, _) = try await startBenchAgent()
    defer { withExtendedLifetime(dir) {} }
    let api = agent.client
    let set = Data(#"{"apiVersion":"apps/v1","kind":"StatefulSet","metadata":{"name":"web"},"spec":{"replicas":0,"serviceName":"web","podManagementPolicy":"Parallel","selector":{"matchLabels":{"app":"web"}},"template":{"metadata":{"labels":{"app":"web"}},"spec":{"containers":[{"name":"db","image":"postgres"}]}},"volumeClaimTemplates":[{"metadata":{"name":"data"},"spec":{"accessModes":["ReadWriteOnce"],"storageClassName":"berth-hostpath","resources":{"requests":{"storage":"16Mi"}}}}]}}"#.utf8)
    let created = try await api.send(.POST, "/apis/apps/v1/namespaces/bench/statefulsets", body: set)
    guard created.status == 201 else { throw APIClient.error(from: created) }
    func scale(to replicas: Int) async throws -> Double {
        let t0 = ContinuousClock.now
        let r = try await api.send(.PATCH, "/apis/apps/v1/namespaces/bench/statefulsets/web/scale",
                                   body: Data(#"{"spec":{"replicas":\#(replicas)}}"#.utf8), contentType: "application/merge-patch+json")
        guard r.status == 200 else { throw APIClient.error(from: r) }
        while true {
            let pods = try await api.list(.pod, namespace: "bench").items
            let running = pods.filter { $0["status"]?["phase"]?.stringValue == "Running" && $0["metadata"]?["deletionTimestamp"] == nil }.count
            if running == replicas, pods.count == replicas { break }
            if ContinuousClock.now - t0 > .seconds(120) { throw BerthError.internalError("scaling to \(replicas) did not finish in 120 s") }
            try await Task.sleep(for: .milliseconds(10))
        }
        return seconds(ContinuousClock.now - t0)
    }
    let up = try await scale(to: n)
    let claims = try await api.list(.persistentVolumeClaim, namespace: "bench").items.count
    let down = try await scale(to: 0)
    let again = try await scale(to: n)
    let claimsAfter = try await api.list(.persistentVolumeClaim, namespace: "bench").items.count
    guard claims == n, claimsAfter == n else { throw BerthError.internalError("expected \(n) claims reused, had \(claims) then \(claimsAfter)") }
    await agent.stop()
    return (up, down, again)
}

if let i = args.firstIndex(of: "--sts"), i + 1 < args.count, let n = Int(args[i + 1]) {
    let r = try await statefulSetScaling(n)
    print(String(format: "StatefulSet (Parallel, host-path) 0 → %d Running: %.3f s; %d → 0: %.3f s; 0 → %d again (volumes reused): %.3f s", n, r.up, n, r.down, n, r.again))
    exit(0)
}

if let i = args.firstIndex(of: "--pairs"), i + 1 < args.count, let n = Int(args[i + 1]) {
    // profiling aid: one static-pairs run, printing the agent's PID first
    do {
        // scoped, so that the run's temporary directory is removed before exit
        let r = try await staticPairs(n, batch: !args.contains("--per-object"))
        print(String(format: "pairs %d: total %.3f s, claims phase %.3f s, peak RSS %.1f MiB", n, r.total, r.bind, Double(r.rss) / 1048576))
    }
    exit(0)
}

/// Directories whose removal waits until every benchmark has run (see (b)).
var removedAtTheEnd: [TemporaryDirectory] = []
do {
    // (a) static pairs
    let perObject = try await staticPairs(1000, batch: false)
    results.append(Result(name: "(a) 1,000 pairs, one request per object", value: perObject.total, unit: "s", target: "-",
                          baseline: "Kubernetes: pvc_startup P50 37.9 s at 1,000 (k8s #133352)", met: true))
    let small = try await staticPairs(1000)
    results.append(Result(name: "(a) bind 1,000 static pairs (berth apply)", value: small.total, unit: "s", target: "-",
                          baseline: "Kubernetes: pvc_startup P50 37.9 s at 1,000 (k8s #133352)", met: true))
    let bigN = quick ? 2000 : 10_000
    let big = try await staticPairs(bigN, keep: true)
    results.append(Result(name: "(a) bind \(bigN) static pairs (berth apply)", value: big.total, unit: "s", target: "< 2 s",
                          baseline: "Kubernetes: P50 453 s at 10,000 (k8s #133352)", met: big.total < 2))
    results.append(Result(name: "(a) claims phase only, \(bigN) pairs", value: big.bind, unit: "s", target: "-", baseline: "", met: true))
    let perSmall = small.bind / 1000 * 1e6, perBig = big.bind / Double(bigN) * 1e6
    results.append(Result(name: "(a) per claim at 1,000 / at \(bigN)", value: perBig / perSmall, unit: "ratio", target: "≈ 1 (flat)",
                          baseline: String(format: "%.0f µs vs %.0f µs", perSmall, perBig), met: perBig / perSmall < 2))
    results.append(Result(name: "(d) agent peak RSS during (a) \(bigN)", value: Double(big.rss) / 1048576, unit: "MiB", target: "< 100 MiB",
                          baseline: "", met: big.rss < 100 << 20))

    // (c) start-to-ready with the catalog from (a)
    await big.agent.stop()
    var starts: [Double] = []
    for _ in 0..<3 {
        let t0 = ContinuousClock.now
        try await big.agent.start(resync: 15)
        starts.append(seconds(ContinuousClock.now - t0))
        await big.agent.stop()
    }
    let objects = bigN * 2
    results.append(Result(name: "(c) start to ready, \(objects) objects (median)", value: starts.sorted()[1], unit: "s", target: "< 1 s",
                          baseline: "", met: starts.sorted()[1] < 1))

    // (b) host-path provisioning: the median of three fresh agents (one short run varies by ±20 % here).
    // Each run's directories are removed only after the third run: on ext4 without a journal (this
    // machine's root), the kernel skips inodes freed in the last 1-6 minutes when it allocates new
    // ones, checking each, so a run right after another run's 2,000 deletions spends its CPU on
    // that (docs/performance.md). They are removed at the end, after the benchmarks that follow.
    var rates: [Double] = []
    for _ in 0..<3 {
        let run = try await provisionRate(1000)
        rates.append(run.rate)
        removedAtTheEnd.append(run.dir)
    }
    let rate = rates.sorted()[1]
    results.append(Result(name: "(b) host-path claims to Bound (median of 3)", value: rate, unit: "vol/s", target: "≥ 1000/s",
                          baseline: "runs " + rates.map { String(format: "%.0f", $0) }.joined(separator: ", ")
                              + "; local-path-provisioner: one helper pod per volume", met: rate >= 1000))

    // StatefulSets (issue 4)
    let sts = try await statefulSetScaling(100)
    results.append(Result(name: "sts: 0 → 100 pods Running (Parallel)", value: sts.up, unit: "s", target: "< 1 s",
                          baseline: "Kubernetes: minutes for the same", met: sts.up < 1))
    results.append(Result(name: "sts: 100 → 0 → 100, volumes reused", value: sts.down + sts.again, unit: "s", target: "< 1 s",
                          baseline: String(format: "down %.3f s, up again %.3f s", sts.down, sts.again), met: sts.down + sts.again < 1))

    // loop volumes (issue 3): berth against the same steps in a shell script, when this host can
    if getuid() == 0, FileManager.default.fileExists(atPath: "/dev/loop-control") {
        let (b, sh, mk, fl) = try await loopCreateMedians(quick ? 7 : 21)
        results.append(Result(name: "loop: 1 GiB ext4 claim to mounted (median)", value: b * 1000, unit: "ms",
                              target: String(format: "≤ script, ≤ 10 ms"),
                              baseline: String(format: "shell script (truncate, losetup, mkfs.ext4, mount): %.1f ms, of which mkfs.ext4 %.1f ms; reference floor ≈ 5 ms", sh * 1000, mk * 1000),
                              met: b <= sh && b * 1000 <= 10))
        // the reference's floor was measured on a quiet day; the same steps, run here between
        // berth's runs, say how far berth is from it on today's machine
        if fl.isNaN {
            FileHandle.standardError.write(Data("loop floor: every floor run failed (see above); no berth ÷ floor row\n".utf8))
        } else {
            results.append(Result(name: "loop: berth ÷ floor measured in this run", value: b / fl, unit: "×",
                                  target: "≤ 2", baseline: String(format: "floor (file, one mkfs.ext4 as berth runs it, LOOP_CONFIGURE, mount(2)) %.1f ms", fl * 1000),
                                  met: b / fl <= 2))
        }
    } else {
        FileHandle.standardError.write(Data("loop benchmark skipped: needs root and /dev/loop-control\n".utf8))
    }
} catch {
    removedAtTheEnd.removeAll()
    FileHandle.standardError.write(Data("bench failed: \(error)\n".utf8))
    exit(1)
}
removedAtTheEnd.removeAll()

print(["benchmark".padding(toLength: 46, withPad: " ", startingAt: 0), "result".padding(toLength: 16, withPad: " ", startingAt: 0),
       "target".padding(toLength: 20, withPad: " ", startingAt: 0), "status".padding(toLength: 8, withPad: " ", startingAt: 0), "baseline"].joined())
for r in results { print(line(r)) }
let encoder = JSONEncoder()
encoder.outputFormatting = [.sortedKeys]
print(String(decoding: try encoder.encode(results), as: UTF8.self))
