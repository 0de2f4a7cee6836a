import type { Logger } from "../../../../shared/logger.ts";
import type { TaskType, WorkflowDefinition, WorkflowStatus } from "../definition/schema.ts";
import type { CoordinatorMetrics } from "../metrics.ts";
import type {
  OwnedChange,
  OwnedOutcome,
  RunRow,
  RunStore,
  RunWithTasks,
  TaskChange,
  TaskRow,
} from "../store/runs.ts";
import { toStatusView } from "../store/status.ts";
import type { StatusCache } from "../store/status-cache.ts";
import { compileJsonata } from "../tasks/transform.ts";
import type { TaskRunner } from "../tasks/types.ts";
import { ActiveRun } from "./active-run.ts";
import { retryDelayMs } from "./backoff.ts";
import { type AttemptOutcome, runAttempt } from "./executor.ts";
import { renderTemplate } from "./templating.ts";

export interface StartRequest {
  definition: WorkflowDefinition;
  version: number | null;
  input: Record<string, unknown>;
  priority: number;
  idempotencyKey?: string;
  triggerEventId?: string;
}

export interface SchedulerTuning {
  /** How long a lease lasts without a heartbeat. */
  leaseMs: number;
  heartbeatMs: number;
  /** How often to look for runs whose lease expired. */
  claimIntervalMs: number;
  /** Task attempts in flight on this instance, across runs. */
  maxConcurrentTasks: number;
  /** Runs this instance owns at once; beyond it new runs wait in Postgres for any instance. */
  maxOwnedRuns: number;
  /** On stop, how long running attempts may finish before they are aborted. */
  drainTimeoutMs: number;
}

export interface SchedulerOptions extends SchedulerTuning {
  store: RunStore;
  statusCache: StatusCache;
  runners: Record<TaskType, TaskRunner>;
  metrics: CoordinatorMetrics;
  logger: Logger;
  instanceId: string;
  now: () => number;
  /** Called after a run reaches a terminal state, so its completion message goes out. */
  onTerminal: () => void;
}

interface Plan {
  skips: TaskChange[];
  starts: TaskRow[];
  reserved: number;
}

const RENEW_CHUNK = 1000;

const RUNNABLE: WorkflowStatus[] = ["pending", "running"];
const ATTEMPT_SETTLES: WorkflowStatus[] = ["running", "paused"];
const ANY_ACTIVE: WorkflowStatus[] = ["pending", "running", "paused"];

/**
 * The DAG scheduler. It owns runs through leases, starts every task whose dependencies are done up to
 * the run's and the instance's limits, and writes each state change to Postgres before acting on it.
 * State changes of one run are serialised; attempts run outside that queue.
 */
export class WorkflowScheduler {
  private readonly runs = new Map<string, ActiveRun>();
  private readonly waitingForSlot = new Set<ActiveRun>();
  private activeTasks = 0;
  private lastRenewalAt: number;
  private stopping = false;
  private readonly loops: (() => Promise<void>)[] = [];
  private watchdog: Timer | undefined;

  constructor(private readonly options: SchedulerOptions) {
    this.lastRenewalAt = options.now();
  }

  get ownedRuns(): number {
    return this.runs.size;
  }

  start(): void {
    this.stopping = false;
    this.lastRenewalAt = this.options.now();
    this.loops.push(
      every(this.options.heartbeatMs, () => this.heartbeat(), this.options.logger, "lease heartbeat"),
      every(this.options.claimIntervalMs, () => this.claimExpired(), this.options.logger, "lease claim"),
    );
    // Separate from the heartbeat so a renewal stuck on a dead connection cannot delay giving runs up.
    this.watchdog = setInterval(
      () => this.giveUpUnprovenLeases(),
      Math.max(25, this.options.heartbeatMs / 4),
    );
  }

  /**
   * Once the last renewal is almost a lease old, another instance may soon claim our runs: abort
   * their attempts first, so no attempt ever runs on two instances at once.
   */
  private giveUpUnprovenLeases(): void {
    if (this.runs.size === 0) return;
    const unproven = this.options.now() - this.lastRenewalAt;
    if (unproven <= this.options.leaseMs - this.options.heartbeatMs) return;
    this.options.logger.warn(
      { runs: this.runs.size, unproven_ms: unproven },
      "leases unproven; giving runs up",
    );
    for (const run of [...this.runs.values()]) {
      this.options.metrics.leasesLost.inc();
      this.abandon(run, "lease could not be renewed");
    }
  }

