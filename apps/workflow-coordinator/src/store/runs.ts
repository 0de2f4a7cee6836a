import { and, asc, desc, eq, inArray, isNull, lt, or, type SQL, sql } from "drizzle-orm";
import type { Database, Tx } from "../../../../db/client.ts";
import { workflowRuns, workflowTasks } from "../../../../db/schema/workflows.ts";
import { conflict, notFound } from "../../../../shared/errors.ts";
import type { TaskStatus, WorkflowStatus } from "../definition/schema.ts";

export type RunRow = typeof workflowRuns.$inferSelect;
export type NewRunRow = typeof workflowRuns.$inferInsert;
export type TaskRow = typeof workflowTasks.$inferSelect;

export const ACTIVE_STATUSES: WorkflowStatus[] = ["pending", "running", "paused"];

export interface RunWithTasks {
  run: RunRow;
  tasks: TaskRow[];
}

export type RunFields = Partial<
  Pick<RunRow, "status" | "output" | "error" | "startedAt" | "completedAt" | "owner" | "leaseExpiresAt">
>;
export type TaskFields = Partial<
  Pick<
    TaskRow,
    | "status"
    | "attempts"
    | "readyAt"
    | "nextAttemptAt"
    | "startedAt"
    | "completedAt"
    | "output"
    | "error"
    | "attemptOwner"
  >
>;

/** One task row change, applied only when the row still looks as `expect` says. */
export interface TaskChange {
  taskId: string;
  set: TaskFields;
  expect?: { status?: TaskStatus; attempts?: number; attemptOwner?: string };
}

export interface OwnedChange {
  run?: RunFields;
  tasks: TaskChange[];
  /** Set when the change ends the run: the lease is dropped with it. */
  releaseLease?: boolean;
}

export type OwnedOutcome =
  | { kind: "applied" }
  /** Still ours, but someone paused or resumed it: the change was not applied. */
  | { kind: "status"; status: WorkflowStatus }
  /** The lease expired or another instance holds it now; this instance must forget the run. */
  | { kind: "lost" }
  /** A task row no longer matched its expectation (cancelled under us); the change was rolled back. */
  | { kind: "stale" };

export interface ListFilter {
  status?: WorkflowStatus[];
  name?: string;
  limit: number;
  cursor?: { createdAt: Date; id: string };
}

const leaseUntil = (leaseMs: number) => sql`now() + ${leaseMs} * interval '1 millisecond'`;

/** Postgres state of runs and tasks. Every change is one transaction; owned changes check the lease. */
export class RunStore {
  constructor(
    private readonly database: Database,
    private readonly instanceId: string,
    private readonly leaseMs: number,
    /** Where heartbeats go; a pool of their own keeps them from queueing behind the work they protect. */
    private readonly leaseDatabase: Database = database,
  ) {}

