import { Kafka, logLevel } from "kafkajs";
import postgres from "postgres";
import { TOPICS } from "../../shared/bus/topics.ts";
import type { Stack } from "./stack.ts";

/** Records on a topic so far: the sum of its partitions' high watermarks. */
export async function topicRecords(stack: Stack, topic: string = TOPICS.events): Promise<number> {
  const kafka = new Kafka({
    clientId: "perf-reconcile",
    brokers: stack.kafka.brokers,
    logLevel: logLevel.NOTHING,
  });
  const admin = kafka.admin();
  await admin.connect();
  try {
    return (await admin.fetchTopicOffsets(stack.topicPrefix + topic)).reduce((n, p) => n + Number(p.high), 0);
  } finally {
    await admin.disconnect();
  }
}

export async function query<T>(stack: Stack, text: string, params: unknown[] = []): Promise<T[]> {
  const sql = postgres(stack.db.url, { max: 1, onnotice: () => {} });
  try {
    return (await sql.unsafe(text, params as never[])) as unknown as T[];
  } finally {
    await sql.end();
  }
}

/** Waits until `read` reaches `target` or the time is up; returns the last value read. */
export async function settle(
  read: () => Promise<number>,
  target: number,
  timeoutMs: number,
): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  let value = await read();
  while (value < target && Date.now() < deadline) {
    await Bun.sleep(500);
    value = await read();
  }
  return value;
}

/**
 * Hooks: every 202 must be a record on workflow.events and, unless `kafkaOnly`, a row in hook_events.
 * `kafkaOnly` is for loads whose bytes outrun the mock cluster's ~5 MiB per partition, which drops
 * records a lagging consumer has not read yet (real Kafka keeps them for the retention period).
 */
export async function reconcileHooks(stack: Stack, accepted: number, recordsBefore = 0, kafkaOnly = false) {
  const onKafka = (await settle(
    async () => (await topicRecords(stack)) - recordsBefore,
    accepted,
    30_000,
  )) as number;
  const countStored = async () =>
    (await query<{ n: number }>(stack, "select count(*)::int as n from hook_events"))[0]?.n ?? 0;
  const stored = kafkaOnly ? await countStored() : await settle(countStored, accepted, 60_000);
  const reconciled = onKafka >= accepted && (kafkaOnly || stored === accepted);
  return {
    reconciled,
    text: `${accepted} answered 202; ${onKafka} records on ${TOPICS.events}; ${stored} rows in hook_events${kafkaOnly ? " (persistence not reconciled: this load outruns the mock cluster's retention)" : ""}`,
    onKafka,
    stored,
  };
}

export interface RunOutcome {
  status: string;
  execution_ms: number | null;
}

/** Workflow runs as Postgres has them: status and execution time from creation to completion. */
export async function workflowOutcomes(stack: Stack, ids: string[]): Promise<RunOutcome[]> {
  if (ids.length === 0) return [];
  return query<RunOutcome>(
    stack,
    `select status, extract(epoch from (completed_at - created_at)) * 1000 as execution_ms
       from workflow_runs where id = any($1::uuid[])`,
    [ids],
  );
}

export async function waitForWorkflows(
  stack: Stack,
  ids: string[],
  timeoutMs: number,
): Promise<RunOutcome[]> {
  const terminal = new Set(["completed", "failed", "cancelled"]);
  const deadline = Date.now() + timeoutMs;
  let outcomes = await workflowOutcomes(stack, ids);
  while (outcomes.filter((o) => terminal.has(o.status)).length < ids.length && Date.now() < deadline) {
    await Bun.sleep(500);
    outcomes = await workflowOutcomes(stack, ids);
  }
  return outcomes;
}
