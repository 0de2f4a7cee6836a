import { readId, readString, requireObject } from "./payload.ts";
import {
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

const SIGNATURE_HEADER = "X-Shopify-Hmac-Sha256";
const GRAPHQL_ID = /^gid:\/\/shopify\/[A-Za-z]+\/(\d+)$/;

/** Shopify signs no timestamp, so replays are stopped by X-Shopify-Webhook-Id deduplication instead. */
export function verifyShopifySignature(secret: string, req: ProviderRequest): Verification {
  if (!secret) return missingSecret();
  const header = req.headers.get(SIGNATURE_HEADER);
  if (header === null) return missingHeader(SIGNATURE_HEADER);
  const provided = decodeBase64Digest(header.trim());
  if (!provided) return { ok: false, reason: `malformed ${SIGNATURE_HEADER} header (expected base64)` };
  return digestMatchesAny(hmacSha256(secret, req.rawBody), [provided]) ? { ok: true } : SIGNATURE_MISMATCH;
}

/**
 * Shopify ids can exceed 2^53 and lose digits in JSON.parse, so the exact id is taken from
 * admin_graphql_api_id when the payload has one.
 */
export function shopifyObjectId(body: Record<string, unknown>): string | undefined {
  const graphqlId = readString(body, "admin_graphql_api_id")?.match(GRAPHQL_ID)?.[1];
  return graphqlId ?? readId(body, "id");
}

/** Shop-level topics without an object id (shop/redact) use the shop domain alone as resource_id. */
export function shopifyEnvelope(req: ProviderRequest, body: unknown): ProviderEnvelope {
  const topic = req.headers.get("X-Shopify-Topic");
  const shop = req.headers.get("X-Shopify-Shop-Domain");
  const deliveryId = req.headers.get("X-Shopify-Webhook-Id") || req.headers.get("X-Shopify-Event-Id");
  if (!topic) throw new ProviderPayloadError("shopify", "missing X-Shopify-Topic header");
  if (!shop) throw new ProviderPayloadError("shopify", "missing X-Shopify-Shop-Domain header");
  if (!deliveryId) {
    throw new ProviderPayloadError("shopify", "missing X-Shopify-Webhook-Id and X-Shopify-Event-Id headers");
  }
  const id = shopifyObjectId(requireObject("shopify", body));
  return {
    action: topic,
    resource: topic.split("/")[0] ?? topic,
    resource_id: id === undefined ? shop : `${shop}:${id}`,
    delivery_id: deliveryId,
    payload: body,
  };
}

export const shopify: WebhookProvider = {
  name: "shopify",
  verify: verifyShopifySignature,
  toEnvelope: shopifyEnvelope,
};
