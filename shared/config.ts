import { z } from "zod";

const bool = (fallback: boolean) =>
  z
    .enum(["true", "false", "1", "0"], { error: 'expected "true" or "false"' })
    .optional()
    .transform((v) => (v === undefined ? fallback : v === "true" || v === "1"));

const port = (fallback: number) => z.coerce.number().int().min(0).max(65535).default(fallback);
const optionalString = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v.trim() === "" ? undefined : v.trim()));
const list = z
  .string()
  .optional()
  .transform((v) =>
    (v ?? "")
      .split(",")
      .map((s) => s.trim())
      .filter(Boolean),
  );
const url = (what: string) =>
  optionalString.refine((v) => v === undefined || URL.canParse(v), { message: `expected a ${what} URL` });

export const configSchema = z.object({
  DATABASE_URL: url("postgres://"),
  DATA_DIR: z.string().default("./.data"),
  DB_POOL_SIZE: z.coerce.number().int().min(1).max(500).default(20),
  DB_STATEMENT_TIMEOUT_MS: z.coerce.number().int().min(0).default(5000),
  DB_MAX_WAITING: z.coerce.number().int().min(0).default(1000),
  DB_ACQUIRE_TIMEOUT_MS: z.coerce.number().int().min(1).default(5000),
  KAFKA_BROKERS: list,
  KAFKA_IDEMPOTENT: bool(true),
  KAFKA_TOPIC_PREFIX: z.string().default(""),
  KAFKA_COMPRESSION: z.enum(["none", "gzip"]).default("none"),
  KAFKA_CLIENT_ID: z.string().default("omninode-bridge"),
  REDIS_URL: url("redis://"),
  API_KEYS: list,
  HOOK_RECEIVER_PORT: port(8001),
  MODEL_METRICS_PORT: port(8002),
  WORKFLOW_COORDINATOR_PORT: port(8003),
  HOST: z.string().default("0.0.0.0"),
  MODEL_METRICS_URL: z.url({ error: "expected an http(s) URL" }).default("http://127.0.0.1:8002"),
  MODELS_FILE: optionalString,
  GITHUB_WEBHOOK_SECRET: optionalString,
  STRIPE_WEBHOOK_SECRET: optionalString,
  SLACK_SIGNING_SECRET: optionalString,
  SHOPIFY_WEBHOOK_SECRET: optionalString,
  STANDARD_WEBHOOK_SECRET: optionalString,
  RATE_LIMIT_PER_KEY_RPS: z.coerce.number().min(0).default(5000),
  RATE_LIMIT_PER_IP_RPS: z.coerce.number().min(0).default(5000),
  BODY_LIMIT_BYTES: z.coerce
    .number()
    .int()
    .min(1024)
    .default(1024 * 1024),
  HOOK_BATCH_LINGER_MS: z.coerce.number().min(0).max(1000).default(2),
  HOOK_BATCH_MAX_MESSAGES: z.coerce.number().int().min(1).max(10_000).default(500),
  HOOK_QUEUE_MAX: z.coerce.number().int().min(1).default(20_000),
  HOOK_PERSISTER: bool(true),
  HOOK_KAFKA_TIMEOUT_MS: z.coerce.number().int().min(50).default(800),
  SHUTDOWN_TIMEOUT_MS: z.coerce.number().int().min(100).default(10_000),
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
});

export type Config = z.infer<typeof configSchema> & {
  /** No external infrastructure configured: PGlite, in-process bus, in-memory cache. */
  embedded: boolean;
};

export class ConfigError extends Error {
  override name = "ConfigError";
}

/** Parses the environment once at boot. The error message is one line naming each bad variable. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const parsed = configSchema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`);
    throw new ConfigError(`invalid configuration: ${problems.join("; ")}`);
  }
  const config = parsed.data;
  const embedded = !config.DATABASE_URL && config.KAFKA_BROKERS.length === 0 && !config.REDIS_URL;
  if (!embedded && config.API_KEYS.length === 0) {
    throw new ConfigError(
      "invalid configuration: API_KEYS: required when DATABASE_URL, KAFKA_BROKERS or REDIS_URL is set",
    );
  }
  return { ...config, embedded };
}
