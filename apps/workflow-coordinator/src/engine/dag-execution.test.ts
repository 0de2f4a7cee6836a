import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Server } from "bun";
import type { TestDatabase } from "../../../../shared/testing/services.ts";
import { type Coordinator, ms, setUpDatabase, startCoordinator } from "../testing/coordinator.ts";

let testDb: TestDatabase;
let setupUrl: string;
let coordinator: Coordinator;
let echo: Server<undefined>;
const received: { path: string; body: unknown; idempotencyKey: string | null }[] = [];

beforeAll(async () => {
  const setup = await setUpDatabase("wf_dag");
  testDb = setup.testDb;
  setupUrl = setup.url;
  coordinator = await startCoordinator(setup.url);
  echo = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    async fetch(req) {
      const body = req.method === "POST" ? await req.json() : null;
      received.push({
        path: new URL(req.url).pathname,
        body,
        idempotencyKey: req.headers.get("idempotency-key"),
      });
      return Response.json({ echoed: body });
    },
  });
});

afterAll(async () => {
  await coordinator?.stop();
  echo?.stop(true);
  await testDb?.drop();
});

const delay = (id: string, wait: number | string, depends_on: string[] = []) => ({
  id,
  type: "delay",
  depends_on,
  params: { ms: wait },
});

describe("DAG execution", () => {
  test("a diamond runs its two middle branches at the same time and joins their outputs", async () => {
    const started = await coordinator.call("POST", "/api/v1/workflows/execute", {
      workflow_definition: {
        name: "diamond",
        tasks: [
          { id: "a", type: "transform", params: { expression: "input.n * 2" } },
          delay("b", 300, ["a"]),
          delay("c", 300, ["a"]),
          {
            id: "d",
            type: "transform",
            depends_on: ["b", "c"],
            params: {
              expression:
                "{ 'doubled': tasks.a.output, 'waits': tasks.b.output.waited_ms + tasks.c.output.waited_ms }",
            },
          },
        ],
      },
      input: { n: 21 },
    });
    expect(started.status).toBe(202);
    expect(started.body.status).toBe("running");
    const done = await coordinator.waitFor(started.body.workflow_id, ["completed", "failed"]);
    expect(done.status).toBe("completed");
    expect(done.progress).toBe(1);
    const [a, b, c, d] = done.tasks;
    expect(done.tasks.map((t) => t.status)).toEqual(["completed", "completed", "completed", "completed"]);
    // b and c start together once a is done; d starts after both.
    expect(Math.abs(ms(b!.started_at) - ms(c!.started_at))).toBeLessThan(100);
    expect(ms(b!.started_at)).toBeGreaterThanOrEqual(ms(a!.completed_at));
    expect(ms(d!.started_at)).toBeGreaterThanOrEqual(Math.max(ms(b!.completed_at), ms(c!.completed_at)));
    expect(ms(done.completed_at) - ms(done.started_at)).toBeLessThan(550);
    expect(d!.output).toEqual({ doubled: 42, waits: 600 });
    expect(done.output).toEqual({ d: { doubled: 42, waits: 600 } });
    expect(done.duration_ms).toBe(ms(done.completed_at) - ms(done.started_at));
  });

  test("fan-out to five branches overlaps them all, and fan-in waits for every one", async () => {
    const branches = ["b1", "b2", "b3", "b4", "b5"];
    const started = await coordinator.call("POST", "/api/v1/workflows/execute", {
      workflow_definition: {
        name: "fan-out-fan-in",
        max_parallel_tasks: 10,
        tasks: [
          { id: "root", type: "transform", params: { expression: "input" } },
          ...branches.map((id) => delay(id, "{{input.wait}}", ["root"])),
          {
            id: "join",
            type: "transform",
            depends_on: branches,
            params: { expression: "$count($keys(tasks))" },
          },
        ],
      },
      input: { wait: 300 },
    });
    const done = await coordinator.waitFor(started.body.workflow_id, ["completed", "failed"]);
    expect(done.status).toBe("completed");
    const fan = done.tasks.filter((t) => branches.includes(t.id));
    const lastStart = Math.max(...fan.map((t) => ms(t.started_at)));
    const firstEnd = Math.min(...fan.map((t) => ms(t.completed_at)));
    expect(lastStart).toBeLessThan(firstEnd);
    const join = done.tasks.find((t) => t.id === "join")!;
    expect(ms(join.started_at)).toBeGreaterThanOrEqual(Math.max(...fan.map((t) => ms(t.completed_at))));
    expect(join.output).toBe(6);
    expect(ms(done.completed_at) - ms(done.started_at)).toBeLessThan(5 * 300);
  });

  test("max_parallel_tasks holds branches back so no more than the limit run at once", async () => {
    const branches = ["p1", "p2", "p3", "p4"];
    const started = await coordinator.call("POST", "/api/v1/workflows/execute", {
      workflow_definition: {
        name: "limited",
        max_parallel_tasks: 2,
        tasks: branches.map((id) => delay(id, 150)),
      },
    });
    const done = await coordinator.waitFor(started.body.workflow_id, ["completed", "failed"]);
    expect(done.status).toBe("completed");
    const intervals = done.tasks.map((t) => [ms(t.started_at), ms(t.completed_at)] as const);
    for (const [start] of intervals) {
      const overlapping = intervals.filter(([s, e]) => s <= start && e > start).length;
      expect(overlapping).toBeLessThanOrEqual(2);
    }
    expect(ms(done.completed_at) - ms(done.started_at)).toBeGreaterThanOrEqual(300);
  });

  test("an http task sends templated params and an Idempotency-Key, and its response is the output", async () => {
    const started = await coordinator.call("POST", "/api/v1/workflows/execute", {
      workflow_definition: {
        name: "templated-http",
        tasks: [
          { id: "lookup", type: "transform", params: { expression: "{ 'user': input.user, 'n': 7 }" } },
          {
            id: "notify",
            type: "http",
            depends_on: ["lookup"],
            params: {
              method: "POST",
              url: `http://127.0.0.1:${echo.port}/notify`,
              body: {
                who: "{{tasks.lookup.output.user}}",
                count: "{{tasks.lookup.output.n}}",
                text: "hi {{input.user}}",
              },
            },
          },
        ],
      },
      input: { user: "ada" },
    });
    const done = await coordinator.waitFor(started.body.workflow_id, ["completed", "failed"]);
    expect(done.status).toBe("completed");
    const request = received.find((r) => r.path === "/notify");
    expect(request?.body).toEqual({ who: "ada", count: 7, text: "hi ada" });
    expect(request?.idempotencyKey).toBe(`${started.body.workflow_id}:notify`);
    expect(done.tasks[1]?.output).toEqual({
      status: 200,
      body: { echoed: { who: "ada", count: 7, text: "hi ada" } },
    });
  });

  test("a task whose when is false is skipped and its dependants still run", async () => {
    const started = await coordinator.call("POST", "/api/v1/workflows/execute", {
      workflow_definition: {
        name: "conditional",
        tasks: [
          { id: "only_vip", type: "transform", when: "input.vip = true", params: { expression: "'vip'" } },
          { id: "after", type: "transform", depends_on: ["only_vip"], params: { expression: "'ran'" } },
        ],
      },
      input: { vip: false },
    });
    const done = await coordinator.waitFor(started.body.workflow_id, ["completed", "failed"]);
    expect(done.status).toBe("completed");
    expect(done.tasks.map((t) => [t.id, t.status])).toEqual([
      ["only_vip", "skipped"],
      ["after", "completed"],
    ]);
    expect(done.output).toEqual({ after: "ran" });
  });

  test("the per-instance limit holds attempts across runs to maxConcurrentTasks", async () => {
    const limited = await startCoordinator(setupUrl, { tuning: { maxConcurrentTasks: 3 } });
    try {
      const ids: string[] = [];
      for (let i = 0; i < 3; i++) {
        const res = await limited.call("POST", "/api/v1/workflows/execute", {
          workflow_definition: {
            name: "instance-limited",
            tasks: [delay("x", 150), delay("y", 150), delay("z", 150)],
          },
        });
        ids.push(res.body.workflow_id);
      }
      const runs = await Promise.all(ids.map((id) => limited.waitFor(id, ["completed", "failed"])));
      expect(runs.every((r) => r.status === "completed")).toBe(true);
      const intervals = runs.flatMap((r) =>
        r.tasks.map((t) => [ms(t.started_at), ms(t.completed_at)] as const),
      );
      for (const [start] of intervals) {
        expect(intervals.filter(([s, e]) => s <= start && e > start).length).toBeLessThanOrEqual(3);
      }
    } finally {
      await limited.stop();
    }
  });
});
