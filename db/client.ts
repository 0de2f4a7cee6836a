import { mkdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { PGlite } from "@electric-sql/pglite";
import type { ExtractTablesWithRelations } from "drizzle-orm";
import type { PgDatabase, PgQueryResultHKT, PgTransaction } from "drizzle-orm/pg-core";
import { drizzle as drizzlePglite } from "drizzle-orm/pglite";
import { migrate as migratePglite } from "drizzle-orm/pglite/migrator";
import { drizzle as drizzlePostgres } from "drizzle-orm/postgres-js";
import { migrate as migratePostgres } from "drizzle-orm/postgres-js/migrator";
import CircuitBreaker from "opossum";
import postgres from "postgres";
import { DependencyUnavailableError } from "../shared/errors.ts";
import { counter, gauge, histogram, LATENCY_BUCKETS, type Registry } from "../shared/metrics.ts";
import * as schema from "./schema/index.ts";

export type Schema = typeof schema;
export type Db = PgDatabase<PgQueryResultHKT, Schema>;
export type Tx = PgTransaction<PgQueryResultHKT, Schema, ExtractTablesWithRelations<Schema>>;

export const MIGRATIONS_FOLDER = fileURLToPath(new URL("./migrations", import.meta.url));
// One key for every instance of the product, so concurrent start-ups apply migrations one at a time.
const MIGRATION_LOCK_KEY = 7_310_214_551;

export interface DatabaseOptions {
  /** postgres:// URL; without it the embedded PGlite is used. */
  url?: string;
  /** PGlite data directory; "memory://" keeps it in memory. */
  dataDir?: string;
  poolSize?: number;
  statementTimeoutMs?: number;
  /** Operations allowed to wait for a connection beyond the pool size; past it they fail fast. */
  maxWaiting?: number;
  /** Longest an operation waits for a connection before it fails. */
  acquireTimeoutMs?: number;
  registry?: Registry;
}

export interface Database {
  readonly kind: "postgres" | "pglite";
  readonly db: Db;
  /** Runs one named operation, timed and counted in the pool metrics. Every repository query goes through it. */
  run<T>(operation: string, fn: (db: Db) => Promise<T>): Promise<T>;
  /** A named operation inside one transaction. */
  transaction<T>(operation: string, fn: (tx: Tx) => Promise<T>): Promise<T>;
  migrate(): Promise<void>;
  check(): Promise<void>;
  close(): Promise<void>;
}

interface PoolMetrics {
  begin(): void;
  end(operation: string, startedAt: number, outcome: "ok" | "error"): void;
}

function poolMetrics(registry: Registry | undefined, kind: string, poolSize: number): PoolMetrics {
  if (!registry) return { begin() {}, end() {} };
  const duration = histogram(registry, {
    name: "db_query_duration_seconds",
    help: "Database operation duration by operation and outcome",
    labelNames: ["db", "operation", "outcome"],
    buckets: LATENCY_BUCKETS,
  });
  const errors = counter(registry, {
    name: "db_query_errors_total",
    help: "Database operations that failed",
    labelNames: ["db", "operation"],
  });
  let inFlight = 0;
  const connections = gauge(registry, {
    name: "db_pool_connections",
    help: "Pool connections by state: in_use, idle (of the configured size) and waiting operations",
    labelNames: ["db", "state"],
  });
  gauge(registry, { name: "db_pool_size", help: "Configured pool size", labelNames: ["db"] }).set(
    { db: kind },
    poolSize,
  );
  const publish = () => {
    const inUse = Math.min(inFlight, poolSize);
    connections.set({ db: kind, state: "in_use" }, inUse);
    connections.set({ db: kind, state: "idle" }, poolSize - inUse);
    connections.set({ db: kind, state: "waiting" }, Math.max(0, inFlight - poolSize));
  };
  publish();
  return {
    begin() {
      inFlight++;
      publish();
    },
    end(operation, startedAt, outcome) {
      inFlight--;
      publish();
      duration.observe({ db: kind, operation, outcome }, (performance.now() - startedAt) / 1000);
      if (outcome === "error") errors.inc({ db: kind, operation });
    },
  };
}

/*
 * Counted against the circuit: connection failures, statement timeouts and server resource errors.
 * Constraint violations and other answers about the data are the caller's business, not an outage.
 */
const NETWORK_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EPIPE",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENOTFOUND",
  "CONNECTION_CLOSED",
  "CONNECTION_ENDED",
  "CONNECTION_DESTROYED",
  "CONNECT_TIMEOUT",
  "EACQUIRETIMEOUT",
]);

