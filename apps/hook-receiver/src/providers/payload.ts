import { type ProviderName, ProviderPayloadError } from "./types.ts";

export type JsonObject = Record<string, unknown>;

export function asObject(value: unknown): JsonObject | undefined {
  return typeof value === "object" && value !== null && !Array.isArray(value)
    ? (value as JsonObject)
    : undefined;
}

export function readString(object: JsonObject | undefined, key: string): string | undefined {
  const value = object?.[key];
  return typeof value === "string" && value !== "" ? value : undefined;
}

/** Provider ids arrive as strings or JSON numbers; both become the same string form. */
export function readId(object: JsonObject | undefined, key: string): string | undefined {
  const value = object?.[key];
  if (typeof value === "number" && Number.isFinite(value)) return String(value);
  return typeof value === "string" && value !== "" ? value : undefined;
}

export function requireObject(provider: ProviderName, body: unknown): JsonObject {
  const object = asObject(body);
  if (!object) throw new ProviderPayloadError(provider, "payload is not a JSON object");
  return object;
}

export function requireValue<T>(provider: ProviderName, value: T | undefined, what: string): T {
  if (value === undefined) throw new ProviderPayloadError(provider, `missing ${what}`);
  return value;
}
