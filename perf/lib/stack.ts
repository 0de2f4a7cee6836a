import type { Subprocess } from "bun";
import { createTestDatabase, TEST_REDIS_URL, type TestDatabase } from "../../shared/testing/services.ts";
import { freePort, startKafkaMockProcess, startProcess, stopProcess } from "./processes.ts";

export type ServiceName = "hook-receiver" | "model-metrics" | "workflow-coordinator" | "hook-persister";

const SCRIPTS: Record<ServiceName, string> = {
  "hook-receiver": "apps/hook-receiver/src/main.ts",
  "model-metrics": "apps/model-metrics/src/main.ts",
  "workflow-coordinator": "apps/workflow-coordinator/src/main.ts",
  // A receiver process that takes no traffic and only persists: intake and persistence on separate cores.
  "hook-persister": "apps/hook-receiver/src/main.ts",
};
const PORT_VARS: Record<ServiceName, string> = {
  "hook-receiver": "HOOK_RECEIVER_PORT",
  "model-metrics": "MODEL_METRICS_PORT",
  "workflow-coordinator": "WORKFLOW_COORDINATOR_PORT",
  "hook-persister": "HOOK_RECEIVER_PORT",
};

export interface Stack {
  apiKey: string;
  topicPrefix: string;
  db: TestDatabase;
  kafka: { bootstrap: string; brokers: string[] };
  urls: Partial<Record<ServiceName, string>>;
  processes: Partial<Record<ServiceName, Subprocess>>;
  stop(): Promise<void>;
}

/**
 * The production shape on one machine: each service in its own process against a fresh database on
 * the real Postgres, the real Redis and the Kafka mock cluster in a process of its own.
 */
export async function startStack(
  services: ServiceName[],
  env: Record<string, string> = {},
  options: { memoryCgroup?: string } = {},
): Promise<Stack> {
  const apiKey = `perf-${crypto.randomUUID()}`;
  const topicPrefix = `perf-${Date.now()}.`;
  const kafka = await startKafkaMockProcess(topicPrefix);
  const db = await createTestDatabase("perf");
  const ports = Object.fromEntries(
    await Promise.all(services.map(async (s) => [s, await freePort()] as const)),
  ) as Record<ServiceName, number>;
  const urls: Partial<Record<ServiceName, string>> = {};
  for (const s of services) urls[s] = `http://127.0.0.1:${ports[s]}`;
  const common: Record<string, string> = {
    DATABASE_URL: db.url,
    REDIS_URL: TEST_REDIS_URL,
    KAFKA_BROKERS: kafka.bootstrap,
    KAFKA_IDEMPOTENT: "false",
    KAFKA_TOPIC_PREFIX: topicPrefix,
    API_KEYS: apiKey,
    HOST: "127.0.0.1",
    RATE_LIMIT_PER_KEY_RPS: "1000000",
    RATE_LIMIT_PER_IP_RPS: "1000000",
    ...(urls["model-metrics"] ? { MODEL_METRICS_URL: urls["model-metrics"] } : {}),
    ...(services.includes("hook-persister") ? { HOOK_PERSISTER: "false" } : {}),
    ...env,
  };
  const processes: Partial<Record<ServiceName, Subprocess>> = {};
  try {
    // Started one after another: they migrate the same database, and the later ones wait on its lock anyway.
    for (const s of services) {
      const own = {
        [PORT_VARS[s]]: String(ports[s]),
        ...(s === "hook-persister" ? { HOOK_PERSISTER: "true" } : {}),
      };
      processes[s] = await startProcess(
        SCRIPTS[s],
        { ...common, ...own },
        `${urls[s]}/ready`,
        60_000,
        options.memoryCgroup,
      );
    }
  } catch (err) {
    await Promise.all(Object.values(processes).map((p) => stopProcess(p)));
    await stopProcess(kafka.proc);
    await db.drop();
    throw err;
  }
  return {
    apiKey,
    topicPrefix,
    db,
    kafka: { bootstrap: kafka.bootstrap, brokers: kafka.brokers },
    urls,
    processes,
    async stop() {
      await Promise.all(Object.values(processes).map((p) => stopProcess(p)));
      await stopProcess(kafka.proc);
      await db.drop();
    },
  };
}
