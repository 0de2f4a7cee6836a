import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { eq, sql } from "drizzle-orm";
import { DependencyUnavailableError } from "../shared/errors.ts";
import { createRegistry } from "../shared/metrics.ts";
import { createTestDatabase, type TestDatabase } from "../shared/testing/services.ts";
import { TcpProxy } from "../shared/testing/tcp-proxy.ts";
import { createDatabase, type Database } from "./client.ts";
import { hookEvents } from "./schema/index.ts";

let testDb: TestDatabase;
beforeAll(async () => {
  testDb = await createTestDatabase("db_contract");
});
afterAll(() => testDb.drop());

const adapters: [string, () => Promise<Database>][] = [
  ["postgres", () => createDatabase({ url: testDb.url, poolSize: 4 })],
  ["pglite", () => createDatabase({ dataDir: "memory://" })],
];

/** postgres.js returns the rows as the result; PGlite wraps them in `rows`. */
function rowsOf<T>(result: unknown): T[] {
  return ((result as { rows?: T[] }).rows ?? result) as T[];
}

const event = (id: string) => ({
  eventId: id,
  source: "github",
  action: "push",
  resource: "repository",
  resourceId: "acme/widgets",
  receivedAt: new Date("2026-01-01T00:00:00Z"),
  payload: { ref: "refs/heads/main", nested: { n: 1 } },
});

describe.each(adapters)("database contract: %s", (_name, make) => {
  let database: Database;
  beforeAll(async () => {
    database = await make();
    await database.migrate();
  });
  afterAll(() => database.close());

  test("migrations can be applied again without error", async () => {
    await database.migrate();
    const tables = await database.db.execute(
      sql`select table_name from information_schema.tables where table_schema = 'public' order by 1`,
    );
    const names =
      (tables as unknown as { rows?: { table_name: string }[] }).rows ??
      (tables as unknown as { table_name: string }[]);
    expect(names.map((r) => r.table_name)).toContain("hook_events");
  });

  test("a row written is read back with its JSON payload intact", async () => {
    const id = Bun.randomUUIDv7();
    await database.run("insert_event", (db) => db.insert(hookEvents).values(event(id)));
    const [row] = await database.run("get_event", (db) =>
      db.select().from(hookEvents).where(eq(hookEvents.eventId, id)),
    );
    expect(row?.payload).toEqual({ ref: "refs/heads/main", nested: { n: 1 } });
    expect(row?.receivedAt.toISOString()).toBe("2026-01-01T00:00:00.000Z");
  });

  test("an insert that conflicts on the key changes nothing", async () => {
    const id = Bun.randomUUIDv7();
    await database.run("insert_event", (db) => db.insert(hookEvents).values(event(id)));
    await database.run("insert_event", (db) =>
      db
        .insert(hookEvents)
        .values({ ...event(id), action: "changed" })
        .onConflictDoNothing(),
    );
    const rows = await database.run("get_event", (db) =>
      db.select().from(hookEvents).where(eq(hookEvents.eventId, id)),
    );
    expect(rows).toHaveLength(1);
    expect(rows[0]?.action).toBe("push");
  });

  test("a transaction that throws leaves nothing behind", async () => {
    const id = Bun.randomUUIDv7();
    await expect(
      database.transaction("failing", async (tx) => {
        await tx.insert(hookEvents).values(event(id));
        throw new Error("abort");
      }),
    ).rejects.toThrow("abort");
    const rows = await database.run("get_event", (db) =>
      db.select().from(hookEvents).where(eq(hookEvents.eventId, id)),
    );
    expect(rows).toHaveLength(0);
  });

  test("check passes while the database answers", async () => {
    await database.check();
  });
});

describe("postgres specifics", () => {
  test("several instances migrating at once all succeed, under the advisory lock", async () => {
    const fresh = await createTestDatabase("db_migrate_race");
    const instances = await Promise.all(
      Array.from({ length: 4 }, () => createDatabase({ url: fresh.url, poolSize: 2 })),
    );
    try {
      await Promise.all(instances.map((d) => d.migrate()));
      const result = await instances[0]!.db.execute(
        sql`select count(*)::int as n from drizzle.__drizzle_migrations`,
      );
      expect(rowsOf<{ n: number }>(result)[0]?.n).toBeGreaterThanOrEqual(1);
    } finally {
      await Promise.all(instances.map((d) => d.close()));
      await fresh.drop();
    }
  });

  test("query duration and pool gauges reach the metrics registry", async () => {
    const registry = createRegistry({ defaultMetrics: false });
    const database = await createDatabase({ url: testDb.url, poolSize: 3, registry });
    try {
      await database.run("ping", (db) => db.execute(sql`select 1`));
      const text = await registry.metrics();
      expect(text).toMatch(
        /db_query_duration_seconds_count\{db="postgres",operation="ping",outcome="ok"\} 1/,
      );
      expect(text).toMatch(/db_pool_connections\{db="postgres",state="idle"\} 3/);
    } finally {
      await database.close();
    }
  });

  test("a statement over the statement timeout is cancelled by the server", async () => {
    const database = await createDatabase({ url: testDb.url, poolSize: 1, statementTimeoutMs: 100 });
    try {
      const error = await database
        .run("sleep", (db) => db.execute(sql`select pg_sleep(1)`))
        .catch((e: Error) => e);
      // A statement timeout is an infrastructure failure: answered as the database being unavailable.
      expect(error).toBeInstanceOf(DependencyUnavailableError);
      const chain: string[] = [];
      for (let e: unknown = error; e instanceof Error; e = e.cause) chain.push(e.message);
      expect(chain.join(" | ")).toMatch(/statement timeout/);
    } finally {
      await database.close();
    }
  });

  test("with Postgres unreachable, check fails within a bounded time and recovers after", async () => {
    const target = new URL(testDb.url);
    const proxy = await TcpProxy.start(target.hostname, Number(target.port || 5432));
    const url = new URL(testDb.url);
    url.host = `127.0.0.1:${proxy.port}`;
    const database = await createDatabase({ url: url.toString(), poolSize: 2 });
    try {
      await database.check();
      proxy.down();
      const started = performance.now();
      await expect(database.check()).rejects.toThrow();
      expect(performance.now() - started).toBeLessThan(6000);
      proxy.up();
      await database.check();
    } finally {
      await database.close();
      proxy.stop();
    }
  });
});