  /**
   * Inserts a run and its tasks, in the states given, in one statement (one round trip, atomic without
   * BEGIN/COMMIT), or returns the run that already holds the idempotency key. A run with an owner gets
   * a lease from the database clock.
   */
  async insertRun(run: RunRow, tasks: TaskRow[]): Promise<RunWithTasks & { created: boolean }> {
    const owned = run.owner !== null;
    const iso = (date: Date | null) => date?.toISOString() ?? null;
    const taskValues = tasks.map((t) => ({
      task_id: t.taskId,
      type: t.type,
      status: t.status,
      attempts: t.attempts,
      ready_at: iso(t.readyAt),
      started_at: iso(t.startedAt),
      completed_at: iso(t.completedAt),
      error: t.error,
      attempt_owner: t.attemptOwner,
    }));
    const inserted = rowsOf<{ lease_expires_at: string | Date | null }>(
      await this.database.run("workflow_insert_run", (db) =>
        db.execute(sql`
          with inserted as (
            insert into workflow_runs (id, name, version, definition, status, input, priority, idempotency_key,
              trigger_event_id, created_at, started_at, deadline_at, owner, lease_expires_at, updated_at)
            values (${run.id}, ${run.name}, ${run.version}, ${JSON.stringify(run.definition)}::jsonb,
              ${run.status}, ${JSON.stringify(run.input ?? {})}::jsonb, ${run.priority}, ${run.idempotencyKey},
              ${run.triggerEventId}, ${run.createdAt.toISOString()}::timestamptz, ${iso(run.startedAt)}::timestamptz,
              ${iso(run.deadlineAt)}::timestamptz, ${run.owner},
              case when ${owned} then ${leaseUntil(this.leaseMs)} end, ${run.updatedAt.toISOString()}::timestamptz)
            on conflict (idempotency_key) do nothing
            returning id, lease_expires_at
          ), tasks as (
            insert into workflow_tasks (run_id, task_id, type, status, attempts, ready_at, started_at, completed_at,
              error, attempt_owner)
            select inserted.id, t.task_id, t.type, t.status, t.attempts, t.ready_at, t.started_at, t.completed_at,
              t.error, t.attempt_owner
            from inserted, jsonb_to_recordset(${JSON.stringify(taskValues)}::jsonb) as t(task_id text, type text,
              status text, attempts int, ready_at timestamptz, started_at timestamptz, completed_at timestamptz,
              error text, attempt_owner text)
            returning 1
          )
          select lease_expires_at, (select count(*) from tasks) as tasks from inserted`),
      ),
    );
    const row = inserted[0];
    if (!row) {
      const existing = await this.database.run("workflow_find_idempotent", (db) =>
        db
          .select()
          .from(workflowRuns)
          .where(eq(workflowRuns.idempotencyKey, run.idempotencyKey ?? "")),
      );
      const found = existing[0];
      if (!found) throw new Error("idempotency key conflict without a row holding the key");
      return { run: found, tasks: [], created: false };
    }
    const leaseExpiresAt = row.lease_expires_at === null ? null : new Date(row.lease_expires_at);
    return { run: { ...run, leaseExpiresAt }, tasks, created: true };
  }

  async loadRun(id: string): Promise<RunWithTasks | undefined> {
    return this.database.run("workflow_load_run", async (db) => {
      const runs = await db.select().from(workflowRuns).where(eq(workflowRuns.id, id));
      const run = runs[0];
      if (!run) return undefined;
      const tasks = await db.select().from(workflowTasks).where(eq(workflowTasks.runId, id));
      return { run, tasks };
    });
  }

  /**
   * Applies a change to a run this instance owns, as one statement: lock the run row, check owner,
   * lease and status, check every task row's expectation, then update tasks and run, or nothing.
   * A claim, pause or cancel elsewhere locks the same run row, so it is wholly before or after.
   */
  async applyOwned(
    runId: string,
    allowed: readonly WorkflowStatus[],
    change: OwnedChange,
  ): Promise<OwnedOutcome> {
    const tasks = JSON.stringify(
      change.tasks.map((t) => ({ task_id: t.taskId, s: t.set, e: t.expect ?? {} })),
    );
    const runSet = JSON.stringify(change.run ?? {});
    const release = change.releaseLease === true;
    const rows = rowsOf<{
      status: WorkflowStatus;
      owner: string | null;
      leased: boolean;
      applied: string | number;
    }>(
      await this.database.run("workflow_apply_change", (db) =>
        db.execute(sql`
          with guard as (
            select status, owner, coalesce(lease_expires_at > now(), false) as leased
            from workflow_runs where id = ${runId} for update
          ), changes as (
            select * from jsonb_to_recordset(${tasks}::jsonb) as c(task_id text, s jsonb, e jsonb)
          ), matched as (
            select count(*) as n from workflow_tasks t join changes c on t.task_id = c.task_id
            where t.run_id = ${runId}
              and (c.e->>'status' is null or t.status = c.e->>'status')
              and (c.e->>'attempts' is null or t.attempts = (c.e->>'attempts')::int)
              and (c.e->>'attemptOwner' is null or t.attempt_owner = c.e->>'attemptOwner')
          ), go as (
            select 1 from guard, matched
            where guard.owner = ${this.instanceId} and guard.leased
              and ${JSON.stringify(allowed)}::jsonb ? guard.status
              and matched.n = ${change.tasks.length}
          ), task_updates as (
            update workflow_tasks t set
              status = case when c.s ? 'status' then c.s->>'status' else t.status end,
              attempts = case when c.s ? 'attempts' then (c.s->>'attempts')::int else t.attempts end,
              ready_at = case when c.s ? 'readyAt' then (c.s->>'readyAt')::timestamptz else t.ready_at end,
              next_attempt_at = case when c.s ? 'nextAttemptAt' then (c.s->>'nextAttemptAt')::timestamptz else t.next_attempt_at end,
              started_at = case when c.s ? 'startedAt' then (c.s->>'startedAt')::timestamptz else t.started_at end,
              completed_at = case when c.s ? 'completedAt' then (c.s->>'completedAt')::timestamptz else t.completed_at end,
              output = case when c.s ? 'output' then c.s->'output' else t.output end,
              error = case when c.s ? 'error' then c.s->>'error' else t.error end,
              attempt_owner = case when c.s ? 'attemptOwner' then c.s->>'attemptOwner' else t.attempt_owner end
            from changes c, go
            where t.run_id = ${runId} and t.task_id = c.task_id
              and (c.e->>'status' is null or t.status = c.e->>'status')
              and (c.e->>'attempts' is null or t.attempts = (c.e->>'attempts')::int)
            returning 1
          ), run_update as (
            update workflow_runs r set
              status = case when ${runSet}::jsonb ? 'status' then ${runSet}::jsonb->>'status' else r.status end,
              started_at = case when ${runSet}::jsonb ? 'startedAt' then (${runSet}::jsonb->>'startedAt')::timestamptz else r.started_at end,
              completed_at = case when ${runSet}::jsonb ? 'completedAt' then (${runSet}::jsonb->>'completedAt')::timestamptz else r.completed_at end,
              output = case when ${runSet}::jsonb ? 'output' then ${runSet}::jsonb->'output' else r.output end,
              error = case when ${runSet}::jsonb ? 'error' then ${runSet}::jsonb->>'error' else r.error end,
              owner = case when ${release} then null else r.owner end,
              lease_expires_at = case when ${release} then null else r.lease_expires_at end,
              updated_at = now()
            from go where r.id = ${runId}
            returning 1
          )
          select guard.status, guard.owner, guard.leased,
            (select count(*) from run_update) + 0 * (select count(*) from task_updates) as applied
          from guard`),
      ),
    );
    const current = rows[0];
    if (!current || current.owner !== this.instanceId || !current.leased) return { kind: "lost" };
    if (!allowed.includes(current.status)) return { kind: "status", status: current.status };
    if (Number(current.applied) === 0) return { kind: "stale" };
    return { kind: "applied" };
  }

