import { zValidator } from "@hono/zod-validator";
import type { MiddlewareHandler, ValidationTargets } from "hono";
import type { z } from "zod";
import { ApiError, type ErrorDetail } from "../errors.ts";
import type { AppEnv } from "./context.ts";

const JSON_TYPE = /^application\/([\w.+-]+\+)?json\s*(;|$)/i;

export function validationDetails(error: { issues: readonly z.core.$ZodIssue[] }): ErrorDetail[] {
  return error.issues.map((issue) => ({
    field: issue.path.length > 0 ? issue.path.join(".") : "(body)",
    message: issue.message,
  }));
}

export function validationError(
  error: { issues: readonly z.core.$ZodIssue[] },
  what = "request body",
): ApiError {
  const details = validationDetails(error);
  const fields = details.map((d) => d.field).join(", ");
  return new ApiError(400, "VALIDATION_FAILED", `invalid ${what}: ${fields}`, { details });
}

/** 415 for a non-JSON content type, 400 MALFORMED_JSON for a body that does not parse. */
export const requireJson: MiddlewareHandler<AppEnv> = async (c, next) => {
  const type = c.req.header("content-type") ?? "";
  if (!JSON_TYPE.test(type)) {
    throw new ApiError(415, "UNSUPPORTED_MEDIA_TYPE", "expected Content-Type: application/json");
  }
  try {
    await c.req.json();
  } catch {
    throw new ApiError(400, "MALFORMED_JSON", "request body is not valid JSON");
  }
  await next();
};

/** zod validation whose failure is the project's VALIDATION_FAILED error naming each bad field. */
export function validate<T extends z.ZodType, Target extends keyof ValidationTargets>(
  target: Target,
  schema: T,
) {
  return zValidator(target, schema, (result) => {
    if (!result.success) throw validationError(result.error, target === "json" ? "request body" : target);
  });
}

/** JSON body: content type, parse and schema, in that order. */
export function jsonBody<T extends z.ZodType>(schema: T) {
  return [requireJson, validate("json", schema)] as const;
}
