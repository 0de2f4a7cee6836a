import { and, asc, eq, gte, type SQL, sql } from "drizzle-orm";
import type { Database } from "../../../../db/client.ts";
import { modelExecutions } from "../../../../db/schema/models.ts";

export interface PerformanceFilter {
  since: Date;
  model?: string | undefined;
  taskType?: string | undefined;
}

export interface ModelPerformance {
  model: string;
  task_type: string;
  count: number;
  success_rate: number;
  latency_ms: { p50: number | null; p95: number | null; p99: number | null };
  tokens_per_second: number | null;
  quality_score: number | null;
}

const e = modelExecutions;
const succeeded = sql`${e.status} = 'success'`;
const latencyPercentile = (p: number) =>
  sql<
    number | null
  >`percentile_cont(${sql.raw(String(p))}) within group (order by ${e.latencyMs}) filter (where ${succeeded})`;

/**
 * Per model and task type over the window: every execution counts towards `count` and the success
 * rate; latency percentiles, tokens/s and quality are over successful executions only.
 */
export async function queryPerformance(
  database: Database,
  filter: PerformanceFilter,
): Promise<ModelPerformance[]> {
  const conditions: SQL[] = [gte(e.createdAt, filter.since)];
  if (filter.model) conditions.push(eq(e.modelId, filter.model));
  if (filter.taskType) conditions.push(eq(e.taskType, filter.taskType));
  const rows = await database.run("model_executions.performance", (db) =>
    db
      .select({
        model: e.modelId,
        taskType: e.taskType,
        count: sql<number>`count(*)::int`,
        successRate: sql<number>`avg(case when ${succeeded} then 1.0 else 0.0 end)::float8`,
        p50: latencyPercentile(0.5),
        p95: latencyPercentile(0.95),
        p99: latencyPercentile(0.99),
        tokensPerSecond: sql<number | null>`avg(${e.tokensPerSecond}) filter (where ${succeeded})`,
        quality: sql<number | null>`avg(${e.qualityScore}) filter (where ${succeeded})`,
      })
      .from(e)
      .where(and(...conditions))
      .groupBy(e.modelId, e.taskType)
      .orderBy(asc(e.modelId), asc(e.taskType)),
  );
  return rows.map((r) => ({
    model: r.model,
    task_type: r.taskType,
    count: Number(r.count),
    success_rate: round(Number(r.successRate), 4),
    latency_ms: { p50: roundOrNull(r.p50, 2), p95: roundOrNull(r.p95, 2), p99: roundOrNull(r.p99, 2) },
    tokens_per_second: roundOrNull(r.tokensPerSecond, 2),
    quality_score: roundOrNull(r.quality, 3),
  }));
}

const round = (value: number, digits: number) => Math.round(value * 10 ** digits) / 10 ** digits;
const roundOrNull = (value: number | string | null, digits: number) =>
  value === null ? null : round(Number(value), digits);