  /** Renews the leases this instance still holds; returns each renewed run's status. */
  async renewLeases(ids: string[]): Promise<Map<string, WorkflowStatus>> {
    if (ids.length === 0) return new Map();
    // The ids travel as one JSON parameter: thousands of runs stay one small statement.
    const rows = rowsOf<{ id: string; status: WorkflowStatus }>(
      await this.leaseDatabase.run("workflow_renew_leases", (db) =>
        db.execute(sql`
          update workflow_runs set lease_expires_at = ${leaseUntil(this.leaseMs)}
          where id in (select jsonb_array_elements_text(${JSON.stringify(ids)}::jsonb)::uuid)
            and owner = ${this.instanceId} and lease_expires_at > now()
            and status in ('pending', 'running', 'paused')
          returning id, status`),
      ),
    );
    return new Map(rows.map((r) => [r.id, r.status]));
  }

  /** Hands runs back on a clean stop so another instance can claim them without waiting out the lease. */
  async releaseLeases(ids: string[]): Promise<void> {
    if (ids.length === 0) return;
    await this.database.run("workflow_release_leases", (db) =>
      db.execute(sql`
        update workflow_runs set owner = null, lease_expires_at = null
        where id in (select jsonb_array_elements_text(${JSON.stringify(ids)}::jsonb)::uuid)
          and owner = ${this.instanceId}`),
    );
  }

