import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { IncomingMessage } from "../../../../shared/bus/interface.ts";
import { KafkaBus } from "../../../../shared/bus/kafka.ts";
import { dlqTopic, TOPIC_SPECS, TOPICS } from "../../../../shared/bus/topics.ts";
import { silentLogger } from "../../../../shared/logger.ts";
import { type KafkaMock, startKafkaMock } from "../../../../shared/testing/kafka-mock.ts";
import type { TestDatabase } from "../../../../shared/testing/services.ts";
import { type Coordinator, eventually, setUpDatabase, startCoordinator } from "../testing/coordinator.ts";

let testDb: TestDatabase;
let mock: KafkaMock;
let coordinator: Coordinator;
let downstream: KafkaBus;
const prefix = `wf${Date.now().toString(36)}.`;
const completions: IncomingMessage[] = [];
const deadLetters: IncomingMessage[] = [];

const kafkaBus = (clientId: string) =>
  new KafkaBus({
    brokers: mock.brokers,
    clientId,
    // The 2.0.2 mock reports controller 0, which kafkajs' idempotent producer cannot work with.
    idempotent: false,
    topicPrefix: prefix,
    logger: silentLogger,
    sessionTimeoutMs: 6_000,
    heartbeatIntervalMs: 500,
    maxWaitTimeMs: 100,
  });

beforeAll(async () => {
  mock = await startKafkaMock({ brokers: 3 });
  for (const spec of TOPIC_SPECS) mock.createTopic(prefix + spec.topic, spec.partitions);
  const setup = await setUpDatabase("wf_triggers");
  testDb = setup.testDb;
  coordinator = await startCoordinator(setup.url, { bus: kafkaBus("workflow-coordinator"), triggers: true });
  downstream = kafkaBus("downstream");
  await downstream.subscribe({
    groupId: "completion-consumer",
    topics: [TOPICS.completions, dlqTopic(TOPICS.events)],
    handler: async (batch) => {
      for (const m of batch) (m.topic === TOPICS.completions ? completions : deadLetters).push(m);
    },
  });
}, 60_000);

afterAll(async () => {
  await coordinator?.stop();
  await coordinator?.bus.close();
  await downstream?.close();
  mock?.stop();
  await testDb?.drop();
});

function hookEvent(overrides: Record<string, unknown> = {}) {
  const event = {
    event_id: Bun.randomUUIDv7(),
    source: "github",
    action: "push",
    resource: "repository",
    resource_id: "acme/api",
    correlation_id: null,
    delivery_id: crypto.randomUUID(),
    received_at: new Date().toISOString(),
    payload: { ref: "refs/heads/main", commits: 3 },
    ...overrides,
  };
  return { key: `${event.source}:${event.resource_id}`, value: JSON.stringify(event), event };
}

describe("triggers over Kafka", () => {
  test("a matching workflow.events message starts the definition once, with the event as input, and its completion is published", async () => {
    const put = await coordinator.call("PUT", "/api/v1/workflow-definitions/on-push", {
      triggers: [{ source: "github", action: "push" }],
      tasks: [{ id: "count", type: "transform", params: { expression: "input.payload.commits * 10" } }],
    });
    expect(put.status).toBe(201);

    const push = hookEvent();
    const other = hookEvent({ source: "stripe", action: "charge.succeeded", resource_id: "ch_1" });
    // The same event delivered twice, as at-least-once delivery may, plus one that matches nothing.
    await downstream.publish(TOPICS.events, [
      { key: push.key, value: push.value },
      { key: other.key, value: other.value },
    ]);
    await downstream.publish(TOPICS.events, [{ key: push.key, value: push.value }]);

    const run = await eventually(
      async () => (await coordinator.call("GET", "/api/v1/workflows?name=on-push")).body.workflows[0],
      20_000,
      "the triggered run",
    );
    const done = await coordinator.waitFor(run.workflow_id, ["completed", "failed"]);
    expect(done.status).toBe("completed");
    expect(done.output).toEqual({ count: 30 });
    expect(done.version).toBe(1);

    const completion = await eventually(
      () => completions.find((m) => m.key === run.workflow_id),
      20_000,
      "the completion message",
    );
    expect(JSON.parse(completion.value)).toMatchObject({
      workflow_id: run.workflow_id,
      name: "on-push",
      status: "completed",
      output: { count: 30 },
      error: null,
    });

    await Bun.sleep(500);
    const runs = (await coordinator.call("GET", "/api/v1/workflows?name=on-push")).body.workflows;
    expect(runs).toHaveLength(1);
    expect(completions.filter((m) => m.key === run.workflow_id)).toHaveLength(1);
  }, 60_000);

  test("a message that is not an event goes to the dead-letter topic with the reason", async () => {
    await downstream.publish(TOPICS.events, [{ key: "junk", value: "not json" }]);
    const dead = await eventually(() => deadLetters.find((m) => m.key === "junk"), 20_000, "the dead letter");
    expect(dead.headers.reason).toBe("value is not JSON");
  }, 60_000);
});
