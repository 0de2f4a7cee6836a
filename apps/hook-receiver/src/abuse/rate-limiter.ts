import type { Cache } from "../../../../shared/cache/interface.ts";
import type { Logger } from "../../../../shared/logger.ts";

export interface RateDecision {
  allowed: boolean;
  limit: number;
  remaining: number;
  /** Seconds until the window resets. */
  resetSeconds: number;
}

/**
 * Fixed one-second windows counted in the shared cache, so every instance enforces one budget per key.
 * A limit of 0 is off. An unreachable cache admits the request: the limit guards, it does not gate.
 */
export class RateLimiter {
  constructor(
    private readonly cache: Cache,
    private readonly logger: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  async check(scope: string, id: string, perSecond: number): Promise<RateDecision | undefined> {
    if (perSecond <= 0) return undefined;
    const now = this.now();
    const window = Math.floor(now / 1000);
    const resetSeconds = Math.max(1, Math.ceil((window + 1) * 1000 - now) / 1000);
    try {
      const used = await this.cache.increment(`rl:${scope}:${id}:${window}`, 2000);
      return {
        allowed: used <= perSecond,
        limit: perSecond,
        remaining: Math.max(0, perSecond - used),
        resetSeconds: Math.ceil(resetSeconds),
      };
    } catch (err) {
      this.logger.warn({ err, scope }, "rate-limit cache unavailable: admitting the request");
      return undefined;
    }
  }
}