  /**
   * Takes over active runs nobody holds a live lease on. Attempts that were running under the previous
   * owner are put back to pending: their outcome is unknown, so they run again as new attempts.
   */
  async claimExpiredRuns(limit: number): Promise<(RunWithTasks & { interrupted: string[] })[]> {
    if (limit <= 0) return [];
    return this.database.transaction("workflow_claim_runs", async (tx) => {
      const candidates = await tx
        .select({ id: workflowRuns.id })
        .from(workflowRuns)
        .where(
          and(
            inArray(workflowRuns.status, ACTIVE_STATUSES),
            or(isNull(workflowRuns.leaseExpiresAt), lt(workflowRuns.leaseExpiresAt, sql`now()`)),
          ),
        )
        .orderBy(desc(workflowRuns.priority), asc(workflowRuns.createdAt))
        .limit(limit)
        .for("update", { skipLocked: true });
      if (candidates.length === 0) return [];
      const ids = candidates.map((c) => c.id);
      const runs = await tx
        .update(workflowRuns)
        .set({ owner: this.instanceId, leaseExpiresAt: leaseUntil(this.leaseMs), updatedAt: new Date() })
        .where(inArray(workflowRuns.id, ids))
        .returning();
      const interruptedRows = await tx
        .update(workflowTasks)
        .set({
          status: "pending",
          attemptOwner: null,
          error: sql`'attempt ' || ${workflowTasks.attempts} || ' interrupted: its coordinator stopped'`,
        })
        .where(and(inArray(workflowTasks.runId, ids), eq(workflowTasks.status, "running")))
        .returning({ runId: workflowTasks.runId, taskId: workflowTasks.taskId });
      const tasks = await tx.select().from(workflowTasks).where(inArray(workflowTasks.runId, ids));
      return runs.map((run) => ({
        run,
        tasks: tasks.filter((t) => t.runId === run.id),
        interrupted: interruptedRows.filter((t) => t.runId === run.id).map((t) => t.taskId),
      }));
    });
  }

  async pause(id: string): Promise<RunWithTasks> {
    return this.transition(id, "pause", ["pending", "running"], () => ({ status: "paused" }));
  }

  async resume(id: string): Promise<RunWithTasks> {
    return this.transition(id, "resume", ["paused"], (run) => ({
      status: run.startedAt ? "running" : "pending",
    }));
  }

  /** Cancels the run and every task that has not finished, in one transaction, from any instance. */
  async cancel(id: string, now: Date): Promise<RunWithTasks> {
    return this.transition(
      id,
      "cancel",
      ACTIVE_STATUSES,
      () => ({
        status: "cancelled",
        completedAt: now,
        error: "cancelled",
        owner: null,
        leaseExpiresAt: null,
      }),
      async (tx) => {
        await tx
          .update(workflowTasks)
          .set({ status: "cancelled", completedAt: now, nextAttemptAt: null })
          .where(and(eq(workflowTasks.runId, id), inArray(workflowTasks.status, ["pending", "running"])));
      },
    );
  }

  private async transition(
    id: string,
    verb: string,
    from: readonly WorkflowStatus[],
    fields: (run: RunRow) => RunFields,
    alsoInTx?: (tx: Tx) => Promise<void>,
  ): Promise<RunWithTasks> {
    return this.database.transaction(`workflow_${verb}`, async (tx) => {
      const rows = await tx.select().from(workflowRuns).where(eq(workflowRuns.id, id)).for("update");
      const run = rows[0];
      if (!run) throw notFound(`workflow ${id}`);
      if (!from.includes(run.status)) throw conflict(`cannot ${verb} a workflow that is ${run.status}`);
      await alsoInTx?.(tx);
      const updated = await tx
        .update(workflowRuns)
        .set({ ...fields(run), updatedAt: new Date() })
        .where(eq(workflowRuns.id, id))
        .returning();
      const tasks = await tx.select().from(workflowTasks).where(eq(workflowTasks.runId, id));
      return { run: updated[0] ?? run, tasks };
    });
  }

  async list(filter: ListFilter): Promise<RunRow[]> {
    const conditions: SQL[] = [];
    if (filter.status && filter.status.length > 0)
      conditions.push(inArray(workflowRuns.status, filter.status));
    if (filter.name) conditions.push(eq(workflowRuns.name, filter.name));
    if (filter.cursor) {
      const { createdAt, id } = filter.cursor;
      conditions.push(
        or(
          lt(workflowRuns.createdAt, createdAt),
          and(eq(workflowRuns.createdAt, createdAt), lt(workflowRuns.id, id)),
        ) as SQL,
      );
    }
    return this.database.run("workflow_list_runs", (db) =>
      db
        .select()
        .from(workflowRuns)
        .where(conditions.length > 0 ? and(...conditions) : undefined)
        .orderBy(desc(workflowRuns.createdAt), desc(workflowRuns.id))
        .limit(filter.limit),
    );
  }
}

/** Rows of a raw statement: postgres.js answers an array, PGlite an object holding one. */
function rowsOf<T>(result: unknown): T[] {
  if (Array.isArray(result)) return result as T[];
  return ((result as { rows?: T[] }).rows ?? []) as T[];
}
