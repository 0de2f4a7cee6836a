import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";

export type ErrorCode =
  | "BAD_REQUEST"
  | "MALFORMED_JSON"
  | "VALIDATION_FAILED"
  | "UNAUTHORIZED"
  | "FORBIDDEN"
  | "NOT_FOUND"
  | "METHOD_NOT_ALLOWED"
  | "CONFLICT"
  | "PAYLOAD_TOO_LARGE"
  | "UNSUPPORTED_MEDIA_TYPE"
  | "RATE_LIMITED"
  | "NOT_READY"
  | "SERVICE_UNAVAILABLE"
  | "UPSTREAM_FAILED"
  | "TIMEOUT"
  | "INTERNAL";

export interface ErrorDetail {
  field?: string;
  message: string;
  [key: string]: unknown;
}

export interface ErrorBody {
  error: { code: ErrorCode; message: string; request_id: string; details?: ErrorDetail[] };
}

/** The one error type of the project: onError turns it into the JSON error body. */
export class ApiError extends HTTPException {
  readonly code: ErrorCode;
  readonly details: ErrorDetail[] | undefined;
  readonly headers: Record<string, string> | undefined;

  constructor(
    status: ContentfulStatusCode,
    code: ErrorCode,
    message: string,
    options: { details?: ErrorDetail[]; headers?: Record<string, string>; cause?: unknown } = {},
  ) {
    super(status, { message, cause: options.cause });
    this.code = code;
    this.details = options.details;
    this.headers = options.headers;
  }
}

export const notFound = (what: string) => new ApiError(404, "NOT_FOUND", `${what} not found`);
export const conflict = (message: string) => new ApiError(409, "CONFLICT", message);
export const unavailable = (message: string, retryAfterSeconds = 1) =>
  new ApiError(503, "SERVICE_UNAVAILABLE", message, {
    headers: { "Retry-After": String(retryAfterSeconds) },
  });

export function errorBody(
  code: ErrorCode,
  message: string,
  requestId: string,
  details?: ErrorDetail[],
): ErrorBody {
  return {
    error: details
      ? { code, message, request_id: requestId, details }
      : { code, message, request_id: requestId },
  };
}

/**
 * A dependency refused work to protect itself (an open circuit, an exhausted pool). Services answer it
 * with 503 and Retry-After instead of letting requests queue until they time out.
 */
export class DependencyUnavailableError extends Error {
  override name = "DependencyUnavailableError";
  constructor(
    readonly dependency: string,
    message: string,
    readonly retryAfterSeconds = 2,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** The DependencyUnavailableError behind an error, if any (it may arrive wrapped as a cause). */
export function unavailableCause(err: unknown): DependencyUnavailableError | undefined {
  for (let e = err, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    if (e instanceof DependencyUnavailableError) return e;
  }
  return undefined;
}
