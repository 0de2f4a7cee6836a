import type { Cache } from "../../../../shared/cache/interface.ts";
import type { Logger } from "../../../../shared/logger.ts";

export interface RateDecision {
  allowed: boolean;
  limit: number;
  remaining: number;
  /** Seconds until the window resets. */
  resetSeconds: number;
}

interface Window {
  key: string;
  second: number;
  /** What every instance had counted in the shared cache at the last sync. */
  shared: number;
  /** Counted here since the last sync. */
  pending: number;
}

export interface RateLimiterOptions {
  /** How often local counts are added to the shared cache. */
  syncIntervalMs: number;
  now?: () => number;
}

/**
 * Fixed one-second windows counted locally and added to the shared cache every `syncIntervalMs`, so
 * the hot path costs a map lookup instead of a cache round trip per request. One instance enforces the
 * limit exactly; N instances can overshoot by at most what N-1 others admit in one sync interval.
 * A limit of 0 is off. An unreachable cache leaves each instance enforcing its own count.
 */
export class RateLimiter {
  private readonly windows = new Map<string, Window>();
  private readonly timer: Timer;
  private syncing: Promise<void> | undefined;
  private readonly now: () => number;

  constructor(
    private readonly cache: Cache,
    private readonly logger: Logger,
    options: RateLimiterOptions = { syncIntervalMs: 50 },
  ) {
    this.now = options.now ?? Date.now;
    this.timer = setInterval(() => {
      this.syncing ??= this.sync().finally(() => {
        this.syncing = undefined;
      });
    }, options.syncIntervalMs);
    this.timer.unref();
  }

  check(scope: string, id: string, perSecond: number): RateDecision | undefined {
    if (perSecond <= 0) return undefined;
    const now = this.now();
    const second = Math.floor(now / 1000);
    const mapKey = `${scope}:${id}`;
    let window = this.windows.get(mapKey);
    if (!window || window.second !== second) {
      window = { key: `rl:${mapKey}:${second}`, second, shared: 0, pending: 0 };
      this.windows.set(mapKey, window);
    }
    const used = window.shared + window.pending;
    const resetSeconds = Math.max(1, Math.ceil(((second + 1) * 1000 - now) / 1000));
    if (used >= perSecond) return { allowed: false, limit: perSecond, remaining: 0, resetSeconds };
    window.pending++;
    return { allowed: true, limit: perSecond, remaining: perSecond - used - 1, resetSeconds };
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.syncing;
  }

  private async sync(): Promise<void> {
    const current = Math.floor(this.now() / 1000);
    const flushes: Promise<void>[] = [];
    for (const [mapKey, window] of this.windows) {
      if (window.second < current - 1) {
        this.windows.delete(mapKey);
        continue;
      }
      const pending = window.pending;
      // Only windows with new local counts are sent: each send also brings back the shared total.
      if (pending === 0) continue;
      window.pending = 0;
      flushes.push(
        this.cache.increment(window.key, 2000, pending).then(
          (total) => {
            // `total` includes what was just flushed; anything counted since is still in `pending`.
            window.shared = total;
          },
          (err) => {
            window.pending += pending;
            this.logger.debug({ err }, "rate-limit sync failed: enforcing the local count");
          },
        ),
      );
    }
    await Promise.all(flushes);
  }
}
