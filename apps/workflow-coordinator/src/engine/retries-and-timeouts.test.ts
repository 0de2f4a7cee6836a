import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Server } from "bun";
import type { TestDatabase } from "../../../../shared/testing/services.ts";
import { type Coordinator, ms, setUpDatabase, startCoordinator } from "../testing/coordinator.ts";

let testDb: TestDatabase;
let coordinator: Coordinator;
let server: Server<undefined>;
const hits = new Map<string, { at: number; key: string | null }[]>();
let hangingAborted = 0;

beforeAll(async () => {
  const setup = await setUpDatabase("wf_retries");
  testDb = setup.testDb;
  coordinator = await startCoordinator(setup.url);
  server = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    async fetch(req) {
      const url = new URL(req.url);
      const list = hits.get(url.pathname) ?? [];
      list.push({ at: Date.now(), key: req.headers.get("idempotency-key") });
      hits.set(url.pathname, list);
      if (url.pathname === "/flaky") {
        return list.length <= 2 ? new Response("try later", { status: 503 }) : Response.json({ ok: true });
      }
      if (url.pathname === "/flaky-now") {
        return list.length <= 2 ? new Response("try again", { status: 503 }) : Response.json({ ok: true });
      }
      if (url.pathname === "/broken") return new Response("boom", { status: 500 });
      if (url.pathname === "/hang") {
        await new Promise<void>((resolve) => req.signal.addEventListener("abort", () => resolve()));
        hangingAborted++;
        return new Response("late");
      }
      return new Response("not found", { status: 404 });
    },
  });
});

afterAll(async () => {
  await coordinator?.stop();
  server?.stop(true);
  await testDb?.drop();
});

const url = (path: string) => `http://127.0.0.1:${server.port}${path}`;

describe("retries and timeouts", () => {
  test("a failing attempt is retried with exponential backoff and the same Idempotency-Key", async () => {
    const started = await coordinator.call("POST", "/api/v1/workflows/execute", {
      workflow_definition: {
        name: "flaky-call",
        tasks: [
          {
            id: "call",
            type: "http",
            params: { method: "POST", url: url("/flaky"), body: { x: 1 } },
            retry: { max_attempts: 3, backoff_ms: 100, backoff_factor: 3, max_backoff_ms: 10_000 },
          },
        ],
      },
    });
    const done = await coordinator.waitFor(started.body.workflow_id, ["completed", "failed"]);
    expect(done.status).toBe("completed");
    expect(done.tasks[0]?.attempts).toBe(3);
    expect(done.tasks[0]?.output).toEqual({ status: 200, body: { ok: true } });
    const calls = hits.get("/flaky") ?? [];
    expect(calls).toHaveLength(3);
    expect(new Set(calls.map((c) => c.key))).toEqual(new Set([`${started.body.workflow_id}:call`]));
    // 100 ms before the second attempt, 300 ms before the third.
    expect(calls[1]!.at - calls[0]!.at).toBeGreaterThanOrEqual(95);
    expect(calls[2]!.at - calls[1]!.at).toBeGreaterThanOrEqual(295);
  });

  test("a retry with no backoff runs at once rather than waiting for a lease to lapse", async () => {
    const started = await coordinator.call("POST", "/api/v1/workflows/execute", {
      workflow_definition: {
        name: "flaky-now",
        tasks: [
          {
            id: "call",
            type: "http",
            params: { method: "GET", url: url("/flaky-now") },
            retry: { max_attempts: 3, backoff_ms: 0, max_backoff_ms: 0 },
          },
        ],
      },
    });
    const begun = Date.now();
    const done = await coordinator.waitFor(started.body.workflow_id, ["completed", "failed"]);
    expect(done.status).toBe("completed");
    expect(done.tasks[0]?.attempts).toBe(3);
    expect(Date.now() - begun).toBeLessThan(3000);
  });

  test("a task that fails every attempt fails the workflow and cancels its running sibling", async () => {
    const started = await coordinator.call("POST", "/api/v1/workflows/execute", {
      workflow_definition: {
        name: "always-broken",
        tasks: [
          { id: "slow", type: "delay", params: { ms: 10_000 } },
          {
            id: "broken",
            type: "http",
            params: { url: url("/broken") },
            retry: { max_attempts: 2, backoff_ms: 50 },
          },
          { id: "after", type: "transform", depends_on: ["broken"], params: { expression: "1" } },
        ],
      },
    });
    const done = await coordinator.waitFor(started.body.workflow_id, ["completed", "failed"]);
    expect(done.status).toBe("failed");
    expect(done.error).toContain('task "broken" failed: attempt 2: HTTP 500');
    const byId = Object.fromEntries(done.tasks.map((t) => [t.id, t]));
    expect(byId.broken?.status).toBe("failed");
    expect(byId.broken?.attempts).toBe(2);
    expect(byId.slow?.status).toBe("cancelled");
    expect(byId.after?.status).toBe("cancelled");
    expect(ms(done.completed_at) - ms(done.started_at)).toBeLessThan(2_000);
  });

  test("a task past its timeout_ms is aborted and fails with a timeout error", async () => {
    const started = await coordinator.call("POST", "/api/v1/workflows/execute", {
      workflow_definition: {
        name: "hanging-call",
        tasks: [{ id: "hang", type: "http", timeout_ms: 200, params: { url: url("/hang") } }],
      },
    });
    const done = await coordinator.waitFor(started.body.workflow_id, ["completed", "failed"]);
    expect(done.status).toBe("failed");
    expect(done.tasks[0]?.error).toBe("attempt 1: timed out after 200 ms");
    const task = done.tasks[0]!;
    expect(ms(task.completed_at) - ms(task.started_at)).toBeGreaterThanOrEqual(195);
    expect(ms(task.completed_at) - ms(task.started_at)).toBeLessThan(1_000);
    // The abort reached the server: the request was torn down, not left hanging.
    await Bun.sleep(50);
    expect(hangingAborted).toBeGreaterThanOrEqual(1);
  });

  test("a workflow past its timeout_ms fails and cancels what is still running", async () => {
    const started = await coordinator.call("POST", "/api/v1/workflows/execute", {
      workflow_definition: {
        name: "too-slow",
        timeout_ms: 300,
        tasks: [{ id: "long", type: "delay", params: { ms: 10_000 } }],
      },
    });
    const done = await coordinator.waitFor(started.body.workflow_id, ["completed", "failed"]);
    expect(done.status).toBe("failed");
    expect(done.error).toBe("workflow timed out after 300 ms");
    expect(done.tasks[0]?.status).toBe("cancelled");
  });

  test("continue_on_failure keeps the workflow going and skips only the failed task's dependants", async () => {
    const started = await coordinator.call("POST", "/api/v1/workflows/execute", {
      workflow_definition: {
        name: "best-effort",
        tasks: [
          { id: "optional", type: "http", continue_on_failure: true, params: { url: url("/broken") } },
          { id: "uses_optional", type: "transform", depends_on: ["optional"], params: { expression: "1" } },
          { id: "independent", type: "transform", params: { expression: "2" } },
        ],
      },
    });
    const done = await coordinator.waitFor(started.body.workflow_id, ["completed", "failed"]);
    expect(done.status).toBe("completed");
    expect(done.tasks.map((t) => [t.id, t.status])).toEqual([
      ["optional", "failed"],
      ["uses_optional", "skipped"],
      ["independent", "completed"],
    ]);
    expect(done.tasks[1]?.error).toBe('dependency "optional" did not complete');
  });
});
