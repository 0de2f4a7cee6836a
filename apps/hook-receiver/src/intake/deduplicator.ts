import type { Cache } from "../../../../shared/cache/interface.ts";
import type { Logger } from "../../../../shared/logger.ts";

export type ClaimResult =
  | { status: "new" }
  | { status: "duplicate"; eventId: string }
  | { status: "in_progress" }
  | { status: "unchecked" };

export interface DeduplicatorOptions {
  /** How long a delivered key is remembered. */
  ttlMs: number;
  /** How long a claim lives if its owner dies before committing or releasing it. */
  pendingTtlMs: number;
  /** How long a concurrent duplicate waits for the first delivery to settle. */
  waitMs: number;
}

const DONE = "done:";
const PENDING = "pending:";

/**
 * Remembers delivered keys in the cache. A key is claimed as pending first and marked done only
 * after the event is durable; a failed publish releases it so the sender's retry goes through.
 */
export class Deduplicator {
  constructor(
    private readonly cache: Cache,
    private readonly logger: Logger,
    private readonly options: DeduplicatorOptions = {
      ttlMs: 24 * 3600_000,
      pendingTtlMs: 30_000,
      waitMs: 2000,
    },
  ) {}

  async claim(key: string, eventId: string): Promise<ClaimResult> {
    try {
      const deadline = performance.now() + this.options.waitMs;
      for (;;) {
        if (await this.cache.setIfAbsent(key, PENDING + eventId, this.options.pendingTtlMs))
          return { status: "new" };
        const current = await this.cache.get(key);
        if (current?.startsWith(DONE)) return { status: "duplicate", eventId: current.slice(DONE.length) };
        if (current !== null && performance.now() >= deadline) return { status: "in_progress" };
        if (current !== null) await Bun.sleep(20);
      }
    } catch (err) {
      // Losing a delivery is worse than a rare duplicate, so an unreachable cache admits the event.
      this.logger.warn({ err, key }, "dedupe cache unavailable: accepting without a duplicate check");
      return { status: "unchecked" };
    }
  }

  async commit(key: string, eventId: string): Promise<void> {
    await this.cache.set(key, DONE + eventId, this.options.ttlMs).catch((err) => {
      this.logger.warn({ err, key }, "could not remember a delivered key");
    });
  }

  async release(key: string): Promise<void> {
    await this.cache.delete(key).catch((err) => {
      this.logger.warn({ err, key }, "could not release a claimed key");
    });
  }
}
