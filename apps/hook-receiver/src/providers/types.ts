export type ProviderName = "github" | "stripe" | "slack" | "shopify" | "standard";

export interface ProviderRequest {
  headers: Headers;
  /** The body exactly as received; signatures are computed over these bytes, never over re-serialised JSON. */
  rawBody: string;
  nowMs: number;
}

/** `reason` is shown to the caller, so it never contains the secret or the expected signature. */
export type Verification = { ok: true } | { ok: false; reason: string };

export interface ProviderEnvelope {
  action: string;
  resource: string;
  resource_id: string;
  delivery_id: string;
  payload: unknown;
}

export interface WebhookProvider {
  name: ProviderName;
  verify(secret: string, req: ProviderRequest): Verification;
  /** Maps a verified delivery to the event envelope; throws ProviderPayloadError when required parts are missing. */
  toEnvelope(req: ProviderRequest, body: unknown): ProviderEnvelope;
  /** Optional immediate answer that is not an event (Slack url_verification challenge). */
  immediateResponse?(body: unknown): unknown | undefined;
}

/** A correctly signed delivery that cannot be mapped to an envelope; the message is safe to return to the caller. */
export class ProviderPayloadError extends Error {
  override readonly name = "ProviderPayloadError";
  readonly provider: ProviderName;

  constructor(provider: ProviderName, message: string) {
    super(message);
    this.provider = provider;
  }
}
