import { mkdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { PGlite } from "@electric-sql/pglite";
import type { ExtractTablesWithRelations } from "drizzle-orm";
import type { PgDatabase, PgQueryResultHKT, PgTransaction } from "drizzle-orm/pg-core";
import { drizzle as drizzlePglite } from "drizzle-orm/pglite";
import { migrate as migratePglite } from "drizzle-orm/pglite/migrator";
import { drizzle as drizzlePostgres } from "drizzle-orm/postgres-js";
import { migrate as migratePostgres } from "drizzle-orm/postgres-js/migrator";
import postgres from "postgres";
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

function instrumented(db: Db, metrics: PoolMetrics): Pick<Database, "run" | "transaction"> {
  const timed = async <T>(operation: string, fn: () => Promise<T>): Promise<T> => {
    const start = performance.now();
    metrics.begin();
    try {
      const result = await fn();
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
  return {
    kind: "postgres",
    db,
    ...instrumented(db, metrics),
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
  let closed = false;
  return {
    kind: "pglite",
    db,
    ...instrumented(db, metrics),
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
