import { asc, count, inArray, sql } from "drizzle-orm";
import type { Database } from "../../../../db/client.ts";
import { hookOutbox } from "../../../../db/schema/index.ts";

export interface OutboxRow {
  id: number;
  eventId: string;
  topic: string;
  key: string | null;
  value: string;
}

// One relay at a time across every receiver instance, so each resource's events leave in order.
const RELAY_LOCK_KEY = 7_310_214_552;

export class OutboxStore {
  constructor(private readonly database: Database) {}

  async insert(rows: Omit<OutboxRow, "id">[]): Promise<void> {
    if (rows.length === 0) return;
    await this.database.run("outbox_insert", (db) =>
      db.insert(hookOutbox).values(rows).onConflictDoNothing(),
    );
  }

  async depth(): Promise<number> {
    const [row] = await this.database.run("outbox_depth", (db) => db.select({ n: count() }).from(hookOutbox));
    return row?.n ?? 0;
  }

  /**
   * Hands the oldest rows to `publish` under the relay lock and deletes them once it resolves.
   * Returns how many rows were relayed, or null when another instance holds the lock.
   */
  async relayBatch(limit: number, publish: (rows: OutboxRow[]) => Promise<void>): Promise<number | null> {
    return this.database.transaction("outbox_relay", async (tx) => {
      const locked = await tx.execute(sql`select pg_try_advisory_xact_lock(${RELAY_LOCK_KEY}) as locked`);
      const lockRows = ((locked as { rows?: { locked: boolean }[] }).rows ?? locked) as { locked: boolean }[];
      if (!lockRows[0]?.locked) return null;
      const rows = await tx.select().from(hookOutbox).orderBy(asc(hookOutbox.id)).limit(limit);
      if (rows.length === 0) return 0;
      await publish(rows);
      await tx.delete(hookOutbox).where(
        inArray(
          hookOutbox.id,
          rows.map((r) => r.id),
        ),
      );
      return rows.length;
    });
  }
}
