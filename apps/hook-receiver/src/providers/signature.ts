import { createHmac, timingSafeEqual } from "node:crypto";
import type { Verification } from "./types.ts";

const SHA256_BYTES = 32;
const HEX_DIGEST = /^[0-9a-fA-F]{64}$/;
const BASE64_DIGEST = /^[A-Za-z0-9+/]{43}=$/;

export function hmacSha256(key: string | Uint8Array, message: string): Buffer {
  return createHmac("sha256", key).update(message, "utf8").digest();
}

/**
 * Node's Buffer decoders silently skip invalid characters, so a digest is only decoded after its exact
 * textual shape is checked; otherwise two different header values could decode to the same bytes.
 */
export function decodeHexDigest(value: string): Buffer | undefined {
  return HEX_DIGEST.test(value) ? Buffer.from(value, "hex") : undefined;
}

export function decodeBase64Digest(value: string): Buffer | undefined {
  return BASE64_DIGEST.test(value) ? Buffer.from(value, "base64") : undefined;
}

/** Every candidate is compared in constant time, so response timing says nothing about how close a guess was. */
export function digestMatchesAny(expected: Buffer, candidates: readonly Buffer[]): boolean {
  let matched = false;
  for (const candidate of candidates) {
    if (candidate.length === SHA256_BYTES && timingSafeEqual(candidate, expected)) matched = true;
  }
  return matched;
}

/** Accepts timestamps up to `toleranceSeconds` away from now in either direction. */
export function checkTimestamp(
  header: string,
  value: string,
  nowMs: number,
  toleranceSeconds: number,
): Verification {
  if (!/^\d{1,15}$/.test(value)) return { ok: false, reason: `malformed ${header} (expected unix seconds)` };
  const skew = Math.floor(nowMs / 1000) - Number(value);
  if (skew > toleranceSeconds) {
    return { ok: false, reason: `${header} is ${skew} s old, outside the ${toleranceSeconds} s tolerance` };
  }
  if (-skew > toleranceSeconds) {
    return {
      ok: false,
      reason: `${header} is ${-skew} s in the future, outside the ${toleranceSeconds} s tolerance`,
    };
  }
  return { ok: true };
}

export function missingHeader(header: string): Verification {
  return { ok: false, reason: `missing ${header} header` };
}

export function missingSecret(): Verification {
  return { ok: false, reason: "no signing secret is configured for this provider" };
}

export const SIGNATURE_MISMATCH: Verification = { ok: false, reason: "signature does not match" };
