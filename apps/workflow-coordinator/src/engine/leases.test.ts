import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Server } from "bun";
import { eq, inArray } from "drizzle-orm";
import { workflowTasks } from "../../../../db/schema/workflows.ts";
import { RedisCache } from "../../../../shared/cache/redis.ts";
import { TEST_REDIS_URL, type TestDatabase, uniquePrefix } from "../../../../shared/testing/services.ts";
import { TcpProxy } from "../../../../shared/testing/tcp-proxy.ts";
import { eventually, setUpDatabase, startCoordinator } from "../testing/coordinator.ts";

let testDb: TestDatabase;
let url: string;
let server: Server<undefined>;

/** Every attempt the task server saw, per `run:task` key, and whether two ever overlapped. */
const attempts = new Map<string, { start: number; end?: number; aborted?: boolean }[]>();
const inFlight = new Map<string, number>();
let overlaps = 0;

beforeAll(async () => {
  ({ testDb, url } = await setUpDatabase("wf_leases"));
  server = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    async fetch(req) {
      const key = req.headers.get("idempotency-key") ?? "none";
      const wait = Number(new URL(req.url).searchParams.get("ms") ?? "50");
      const record: { start: number; end?: number; aborted?: boolean } = { start: Date.now() };
      attempts.set(key, [...(attempts.get(key) ?? []), record]);
      const running = (inFlight.get(key) ?? 0) + 1;
      inFlight.set(key, running);
      if (running > 1) overlaps++;
      const finished = await new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => resolve(true), wait);
        req.signal.addEventListener("abort", () => {
          clearTimeout(timer);
          resolve(false);
        });
      });
      record.end = Date.now();
      record.aborted = !finished;
      inFlight.set(key, (inFlight.get(key) ?? 1) - 1);
      return Response.json({ waited: wait });
    },
  });
});

afterAll(async () => {
  server?.stop(true);
  await testDb?.drop();
});

const work = (id: string, ms: number, depends_on: string[] = []) => ({
  id,
  type: "http",
  depends_on,
  params: { url: `http://127.0.0.1:${server.port}/work?ms=${ms}` },
  retry: { max_attempts: 3, backoff_ms: 50 },
});