function isInfrastructureError(err: unknown): boolean {
  for (let e = err, depth = 0; e instanceof Error && depth < 4; e = e.cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code !== "string") continue;
    if (NETWORK_CODES.has(code)) return true;
    // SQLSTATE classes: connection exception, insufficient resources, operator intervention
    // (statement timeouts, shutdowns), system error, internal error.
    if (/^[0-9A-Z]{5}$/.test(code)) return /^(08|53|57|58|XX)/.test(code);
  }
  return false;
}

interface Guard {
  fire<T>(fn: () => Promise<T>): Promise<T>;
}

class AcquireTimeoutError extends Error {
  override name = "AcquireTimeoutError";
  readonly code = "EACQUIRETIMEOUT";
}

/**
 * Fails fast instead of queueing without bound. Operations take one of `poolSize` permits (so
 * postgres.js never queues); one that waits longer than `acquireTimeoutMs`, or arrives when
 * `maxWaiting` already wait, is refused. Connection failures, statement timeouts and slow acquires
 * open a circuit that refuses everything until a trial succeeds. Every refusal and infrastructure
 * failure surfaces as DependencyUnavailableError, which the services answer with 503 + Retry-After.
 */
function databaseGuard(
  kind: string,
  limits: { poolSize: number; maxWaiting: number; acquireTimeoutMs: number },
  registry: Registry | undefined,
): Guard {
  const breaker = new CircuitBreaker((fn: () => Promise<unknown>) => fn(), {
    timeout: false,
    errorThresholdPercentage: 50,
    volumeThreshold: 10,
    resetTimeout: 2000,
    rollingCountTimeout: 5000,
    rollingCountBuckets: 5,
    errorFilter: (err: unknown) => !isInfrastructureError(err),
  });
  const rejected = registry
    ? counter(registry, {
        name: "db_rejected_total",
        help: "Database operations refused without being tried, by reason",
        labelNames: ["db", "reason"],
      })
    : undefined;
  if (registry) {
    const state = gauge(registry, {
      name: "db_circuit_state",
      help: "Database circuit breaker: 0 closed, 1 half-open, 2 open",
      labelNames: ["db"],
    });
    state.set({ db: kind }, 0);
    breaker.on("open", () => state.set({ db: kind }, 2));
    breaker.on("halfOpen", () => state.set({ db: kind }, 1));
    breaker.on("close", () => state.set({ db: kind }, 0));
  }

  let permits = limits.poolSize;
  const waiters: (() => void)[] = [];
  const acquire = (): Promise<void> | undefined => {
    if (permits > 0) {
      permits--;
      return undefined;
    }
    return new Promise<void>((resolve, reject) => {
      const grant = () => {
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        const at = waiters.indexOf(grant);
        if (at >= 0) waiters.splice(at, 1);
        reject(new AcquireTimeoutError(`no database connection free within ${limits.acquireTimeoutMs} ms`));
      }, limits.acquireTimeoutMs);
      waiters.push(grant);
    });
  };
  const release = () => {
    const next = waiters.shift();
    if (next) next();
    else permits++;
  };
  const guarded = async (fn: () => Promise<unknown>) => {
    const wait = acquire();
    if (wait) await wait;
    try {
      return await fn();
    } finally {
      release();
    }
  };

  return {
    async fire<T>(fn: () => Promise<T>): Promise<T> {
      if (permits === 0 && waiters.length >= limits.maxWaiting) {
        rejected?.inc({ db: kind, reason: "pool_exhausted" });
        throw new DependencyUnavailableError(
          "database",
          `database busy: ${waiters.length} operations already waiting`,
        );
      }
      try {
        return (await breaker.fire(() => guarded(fn))) as T;
      } catch (err) {
        if ((err as { code?: string }).code === "EOPENBREAKER") {
          rejected?.inc({ db: kind, reason: "circuit_open" });
          throw new DependencyUnavailableError(
            "database",
            "database unavailable: circuit open after repeated failures",
            2,
            {
              cause: err,
            },
          );
        }
        if (err instanceof AcquireTimeoutError) rejected?.inc({ db: kind, reason: "acquire_timeout" });
        if (isInfrastructureError(err)) {
          throw new DependencyUnavailableError(
            "database",
            `database unavailable: ${(err as Error).message}`,
            2,
            {
              cause: err,
            },
          );
        }
        throw err;
      }
    },
  };
}

