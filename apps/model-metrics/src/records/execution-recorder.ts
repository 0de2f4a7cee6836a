import type { Database } from "../../../../db/client.ts";
import { modelExecutions } from "../../../../db/schema/models.ts";
import type { Logger } from "../../../../shared/logger.ts";
import type { InferenceMetrics } from "../inference/inference-metrics.ts";

export type ExecutionRecord = typeof modelExecutions.$inferInsert;

export interface RecorderTuning {
  flushIntervalMs: number;
  /** Rows per INSERT; reaching it also starts a flush without waiting for the interval. */
  maxBatchRows: number;
  /** Rows kept while the database refuses writes; past it the oldest are dropped and counted. */
  maxBufferedRows: number;
}

/**
 * Buffers execution records off the request path and writes them in multi-row INSERTs, on an
 * interval or when a batch fills. Flushes run one at a time; `stop()` writes what is left.
 */
export class ExecutionRecorder {
  private buffer: ExecutionRecord[] = [];
  private flushing: Promise<void> = Promise.resolve();
  private timer: Timer | undefined;

  constructor(
    private readonly database: Database,
    private readonly logger: Logger,
    private readonly metrics: InferenceMetrics,
    private readonly tuning: RecorderTuning,
  ) {}

  private flushQueued = false;

  record(row: ExecutionRecord): void {
    this.buffer.push(row);
    // Bounded while the database is slow as well as when it refuses: the oldest rows go first.
    const excess = this.buffer.length - this.tuning.maxBufferedRows;
    if (excess > 0) {
      this.buffer.splice(0, excess);
      this.metrics.recordsDropped.inc(excess);
    }
    // One flush queued behind the running one is enough: it writes whatever has arrived by then.
    if (this.buffer.length >= this.tuning.maxBatchRows && !this.flushQueued) {
      this.flushQueued = true;
      void this.flush().finally(() => {
        this.flushQueued = false;
      });
    }
  }

  get pending(): number {
    return this.buffer.length;
  }

  /** Resolves once every record handed in before the call has been written (or given up on). */
  flush(): Promise<void> {
    this.flushing = this.flushing.then(() => this.writeBuffered());
    return this.flushing;
  }

  start(): void {
    this.timer ??= setInterval(() => void this.flush(), this.tuning.flushIntervalMs);
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.flush();
  }

  private async writeBuffered(): Promise<void> {
    while (this.buffer.length > 0) {
      const batch = this.buffer.splice(0, this.tuning.maxBatchRows);
      try {
        await this.database.run("model_executions.insert", (db) => db.insert(modelExecutions).values(batch));
      } catch (err) {
        this.logger.error({ err, rows: batch.length }, "writing execution records failed; keeping them");
        this.buffer.unshift(...batch);
        const excess = this.buffer.length - this.tuning.maxBufferedRows;
        if (excess > 0) {
          this.buffer.splice(0, excess);
          this.metrics.recordsDropped.inc(excess);
        }
        return;
      }
    }
  }
}
