import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Server } from "bun";
import type { IncomingMessage } from "../../../../shared/bus/interface.ts";
import type { TestDatabase } from "../../../../shared/testing/services.ts";
import { type Coordinator, eventually, setUpDatabase, startCoordinator } from "../testing/coordinator.ts";
import { isPrivateAddress } from "./private-address.ts";

let testDb: TestDatabase;
let strict: Coordinator;
let open: Coordinator;
let modelMetrics: Server<undefined>;
let inferRequests: { body: unknown; apiKey: string | null }[] = [];

beforeAll(async () => {
  const setup = await setUpDatabase("wf_tasks");
  testDb = setup.testDb;
  modelMetrics = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    async fetch(req) {
      if (new URL(req.url).pathname !== "/api/v1/model-metrics/infer")
        return new Response("no", { status: 404 });
      const body = await req.json();
      inferRequests.push({ body, apiKey: req.headers.get("x-api-key") });
      return Response.json({
        output: "positive",
        model: "builtin-sentiment",
        latency_ms: 3,
        quality_score: 0.9,
      });
    },
  });
  strict = await startCoordinator(setup.url, { allowPrivateHttp: false });
  open = await startCoordinator(setup.url, {
    modelMetricsUrl: `http://127.0.0.1:${modelMetrics.port}`,
    modelMetricsApiKey: "mm-key",
  });
});

afterAll(async () => {
  await strict?.stop();
  await open?.stop();
  modelMetrics?.stop(true);
  await testDb?.drop();
});

describe("http task", () => {
  test("loopback and private addresses are refused unless configured, without retrying", async () => {
    let reached = 0;
    const target = Bun.serve({
      port: 0,
      hostname: "127.0.0.1",
      fetch: () => {
        reached++;
        return new Response("ok");
      },
    });
    try {
      for (const url of [
        `http://127.0.0.1:${target.port}/`,
        `http://localhost:${target.port}/`,
        "http://10.1.2.3/",
      ]) {
        const started = await strict.call("POST", "/api/v1/workflows/execute", {
          workflow_definition: {
            name: "ssrf",
            tasks: [
              { id: "call", type: "http", params: { url }, retry: { max_attempts: 3, backoff_ms: 10 } },
            ],
          },
        });
        const done = await strict.waitFor(started.body.workflow_id, ["completed", "failed"]);
        expect(done.status).toBe("failed");
        expect(done.tasks[0]?.error).toContain("refused:");
        expect(done.tasks[0]?.attempts).toBe(1);
      }
      expect(reached).toBe(0);
    } finally {
      target.stop(true);
    }
  });

  test("private address ranges are recognised for IPv4 and IPv6", () => {
    for (const address of [
      "127.0.0.1",
      "10.0.0.1",
      "172.20.1.1",
      "192.168.1.1",
      "169.254.169.254",
      "::1",
      "fd00::1",
      "fe80::1",
      "::ffff:127.0.0.1",
      // What the URL parser makes of http://[::ffff:127.0.0.1]/ and of a metadata address.
      new URL("http://[::ffff:127.0.0.1]/").hostname.replace(/^\[|\]$/g, ""),
      "::ffff:a9fe:a9fe",
      "64:ff9b::a00:1",
      "0.0.0.0",
    ]) {
      expect(isPrivateAddress(address)).toBe(true);
    }
    for (const address of ["8.8.8.8", "1.1.1.1", "172.32.0.1", "2606:4700::1111", "::ffff:808:808"]) {
      expect(isPrivateAddress(address)).toBe(false);
    }
  });
});

describe("model_infer, emit and transform tasks", () => {
  test("model_infer calls model-metrics with the API key and stores its answer as the output", async () => {
    inferRequests = [];
    const started = await open.call("POST", "/api/v1/workflows/execute", {
      workflow_definition: {
        name: "classify",
        tasks: [
          {
            id: "sentiment",
            type: "model_infer",
            params: { task_type: "sentiment", prompt: "{{input.text}}", model: "builtin-sentiment" },
          },
        ],
      },
      input: { text: "great product" },
    });
    const done = await open.waitFor(started.body.workflow_id, ["completed", "failed"]);
    expect(done.status).toBe("completed");
    expect(inferRequests).toEqual([
      {
        body: { task_type: "sentiment", prompt: "great product", model: "builtin-sentiment" },
        apiKey: "mm-key",
      },
    ]);
    expect(done.tasks[0]?.output).toMatchObject({ output: "positive", model: "builtin-sentiment" });
  });

  test("emit publishes the templated value to its topic, keyed as asked", async () => {
    const seen: IncomingMessage[] = [];
    const subscription = await open.bus.subscribe({
      groupId: "emit-test",
      topics: ["orders.shipped"],
      handler: async (batch) => {
        seen.push(...batch);
      },
    });
    try {
      const started = await open.call("POST", "/api/v1/workflows/execute", {
        workflow_definition: {
          name: "notify-shipping",
          tasks: [
            { id: "total", type: "transform", params: { expression: "$sum(input.items.price)" } },
            {
              id: "announce",
              type: "emit",
              depends_on: ["total"],
              params: {
                topic: "orders.shipped",
                key: "{{input.order}}",
                value: { order: "{{input.order}}", total: "{{tasks.total.output}}" },
              },
            },
          ],
        },
        input: { order: "o-1", items: [{ price: 5 }, { price: 7.5 }] },
      });
      const done = await open.waitFor(started.body.workflow_id, ["completed", "failed"]);
      expect(done.status).toBe("completed");
      const message = await eventually(() => seen[0], 5_000, "the emitted message");
      expect(message.key).toBe("o-1");
      expect(JSON.parse(message.value)).toEqual({ order: "o-1", total: 12.5 });
      expect(message.headers["workflow-id"]).toBe(started.body.workflow_id);
    } finally {
      await subscription.stop();
    }
  });

  test("a transform that fails at run time fails its task without retrying", async () => {
    const started = await open.call("POST", "/api/v1/workflows/execute", {
      workflow_definition: {
        name: "bad-transform",
        tasks: [
          {
            id: "t",
            type: "transform",
            params: { expression: "$error('nope')" },
            retry: { max_attempts: 3 },
          },
        ],
      },
    });
    const done = await open.waitFor(started.body.workflow_id, ["completed", "failed"]);
    expect(done.status).toBe("failed");
    expect(done.tasks[0]?.attempts).toBe(1);
    expect(done.tasks[0]?.error).toContain("JSONata failed: nope");
  });
});
