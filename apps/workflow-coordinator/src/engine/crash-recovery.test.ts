import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Subprocess } from "bun";
import { freePort } from "../../../../shared/testing/ports.ts";
import { TEST_REDIS_URL, type TestDatabase } from "../../../../shared/testing/services.ts";
import {
  eventually,
  type JsonBody,
  setUpDatabase,
  TEST_API_KEY,
  type TestStatus,
} from "../testing/coordinator.ts";

let testDb: TestDatabase;
let url: string;
const children: Subprocess[] = [];

beforeAll(async () => {
  ({ testDb, url } = await setUpDatabase("wf_crash"));
});

afterAll(async () => {
  for (const child of children) child.kill(9);
  await Promise.all(children.map((c) => c.exited));
  await testDb?.drop();
});

/** A coordinator in its own process, started the way an operator starts it. */
async function spawnCoordinator(): Promise<{ proc: Subprocess; base: string }> {
  const port = await freePort();
  const proc = Bun.spawn(["bun", "run", "apps/workflow-coordinator/src/main.ts"], {
    cwd: new URL("../../../../", import.meta.url).pathname,
    env: {
      PATH: process.env.PATH ?? "",
      HOME: process.env.HOME ?? "",
      DATABASE_URL: url,
      REDIS_URL: TEST_REDIS_URL,
      API_KEYS: TEST_API_KEY,
      WORKFLOW_COORDINATOR_PORT: String(port),
      HOST: "127.0.0.1",
      LOG_LEVEL: "warn",
    },
    stdout: "ignore",
    stderr: "inherit",
  });
  children.push(proc);
  const base = `http://127.0.0.1:${port}`;
  await eventually(
    () =>
      fetch(`${base}/health`)
        .then((r) => r.ok || undefined)
        .catch(() => undefined),
    15_000,
    "the coordinator process to serve",
  );
  return { proc, base };
}

const api = (base: string, path: string, body?: unknown): Promise<{ status: number; body: JsonBody }> =>
  fetch(`${base}${path}`, {
    method: body === undefined ? "GET" : "POST",
    headers: { "x-api-key": TEST_API_KEY, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  }).then(async (r) => ({ status: r.status, body: await r.json() }));

describe("crash recovery", () => {
  test("after kill -9 of the coordinator mid-run, a new process claims the run and completes it", async () => {
    const first = await spawnCoordinator();
    const started = await api(first.base, "/api/v1/workflows/execute", {
      workflow_definition: {
        name: "survives-crash",
        tasks: [
          { id: "prepare", type: "transform", params: { expression: "input.n + 1" } },
          { id: "slow", type: "delay", depends_on: ["prepare"], params: { ms: 3_000 } },
          {
            id: "finish",
            type: "transform",
            depends_on: ["slow"],
            params: { expression: "tasks.prepare.output * 2" },
          },
        ],
      },
      input: { n: 20 },
    });
    expect(started.status).toBe(202);
    const id: string = started.body.workflow_id;
    await eventually(
      async () => {
        const s = (await api(first.base, `/api/v1/workflows/${id}/status`)).body as TestStatus;
        return s.tasks[1]?.status === "running" || undefined;
      },
      10_000,
      "the slow task to start",
    );

    first.proc.kill(9);
    await first.proc.exited;
    expect(first.proc.signalCode).toBe("SIGKILL");

    const second = await spawnCoordinator();
    const done = await eventually(
      async () => {
        const s = (await api(second.base, `/api/v1/workflows/${id}/status`)).body as TestStatus;
        return s.status === "completed" || s.status === "failed" ? s : undefined;
      },
      40_000,
      "the run to finish in the new process",
    );
    expect(done.status).toBe("completed");
    expect(done.output).toEqual({ finish: 42 });
    const byId = Object.fromEntries(done.tasks.map((t) => [t.id, t]));
    // prepare finished before the crash and is not run again; slow was interrupted and ran as a new attempt.
    expect(byId.prepare?.attempts).toBe(1);
    expect(byId.slow?.attempts).toBe(2);
    expect(byId.finish?.attempts).toBe(1);
  }, 60_000);
});
