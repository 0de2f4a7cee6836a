import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { TestDatabase } from "../../../../shared/testing/services.ts";
import { type Coordinator, eventually, ms, setUpDatabase, startCoordinator } from "../testing/coordinator.ts";

let testDb: TestDatabase;
let coordinator: Coordinator;

beforeAll(async () => {
  const setup = await setUpDatabase("wf_control");
  testDb = setup.testDb;
  coordinator = await startCoordinator(setup.url);
});

afterAll(async () => {
  await coordinator?.stop();
  await testDb?.drop();
});

const chain = (name: string, waitMs: number) => ({
  name,
  tasks: [
    { id: "first", type: "delay", params: { ms: waitMs } },
    { id: "second", type: "delay", depends_on: ["first"], params: { ms: waitMs } },
    { id: "third", type: "transform", depends_on: ["second"], params: { expression: "'done'" } },
  ],
});

async function start(body: unknown) {
  const res = await coordinator.call("POST", "/api/v1/workflows/execute", body);
  expect([200, 202]).toContain(res.status);
  return res.body.workflow_id as string;
}

describe("pause, resume and cancel", () => {
  test("pause lets the running task finish, schedules nothing new, and resume carries on", async () => {
    const id = await start({ workflow_definition: chain("pausable", 300) });
    await eventually(
      async () => (await coordinator.status(id)).tasks[0]?.status === "running",
      5_000,
      "first running",
    );
    const paused = await coordinator.call("POST", `/api/v1/workflows/${id}/pause`);
    expect(paused.status).toBe(200);
    expect(paused.body.status).toBe("paused");

    const whilePaused = await eventually(
      async () => {
        const s = await coordinator.status(id);
        return s.tasks[0]?.status === "completed" ? s : undefined;
      },
      5_000,
      "first task to finish while paused",
    );
    await Bun.sleep(300);
    const still = await coordinator.status(id);
    expect(still.status).toBe("paused");
    expect(still.tasks[1]?.status).toBe("pending");
    expect(whilePaused.tasks[1]?.started_at).toBeNull();

    const again = await coordinator.call("POST", `/api/v1/workflows/${id}/pause`);
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe("CONFLICT");
    expect(again.body.error.message).toBe("cannot pause a workflow that is paused");

    const resumedAt = Date.now();
    const resumed = await coordinator.call("POST", `/api/v1/workflows/${id}/resume`);
    expect(resumed.status).toBe(200);
    expect(resumed.body.status).toBe("running");
    const done = await coordinator.waitFor(id, ["completed", "failed"]);
    expect(done.status).toBe("completed");
    expect(ms(done.tasks[1]!.started_at)).toBeGreaterThanOrEqual(resumedAt - 5);
  });

  test("cancel aborts the running task at once and a second cancel answers 409", async () => {
    const id = await start({ workflow_definition: chain("cancellable", 10_000) });
    await eventually(
      async () => (await coordinator.status(id)).tasks[0]?.status === "running",
      5_000,
      "first running",
    );
    const cancelled = await coordinator.call("POST", `/api/v1/workflows/${id}/cancel`);
    expect(cancelled.status).toBe(200);
    expect(cancelled.body.status).toBe("cancelled");
    expect(cancelled.body.tasks.map((t: { status: string }) => t.status)).toEqual([
      "cancelled",
      "cancelled",
      "cancelled",
    ]);
    const status = await coordinator.status(id);
    expect(status.status).toBe("cancelled");
    expect(ms(status.completed_at) - ms(status.started_at)).toBeLessThan(5_000);

    for (const verb of ["cancel", "pause", "resume"]) {
      const res = await coordinator.call("POST", `/api/v1/workflows/${id}/${verb}`);
      expect(res.status).toBe(409);
    }
  });

  test("resume of a run that is not paused answers 409, and an unknown run 404", async () => {
    const id = await start({ workflow_definition: chain("not-paused", 200) });
    expect((await coordinator.call("POST", `/api/v1/workflows/${id}/resume`)).status).toBe(409);
    const missing = await coordinator.call("POST", `/api/v1/workflows/${crypto.randomUUID()}/pause`);
    expect(missing.status).toBe(404);
    expect((await coordinator.call("GET", "/api/v1/workflows/not-a-uuid/status")).status).toBe(404);
    await coordinator.waitFor(id, ["completed"]);
    expect((await coordinator.call("POST", `/api/v1/workflows/${id}/cancel`)).status).toBe(409);
  });
});

