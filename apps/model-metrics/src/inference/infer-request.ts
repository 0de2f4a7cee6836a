import { z } from "zod";
import { expectationSchema } from "../quality/expectation.ts";
import { modelIdSchema } from "../registry/model.ts";

export const inferRequestSchema = z
  .object({
    task_type: z.string().min(1).max(100),
    prompt: z.string().min(1).max(1_000_000).optional(),
    /** Structured input: a string, or an object whose `text` is used, else its JSON. */
    input: z.unknown().optional(),
    model: modelIdSchema.optional(),
    /** Passed to the provider: Ollama `options`, OpenAI request fields; `system` becomes a system prompt. */
    params: z.record(z.string(), z.unknown()).optional(),
    expect: expectationSchema.optional(),
    /** Try the next model of the tier when this one fails; defaults to true only when `model` is omitted. */
    fallback: z.boolean().optional(),
  })
  .refine((r) => r.prompt !== undefined || r.input !== undefined, {
    message: "give prompt or input",
    path: ["prompt"],
  });
export type InferRequest = z.infer<typeof inferRequestSchema>;

export const inferResponseSchema = z.object({
  output: z.unknown(),
  model: z.string(),
  latency_ms: z.number(),
  tokens_in: z.int(),
  tokens_out: z.int(),
  tokens_per_second: z.number(),
  quality_score: z.number(),
  escalated_from: z.string().optional(),
});
export type InferResponse = z.infer<typeof inferResponseSchema>;

export function promptText(request: InferRequest): string {
  if (request.prompt !== undefined) return request.prompt;
  const { input } = request;
  if (typeof input === "string") return input;
  if (typeof input === "object" && input !== null && typeof (input as { text?: unknown }).text === "string") {
    return (input as { text: string }).text;
  }
  return JSON.stringify(input);
}