  async stop(): Promise<void> {
    this.stopping = true;
    clearInterval(this.watchdog);
    await Promise.all(this.loops.splice(0).map((stop) => stop()));
    const deadline = this.options.now() + this.options.drainTimeoutMs;
    while (this.activeTasks > 0 && this.options.now() < deadline) await Bun.sleep(10);
    const runs = [...this.runs.values()];
    for (const run of runs) this.abandon(run, "the coordinator is stopping");
    await Promise.allSettled(runs.map((run) => run.queue));
    await this.options.store
      .releaseLeases(runs.map((run) => run.id))
      .catch((err) => this.options.logger.warn({ err }, "releasing leases failed; they will expire"));
  }

  /**
   * Creates a run. When this instance takes it, the first tasks are planned before the insert and
   * written with it, so a start costs one statement and its attempts begin at once.
   */
  async startRun(request: StartRequest): Promise<{ run: RunRow; created: boolean }> {
    const { definition } = request;
    const now = this.options.now();
    const owned = !this.stopping && this.runs.size < this.options.maxOwnedRuns;
    const createdAt = new Date(now);
    const row: RunRow = {
      id: Bun.randomUUIDv7(),
      name: definition.name,
      version: request.version,
      definition,
      status: "pending",
      input: request.input,
      output: null,
      error: null,
      priority: request.priority,
      idempotencyKey: request.idempotencyKey ?? null,
      triggerEventId: request.triggerEventId ?? null,
      createdAt,
      startedAt: null,
      completedAt: null,
      deadlineAt: new Date(now + definition.timeout_ms),
      owner: owned ? this.options.instanceId : null,
      leaseExpiresAt: null,
      completionPublished: false,
      updatedAt: createdAt,
    };
    const tasks: TaskRow[] = definition.tasks.map((t) => ({
      runId: row.id,
      taskId: t.id,
      type: t.type,
      status: "pending",
      attempts: 0,
      readyAt: null,
      nextAttemptAt: null,
      startedAt: null,
      completedAt: null,
      output: null,
      error: null,
      attemptOwner: null,
    }));
    const run = owned ? new ActiveRun(row, tasks) : undefined;
    const plan = run ? await this.plan(run, now) : { skips: [], starts: [], reserved: 0 };
    const change = run ? this.startChange(run, plan, now) : undefined;
    if (run && change) this.mirror(run, change);
    let result: RunWithTasks & { created: boolean };
    try {
      result = await this.options.store.insertRun(run?.row ?? row, run ? [...run.tasks.values()] : tasks);
    } catch (err) {
      this.releaseSlots(plan.reserved);
      throw err;
    }
    if (!result.created) {
      this.releaseSlots(plan.reserved);
      if (run) run.dropped = true;
      return { run: result.run, created: false };
    }
    this.options.metrics.runsStarted.inc({ definition: definition.name });
    if (run) {
      run.row = result.run;
      this.adopt(run, plan.starts);
    } else {
      this.writeStatusFromRows(result);
    }
    return { run: result.run, created: true };
  }

  async pause(id: string): Promise<RunWithTasks> {
    const result = await this.options.store.pause(id);
    this.afterExternalTransition(result);
    return result;
  }

  async resume(id: string): Promise<RunWithTasks> {
    const result = await this.options.store.resume(id);
    this.afterExternalTransition(result);
    return result;
  }

  async cancel(id: string): Promise<RunWithTasks> {
    const result = await this.options.store.cancel(id, new Date(this.options.now()));
    this.afterExternalTransition(result);
    return result;
  }

  /** A pause, resume or cancel committed by the API: mirror it if this instance owns the run. */
  private afterExternalTransition(result: RunWithTasks): void {
    this.writeStatusFromRows(result);
    const active = this.runs.get(result.run.id);
    const status = result.run.status;
    if (status === "cancelled") {
      this.recordFinished(result.run);
      if (active) {
        active.row = result.run;
        for (const task of result.tasks) active.tasks.set(task.taskId, task);
        this.abandon(active, "cancelled");
      }
      this.options.onTerminal();
      return;
    }
    if (!active) return;
    void this.exclusive(active, async () => {
      active.row = { ...active.row, status };
      this.writeStatus(active);
      await this.pump(active);
    });
  }

