import { z } from "zod";

export const PROVIDERS = ["ollama", "openai", "builtin"] as const;
export type ProviderName = (typeof PROVIDERS)[number];

const modelFields = {
  provider: z.enum(PROVIDERS),
  base_url: z.url({ error: "expected an http(s) URL" }).optional(),
  model: z.string().min(1).max(200),
  tier: z.string().min(1).max(50),
  task_types: z.array(z.string().min(1).max(100)).min(1).max(50),
  max_concurrency: z.int().min(1).max(1000).default(4),
  timeout_ms: z.int().min(10).max(600_000).default(30_000),
  // Only variables meant for model hosts: any other name would let an API-key holder send, say,
  // DATABASE_URL or a webhook secret to a base_url of their choosing.
  api_key_env: z
    .string()
    .regex(/^(MODEL_API_KEY_[A-Z0-9_]+|OPENAI_API_KEY)$/, "expected MODEL_API_KEY_<NAME> or OPENAI_API_KEY")
    .optional(),
};

const hasBaseUrlWhenNeeded = (m: { provider: ProviderName; base_url?: string | undefined }) =>
  m.provider === "builtin" || m.base_url !== undefined;
const baseUrlRule = { message: "base_url is required for ollama and openai models", path: ["base_url"] };

export const modelIdSchema = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/, "expected letters, digits, '.', '_', ':' or '-'");

/** The body of `PUT /models/{id}`: a model without its id, which the path names. */
export const modelSpecSchema = z.object(modelFields).refine(hasBaseUrlWhenNeeded, baseUrlRule);

export const modelSchema = z
  .object({ id: modelIdSchema, ...modelFields })
  .refine(hasBaseUrlWhenNeeded, baseUrlRule);
export type Model = z.infer<typeof modelSchema>;

/** `MODELS_FILE` holds the list answer of `GET /models`, or just its array. */
export const modelsFileSchema = z.union([z.object({ models: z.array(modelSchema) }), z.array(modelSchema)]);

export function parseModelsFile(json: unknown): Model[] {
  const parsed = modelsFileSchema.parse(json);
  return Array.isArray(parsed) ? parsed : parsed.models;
}

export const modelResponseSchema = z.object({
  id: z.string(),
  provider: z.enum(PROVIDERS),
  base_url: z.string().optional(),
  model: z.string(),
  tier: z.string(),
  task_types: z.array(z.string()),
  max_concurrency: z.number(),
  timeout_ms: z.number(),
  api_key_env: z.string().optional(),
});

/** Served without a network by the builtin provider, one model per task; registered on every start. */
export const BUILTIN_MODELS: Model[] = (["sentiment", "entities", "keywords", "summarize"] as const).map(
  (task) => ({
    id: `builtin-${task}`,
    provider: "builtin",
    model: "wink-eng-lite-web-model",
    tier: "builtin",
    task_types: [task],
    max_concurrency: 16,
    timeout_ms: 2000,
  }),
);
