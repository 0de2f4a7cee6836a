import { afterAll, beforeAll, expect, test } from "bun:test";
import { Kafka, logLevel } from "kafkajs";
import { TOPIC_SPECS, TOPICS } from "./bus/topics.ts";
import { type KafkaMock, startKafkaMock } from "./testing/kafka-mock.ts";
import { freePort } from "./testing/ports.ts";
import { createTestDatabase, TEST_REDIS_URL, type TestDatabase, uniquePrefix } from "./testing/services.ts";

let mock: KafkaMock;
let db: TestDatabase;
const prefix = uniquePrefix("lifecycle");
beforeAll(async () => {
  mock = await startKafkaMock({
    brokers: 1,
    topics: TOPIC_SPECS.map((t) => ({ topic: prefix + t.topic, partitions: t.partitions })),
  });
  db = await createTestDatabase("lifecycle");
});
afterAll(async () => {
  mock.stop();
  await db.drop();
});

test("SIGTERM drains in-flight requests, flushes the producer and exits 0 within the shutdown timeout", async () => {
  const port = await freePort();
  const proc = Bun.spawn(["bun", "run", "apps/hook-receiver/src/main.ts"], {
    env: {
      ...process.env,
      DATABASE_URL: db.url,
      REDIS_URL: TEST_REDIS_URL,
      KAFKA_BROKERS: mock.bootstrap,
      KAFKA_IDEMPOTENT: "false",
      KAFKA_TOPIC_PREFIX: prefix,
      API_KEYS: "lifecycle-key",
      HOOK_RECEIVER_PORT: String(port),
      HOST: "127.0.0.1",
      // A long linger holds the requests in flight while the signal arrives.
      HOOK_BATCH_LINGER_MS: "400",
      SHUTDOWN_TIMEOUT_MS: "8000",
      LOG_LEVEL: "silent",
    },
    stdout: "ignore",
    stderr: "inherit",
  });
  const base = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    const ok = await fetch(`${base}/ready`).then(
      (r) => r.status === 200,
      () => false,
    );
    if (ok) break;
    await Bun.sleep(100);
  }

  const inFlight = Array.from({ length: 20 }, (_, i) =>
    fetch(`${base}/api/v1/hooks/receive`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-api-key": "lifecycle-key" },
      body: JSON.stringify({
        source: "ci",
        action: "build",
        resource: "pipeline",
        resource_id: `p-${i}`,
        payload: { i },
      }),
    }),
  );
  await Bun.sleep(100);
  const signalled = performance.now();
  proc.kill("SIGTERM");
  const responses = await Promise.all(inFlight);
  expect(responses.map((r) => r.status)).toEqual(Array(20).fill(202));

  const exitCode = await proc.exited;
  expect(exitCode).toBe(0);
  const shutdownMs = performance.now() - signalled;
  expect(shutdownMs).toBeLessThan(8000);
  await expect(fetch(`${base}/health`)).rejects.toThrow();

  const kafka = new Kafka({ clientId: "lifecycle-check", brokers: mock.brokers, logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  try {
    const offsets = await admin.fetchTopicOffsets(prefix + TOPICS.events);
    expect(offsets.reduce((n, p) => n + Number(p.high), 0)).toBe(20);
  } finally {
    await admin.disconnect();
  }
}, 60_000);