  /** Takes charge of a run: timers, status, and the attempts already started with it, then schedules. */
  private adopt(run: ActiveRun, started: TaskRow[] = []): void {
    const existing = this.runs.get(run.id);
    if (existing) this.abandon(existing, "claimed again");
    this.runs.set(run.id, run);
    this.options.metrics.activeRuns.set(this.runs.size);
    if (run.row.deadlineAt) {
      const wait = Math.max(0, run.row.deadlineAt.getTime() - this.options.now());
      run.deadlineTimer = setTimeout(() => {
        void this.exclusive(run, () =>
          this.failRun(run, `workflow timed out after ${run.definition.timeout_ms} ms`, []),
        );
      }, wait);
    }
    this.writeStatus(run);
    this.launch(run, started);
    void this.exclusive(run, () => this.pump(run));
  }

  /** Runs `work` after every earlier state change of the run; a failure gives the run up locally. */
  private exclusive(run: ActiveRun, work: () => Promise<void>): Promise<void> {
    const next = run.queue.then(() => (run.dropped ? undefined : work()));
    run.queue = next.catch((err) => {
      this.options.logger.error(
        { err, workflow_id: run.id },
        "state change failed; the run waits for its lease to expire",
      );
      this.abandon(run, "state change failed");
    });
    return run.queue;
  }

  /**
   * Records `carried` (an attempt's outcome) and, in the same transaction, starts every task that is
   * now ready, skips those that cannot run, or completes the run: one commit per step of the DAG.
   */
  private async pump(run: ActiveRun, carried: TaskChange[] = []): Promise<void> {
    const { now } = this.options;
    // Each round either starts attempts (then their completions drive the next) or records skips,
    // which can make more tasks ready; so the number of rounds is bounded by the task count.
    for (let round = 0; round <= run.order.length + 1; round++) {
      if (run.dropped) return;
      const before = { row: run.row, tasks: new Map(run.tasks) };
      const restore = () => {
        run.row = before.row;
        for (const [id, task] of before.tasks) run.tasks.set(id, task);
      };
      // Plan against the state as it will be once `carried` is applied; undone if the write fails.
      if (carried.length > 0) this.mirror(run, { tasks: carried });
      const runnable = !this.stopping && RUNNABLE.includes(run.row.status);
      const at = now();
      if (runnable && run.row.deadlineAt && at >= run.row.deadlineAt.getTime()) {
        restore();
        return this.failRun(run, `workflow timed out after ${run.definition.timeout_ms} ms`, carried);
      }
      // A task changed by `carried` is not also started in the same change: a retry due at once would
      // otherwise appear twice in one write and be rejected as stale. The next round starts it.
      const carriedIds = new Set(carried.map((c) => c.taskId));
      const plan = runnable ? await this.plan(run, at, carriedIds) : { skips: [], starts: [], reserved: 0 };
      const change = this.startChange(run, plan, at, carried);
      const planned = plan.skips.length + plan.starts.length > 0;
      if (!planned && runnable && run.allFinished()) {
        change.run = {
          status: "completed",
          completedAt: new Date(at),
          output: run.leafOutputs(),
          error: null,
        };
        change.releaseLease = true;
      }
      restore();
      if (change.tasks.length === 0 && !change.run) return;
      const allowed = planned || change.run ? RUNNABLE : ATTEMPT_SETTLES;
      let outcome: OwnedOutcome;
      try {
        outcome = await this.options.store.applyOwned(run.id, allowed, change);
      } catch (err) {
        this.releaseSlots(plan.reserved);
        throw err;
      }
      if (outcome.kind !== "applied") {
        this.releaseSlots(plan.reserved);
        if (outcome.kind === "status" && carried.length > 0 && ATTEMPT_SETTLES.includes(outcome.status)) {
          // Paused under us: record the attempt's outcome on its own, start nothing.
          run.row = { ...run.row, status: outcome.status };
          continue;
        }
        return this.onRejected(run, outcome);
      }
      carried = [];
      this.mirror(run, change);
      this.writeStatus(run);
      if (change.releaseLease) return this.finish(run, "workflow completed");
      this.launch(run, plan.starts);
      const retryWaiting = [...carriedIds].some((id) => run.tasks.get(id)?.status === "pending");
      if (plan.skips.length === 0 && !retryWaiting) return;
    }
  }

