import { and, asc, eq, inArray, isNotNull } from "drizzle-orm";
import type { Database } from "../../../../db/client.ts";
import { workflowRuns } from "../../../../db/schema/workflows.ts";
import type { EventBus } from "../../../../shared/bus/interface.ts";
import { TOPICS } from "../../../../shared/bus/topics.ts";
import type { Logger } from "../../../../shared/logger.ts";
import type { CoordinatorMetrics } from "../metrics.ts";
import type { RunRow } from "../store/runs.ts";

export interface CompletionMessage {
  workflow_id: string;
  name: string;
  status: string;
  started_at: string | null;
  completed_at: string | null;
  duration_ms: number | null;
  output: unknown;
  error: string | null;
}

export function completionMessage(run: RunRow): CompletionMessage {
  return {
    workflow_id: run.id,
    name: run.name,
    status: run.status,
    started_at: run.startedAt?.toISOString() ?? null,
    completed_at: run.completedAt?.toISOString() ?? null,
    duration_ms:
      run.startedAt && run.completedAt ? run.completedAt.getTime() - run.startedAt.getTime() : null,
    output: run.output ?? null,
    error: run.error,
  };
}

/**
 * Publishes one workflow.completions message per terminal run, from Postgres: terminal runs with
 * completion_published = false are locked (SKIP LOCKED, so instances split them), published, then
 * marked. A crash between terminal state and publish is covered by the same sweep on any instance.
 */
export class CompletionPublisher {
  private wake: (() => void) | undefined;
  private kicked = false;
  private stopped = true;
  private loop: Promise<void> | undefined;

  constructor(
    private readonly database: Database,
    private readonly bus: EventBus,
    private readonly logger: Logger,
    private readonly metrics: CoordinatorMetrics,
    private readonly sweepIntervalMs = 2_000,
    private readonly batchSize = 200,
  ) {}

  start(): void {
    this.stopped = false;
    this.kicked = true;
    this.loop = this.run();
  }

  /** Waits for the publishing in hand, but not for one stuck on an unreachable database or broker. */
  async stop(timeoutMs = 2_000): Promise<void> {
    this.stopped = true;
    this.wake?.();
    await Promise.race([this.loop, Bun.sleep(timeoutMs)]);
  }

  /** A run just ended: publish soon instead of at the next sweep. */
  kick(): void {
    this.kicked = true;
    this.wake?.();
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      if (!this.kicked) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, this.sweepIntervalMs);
          this.wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        this.wake = undefined;
      }
      this.kicked = false;
      try {
        while ((await this.publishBatch()) === this.batchSize) {}
      } catch (err) {
        this.logger.warn({ err }, "publishing workflow completions failed; retrying at the next sweep");
      }
    }
    // A last pass so runs that ended during shutdown are not left to the next instance's sweep.
    await this.publishBatch().catch(() => {});
  }

  /** Publishes one batch; returns how many runs it covered. */
  async publishBatch(): Promise<number> {
    return this.database.transaction("workflow_publish_completions", async (tx) => {
      const rows = await tx
        .select()
        .from(workflowRuns)
        .where(and(eq(workflowRuns.completionPublished, false), isNotNull(workflowRuns.completedAt)))
        .orderBy(asc(workflowRuns.completedAt))
        .limit(this.batchSize)
        .for("update", { skipLocked: true });
      if (rows.length === 0) return 0;
      await this.bus.publish(
        TOPICS.completions,
        rows.map((run) => ({ key: run.id, value: JSON.stringify(completionMessage(run)) })),
      );
      await tx
        .update(workflowRuns)
        .set({ completionPublished: true })
        .where(
          inArray(
            workflowRuns.id,
            rows.map((r) => r.id),
          ),
        );
      this.metrics.completionsPublished.inc(rows.length);
      return rows.length;
    });
  }
}