function instrumented(db: Db, metrics: PoolMetrics, guard: Guard): Pick<Database, "run" | "transaction"> {
  const timed = async <T>(operation: string, fn: () => Promise<T>): Promise<T> => {
    const start = performance.now();
    metrics.begin();
    try {
      const result = await guard.fire(fn);
      metrics.end(operation, start, "ok");
      return result;
    } catch (err) {
      metrics.end(operation, start, "error");
      throw err;
    }
  };
  return {
    run: (operation, fn) => timed(operation, () => fn(db)),
    transaction: (operation, fn) => timed(operation, () => db.transaction((tx) => fn(tx as Tx))),
  };
}

export async function createDatabase(options: DatabaseOptions): Promise<Database> {
  return options.url
    ? createPostgres(options.url, options)
    : createPglite(options.dataDir ?? "./.data", options);
}

async function createPostgres(url: string, options: DatabaseOptions): Promise<Database> {
  const poolSize = options.poolSize ?? 20;
  const client = postgres(url, {
    max: poolSize,
    onnotice: () => {},
    connect_timeout: 5,
    idle_timeout: 60,
    connection: {
      statement_timeout: options.statementTimeoutMs ?? 5000,
      application_name: "omninode-bridge",
    },
  });
  const db = drizzlePostgres(client, { schema }) as unknown as Db;
  const metrics = poolMetrics(options.registry, "postgres", poolSize);
  const guard = databaseGuard(
    "postgres",
    { poolSize, maxWaiting: options.maxWaiting ?? 1000, acquireTimeoutMs: options.acquireTimeoutMs ?? 5000 },
    options.registry,
  );
  return {
    kind: "postgres",
    db,
    ...instrumented(db, metrics, guard),
    async migrate() {
      // A one-connection client, so the advisory lock and the migration share one session.
      const session = postgres(url, { max: 1, onnotice: () => {}, connect_timeout: 5 });
      try {
        await session`select pg_advisory_lock(${MIGRATION_LOCK_KEY})`;
        await migratePostgres(drizzlePostgres(session), { migrationsFolder: MIGRATIONS_FOLDER });
      } finally {
        await session.end({ timeout: 5 });
      }
    },
    async check() {
      await client`select 1`;
    },
    async close() {
      await client.end({ timeout: 5 });
    },
  };
}

async function createPglite(dataDir: string, options: DatabaseOptions): Promise<Database> {
  if (!dataDir.startsWith("memory://")) mkdirSync(dataDir, { recursive: true });
  const client = new PGlite(dataDir);
  await client.waitReady;
  const db = drizzlePglite(client, { schema }) as unknown as Db;
  const metrics = poolMetrics(options.registry, "pglite", 1);
  const guard = databaseGuard(
    "pglite",
    {
      poolSize: 1,
      maxWaiting: options.maxWaiting ?? 1000,
      acquireTimeoutMs: options.acquireTimeoutMs ?? 5000,
    },
    options.registry,
  );
  let closed = false;
  return {
    kind: "pglite",
    db,
    ...instrumented(db, metrics, guard),
    // PGlite is one connection owned by this process, so there is no other migrator to lock out.
    async migrate() {
      await migratePglite(drizzlePglite(client), { migrationsFolder: MIGRATIONS_FOLDER });
    },
    async check() {
      if (closed) throw new Error("database closed");
      await client.query("select 1");
    },
    async close() {
      if (closed) return;
      closed = true;
      await client.close();
    },
  };
}