  /** The change that records `carried`, the planned skips and the planned attempt starts. */
  private startChange(run: ActiveRun, plan: Plan, at: number, carried: TaskChange[] = []): OwnedChange {
    const startedAt = new Date(at);
    const change: OwnedChange = {
      tasks: [
        ...carried,
        ...plan.skips,
        ...plan.starts.map(
          (task): TaskChange => ({
            taskId: task.taskId,
            expect: { status: "pending", attempts: task.attempts },
            set: {
              status: "running",
              attempts: task.attempts + 1,
              attemptOwner: this.options.instanceId,
              startedAt,
              completedAt: null,
              readyAt: new Date(run.readyAt.get(task.taskId) ?? at),
              nextAttemptAt: null,
            },
          }),
        ),
      ],
    };
    if (plan.starts.length > 0 && run.row.status === "pending") change.run = { status: "running", startedAt };
    return change;
  }

  /** Starts the attempts of tasks whose start was just written; `started` holds their rows from before. */
  private launch(run: ActiveRun, started: TaskRow[]): void {
    const at = this.options.now();
    for (const task of started) {
      const readyAt = run.readyAt.get(task.taskId) ?? at;
      run.readyAt.delete(task.taskId);
      this.options.metrics.schedulerLag.observe((at - readyAt) / 1000);
      void this.execute(run, task.taskId, task.attempts + 1);
    }
  }

  /** The tasks to skip and to start now, with instance slots reserved for the starts. */
  private async plan(
    run: ActiveRun,
    at: number,
    exclude: ReadonlySet<string> = new Set(),
  ): Promise<{ skips: TaskChange[]; starts: TaskRow[]; reserved: number }> {
    const skips: TaskChange[] = [];
    const starts: TaskRow[] = [];
    let runSlots = run.definition.max_parallel_tasks - run.runningCount();
    for (const id of run.order) {
      const task = run.tasks.get(id);
      const def = run.taskDefs.get(id);
      if (!task || !def || task.status !== "pending" || exclude.has(id)) continue;
      const blocker = this.blockedBy(run, def.depends_on);
      if (blocker === "wait") continue;
      if (blocker !== undefined) {
        skips.push(skipChange(id, new Date(at), `dependency "${blocker}" did not complete`));
        continue;
      }
      if (task.nextAttemptAt && task.nextAttemptAt.getTime() > at) {
        this.armRetry(run, id, task.nextAttemptAt.getTime() - at);
        continue;
      }
      if (!run.readyAt.has(id)) run.readyAt.set(id, at);
      if (def.when !== undefined) {
        const verdict = await evaluateWhen(def.when, run);
        if (!verdict.run) {
          skips.push(skipChange(id, new Date(at), verdict.error ?? null));
          continue;
        }
      }
      if (runSlots <= 0) continue;
      if (this.activeTasks >= this.options.maxConcurrentTasks) {
        this.waitingForSlot.add(run);
        continue;
      }
      runSlots--;
      this.activeTasks++;
      starts.push(task);
    }
    return { skips, starts, reserved: starts.length };
  }

  /** undefined: every dependency is done; "wait": some still run; else the dependency that failed. */
  private blockedBy(run: ActiveRun, deps: readonly string[]): string | undefined {
    let waiting = false;
    for (const dep of deps) {
      const task = run.tasks.get(dep);
      if (!task) continue;
      if (task.status === "completed") continue;
      // A task skipped by its `when` lets dependants run; one skipped for a failed dependency does not.
      if (task.status === "skipped" && task.error === null) continue;
      if (task.status === "failed" || task.status === "cancelled" || task.status === "skipped") return dep;
      waiting = true;
    }
    return waiting ? "wait" : undefined;
  }

  private async execute(run: ActiveRun, taskId: string, attempt: number): Promise<void> {
    const def = run.taskDefs.get(taskId);
    if (!def) return;
    const controller = new AbortController();
    run.controllers.set(taskId, controller);
    const started = performance.now();
    let outcome: AttemptOutcome;
    let endedAt = 0;
    try {
      const scope = run.scope();
      const params = renderTemplate(def.params, scope) as Record<string, unknown>;
      outcome = await runAttempt(
        this.options.runners[def.type],
        params,
        { runId: run.id, taskId, attempt, scope },
        def.timeout_ms,
        controller.signal,
      );
      endedAt = this.options.now();
    } finally {
      run.controllers.delete(taskId);
      this.releaseSlots(1);
    }
    this.options.metrics.taskDuration.observe(
      { type: def.type, status: outcome.kind },
      (performance.now() - started) / 1000,
    );
    if (outcome.kind === "aborted") return;
    await this.exclusive(run, () => this.settleAttempt(run, taskId, attempt, outcome, endedAt));
  }

