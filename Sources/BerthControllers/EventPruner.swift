import BerthCatalog
import BerthModel
import Foundation
import Logging
import ServiceLifecycle

/// Deletes events older than a time to live, as Kubernetes does (its default is one hour), so that
/// the catalog does not grow without bound.
public struct EventPruner: Service {
    let catalog: any Catalog
    let ttl: Duration
    let interval: Duration
    let logger: Logger

    public init(catalog: any Catalog, ttl: Duration = .seconds(3600), interval: Duration = .seconds(300), logger: Logger) {
        self.catalog = catalog
        self.ttl = ttl
        self.interval = interval
        self.logger = logger
    }

    public func run() async throws {
        do {
            try await cancelWhenGracefulShutdown {
                while true {
                    try await Task.sleep(for: interval)
                    do {
                        let removed = try await prune(now: Date())
                        if removed > 0 { logger.debug("pruned old events", metadata: ["count": "\(removed)"]) }
                    } catch let e as CancellationError {
                        throw e
                    } catch {
                        logger.warning("pruning events failed; retrying later", metadata: ["error": "\(error)"])
                    }
                }
            }
        } catch is CancellationError {}
    }

    /// Deletes events whose last occurrence is older than the TTL; returns how many.
    public func prune(now: Date) async throws -> Int {
        let cutoff = now.addingTimeInterval(-Double(ttl.components.seconds))
        let stale = try await catalog.read { tx in
            try tx.list(Event.self).filter { e in
                (e.lastTimestamp.flatMap(Timestamp.parse) ?? .distantPast) < cutoff
            }.map { ($0.namespace, $0.name) }
        }
        for chunk in stale.chunked(500) {
            try await catalog.write { tx in
                for (ns, name) in chunk { try tx.delete(Event.self, namespace: ns, name: name, uid: nil) }
            }
        }
        return stale.count
    }
}
