import type { Cache } from "../../../../shared/cache/interface.ts";
import type { Logger } from "../../../../shared/logger.ts";

const STATUS_TTL_MS = 24 * 3600_000;
const RETRY_WINDOW_MS = 10 * 60_000;

interface PendingWrite {
  snapshot: () => string;
  dirty: boolean;
}

/**
 * Write-through status cache. Writes for one run are serialised and coalesced: while one is in
 * flight, later transitions only mark it dirty, and the newest snapshot is written next, so an older
 * status never lands after a newer one from this instance.
 */
export class StatusCache {
  private readonly writes = new Map<string, PendingWrite>();

  constructor(
    private readonly cache: Cache,
    private readonly logger: Logger,
  ) {}

  static key(id: string): string {
    return `workflow:status:${id}`;
  }

  /** The cached body, or null on a miss or when the cache cannot answer. */
  async get(id: string): Promise<string | null> {
    try {
      return await this.cache.get(StatusCache.key(id));
    } catch (err) {
      this.logger.warn({ err, workflow_id: id }, "status cache read failed, reading Postgres");
      return null;
    }
  }

  write(id: string, snapshot: () => string): void {
    const pending = this.writes.get(id);
    if (pending) {
      pending.snapshot = snapshot;
      pending.dirty = true;
      return;
    }
    const entry: PendingWrite = { snapshot, dirty: true };
    this.writes.set(id, entry);
    void this.flush(id, entry);
  }

  /** Resolves once every queued write has landed, or after `timeoutMs`. */
  async settle(timeoutMs = 2_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.writes.size > 0 && Date.now() < deadline) await Bun.sleep(5);
  }

  private async flush(id: string, entry: PendingWrite): Promise<void> {
    let failures = 0;
    const started = Date.now();
    try {
      while (entry.dirty) {
        entry.dirty = false;
        try {
          await this.cache.set(StatusCache.key(id), entry.snapshot(), STATUS_TTL_MS);
          failures = 0;
        } catch (err) {
          // An entry written before an outage would go on answering after it, stale; so the newest
          // snapshot is retried until Redis takes it (or the retry window closes).
          failures++;
          if (Date.now() - started > RETRY_WINDOW_MS) {
            this.logger.warn({ err, workflow_id: id }, "status cache write failed; giving up");
            return;
          }
          if (failures === 1)
            this.logger.warn({ err, workflow_id: id }, "status cache write failed; retrying");
          entry.dirty = true;
          await Bun.sleep(Math.min(100 * 2 ** failures, 5_000));
        }
      }
    } finally {
      this.writes.delete(id);
    }
  }
}
