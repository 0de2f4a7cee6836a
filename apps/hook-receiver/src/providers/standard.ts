import { asObject, readId, readString, requireObject, requireValue } from "./payload.ts";
import {
  checkTimestamp,
  decodeBase64Digest,
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

const SECRET_PREFIX = "whsec_";
const BASE64_SECRET = /^[A-Za-z0-9+/]+={0,2}$/;
export const STANDARD_TOLERANCE_SECONDS = 300;

/**
 * `whsec_<base64>` is the spec's form and its decoded bytes are the key. A secret without the prefix is
 * taken as raw UTF-8 bytes (what the standardwebhooks libraries call `format: "raw"`), so a sender that
 * holds a bare base64 key must be configured here with the `whsec_` prefix added.
 */
export function standardSigningKey(secret: string): Buffer | undefined {
  if (!secret.startsWith(SECRET_PREFIX)) return secret ? Buffer.from(secret, "utf8") : undefined;
  const encoded = secret.slice(SECRET_PREFIX.length);
  if (!BASE64_SECRET.test(encoded)) return undefined;
  const key = Buffer.from(encoded, "base64");
  return key.length > 0 ? key : undefined;
}

/** Signature versions other than v1 (for example v1a, asymmetric) are skipped, as the spec requires. */
export function verifyStandardSignature(secret: string, req: ProviderRequest): Verification {
  if (!secret) return missingSecret();
  const key = standardSigningKey(secret);
  if (!key) return { ok: false, reason: "the configured signing secret is not a valid whsec_ key" };
  const id = req.headers.get("webhook-id");
  const timestamp = req.headers.get("webhook-timestamp");
  const signatures = req.headers.get("webhook-signature");
  if (!id) return missingHeader("webhook-id");
  if (timestamp === null) return missingHeader("webhook-timestamp");
  if (signatures === null) return missingHeader("webhook-signature");
  const fresh = checkTimestamp("webhook-timestamp", timestamp, req.nowMs, STANDARD_TOLERANCE_SECONDS);
  if (!fresh.ok) return fresh;
  const candidates: Buffer[] = [];
  for (const entry of signatures.split(" ")) {
    const [version, signature] = entry.split(",", 2);
    const digest = version === "v1" && signature ? decodeBase64Digest(signature) : undefined;
    if (digest) candidates.push(digest);
  }
  if (candidates.length === 0) return { ok: false, reason: "webhook-signature has no v1 signature" };
  const expected = hmacSha256(key, `${id}.${timestamp}.${req.rawBody}`);
  return digestMatchesAny(expected, candidates) ? { ok: true } : SIGNATURE_MISMATCH;
}

/** Events without `data.id` fall back to the webhook-id, which gives each such delivery its own ordering key. */
export function standardEnvelope(req: ProviderRequest, body: unknown): ProviderEnvelope {
  const deliveryId = req.headers.get("webhook-id");
  if (!deliveryId) throw new ProviderPayloadError("standard", "missing webhook-id header");
  const event = requireObject("standard", body);
  const type = requireValue("standard", readString(event, "type"), "type");
  return {
    action: type,
    resource: type.split(".")[0] ?? type,
    resource_id: readId(asObject(event.data), "id") ?? deliveryId,
    delivery_id: deliveryId,
    payload: body,
  };
}

export const standard: WebhookProvider = {
  name: "standard",
  verify: verifyStandardSignature,
  toEnvelope: standardEnvelope,
};