  /** Records an attempt's outcome; `at` is when the attempt ended, before its slot went to another. */
  private async settleAttempt(
    run: ActiveRun,
    taskId: string,
    attempt: number,
    outcome: AttemptOutcome,
    at: number,
  ) {
    const task = run.tasks.get(taskId);
    const def = run.taskDefs.get(taskId);
    if (!task || !def || task.status !== "running" || task.attempts !== attempt) return;
    const expect = { status: "running" as const, attempts: attempt, attemptOwner: this.options.instanceId };
    if (outcome.kind === "completed") {
      for (const dependant of run.dependents.get(taskId) ?? []) run.readyAt.set(dependant, at);
      return this.pump(run, [
        {
          taskId,
          expect,
          set: { status: "completed", completedAt: new Date(at), output: outcome.output, error: null },
        },
      ]);
    }
    if (outcome.kind !== "failed") return;
    const error = `attempt ${attempt}: ${outcome.error}`;
    if (!outcome.permanent && attempt < def.retry.max_attempts) {
      const delay = retryDelayMs(def.retry, attempt);
      run.readyAt.set(taskId, at + delay);
      return this.pump(run, [
        {
          taskId,
          expect,
          set: { status: "pending", nextAttemptAt: new Date(at + delay), error, attemptOwner: null },
        },
      ]);
    }
    const failed: TaskChange = {
      taskId,
      expect,
      set: { status: "failed", completedAt: new Date(at), error },
    };
    if (def.continue_on_failure) return this.pump(run, [failed]);
    return this.failRun(run, `task "${taskId}" failed: ${error}`, [failed]);
  }

  /** Fails the run, cancelling every task not yet finished, and aborts the attempts in flight. */
  private async failRun(run: ActiveRun, error: string, changes: TaskChange[]): Promise<void> {
    const at = new Date(this.options.now());
    const touched = new Set(changes.map((c) => c.taskId));
    const tasks = [...changes];
    for (const task of run.tasks.values()) {
      if (touched.has(task.taskId) || (task.status !== "pending" && task.status !== "running")) continue;
      tasks.push({ taskId: task.taskId, set: { status: "cancelled", completedAt: at, nextAttemptAt: null } });
    }
    const change: OwnedChange = {
      run: { status: "failed", error, completedAt: at, output: run.leafOutputs() },
      tasks,
      releaseLease: true,
    };
    if (!(await this.applyAndMirror(run, ANY_ACTIVE, change))) return;
    this.finish(run, "workflow failed");
  }

  private async applyAndMirror(
    run: ActiveRun,
    allowed: WorkflowStatus[],
    change: OwnedChange,
  ): Promise<boolean> {
    const outcome = await this.options.store.applyOwned(run.id, allowed, change);
    if (outcome.kind !== "applied") {
      await this.onRejected(run, outcome);
      return false;
    }
    this.mirror(run, change);
    this.writeStatus(run);
    return true;
  }

  private mirror(run: ActiveRun, change: OwnedChange): void {
    if (change.run) run.row = { ...run.row, ...change.run };
    for (const { taskId, set } of change.tasks) {
      const task = run.tasks.get(taskId);
      if (task) run.tasks.set(taskId, { ...task, ...set });
    }
  }

  private async onRejected(
    run: ActiveRun,
    outcome: Exclude<OwnedOutcome, { kind: "applied" }>,
  ): Promise<void> {
    if (outcome.kind === "status") {
      // Paused or resumed by another instance's API call; follow Postgres.
      run.row = { ...run.row, status: outcome.status };
      this.writeStatus(run);
      if (RUNNABLE.includes(outcome.status)) void this.exclusive(run, () => this.pump(run));
      return;
    }
    this.options.metrics.leasesLost.inc();
    this.options.logger.warn(
      { workflow_id: run.id, outcome: outcome.kind },
      "run is no longer ours; dropping it",
    );
    this.abandon(run, outcome.kind === "lost" ? "lease lost" : "state changed underneath");
  }

  /** The run reached a terminal state here: record it, stop its attempts, forget it. */
  private finish(run: ActiveRun, reason: string): void {
    this.recordFinished(run.row);
    this.abandon(run, reason);
    this.options.onTerminal();
  }

  private recordFinished(row: RunRow): void {
    const labels = { definition: row.name, status: row.status };
    this.options.metrics.runsFinished.inc(labels);
    if (row.startedAt && row.completedAt) {
      this.options.metrics.runDuration.observe(
        labels,
        (row.completedAt.getTime() - row.startedAt.getTime()) / 1000,
      );
    }
  }

