import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import type { Subprocess } from "bun";
import { TOPIC_SPECS } from "../shared/bus/topics.ts";
import { type KafkaMock, startKafkaMock } from "../shared/testing/kafka-mock.ts";
import { freePort } from "../shared/testing/ports.ts";
import {
  createTestDatabase,
  TEST_REDIS_URL,
  type TestDatabase,
  uniquePrefix,
} from "../shared/testing/services.ts";
import { expressions as dashboardExpressions, dashboardJson } from "./grafana/dashboard.ts";

const ROOT = new URL("../", import.meta.url).pathname;
const API_KEY = "observability-key";
const JOBS = ["hook-receiver", "model-metrics", "workflow-coordinator"] as const;
const PROMQL_WORDS = new Set([
  "sum",
  "rate",
  "by",
  "histogram_quantile",
  "clamp_min",
  "label_replace",
  "vector",
  "on",
  "or",
  "and",
  "unless",
  "group_left",
  "group_right",
  "max",
  "min",
  "avg",
  "count",
  "without",
  "ignoring",
  "bool",
  "offset",
]);

/** Metric names a PromQL expression reads: identifiers outside strings, label matchers and grouping clauses. */
export function metricNames(expr: string): string[] {
  const stripped = expr
    .replace(/"[^"]*"/g, "")
    .replace(/\b\d+(\.\d+)?(e[-+]?\d+)?\b/gi, "")
    .replace(/\{[^}]*\}/g, "")
    .replace(/\[[^\]]*\]/g, "")
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, "");
  const names = new Set<string>();
  for (const match of stripped.matchAll(/([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(\()?/g)) {
    const [, name, call] = match;
    if (!name || call || PROMQL_WORDS.has(name) || /^\d/.test(name)) continue;
    names.add(name);
  }
  return [...names];
}

async function waitFor(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return;
    await Bun.sleep(250);
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe("Prometheus against the running services", () => {
  let mock: KafkaMock;
  let db: TestDatabase;
  let services: Subprocess;
  let prometheus: Subprocess;
  let promUrl: string;
  let dir: string;
  const ports: Record<(typeof JOBS)[number], number> = {
    "hook-receiver": 0,
    "model-metrics": 0,
    "workflow-coordinator": 0,
  };

  beforeAll(async () => {
    const prefix = uniquePrefix("observability");
    mock = await startKafkaMock({
      brokers: 1,
      topics: TOPIC_SPECS.map((t) => ({ topic: prefix + t.topic, partitions: t.partitions })),
    });
    db = await createTestDatabase("observability");
    for (const job of JOBS) ports[job] = await freePort();
    services = Bun.spawn(["bun", "run", "apps/all-in-one/src/main.ts"], {
      cwd: ROOT,
      env: {
        ...process.env,
        DATABASE_URL: db.url,
        REDIS_URL: TEST_REDIS_URL,
        KAFKA_BROKERS: mock.bootstrap,
        KAFKA_IDEMPOTENT: "false",
        KAFKA_TOPIC_PREFIX: prefix,
        API_KEYS: API_KEY,
        HOST: "127.0.0.1",
        HOOK_RECEIVER_PORT: String(ports["hook-receiver"]),
        MODEL_METRICS_PORT: String(ports["model-metrics"]),
        WORKFLOW_COORDINATOR_PORT: String(ports["workflow-coordinator"]),
        MODEL_METRICS_URL: `http://127.0.0.1:${ports["model-metrics"]}`,
        LOG_LEVEL: "warn",
      },
      stdout: "ignore",
      stderr: "inherit",
    });
    for (const job of JOBS) {
      await waitFor(
        async () => (await fetch(`http://127.0.0.1:${ports[job]}/ready`)).ok,
        60_000,
        `${job} ready`,
      );
    }
    await driveTraffic(ports);

    dir = mkdtempSync(`${tmpdir()}/omninode-prometheus-`);
    const promPort = await freePort();
    promUrl = `http://127.0.0.1:${promPort}`;
    const scrape = JOBS.map(
      (job) => `  - job_name: ${job}\n    static_configs:\n      - targets: ["127.0.0.1:${ports[job]}"]`,
    ).join("\n");
    await Bun.write(
      `${dir}/prometheus.yml`,
      `global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nrule_files:\n  - ${ROOT}ops/prometheus/alerts.yml\nscrape_configs:\n${scrape}\n`,
    );
    prometheus = Bun.spawn(
      [
        "prometheus",
        `--config.file=${dir}/prometheus.yml`,
        `--storage.tsdb.path=${dir}/data`,
        `--web.listen-address=127.0.0.1:${promPort}`,
      ],
      { stdout: "ignore", stderr: "ignore" },
    );
    await waitFor(
      async () => {
        const res = await fetch(`${promUrl}/api/v1/query?query=${encodeURIComponent("count(up == 1)")}`);
        const body = (await res.json()) as { data: { result: { value: [number, string] }[] } };
        return body.data.result[0]?.value[1] === String(JOBS.length);
      },
      30_000,
      "three targets up",
    );
    // A few scrapes and rule evaluations, so rate() windows have two points.
    await Bun.sleep(4000);
  }, 120_000);

  afterAll(async () => {
    prometheus?.kill();
    services?.kill("SIGTERM");
    await services?.exited;
    mock?.stop();
    await db?.drop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  }, 30_000);

  async function existingNames(): Promise<Set<string>> {
    const body = (await (await fetch(`${promUrl}/api/v1/label/__name__/values`)).json()) as {
      data: string[];
    };
    return new Set(body.data);
  }

  test("every metric the dashboard reads is exported by the services", async () => {
    const names = await existingNames();
    const wanted = [...new Set(dashboardExpressions.flatMap(metricNames))].sort();
    expect(wanted.length).toBeGreaterThan(20);
    expect(wanted.filter((name) => name !== "up" && !names.has(name))).toEqual([]);
  });

  test("every metric the alert rules read is exported, and every rule evaluates without error", async () => {
    const rules = (await (await fetch(`${promUrl}/api/v1/rules`)).json()) as {
      data: { groups: { rules: { name: string; query: string; health: string; lastError?: string }[] }[] };
    };
    const all = rules.data.groups.flatMap((g) => g.rules);
    expect(all.length).toBeGreaterThanOrEqual(16);
    expect(all.filter((r) => r.health !== "ok").map((r) => `${r.name}: ${r.lastError}`)).toEqual([]);
    const recorded = new Set(all.map((r) => r.name));
    const names = await existingNames();
    const wanted = [...new Set(all.flatMap((r) => metricNames(r.query)))].filter(
      (n) => !recorded.has(n) && n !== "up",
    );
    expect(wanted.filter((name) => !names.has(name))).toEqual([]);
  });

  test("the recording rules produce each service's P95 and request rate", async () => {
    const query = async (q: string) =>
      (
        (await (await fetch(`${promUrl}/api/v1/query?query=${encodeURIComponent(q)}`)).json()) as {
          data: { result: { metric: Record<string, string> }[] };
        }
      ).data.result;
    expect((await query("service:sla_p95_seconds")).map((r) => r.metric.service).sort()).toEqual(
      [...JOBS].sort(),
    );
    expect((await query("service:http_requests:rate5m")).length).toBeGreaterThan(0);
  });

  test("the committed dashboard JSON is the one dashboard.ts builds", async () => {
    const committed = await Bun.file(`${ROOT}ops/grafana/dashboards/omninode.json`).json();
    expect(committed).toEqual(dashboardJson());
  });
});

/** One of each kind of work, so every histogram and labelled counter has a series. */
async function driveTraffic(ports: Record<string, number>): Promise<void> {
  const headers = { "content-type": "application/json", "x-api-key": API_KEY };
  const hooks = `http://127.0.0.1:${ports["hook-receiver"]}`;
  const models = `http://127.0.0.1:${ports["model-metrics"]}`;
  const workflows = `http://127.0.0.1:${ports["workflow-coordinator"]}`;
  const hook = await fetch(`${hooks}/api/v1/hooks/receive`, {
    method: "POST",
    headers,
    body: JSON.stringify({
      source: "github",
      action: "push",
      resource: "repository",
      resource_id: "acme/x",
      payload: {},
    }),
  });
  expect(hook.status).toBe(202);
  const infer = await fetch(`${models}/api/v1/model-metrics/infer`, {
    method: "POST",
    headers,
    body: JSON.stringify({ task_type: "sentiment", input: "This release is wonderful." }),
  });
  expect(infer.status).toBe(200);
  const run = await fetch(`${workflows}/api/v1/workflows/execute`, {
    method: "POST",
    headers,
    body: JSON.stringify({
      workflow_definition: {
        name: "observability",
        max_parallel_tasks: 2,
        timeout_ms: 10_000,
        tasks: [
          {
            id: "shape",
            type: "transform",
            depends_on: [],
            params: { expression: "{'ok': true}" },
            retry: { max_attempts: 1 },
          },
        ],
      },
      input: {},
    }),
  });
  expect(run.status).toBe(202);
  const { workflow_id } = (await run.json()) as { workflow_id: string };
  await waitFor(
    async () => {
      const status = (await (
        await fetch(`${workflows}/api/v1/workflows/${workflow_id}/status`, { headers })
      ).json()) as { status: string };
      return status.status === "completed";
    },
    30_000,
    "workflow completed",
  );
}
