import { asObject, readId, readString, requireObject, requireValue } from "./payload.ts";
import {
  checkTimestamp,
  decodeHexDigest,
  digestMatchesAny,
  hmacSha256,
  missingHeader,
  missingSecret,
  SIGNATURE_MISMATCH,
} from "./signature.ts";
import type { ProviderEnvelope, ProviderRequest, Verification, WebhookProvider } from "./types.ts";

const SIGNATURE_HEADER = "Stripe-Signature";
export const STRIPE_TOLERANCE_SECONDS = 300;

interface StripeSignatureHeader {
  timestamp: string | undefined;
  v1: string[];
}

/** Unknown schemes (v0 is Stripe's test-mode scheme) are ignored; only v1 authenticates. */
function parseStripeSignatureHeader(header: string): StripeSignatureHeader {
  const parsed: StripeSignatureHeader = { timestamp: undefined, v1: [] };
  for (const part of header.split(",")) {
    const separator = part.indexOf("=");
    if (separator < 0) continue;
    const key = part.slice(0, separator).trim();
    const value = part.slice(separator + 1).trim();
    if (key === "t") parsed.timestamp = value;
    else if (key === "v1") parsed.v1.push(value);
  }
  return parsed;
}

/**
 * Stripe's own library only rejects old timestamps; future ones are rejected here as well, because a
 * timestamp far ahead of our clock would otherwise stretch the replay window.
 */
export function verifyStripeSignature(secret: string, req: ProviderRequest): Verification {
  if (!secret) return missingSecret();
  const header = req.headers.get(SIGNATURE_HEADER);
  if (header === null) return missingHeader(SIGNATURE_HEADER);
  const { timestamp, v1 } = parseStripeSignatureHeader(header);
  if (timestamp === undefined) return { ok: false, reason: `${SIGNATURE_HEADER} header has no t= timestamp` };
  if (v1.length === 0) return { ok: false, reason: `${SIGNATURE_HEADER} header has no v1 signature` };
  const fresh = checkTimestamp(
    `${SIGNATURE_HEADER} timestamp`,
    timestamp,
    req.nowMs,
    STRIPE_TOLERANCE_SECONDS,
  );
  if (!fresh.ok) return fresh;
  const candidates = v1.map(decodeHexDigest).filter((digest): digest is Buffer => digest !== undefined);
  const expected = hmacSha256(secret, `${timestamp}.${req.rawBody}`);
  return digestMatchesAny(expected, candidates) ? { ok: true } : SIGNATURE_MISMATCH;
}

/**
 * Singleton objects such as `balance` carry no id; their object type stands in as resource_id so their
 * events still share one ordering key.
 */
export function stripeEnvelope(_req: ProviderRequest, body: unknown): ProviderEnvelope {
  const event = requireObject("stripe", body);
  const object = requireValue("stripe", asObject(asObject(event.data)?.object), "data.object");
  const objectType = requireValue("stripe", readString(object, "object"), "data.object.object");
  return {
    action: requireValue("stripe", readString(event, "type"), "event type"),
    resource: objectType,
    resource_id: readId(object, "id") ?? objectType,
    delivery_id: requireValue("stripe", readString(event, "id"), "event id"),
    payload: body,
  };
}

export const stripe: WebhookProvider = {
  name: "stripe",
  verify: verifyStripeSignature,
  toEnvelope: stripeEnvelope,
};
