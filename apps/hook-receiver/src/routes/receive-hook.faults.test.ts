import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { RedisCache } from "../../../../shared/cache/redis.ts";
import { TEST_REDIS_URL, uniquePrefix } from "../../../../shared/testing/services.ts";
import { TcpProxy } from "../../../../shared/testing/tcp-proxy.ts";
import { type ReceiverHarness, sampleHook, startReceiver, waitUntil } from "../test-support.ts";

const receive = (h: ReceiverHarness, headers: Record<string, string> = {}, body = sampleHook()) =>
  h.request("/api/v1/hooks/receive", { method: "POST", headers, json: body });

describe("rate limits", () => {
  let h: ReceiverHarness;
  beforeAll(async () => {
    h = await startReceiver({ overrides: { rateLimits: { perKeyRps: 5, perIpRps: 0 } } });
  });
  afterAll(() => h.close());

  test("past the per-key budget a request gets 429 with Retry-After and RateLimit headers", async () => {
    // Start at the top of a second so the whole burst lands in one window.
    await Bun.sleep(1000 - (Date.now() % 1000) + 5);
    const responses = await Promise.all(Array.from({ length: 8 }, () => receive(h)));
    const statuses = responses.map((r) => r.status);
    expect(statuses.filter((s) => s === 202)).toHaveLength(5);
    const limited = responses.find((r) => r.status === 429)!;
    expect(limited.headers.get("retry-after")).toMatch(/^[12]$/);
    expect(limited.headers.get("ratelimit-limit")).toBe("5");
    expect(limited.headers.get("ratelimit-remaining")).toBe("0");
    expect(((await limited.json()) as { error: { code: string } }).error.code).toBe("RATE_LIMITED");
    const ok = responses.find((r) => r.status === 202)!;
    expect(ok.headers.get("ratelimit-limit")).toBe("5");

    await Bun.sleep(1100);
    expect((await receive(h)).status).toBe(202);
    expect(await (await h.request("/metrics")).text()).toMatch(
      /hook_rate_limited_total\{scope="key"\} [1-9]/,
    );
  });
});

describe("when Redis goes away", () => {
  let h: ReceiverHarness;
  let proxy: TcpProxy;
  beforeAll(async () => {
    const target = new URL(TEST_REDIS_URL);
    proxy = await TcpProxy.start(target.hostname, Number(target.port || 6379));
    const cache = await RedisCache.connect({
      url: `redis://127.0.0.1:${proxy.port}`,
      keyPrefix: uniquePrefix("hooks-redis-down"),
    });
    h = await startReceiver({ cache, overrides: { rateLimits: { perKeyRps: 1000, perIpRps: 1000 } } });
  });
  afterAll(async () => {
    await h.close();
    proxy.stop();
  });

  test("hooks are still accepted, without the duplicate check or rate limit, and /ready names the cache", async () => {
    proxy.down();
    try {
      const started = performance.now();
      const res = await receive(h, { "idempotency-key": "while-redis-down" });
      expect(res.status).toBe(202);
      expect(performance.now() - started).toBeLessThan(1500);
      const ready = await h.request("/ready");
      expect(ready.status).toBe(503);
      expect(((await ready.json()) as { error: { message: string } }).error.message).toContain("cache");
    } finally {
      proxy.up();
    }
    await waitUntil(async () => (await h.request("/ready")).status === 200, 10_000, "redis back");
    const first = await receive(h, { "idempotency-key": "after-redis-back" });
    const second = await receive(h, { "idempotency-key": "after-redis-back" });
    expect([first.status, second.status]).toEqual([202, 200]);
  });
});

describe("when Postgres goes away with Kafka healthy", () => {
  let h: ReceiverHarness;
  beforeAll(async () => {
    h = await startReceiver({ postgresProxy: true });
  });
  afterAll(() => h.close());

  test("intake keeps answering 202 and the persister catches up once Postgres returns", async () => {
    h.pgProxy!.down();
    const ids: string[] = [];
    try {
      for (let i = 0; i < 5; i++) {
        const res = await receive(h, {}, sampleHook({ resource_id: "pg-down", payload: { i } }));
        expect(res.status).toBe(202);
        ids.push(((await res.json()) as { event_id: string }).event_id);
      }
      const ready = (await (await h.request("/ready")).json()) as { checks: Record<string, string> };
      expect(ready.checks.database).not.toBe("ok");
      await Bun.sleep(300);
    } finally {
      h.pgProxy!.up();
    }
    for (const id of ids) {
      await waitUntil(
        async () => (await h.request(`/api/v1/hooks/${id}`)).status === 200,
        15_000,
        `event ${id} stored`,
      );
    }
    expect(await (await h.request("/metrics")).text()).toContain("hook_persister_dead_letters_total 0");
  });
});

describe("load shedding", () => {
  let h: ReceiverHarness;
  beforeAll(async () => {
    h = await startReceiver({
      overrides: {
        publisher: { batch: { maxQueued: 4, lingerMs: 200, maxBatchCount: 1000, maxBatchBytes: 1_000_000 } },
      },
    });
  });
  afterAll(() => h.close());

  test("past the in-flight bound requests are shed with 503 and Retry-After at once, never left hanging", async () => {
    const started = performance.now();
    const responses = await Promise.all(Array.from({ length: 10 }, () => receive(h)));
    const statuses = responses.map((r) => r.status);
    expect(statuses.filter((s) => s === 202)).toHaveLength(4);
    const shed = responses.filter((r) => r.status === 503);
    expect(shed).toHaveLength(6);
    expect(shed.every((r) => r.headers.get("retry-after") === "1")).toBe(true);
    expect(performance.now() - started).toBeLessThan(1000);
    expect(await (await h.request("/metrics")).text()).toMatch(
      /hooks_received_total\{source="github",action="push",outcome="shed"\} 6/,
    );
  });
});
