import { createHash } from "node:crypto";
import { asObject, type JsonObject, readId, readString, requireObject, requireValue } from "./payload.ts";
import {
  checkTimestamp,
  decodeHexDigest,
  digestMatchesAny,
  hmacSha256,
  missingHeader,
  missingSecret,
  SIGNATURE_MISMATCH,
} from "./signature.ts";
import {
  type ProviderEnvelope,
  ProviderPayloadError,
  type ProviderRequest,
  type Verification,
  type WebhookProvider,
} from "./types.ts";

const SIGNATURE_HEADER = "X-Slack-Signature";
const TIMESTAMP_HEADER = "X-Slack-Request-Timestamp";
const SIGNATURE_PREFIX = "v0=";
export const SLACK_TOLERANCE_SECONDS = 300;

export function verifySlackSignature(secret: string, req: ProviderRequest): Verification {
  if (!secret) return missingSecret();
  const header = req.headers.get(SIGNATURE_HEADER);
  const timestamp = req.headers.get(TIMESTAMP_HEADER);
  if (header === null) return missingHeader(SIGNATURE_HEADER);
  if (timestamp === null) return missingHeader(TIMESTAMP_HEADER);
  const fresh = checkTimestamp(TIMESTAMP_HEADER, timestamp, req.nowMs, SLACK_TOLERANCE_SECONDS);
  if (!fresh.ok) return fresh;
  const provided = header.startsWith(SIGNATURE_PREFIX)
    ? decodeHexDigest(header.slice(SIGNATURE_PREFIX.length))
    : undefined;
  if (!provided) return { ok: false, reason: `malformed ${SIGNATURE_HEADER} header (expected v0=<hex>)` };
  const expected = hmacSha256(secret, `v0:${timestamp}:${req.rawBody}`);
  return digestMatchesAny(expected, [provided]) ? { ok: true } : SIGNATURE_MISMATCH;
}

export type SlackBody =
  | { kind: "events_api"; body: JsonObject }
  | { kind: "interactivity"; body: JsonObject }
  | { kind: "slash_command"; body: JsonObject };

function isFormEncoded(req: ProviderRequest): boolean {
  const contentType = req.headers.get("content-type") ?? "";
  return contentType.split(";")[0]?.trim().toLowerCase() === "application/x-www-form-urlencoded";
}

/**
 * Events API deliveries are JSON. Interactivity deliveries are form-encoded with the JSON in a `payload`
 * field, and slash commands are plain form fields, so form bodies are always read from the raw body
 * whatever the caller managed to parse.
 */
export function parseSlackBody(req: ProviderRequest, parsedJson?: unknown): SlackBody {
  if (!isFormEncoded(req)) {
    const body = parsedJson === undefined ? parseJson(req.rawBody, "body") : parsedJson;
    return { kind: "events_api", body: requireObject("slack", body) };
  }
  const form = new URLSearchParams(req.rawBody);
  const payload = form.get("payload");
  if (payload !== null) {
    return { kind: "interactivity", body: requireObject("slack", parseJson(payload, "payload field")) };
  }
  if (form.has("command")) return { kind: "slash_command", body: Object.fromEntries(form) };
  throw new ProviderPayloadError("slack", "form body has neither a payload field nor a command");
}

function parseJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new ProviderPayloadError("slack", `${what} is not valid JSON`);
  }
}

/** Slack puts the channel in different places depending on the event type. */
function eventChannel(event: JsonObject): string | undefined {
  return (
    readString(event, "channel") ??
    readString(asObject(event.channel), "id") ??
    readString(event, "channel_id") ??
    readString(asObject(event.item), "channel")
  );
}

/** resource is `channel` when the delivery names one and `team` otherwise; resource_id is always `team:channel`. */
function scoped(team: string, channel: string | undefined): { resource: string; resource_id: string } {
  return { resource: channel ? "channel" : "team", resource_id: `${team}:${channel ?? ""}` };
}

/**
 * url_verification names no team, so it is filed under the app itself; normally it is answered by
 * immediateResponse and never mapped.
 */
function eventsApiEnvelope(body: JsonObject): Omit<ProviderEnvelope, "payload"> {
  const type = requireValue("slack", readString(body, "type"), "type");
  if (type === "url_verification") {
    const challenge = requireValue("slack", readString(body, "challenge"), "challenge");
    return {
      action: type,
      resource: "app",
      resource_id: "app",
      delivery_id: `url_verification:${challenge}`,
    };
  }
  const team = requireValue(
    "slack",
    readString(body, "team_id") ?? readString(body, "enterprise_id"),
    "team_id",
  );
  if (type === "app_rate_limited") {
    const minute = requireValue("slack", readId(body, "minute_rate_limited"), "minute_rate_limited");
    return { action: type, ...scoped(team, undefined), delivery_id: `app_rate_limited:${team}:${minute}` };
  }
  if (type !== "event_callback") throw new ProviderPayloadError("slack", `unsupported payload type ${type}`);
  const event = requireValue("slack", asObject(body.event), "event");
  return {
    action: requireValue("slack", readString(event, "type"), "event.type"),
    ...scoped(team, eventChannel(event)),
    delivery_id: requireValue("slack", readString(body, "event_id"), "event_id"),
  };
}

/**
 * Interaction payloads carry no delivery id; trigger_id is unique per interaction, and the few types
 * without one (view_closed) are keyed by a hash of the body so an identical resend still deduplicates.
 */
function interactivityEnvelope(body: JsonObject, rawBody: string): Omit<ProviderEnvelope, "payload"> {
  const type = requireValue("slack", readString(body, "type"), "payload type");
  const team = requireValue(
    "slack",
    readString(asObject(body.team), "id") ?? readString(asObject(body.user), "team_id"),
    "team.id",
  );
  const channel =
    readString(asObject(body.channel), "id") ?? readString(asObject(body.container), "channel_id");
  const deliveryId =
    readString(body, "trigger_id") ?? `${type}:${createHash("sha256").update(rawBody).digest("hex")}`;
  return { action: type, ...scoped(team, channel), delivery_id: deliveryId };
}

function slashCommandEnvelope(body: JsonObject): Omit<ProviderEnvelope, "payload"> {
  return {
    action: "slash_command",
    ...scoped(requireValue("slack", readString(body, "team_id"), "team_id"), readString(body, "channel_id")),
    delivery_id: requireValue("slack", readString(body, "trigger_id"), "trigger_id"),
  };
}

export function slackEnvelope(req: ProviderRequest, body: unknown): ProviderEnvelope {
  const parsed = parseSlackBody(req, body);
  const mapped =
    parsed.kind === "events_api"
      ? eventsApiEnvelope(parsed.body)
      : parsed.kind === "interactivity"
        ? interactivityEnvelope(parsed.body, req.rawBody)
        : slashCommandEnvelope(parsed.body);
  return { ...mapped, payload: parsed.body };
}

export function slackImmediateResponse(body: unknown): { challenge: string } | undefined {
  const object = asObject(body);
  const challenge = readString(object, "challenge");
  return readString(object, "type") === "url_verification" && challenge ? { challenge } : undefined;
}

export const slack: WebhookProvider = {
  name: "slack",
  verify: verifySlackSignature,
  toEnvelope: slackEnvelope,
  immediateResponse: slackImmediateResponse,
};
