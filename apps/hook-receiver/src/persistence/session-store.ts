import { and, desc, eq, lt, lte, type SQL, sql } from "drizzle-orm";
import type { Database } from "../../../../db/client.ts";
import { serviceSessions } from "../../../../db/schema/index.ts";
import type { HookEvent } from "../intake/envelope.ts";

export type ServiceSession = typeof serviceSessions.$inferSelect;

export const OPENING_ACTIONS = new Set(["startup", "ready", "registration"]);
export const CLOSING_ACTIONS = new Set(["shutdown", "deregistration"]);

/**
 * A lifecycle hook names its service by `payload.service_name` (else the event's source) and its
 * instance by `payload.instance_id` (else resource_id).
 */
export function sessionIdentity(event: HookEvent): { serviceName: string; instanceId: string } {
  const payload = (event.payload ?? {}) as Record<string, unknown>;
  const serviceName = typeof payload.service_name === "string" ? payload.service_name : event.source;
  const instanceId = typeof payload.instance_id === "string" ? payload.instance_id : event.resource_id;
  return { serviceName, instanceId };
}

export function toSessionView(s: ServiceSession) {
  return {
    id: s.id,
    service_name: s.serviceName,
    instance_id: s.instanceId,
    status: s.status,
    started_at: s.startedAt.toISOString(),
    last_seen_at: s.lastSeenAt.toISOString(),
    ended_at: s.endedAt?.toISOString() ?? null,
    end_reason: s.endReason,
    opened_by: s.openedBy,
    metadata: s.metadata,
  };
}

export class SessionStore {
  constructor(private readonly database: Database) {}

  /** Applies one lifecycle event; applying the same event again changes nothing. */
  async apply(event: HookEvent): Promise<void> {
    const { serviceName, instanceId } = sessionIdentity(event);
    const at = new Date(event.received_at);
    if (OPENING_ACTIONS.has(event.action)) {
      await this.database.transaction("session_open", async (tx) => {
        const seen = await tx
          .select({ id: serviceSessions.id })
          .from(serviceSessions)
          .where(eq(serviceSessions.openedBy, event.event_id))
          .limit(1);
        if (seen.length > 0) return;
        await tx
          .insert(serviceSessions)
          .values({
            id: Bun.randomUUIDv7(),
            serviceName,
            instanceId,
            status: "active",
            startedAt: at,
            lastSeenAt: at,
            openedBy: event.event_id,
            metadata: (event.payload as Record<string, unknown> | null) ?? {},
          })
          .onConflictDoUpdate({
            target: [serviceSessions.serviceName, serviceSessions.instanceId],
            targetWhere: sql`${serviceSessions.status} = 'active'`,
            set: { lastSeenAt: sql`greatest(${serviceSessions.lastSeenAt}, excluded.last_seen_at)` },
          });
      });
    } else if (CLOSING_ACTIONS.has(event.action)) {
      await this.database.run("session_close", (db) =>
        db
          .update(serviceSessions)
          .set({ status: "ended", endedAt: at, endReason: event.action })
          .where(
            and(
              eq(serviceSessions.serviceName, serviceName),
              eq(serviceSessions.instanceId, instanceId),
              eq(serviceSessions.status, "active"),
              lte(serviceSessions.startedAt, at),
            ),
          ),
      );
    }
  }

  async list(options: { status?: "active" | "ended" | undefined; limit: number; before?: Date | undefined }) {
    const conditions: SQL[] = [];
    if (options.status) conditions.push(eq(serviceSessions.status, options.status));
    if (options.before) conditions.push(lt(serviceSessions.startedAt, options.before));
    return this.database.run("sessions_list", (db) =>
      db
        .select()
        .from(serviceSessions)
        .where(conditions.length > 0 ? and(...conditions) : undefined)
        .orderBy(desc(serviceSessions.startedAt))
        .limit(options.limit),
    );
  }

  /** Ends an active session; undefined when it is unknown or already ended. */
  async end(id: string, reason: string): Promise<ServiceSession | undefined> {
    const [row] = await this.database.run("session_end", (db) =>
      db
        .update(serviceSessions)
        .set({ status: "ended", endedAt: new Date(), endReason: reason })
        .where(and(eq(serviceSessions.id, id), eq(serviceSessions.status, "active")))
        .returning(),
    );
    return row;
  }
}
