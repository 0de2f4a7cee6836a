import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import type { Subprocess } from "bun";
import { freePort } from "../../../shared/testing/ports.ts";

const ROOT = new URL("../../../", import.meta.url).pathname;

async function waitFor<T>(read: () => Promise<T | undefined>, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const value = await read().catch(() => undefined);
    if (value !== undefined) return value;
    await Bun.sleep(200);
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** `bun run start` with nothing configured: PGlite, the in-process bus and the in-memory cache. */
describe("the embedded default (bun run start)", () => {
  let proc: Subprocess<"ignore", "pipe", "inherit">;
  let dataDir: string;
  let output = "";
  const ports = { hooks: 0, models: 0, workflows: 0 };
  const url = (port: number, path: string) => `http://127.0.0.1:${port}${path}`;

  beforeAll(async () => {
    dataDir = mkdtempSync(`${tmpdir()}/omninode-embedded-`);
    ports.hooks = await freePort();
    ports.models = await freePort();
    ports.workflows = await freePort();
    const env: Record<string, string | undefined> = { ...process.env };
    for (const name of ["DATABASE_URL", "KAFKA_BROKERS", "REDIS_URL", "API_KEYS"]) delete env[name];
    proc = Bun.spawn(["bun", "run", "start"], {
      cwd: ROOT,
      env: {
        ...env,
        DATA_DIR: dataDir,
        HOST: "127.0.0.1",
        HOOK_RECEIVER_PORT: String(ports.hooks),
        MODEL_METRICS_PORT: String(ports.models),
        WORKFLOW_COORDINATOR_PORT: String(ports.workflows),
        MODEL_METRICS_URL: url(ports.models, ""),
        LOG_LEVEL: "warn",
      },
      stdout: "pipe",
      stderr: "inherit",
    });
    const reader = proc.stdout.getReader();
    void (async () => {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        output += new TextDecoder().decode(value);
      }
    })();
    await waitFor(async () => (output.includes("API key") ? true : undefined), 60_000, "the start-up banner");
  }, 90_000);

  afterAll(async () => {
    proc.kill("SIGTERM");
    await proc.exited;
    rmSync(dataDir, { recursive: true, force: true });
  }, 30_000);

  const apiKey = () => /API key \(generated for this run\): (\S+)/.exec(output)?.[1] ?? "";

  test("serves /health on all three ports and prints their URLs and a generated API key", async () => {
    for (const port of Object.values(ports)) {
      const res = await fetch(url(port, "/health"));
      expect(res.status).toBe(200);
      expect(output).toContain(`127.0.0.1:${port}`);
    }
    expect(apiKey()).toMatch(/^onb_[0-9a-f]{32}$/);
    expect(output).toContain("PGlite");
  });

  test("a webhook triggers a registered workflow whose model_infer task runs on the built-in model", async () => {
    const headers = { "content-type": "application/json", "x-api-key": apiKey() };
    const definition = {
      name: "triage-push",
      max_parallel_tasks: 2,
      timeout_ms: 30_000,
      triggers: [{ source: "github", action: "push" }],
      tasks: [
        {
          id: "mood",
          type: "model_infer",
          depends_on: [],
          params: { task_type: "sentiment", input: "{{input.payload.head_commit.message}}" },
          retry: { max_attempts: 2, backoff_ms: 100 },
        },
        {
          id: "verdict",
          type: "transform",
          depends_on: ["mood"],
          params: { expression: "{'label': tasks.mood.output.output.label, 'repo': input.resource_id}" },
        },
      ],
    };
    const put = await fetch(url(ports.workflows, "/api/v1/workflow-definitions/triage-push"), {
      method: "PUT",
      headers,
      body: JSON.stringify(definition),
    });
    expect([200, 201]).toContain(put.status);

    const hook = await fetch(url(ports.hooks, "/api/v1/hooks/receive"), {
      method: "POST",
      headers,
      body: JSON.stringify({
        source: "github",
        action: "push",
        resource: "repository",
        resource_id: "acme/widgets",
        payload: { head_commit: { message: "Fix the flaky build; everything is wonderful now" } },
      }),
    });
    expect(hook.status).toBe(202);
    const { event_id } = (await hook.json()) as { event_id: string };

    const run = await waitFor(
      async () => {
        const list = (await (
          await fetch(url(ports.workflows, "/api/v1/workflows?name=triage-push&limit=5"), { headers })
        ).json()) as {
          workflows: { workflow_id: string }[];
        };
        const id = list.workflows[0]?.workflow_id;
        if (!id) return undefined;
        const status = (await (
          await fetch(url(ports.workflows, `/api/v1/workflows/${id}/status`), { headers })
        ).json()) as {
          status: string;
          output: unknown;
          tasks: { id: string; status: string; output: unknown }[];
        };
        return status.status === "completed" || status.status === "failed" ? status : undefined;
      },
      30_000,
      "the triggered run to finish",
    );
    expect(run.status).toBe("completed");
    const verdict = run.tasks.find((t) => t.id === "verdict");
    expect(verdict?.output).toEqual({ label: "positive", repo: "acme/widgets" });

    const stored = await waitFor(
      async () => {
        const res = await fetch(url(ports.hooks, `/api/v1/hooks/${event_id}`), { headers });
        return res.status === 200 ? ((await res.json()) as { event_id: string }) : undefined;
      },
      10_000,
      "the hook to be stored",
    );
    expect(stored.event_id).toBe(event_id);

    const performance = (await (
      await fetch(url(ports.models, "/api/v1/model-metrics/performance?task_type=sentiment"), { headers })
    ).json()) as {
      models: { model: string; count: number }[];
    };
    expect(performance.models.find((m) => m.model === "builtin-sentiment")?.count).toBeGreaterThanOrEqual(1);
  }, 60_000);
});
