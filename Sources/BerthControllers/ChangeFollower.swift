import BerthCatalog
import BerthModel
import Logging

/// What both controllers do to follow the catalog: watch from the current revision, call `restart`
/// with that revision whenever a watch begins (what happened before it is picked up by a full
/// pass), `change` for each change, and watch again when the watch falls behind (410 Gone). When
/// the catalog closes its watches (shutdown has begun) it waits to be cancelled: returning would
/// count as a failure of the service.
func followChanges(of catalog: any Catalog, logger: Logger, controller: String,
                   restart: @Sendable (Int64) -> Void, change: @Sendable (Change) -> Void) async throws {
    while !Task.isCancelled {
        let changes: AsyncThrowingStream<[Change], any Error>
        let start = catalog.currentRevision
        do {
            changes = try await catalog.watch(after: start)
        } catch let e as BerthError where e.code == .unavailable {
            while true { try await Task.sleep(for: .seconds(3600)) }
        }
        restart(start)
        do {
            for try await batch in changes {
                for c in batch { change(c) }
            }
        } catch let e as BerthError where e.code == .gone {
            logger.warning("the \(controller)'s watch fell behind; watching again with a full pass")
        }
    }
}

/// Calls `body` every `interval` until cancelled: a controller's periodic full resync.
func repeatEvery(_ interval: Duration, _ body: @Sendable () -> Void) async throws {
    while !Task.isCancelled {
        try await Task.sleep(for: interval)
        body()
    }
}
