import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { IncomingMessage, OutgoingMessage } from "../../../../shared/bus/interface.ts";
import { MemoryBroker, MemoryBus } from "../../../../shared/bus/memory.ts";
import { TOPICS } from "../../../../shared/bus/topics.ts";
import type { TestDatabase } from "../../../../shared/testing/services.ts";
import { type Coordinator, eventually, setUpDatabase, startCoordinator } from "../testing/coordinator.ts";

let testDb: TestDatabase;
let url: string;
const broker = new MemoryBroker();
const observer = new MemoryBus({ broker });
const completions: IncomingMessage[] = [];

/** A bus whose completions publish fails, as when the process dies between terminal state and publish. */
class CompletionsRefusingBus extends MemoryBus {
  override async publish(topic: string, messages: OutgoingMessage[]): Promise<void> {
    if (topic === TOPICS.completions) throw new Error("broker unreachable");
    return super.publish(topic, messages);
  }
}

beforeAll(async () => {
  ({ testDb, url } = await setUpDatabase("wf_completions"));
  await observer.ensureTopics([{ topic: TOPICS.completions, partitions: 3 }]);
  await observer.subscribe({
    groupId: "completion-observer",
    topics: [TOPICS.completions],
    handler: async (batch) => {
      completions.push(...batch);
    },
  });
});

afterAll(async () => {
  await observer.close();
  await testDb?.drop();
});

const messagesFor = (id: string) => completions.filter((m) => m.key === id).map((m) => JSON.parse(m.value));

describe("workflow.completions", () => {
  let coordinator: Coordinator;
  beforeAll(async () => {
    coordinator = await startCoordinator(url, { bus: new MemoryBus({ broker }) });
  });
  afterAll(async () => coordinator?.stop());

  test("a completed run publishes one message keyed by workflow id with its output and timings", async () => {
    const started = await coordinator.call("POST", "/api/v1/workflows/execute", {
      workflow_definition: {
        name: "summarise",
        tasks: [{ id: "sum", type: "transform", params: { expression: "1 + 2" } }],
      },
    });
    const id = started.body.workflow_id;
    const done = await coordinator.waitFor(id, ["completed"]);
    const [message] = await eventually(
      () => (messagesFor(id).length > 0 ? messagesFor(id) : undefined),
      5_000,
      "completion",
    );
    expect(message).toEqual({
      workflow_id: id,
      name: "summarise",
      status: "completed",
      started_at: done.started_at,
      completed_at: done.completed_at,
      duration_ms: done.duration_ms,
      output: { sum: 3 },
      error: null,
    });
    await Bun.sleep(400);
    expect(messagesFor(id)).toHaveLength(1);
  });

  test("failed and cancelled runs publish their terminal status and error", async () => {
    const failing = await coordinator.call("POST", "/api/v1/workflows/execute", {
      workflow_definition: {
        name: "fails",
        tasks: [{ id: "t", type: "transform", params: { expression: "$error('bad')" } }],
      },
    });
    const cancelled = await coordinator.call("POST", "/api/v1/workflows/execute", {
      workflow_definition: { name: "cancelled", tasks: [{ id: "t", type: "delay", params: { ms: 10_000 } }] },
    });
    await coordinator.call("POST", `/api/v1/workflows/${cancelled.body.workflow_id}/cancel`);
    const failed = await eventually(
      () => messagesFor(failing.body.workflow_id)[0],
      5_000,
      "failed completion",
    );
    expect(failed.status).toBe("failed");
    expect(failed.error).toContain('task "t" failed');
    const cancel = await eventually(
      () => messagesFor(cancelled.body.workflow_id)[0],
      5_000,
      "cancel completion",
    );
    expect(cancel.status).toBe("cancelled");
    expect(cancel.error).toBe("cancelled");
  });
});

describe("completion recovery", () => {
  test("a run that ended while the completion could not be published is published by the next instance", async () => {
    const crippled = await startCoordinator(url, { bus: new CompletionsRefusingBus({ broker }) });
    let id: string;
    try {
      const started = await crippled.call("POST", "/api/v1/workflows/execute", {
        workflow_definition: {
          name: "orphaned",
          tasks: [{ id: "t", type: "transform", params: { expression: "'x'" } }],
        },
      });
      id = started.body.workflow_id;
      await crippled.waitFor(id, ["completed"]);
      await Bun.sleep(300);
      expect(messagesFor(id)).toHaveLength(0);
    } finally {
      await crippled.stop();
    }
    const healthy = await startCoordinator(url, { bus: new MemoryBus({ broker }) });
    try {
      const message = await eventually(() => messagesFor(id)[0], 5_000, "recovered completion");
      expect(message).toMatchObject({
        workflow_id: id,
        name: "orphaned",
        status: "completed",
        output: { t: "x" },
      });
      await Bun.sleep(400);
      expect(messagesFor(id)).toHaveLength(1);
    } finally {
      await healthy.stop();
    }
  });
});
