import { z } from "zod";

export const MAX_JSON_DEPTH = 32;

const token = (max: number) => z.string().trim().min(1).max(max);

/** The generic intake body; the same schema validates requests and documents them. */
export const hookEnvelopeSchema = z.object({
  source: token(128),
  action: token(128),
  resource: token(128),
  resource_id: token(256),
  payload: z.unknown().refine((v) => v !== undefined, { message: "payload is required" }),
  correlation_id: token(128).optional(),
});

export type HookEnvelopeInput = z.infer<typeof hookEnvelopeSchema>;

export interface HookEnvelope {
  source: string;
  action: string;
  resource: string;
  resource_id: string;
  payload: unknown;
  correlation_id?: string | undefined;
  delivery_id?: string | undefined;
}

/** The value of a `workflow.events` record, as ARCHITECTURE.md fixes it. */
export interface HookEvent {
  event_id: string;
  source: string;
  action: string;
  resource: string;
  resource_id: string;
  correlation_id: string | null;
  delivery_id: string | null;
  received_at: string;
  payload: unknown;
  replay_of?: string;
}

export const eventKey = (e: { source: string; resource_id: string }) => `${e.source}:${e.resource_id}`;

/** Depth of nested arrays and objects, stopping as soon as `limit` is passed. */
export function exceedsDepth(value: unknown, limit: number): boolean {
  const stack: [unknown, number][] = [[value, 1]];
  while (stack.length > 0) {
    const [node, depth] = stack.pop()!;
    if (node === null || typeof node !== "object") continue;
    if (depth > limit) return true;
    const children = Array.isArray(node) ? node : Object.values(node);
    for (const child of children)
      if (child !== null && typeof child === "object") stack.push([child, depth + 1]);
  }
  return false;
}
