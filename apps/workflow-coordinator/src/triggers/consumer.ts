import type { EventBus, IncomingMessage, Subscription } from "../../../../shared/bus/interface.ts";
import { dlqTopic, TOPICS } from "../../../../shared/bus/topics.ts";
import type { Logger } from "../../../../shared/logger.ts";
import type { Trigger } from "../definition/schema.ts";
import type { WorkflowScheduler } from "../engine/scheduler.ts";
import type { DefinitionStore, StoredDefinition } from "../store/definitions.ts";

export const TRIGGER_GROUP_ID = "workflow-coordinator.triggers";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

interface HookEvent {
  event_id: string;
  source?: string;
  action?: string;
  resource?: string;
  [key: string]: unknown;
}

export function triggerMatches(trigger: Trigger, event: HookEvent): boolean {
  return (
    (trigger.source === undefined || trigger.source === event.source) &&
    (trigger.action === undefined || trigger.action === event.action) &&
    (trigger.resource === undefined || trigger.resource === event.resource)
  );
}

/** The idempotency key of a triggered run: one run per event and definition, however often it is delivered. */
export const triggerIdempotencyKey = (eventId: string, definition: string) =>
  `trigger:${eventId}:${definition}`;

/**
 * Starts every registered definition whose trigger matches a workflow.events message. Starts are
 * idempotent by event id, so redelivery (at-least-once) starts nothing new; a message that is not an
 * event goes to the dead-letter topic with the reason.
 */
export class TriggerConsumer {
  private subscription: Subscription | undefined;

  constructor(
    private readonly bus: EventBus,
    private readonly definitions: DefinitionStore,
    private readonly scheduler: WorkflowScheduler,
    private readonly logger: Logger,
  ) {}

  async start(): Promise<void> {
    this.subscription = await this.bus.subscribe({
      groupId: TRIGGER_GROUP_ID,
      topics: [TOPICS.events],
      handler: (batch) => this.handle(batch),
    });
  }

  async stop(): Promise<void> {
    await this.subscription?.stop();
    this.subscription = undefined;
  }

  private async handle(batch: IncomingMessage[]): Promise<void> {
    const definitions = (await this.definitions.latest()).filter(
      (d) => (d.definition.triggers ?? []).length > 0,
    );
    const rejected: { message: IncomingMessage; reason: string }[] = [];
    const starts: Promise<unknown>[] = [];
    for (const message of batch) {
      const event = parseEvent(message.value);
      if (typeof event === "string") {
        rejected.push({ message, reason: event });
        continue;
      }
      for (const stored of definitions) {
        if (!(stored.definition.triggers ?? []).some((t) => triggerMatches(t, event))) continue;
        starts.push(this.startFor(stored, event));
      }
    }
    await Promise.all(starts);
    if (rejected.length > 0) {
      this.logger.warn(
        { count: rejected.length },
        "workflow.events messages that are not events went to the DLQ",
      );
      await this.bus.publish(
        dlqTopic(TOPICS.events),
        rejected.map(({ message, reason }) => ({
          key: message.key,
          value: message.value,
          headers: { reason, "source-partition": String(message.partition), "source-offset": message.offset },
        })),
      );
    }
  }

  private async startFor(stored: StoredDefinition, event: HookEvent): Promise<void> {
    const { created, run } = await this.scheduler.startRun({
      definition: stored.definition,
      version: stored.version,
      input: event,
      priority: 0,
      idempotencyKey: triggerIdempotencyKey(event.event_id, stored.name),
      triggerEventId: UUID.test(event.event_id) ? event.event_id : undefined,
    });
    if (created)
      this.logger.info({ workflow_id: run.id, event_id: event.event_id, name: stored.name }, "triggered");
  }
}

function parseEvent(value: string): HookEvent | string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    return "value is not JSON";
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed))
    return "value is not a JSON object";
  const event = parsed as HookEvent;
  if (typeof event.event_id !== "string" || event.event_id === "") return "event_id is missing";
  return event;
}
