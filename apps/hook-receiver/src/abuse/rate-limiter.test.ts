import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { RedisCache } from "../../../../shared/cache/redis.ts";
import { silentLogger } from "../../../../shared/logger.ts";
import { TEST_REDIS_URL, uniquePrefix } from "../../../../shared/testing/services.ts";
import { RateLimiter } from "./rate-limiter.ts";

describe("RateLimiter", () => {
  let cache: RedisCache;
  beforeAll(async () => {
    cache = await RedisCache.connect({ url: TEST_REDIS_URL, keyPrefix: uniquePrefix("rate-limiter") });
  });
  afterAll(() => cache.close());

  // A clock parked mid-second, so a test never straddles two windows.
  const clock = () => {
    const base = Math.floor(Date.now() / 1000) * 1000 + 100;
    return () => base;
  };

  test("one instance admits exactly the limit within a window and reports what remains", async () => {
    const limiter = new RateLimiter(cache, silentLogger, { syncIntervalMs: 20, now: clock() });
    try {
      const decisions = Array.from({ length: 7 }, () => limiter.check("key", "a", 5)!);
      expect(decisions.map((d) => d.allowed)).toEqual([true, true, true, true, true, false, false]);
      expect(decisions.map((d) => d.remaining)).toEqual([4, 3, 2, 1, 0, 0, 0]);
      expect(decisions[5]!.resetSeconds).toBe(1);
    } finally {
      await limiter.close();
    }
  });

  test("instances sharing the cache see each other's counts after a sync", async () => {
    const now = clock();
    const first = new RateLimiter(cache, silentLogger, { syncIntervalMs: 20, now });
    const second = new RateLimiter(cache, silentLogger, { syncIntervalMs: 20, now });
    try {
      for (let i = 0; i < 6; i++) expect(first.check("ip", "shared", 8)!.allowed).toBe(true);
      // The second instance learns the shared count at its next sync after it first sees the key.
      expect(second.check("ip", "shared", 8)!.allowed).toBe(true);
      await Bun.sleep(80);
      const later = Array.from({ length: 3 }, () => second.check("ip", "shared", 8)!.allowed);
      expect(later).toEqual([true, false, false]);
    } finally {
      await first.close();
      await second.close();
    }
  });

  test("a limit of 0 is off", () => {
    const limiter = new RateLimiter(cache, silentLogger);
    expect(limiter.check("key", "off", 0)).toBeUndefined();
    void limiter.close();
  });
});