  /** Forgets the run here without writing anything: attempts in flight are aborted. */
  private abandon(run: ActiveRun, reason: string): void {
    if (run.dropped) return;
    run.dropped = true;
    run.clearTimers();
    for (const controller of run.controllers.values()) controller.abort(new Error(reason));
    this.waitingForSlot.delete(run);
    if (this.runs.get(run.id) === run) this.runs.delete(run.id);
    this.options.metrics.activeRuns.set(this.runs.size);
  }

  private armRetry(run: ActiveRun, taskId: string, delayMs: number): void {
    if (run.retryTimers.has(taskId)) return;
    run.retryTimers.set(
      taskId,
      setTimeout(() => {
        run.retryTimers.delete(taskId);
        void this.exclusive(run, () => this.pump(run));
      }, delayMs),
    );
  }

  private releaseSlots(count: number): void {
    if (count === 0) return;
    this.activeTasks -= count;
    if (this.waitingForSlot.size === 0 || this.stopping) return;
    const waiting = [...this.waitingForSlot].sort((a, b) => b.row.priority - a.row.priority);
    this.waitingForSlot.clear();
    for (const run of waiting) void this.exclusive(run, () => this.pump(run));
  }

  private writeStatus(run: ActiveRun): void {
    this.options.statusCache.write(run.id, () => JSON.stringify(toStatusView(run.row, run.tasks.values())));
  }

  private writeStatusFromRows({ run, tasks }: RunWithTasks): void {
    const body = JSON.stringify(toStatusView(run, tasks));
    this.options.statusCache.write(run.id, () => body);
  }

  private async heartbeat(): Promise<void> {
    const ids = [...this.runs.keys()];
    const sentAt = this.options.now();
    // In chunks, so no one statement holds thousands of run rows locked against their state changes.
    const renewed = new Map<string, WorkflowStatus>();
    for (let i = 0; i < ids.length || i === 0; i += RENEW_CHUNK) {
      for (const [id, status] of await this.options.store.renewLeases(ids.slice(i, i + RENEW_CHUNK))) {
        renewed.set(id, status);
      }
    }
    this.lastRenewalAt = sentAt;
    for (const id of ids) {
      const run = this.runs.get(id);
      if (!run) continue;
      const status = renewed.get(id);
      if (status === undefined) {
        this.options.metrics.leasesLost.inc();
        this.abandon(run, "lease lost");
      } else if ((status === "paused") !== (run.row.status === "paused")) {
        void this.exclusive(run, async () => {
          run.row = { ...run.row, status };
          this.writeStatus(run);
          await this.pump(run);
        });
      }
    }
  }

  private async claimExpired(): Promise<void> {
    if (this.stopping) return;
    const capacity = Math.min(100, this.options.maxOwnedRuns - this.runs.size);
    const claimed = await this.options.store.claimExpiredRuns(capacity);
    for (const { run, tasks, interrupted } of claimed) {
      this.options.metrics.leaseClaims.inc();
      if (interrupted.length > 0) {
        this.options.metrics.recoveries.inc(interrupted.length);
        this.options.logger.info(
          { workflow_id: run.id, tasks: interrupted },
          "resuming a run whose owner stopped",
        );
      }
      this.adopt(new ActiveRun(run, tasks));
    }
  }
}

function skipChange(taskId: string, at: Date, error: string | null): TaskChange {
  return { taskId, expect: { status: "pending" }, set: { status: "skipped", completedAt: at, error } };
}

async function evaluateWhen(expression: string, run: ActiveRun): Promise<{ run: boolean; error?: string }> {
  try {
    const result = await compileJsonata(expression).evaluate(run.scope());
    return { run: Boolean(result) };
  } catch (err) {
    return { run: false, error: `when failed: ${(err as Error).message}` };
  }
}

/** Runs `work` now and then `intervalMs` after each finish, until the returned stop is called. */
function every(
  intervalMs: number,
  work: () => Promise<void>,
  logger: Logger,
  what: string,
): () => Promise<void> {
  let stopped = false;
  let timer: Timer | undefined;
  let current: Promise<void> = Promise.resolve();
  const tick = () => {
    current = work()
      .catch((err) => logger.warn({ err }, `${what} failed`))
      .finally(() => {
        if (!stopped) timer = setTimeout(tick, intervalMs);
      });
  };
  tick();
  return async () => {
    stopped = true;
    clearTimeout(timer);
    // A pass stuck on an unreachable database must not hold up shutdown.
    await Promise.race([current, Bun.sleep(1_000)]);
  };
}
