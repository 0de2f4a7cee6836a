import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { RedisCache } from "../../../../shared/cache/redis.ts";
import { TEST_REDIS_URL, type TestDatabase, uniquePrefix } from "../../../../shared/testing/services.ts";
import { TcpProxy } from "../../../../shared/testing/tcp-proxy.ts";
import { eventually, setUpDatabase, startCoordinator } from "../testing/coordinator.ts";
import { StatusCache } from "./status-cache.ts";

let testDb: TestDatabase;
let url: string;

beforeAll(async () => {
  ({ testDb, url } = await setUpDatabase("wf_status_cache"));
});

afterAll(async () => {
  await testDb?.drop();
});

const definition = {
  name: "cached",
  tasks: [
    { id: "wait", type: "delay", params: { ms: 200 } },
    { id: "done", type: "transform", depends_on: ["wait"], params: { expression: "'ok'" } },
  ],
};

describe("status cache", () => {
  test("every transition is written through to Redis, and a missing entry falls back to Postgres", async () => {
    const cache = await RedisCache.connect({ url: TEST_REDIS_URL, keyPrefix: uniquePrefix("wf-status") });
    const coordinator = await startCoordinator(url, { cache });
    try {
      const started = await coordinator.call("POST", "/api/v1/workflows/execute", {
        workflow_definition: definition,
      });
      const id: string = started.body.workflow_id;
      const running = await eventually(
        async () => {
          const raw = await cache.get(StatusCache.key(id));
          return raw && JSON.parse(raw).tasks[0].status === "running" ? JSON.parse(raw) : undefined;
        },
        5_000,
        "the running status in Redis",
      );
      expect(running.status).toBe("running");
      const done = await coordinator.waitFor(id, ["completed"]);
      const cached = await eventually(
        async () => {
          const raw = await cache.get(StatusCache.key(id));
          return raw && JSON.parse(raw).status === "completed" ? JSON.parse(raw) : undefined;
        },
        5_000,
        "the completed status in Redis",
      );
      expect(cached).toEqual(done);

      await cache.delete(StatusCache.key(id));
      expect(await coordinator.status(id)).toEqual(done);
      // A terminal status read from Postgres is put back, since it can no longer change.
      await eventually(async () => (await cache.get(StatusCache.key(id))) ?? undefined, 5_000, "the refill");
    } finally {
      await coordinator.stop();
      await cache.close();
    }
  });

  test("with Redis unreachable, runs still complete and the status is read from Postgres", async () => {
    const proxy = await TcpProxy.start("127.0.0.1", Number(new URL(TEST_REDIS_URL).port || 6379));
    const cache = await RedisCache.connect({
      url: `redis://127.0.0.1:${proxy.port}`,
      keyPrefix: uniquePrefix("wf-down"),
    });
    const coordinator = await startCoordinator(url, { cache });
    try {
      proxy.down();
      const started = await coordinator.call("POST", "/api/v1/workflows/execute", {
        workflow_definition: definition,
      });
      expect(started.status).toBe(202);
      const done = await coordinator.waitFor(started.body.workflow_id, ["completed"]);
      expect(done.output).toEqual({ done: "ok" });
      expect(done.tasks.map((t) => t.status)).toEqual(["completed", "completed"]);

      // Back up: the writes that failed are retried, so Redis ends with the final status, not a stale one.
      proxy.up();
      const key = StatusCache.key(started.body.workflow_id);
      const healed = await eventually(
        async () => {
          const raw = await cache.get(key).catch(() => null);
          return raw && JSON.parse(raw).status === "completed" ? JSON.parse(raw) : undefined;
        },
        10_000,
        "the final status in Redis after the outage",
      );
      expect(healed).toEqual(done);
    } finally {
      proxy.up();
      await coordinator.stop();
      await cache.close();
      proxy.stop();
    }
  });
});