describe("the database guard", () => {
  test("after repeated connection failures the circuit opens, refuses at once, and closes when Postgres is back", async () => {
    const target = new URL(testDb.url);
    const proxy = await TcpProxy.start(target.hostname, Number(target.port || 5432));
    const url = new URL(testDb.url);
    url.host = `127.0.0.1:${proxy.port}`;
    const registry = createRegistry({ defaultMetrics: false });
    // A short acquire timeout: queued operations fail fast too, as they would under a real outage.
    const database = await createDatabase({
      url: url.toString(),
      poolSize: 2,
      registry,
      acquireTimeoutMs: 300,
    });
    try {
      await database.check();
      proxy.down();
      // Requests pile up during an outage; a dozen at once is enough failures for the circuit to judge.
      await Promise.allSettled(
        Array.from({ length: 12 }, () => database.run("ping", (db) => db.execute(sql`select 1`))),
      );
      const started = performance.now();
      const refused = await database.run("ping", (db) => db.execute(sql`select 1`)).catch((e: Error) => e);
      expect(refused).toBeInstanceOf(DependencyUnavailableError);
      expect((refused as Error).message).toContain("circuit open");
      expect(performance.now() - started).toBeLessThan(50);
      expect(await registry.metrics()).toMatch(/db_circuit_state\{db="postgres"\} 2/);

      proxy.up();
      // The driver backs off between reconnects, so recovery is awaited rather than timed.
      const deadline = Date.now() + 20_000;
      let recovered = false;
      while (!recovered && Date.now() < deadline) {
        recovered = await database
          .run("ping", (db) => db.execute(sql`select 1`))
          .then(
            () => true,
            () => false,
          );
        if (!recovered) await Bun.sleep(250);
      }
      expect(recovered).toBe(true);
      expect(await registry.metrics()).toMatch(/db_circuit_state\{db="postgres"\} 0/);
    } finally {
      await database.close();
      proxy.stop();
    }
  });

  test("an operation that cannot get a connection in time fails instead of waiting on", async () => {
    const database = await createDatabase({ url: testDb.url, poolSize: 1, acquireTimeoutMs: 100 });
    try {
      const slow = database.run("sleep", (db) => db.execute(sql`select pg_sleep(0.5)`));
      const started = performance.now();
      const starved = await database.run("ping", (db) => db.execute(sql`select 1`)).catch((e: Error) => e);
      expect(starved).toBeInstanceOf(DependencyUnavailableError);
      expect(performance.now() - started).toBeLessThan(400);
      await slow;
    } finally {
      await database.close();
    }
  });

  test("past the waiting bound operations are refused at once instead of queueing", async () => {
    const registry = createRegistry({ defaultMetrics: false });
    const database = await createDatabase({ url: testDb.url, poolSize: 1, maxWaiting: 2, registry });
    try {
      const results = await Promise.allSettled(
        Array.from({ length: 5 }, () => database.run("sleep", (db) => db.execute(sql`select pg_sleep(0.2)`))),
      );
      expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(3);
      const refused = results.filter((r): r is PromiseRejectedResult => r.status === "rejected");
      expect(refused).toHaveLength(2);
      expect(refused.every((r) => r.reason instanceof DependencyUnavailableError)).toBe(true);
      expect(await registry.metrics()).toMatch(
        /db_rejected_total\{db="postgres",reason="pool_exhausted"\} 2/,
      );
    } finally {
      await database.close();
    }
  });

  test("constraint violations do not open the circuit", async () => {
    const database = await createDatabase({ url: testDb.url, poolSize: 2 });
    try {
      await database.migrate();
      const id = Bun.randomUUIDv7();
      await database.run("insert", (db) => db.insert(hookEvents).values(event(id)));
      for (let i = 0; i < 15; i++) {
        await database.run("insert", (db) => db.insert(hookEvents).values(event(id))).catch(() => {});
      }
      await database.run("ping", (db) => db.execute(sql`select 1`));
    } finally {
      await database.close();
    }
  });
});