describe("starting", () => {
  test("the same idempotency_key returns the existing run instead of starting another", async () => {
    const body = {
      workflow_definition: chain("idempotent", 10),
      idempotency_key: `order-${crypto.randomUUID()}`,
    };
    const first = await coordinator.call("POST", "/api/v1/workflows/execute", body);
    const second = await coordinator.call("POST", "/api/v1/workflows/execute", body);
    expect(first.status).toBe(202);
    expect(second.status).toBe(200);
    expect(second.body.workflow_id).toBe(first.body.workflow_id);
    const concurrent = await Promise.all(
      Array.from({ length: 5 }, () => coordinator.call("POST", "/api/v1/workflows/execute", body)),
    );
    expect(new Set(concurrent.map((r) => r.body.workflow_id))).toEqual(new Set([first.body.workflow_id]));
    const listed = await coordinator.call("GET", "/api/v1/workflows?name=idempotent");
    expect(listed.body.workflows).toHaveLength(1);
  });

  test("requests without an API key are refused", async () => {
    const res = await coordinator.service.app.request("/api/v1/workflows");
    expect(res.status).toBe(401);
  });
});

describe("listing", () => {
  test("runs page newest first by cursor, filter by status and name, and active lists unfinished runs", async () => {
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push(await start({ workflow_definition: chain("listed", 5) }));
    const blocker = await start({ workflow_definition: chain("listed-active", 10_000) });
    for (const id of ids) await coordinator.waitFor(id, ["completed"]);

    const first = await coordinator.call("GET", "/api/v1/workflows?name=listed&limit=3");
    expect(first.status).toBe(200);
    expect(first.body.workflows.map((w: { workflow_id: string }) => w.workflow_id)).toEqual(
      ids.slice(2).reverse(),
    );
    expect(first.body.next_cursor).toEqual(expect.any(String));
    const second = await coordinator.call(
      "GET",
      `/api/v1/workflows?name=listed&limit=3&cursor=${first.body.next_cursor}`,
    );
    expect(second.body.workflows.map((w: { workflow_id: string }) => w.workflow_id)).toEqual(
      ids.slice(0, 2).reverse(),
    );
    expect(second.body.next_cursor).toBeNull();

    const completed = await coordinator.call("GET", "/api/v1/workflows?status=completed&name=listed");
    expect(completed.body.workflows).toHaveLength(5);
    expect(completed.body.workflows[0]).toEqual({
      workflow_id: ids[4],
      name: "listed",
      status: "completed",
      created_at: expect.any(String),
    });

    const active = await coordinator.call("GET", "/api/v1/workflows/active");
    const activeIds = active.body.workflows.map((w: { workflow_id: string }) => w.workflow_id);
    expect(activeIds).toContain(blocker);
    expect(activeIds).not.toContain(ids[0]);
    await coordinator.call("POST", `/api/v1/workflows/${blocker}/cancel`);

    const bad = await coordinator.call("GET", "/api/v1/workflows?status=sleeping");
    expect(bad.status).toBe(400);
    expect(bad.body.error.details[0].field).toBe("status");
  });
});

describe("metrics", () => {
  test("runs, tasks, scheduler lag and leases are exported on /metrics", async () => {
    const id = await start({ workflow_definition: chain("measured", 5) });
    await coordinator.waitFor(id, ["completed"]);
    const res = await coordinator.service.app.request("/metrics");
    const text = await res.text();
    expect(text).toContain('workflow_runs_started_total{definition="measured"} 1');
    expect(text).toContain('workflow_runs_finished_total{definition="measured",status="completed"} 1');
    expect(text).toMatch(/workflow_run_duration_seconds_count\{definition="measured",status="completed"\} 1/);
    expect(text).toMatch(/workflow_task_duration_seconds_count\{type="delay",status="completed"\} \d+/);
    expect(text).toMatch(/workflow_scheduler_lag_seconds_count \d+/);
    expect(text).toContain("workflow_runs_active");
    expect(text).toContain("workflow_lease_claims_total");
    expect(text).toContain("workflow_attempt_recoveries_total");
  });
});
