import { TOPICS } from "../../../../shared/bus/topics.ts";
import { ApiError } from "../../../../shared/errors.ts";
import { counter, type Registry } from "../../../../shared/metrics.ts";
import { type DurablePublisher, NotDurableError, QueueFullError } from "../publishing/durable-publisher.ts";
import type { Deduplicator } from "./deduplicator.ts";
import { eventKey, type HookEnvelope, type HookEvent } from "./envelope.ts";

export interface IntakeResult {
  status: "accepted" | "duplicate";
  event_id: string;
}

const MAX_LABEL_VALUES = 200;

/** Keeps a client-chosen label from growing the metric without bound: past the cap it reads "other". */
function boundedLabel(seen: Set<string>, value: string): string {
  if (seen.has(value)) return value;
  if (seen.size >= MAX_LABEL_VALUES) return "other";
  seen.add(value);
  return value;
}

/** Turns a verified envelope into a durable `workflow.events` record, once per dedupe key. */
export class HookIntake {
  private readonly received;
  private readonly dedupeHits;
  private readonly sources = new Set<string>();
  private readonly actions = new Set<string>();

  constructor(
    private readonly publisher: DurablePublisher,
    private readonly deduplicator: Deduplicator,
    registry: Registry,
    private readonly now: () => Date = () => new Date(),
  ) {
    this.received = counter(registry, {
      name: "hooks_received_total",
      help: "Hooks received by source, action and outcome",
      labelNames: ["source", "action", "outcome"],
    });
    this.dedupeHits = counter(registry, {
      name: "hook_dedupe_hits_total",
      help: "Deliveries answered as duplicates of an earlier one",
      labelNames: ["source"],
    });
  }

  /** Counts a delivery refused before intake (bad signature, validation, rate limit). */
  reject(source: string, action: string, outcome: string): void {
    this.count(source, action, outcome);
  }

  async accept(envelope: HookEnvelope, dedupeKey?: string): Promise<IntakeResult> {
    const eventId = Bun.randomUUIDv7();
    if (dedupeKey) {
      const claim = await this.deduplicator.claim(dedupeKey, eventId);
      if (claim.status === "duplicate") {
        this.dedupeHits.inc({ source: boundedLabel(this.sources, envelope.source) });
        this.count(envelope.source, envelope.action, "duplicate");
        return { status: "duplicate", event_id: claim.eventId };
      }
      if (claim.status === "in_progress") {
        this.count(envelope.source, envelope.action, "in_progress");
        throw new ApiError(
          409,
          "CONFLICT",
          "a delivery with this key is still being processed; retry shortly",
          {
            headers: { "Retry-After": "1" },
          },
        );
      }
    }
    const event: HookEvent = {
      event_id: eventId,
      source: envelope.source,
      action: envelope.action,
      resource: envelope.resource,
      resource_id: envelope.resource_id,
      correlation_id: envelope.correlation_id ?? null,
      delivery_id: envelope.delivery_id ?? null,
      received_at: this.now().toISOString(),
      payload: envelope.payload,
    };
    try {
      await this.publisher.publish(TOPICS.events, {
        key: eventKey(event),
        value: JSON.stringify(event),
        headers: { event_id: eventId },
      });
    } catch (err) {
      if (dedupeKey) await this.deduplicator.release(dedupeKey);
      this.count(envelope.source, envelope.action, err instanceof QueueFullError ? "shed" : "unavailable");
      if (err instanceof QueueFullError) {
        throw new ApiError(503, "SERVICE_UNAVAILABLE", "receiver is at capacity; retry shortly", {
          headers: { "Retry-After": "1" },
        });
      }
      if (err instanceof NotDurableError) {
        throw new ApiError(
          503,
          "SERVICE_UNAVAILABLE",
          "event could not be made durable: Kafka and Postgres are unavailable",
          {
            headers: { "Retry-After": "5" },
          },
        );
      }
      throw err;
    }
    // Not awaited: a retry racing the commit sees the pending claim and waits for it.
    if (dedupeKey) void this.deduplicator.commit(dedupeKey, eventId);
    this.count(envelope.source, envelope.action, "accepted");
    return { status: "accepted", event_id: eventId };
  }

  private count(source: string, action: string, outcome: string): void {
    this.received.inc({
      source: boundedLabel(this.sources, source),
      action: boundedLabel(this.actions, action),
      outcome,
    });
  }
}
