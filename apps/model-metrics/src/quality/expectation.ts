import { z } from "zod";

function compilesAsJsonSchema(schema: Record<string, unknown>): boolean {
  try {
    z.fromJSONSchema(schema as z.core.JSONSchema.JSONSchema);
    return true;
  } catch {
    return false;
  }
}

/** What the caller expects of an answer; each part present adds one component to the quality score. */
export const expectationSchema = z.object({
  keywords: z.array(z.string().min(1).max(200)).min(1).max(50).optional(),
  json_schema: z
    .record(z.string(), z.unknown())
    .refine(compilesAsJsonSchema, "expected a JSON schema (draft 2020-12, 7 or 4)")
    .optional(),
  length: z
    .object({ min: z.int().min(0).optional(), max: z.int().min(1).optional() })
    .refine((r) => r.min === undefined || r.max === undefined || r.min <= r.max, "min must not exceed max")
    .optional(),
});
export type Expectation = z.infer<typeof expectationSchema>;
