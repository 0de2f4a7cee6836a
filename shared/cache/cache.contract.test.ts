import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createRegistry } from "../metrics.ts";
import { TEST_REDIS_URL, uniquePrefix } from "../testing/services.ts";
import { TcpProxy } from "../testing/tcp-proxy.ts";
import type { Cache } from "./interface.ts";
import { MemoryCache } from "./memory.ts";
import { RedisCache } from "./redis.ts";

const adapters: [string, () => Promise<Cache>][] = [
  ["redis", () => RedisCache.connect({ url: TEST_REDIS_URL, keyPrefix: uniquePrefix("cache-contract") })],
  ["memory", async () => new MemoryCache()],
];

describe.each(adapters)("cache contract: %s", (_name, make) => {
  let cache: Cache;
  beforeAll(async () => {
    cache = await make();
  });
  afterAll(() => cache.close());

  test("a value set is read back until its TTL passes", async () => {
    await cache.set("k1", "v1", 80);
    expect(await cache.get("k1")).toBe("v1");
    await Bun.sleep(120);
    expect(await cache.get("k1")).toBeNull();
  });

  test("a missing key reads as null and delete removes a key", async () => {
    expect(await cache.get("never-set")).toBeNull();
    await cache.set("k2", "v2", 10_000);
    await cache.delete("k2");
    expect(await cache.get("k2")).toBeNull();
  });

  test("set-if-absent admits exactly one of many concurrent callers", async () => {
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) => cache.setIfAbsent("once", String(i), 10_000)),
    );
    expect(results.filter(Boolean)).toHaveLength(1);
    const winner = results.indexOf(true);
    expect(await cache.get("once")).toBe(String(winner));
  });

  test("set-if-absent succeeds again once the first key expired", async () => {
    expect(await cache.setIfAbsent("short", "a", 50)).toBe(true);
    expect(await cache.setIfAbsent("short", "b", 50)).toBe(false);
    await Bun.sleep(90);
    expect(await cache.setIfAbsent("short", "c", 50)).toBe(true);
  });

  test("increment counts concurrent calls and its TTL is not extended by later increments", async () => {
    const values = await Promise.all(Array.from({ length: 20 }, () => cache.increment("counter", 150)));
    expect(values.toSorted((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    expect(await cache.increment("counter", 150, 5)).toBe(25);
    await Bun.sleep(100);
    await cache.increment("counter", 150);
    await Bun.sleep(80);
    expect(await cache.increment("counter", 150)).toBe(1);
  });

  test("check passes while the cache serves", async () => {
    await cache.check();
  });
});

describe("redis cache when Redis goes away", () => {
  test("commands fail fast while Redis is unreachable and work again after it returns", async () => {
    const redisUrl = new URL(TEST_REDIS_URL);
    const proxy = await TcpProxy.start(redisUrl.hostname, Number(redisUrl.port || 6379));
    const registry = createRegistry({ defaultMetrics: false });
    const cache = await RedisCache.connect({
      url: `redis://127.0.0.1:${proxy.port}`,
      keyPrefix: uniquePrefix("cache-outage"),
      registry,
    });
    try {
      await cache.set("k", "v", 10_000);
      proxy.down();
      const started = performance.now();
      await expect(cache.get("k")).rejects.toThrow();
      await expect(cache.check()).rejects.toThrow();
      expect(performance.now() - started).toBeLessThan(2500);

      proxy.up();
      const deadline = Date.now() + 5000;
      let value: string | null = null;
      while (Date.now() < deadline) {
        value = await cache.get("k").catch(() => null);
        if (value !== null) break;
        await Bun.sleep(100);
      }
      expect(value).toBe("v");
      const text = await registry.metrics();
      expect(text).toMatch(
        /cache_command_duration_seconds_count\{cache="redis",command="get",outcome="error"\} [1-9]/,
      );
    } finally {
      await cache.close();
      proxy.stop();
    }
  });
});

describe("memory cache bound", () => {
  test("past maxEntries the oldest keys are dropped, so memory stays bounded", async () => {
    const cache = new MemoryCache({ maxEntries: 3 });
    try {
      for (const k of ["a", "b", "c", "d"]) await cache.set(k, k, 60_000);
      expect(await cache.get("a")).toBeNull();
      expect(await cache.get("d")).toBe("d");
      expect(await cache.setIfAbsent("e", "e", 60_000)).toBe(true);
      expect(await cache.get("b")).toBeNull();
    } finally {
      await cache.close();
    }
  });
});