describe("two instances on one database", () => {
  test("they share the runs and never run the same attempt twice at once", async () => {
    // A owns at most 4 runs, so most of what it accepts waits in Postgres for whichever instance claims it.
    const a = await startCoordinator(url, { instanceId: "instance-a", tuning: { maxOwnedRuns: 4 } });
    const b = await startCoordinator(url, { instanceId: "instance-b" });
    try {
      const ids: string[] = [];
      for (let i = 0; i < 24; i++) {
        const res = await a.call("POST", "/api/v1/workflows/execute", {
          workflow_definition: {
            name: "shared",
            tasks: [work("left", 60), work("right", 60), work("join", 30, ["left", "right"])],
          },
        });
        ids.push(res.body.workflow_id);
      }
      for (const id of ids) {
        const done = await b.waitFor(id, ["completed", "failed"], 30_000);
        expect(done.status).toBe("completed");
      }
      const rows = await a.database.db
        .select({
          runId: workflowTasks.runId,
          owner: workflowTasks.attemptOwner,
          attempts: workflowTasks.attempts,
        })
        .from(workflowTasks)
        .where(inArray(workflowTasks.runId, ids));
      const owners = new Set(rows.map((r) => r.owner));
      expect(owners).toEqual(new Set(["instance-a", "instance-b"]));
      expect(rows.every((r) => r.attempts === 1)).toBe(true);
      for (const id of ids) {
        for (const task of ["left", "right", "join"]) expect(attempts.get(`${id}:${task}`)).toHaveLength(1);
      }
      expect(overlaps).toBe(0);
    } finally {
      await a.stop();
      await b.stop();
    }
  }, 60_000);

  test("an instance cut off from Postgres stops its attempt before the other claims the run and finishes it", async () => {
    const proxy = await TcpProxy.start("127.0.0.1", 5432);
    const proxied = new URL(url);
    proxied.port = String(proxy.port);
    const a = await startCoordinator(proxied.toString(), { instanceId: "cut-off" });
    const b = await startCoordinator(url, { instanceId: "survivor" });
    try {
      const res = await a.call("POST", "/api/v1/workflows/execute", {
        workflow_definition: { name: "takeover", tasks: [work("slow", 2_500), work("after", 20, ["slow"])] },
      });
      const id: string = res.body.workflow_id;
      await eventually(
        () => attempts.get(`${id}:slow`)?.length === 1 || undefined,
        5_000,
        "the first attempt",
      );
      proxy.down();

      const done = await b.waitFor(id, ["completed", "failed"], 20_000);
      expect(done.status).toBe("completed");
      const slow = done.tasks.find((t) => t.id === "slow")!;
      expect(slow.attempts).toBe(2);
      const [first, second] = attempts.get(`${id}:slow`) ?? [];
      expect(first?.aborted).toBe(true);
      expect(second?.aborted).toBe(false);
      // The cut-off instance gave its attempt up before the survivor started the next one.
      expect(first!.end!).toBeLessThanOrEqual(second!.start);
      expect(overlaps).toBe(0);
      const [row] = await b.database.db
        .select({ owner: workflowTasks.attemptOwner })
        .from(workflowTasks)
        .where(eq(workflowTasks.taskId, "after"));
      expect(row?.owner).toBe("survivor");
    } finally {
      proxy.up();
      await b.stop();
      await a.stop();
      proxy.stop();
    }
  }, 60_000);

  test("pause and cancel sent to the other instance reach the owner of the run", async () => {
    // Instances of one deployment share the status cache as they share the database.
    const prefix = uniquePrefix("wf-shared");
    const caches = await Promise.all(
      [1, 2].map(() => RedisCache.connect({ url: TEST_REDIS_URL, keyPrefix: prefix })),
    );
    const owner = await startCoordinator(url, { instanceId: "owner", cache: caches[0] });
    const other = await startCoordinator(url, { instanceId: "other", cache: caches[1] });
    try {
      const paused = await owner.call("POST", "/api/v1/workflows/execute", {
        workflow_definition: {
          name: "remote-pause",
          tasks: [work("first", 400), work("second", 20, ["first"])],
        },
      });
      const pausedId: string = paused.body.workflow_id;
      await eventually(
        () => attempts.get(`${pausedId}:first`)?.length === 1 || undefined,
        5_000,
        "first attempt",
      );
      expect((await other.call("POST", `/api/v1/workflows/${pausedId}/pause`)).status).toBe(200);
      await Bun.sleep(1_000);
      const whilePaused = await other.status(pausedId);
      expect(whilePaused.status).toBe("paused");
      expect(whilePaused.tasks.map((t) => t.status)).toEqual(["completed", "pending"]);
      expect(attempts.get(`${pausedId}:second`)).toBeUndefined();
      expect((await other.call("POST", `/api/v1/workflows/${pausedId}/resume`)).status).toBe(200);
      expect((await other.waitFor(pausedId, ["completed", "failed"])).status).toBe("completed");

      const cancelled = await owner.call("POST", "/api/v1/workflows/execute", {
        workflow_definition: { name: "remote-cancel", tasks: [work("long", 10_000)] },
      });
      const cancelledId: string = cancelled.body.workflow_id;
      await eventually(
        () => attempts.get(`${cancelledId}:long`)?.length === 1 || undefined,
        5_000,
        "long attempt",
      );
      const cancelledAt = Date.now();
      expect((await other.call("POST", `/api/v1/workflows/${cancelledId}/cancel`)).status).toBe(200);
      // The owner sees the cancel at its next heartbeat and aborts the request in flight.
      const record = await eventually(
        () => attempts.get(`${cancelledId}:long`)?.find((a) => a.end !== undefined),
        5_000,
        "the owner to abort the cancelled attempt",
      );
      expect(record.aborted).toBe(true);
      expect(record.end! - cancelledAt).toBeLessThan(2_000);
      expect((await owner.status(cancelledId)).status).toBe("cancelled");
    } finally {
      await owner.stop();
      await other.stop();
      for (const cache of caches) await cache.close();
    }
  }, 60_000);
});
