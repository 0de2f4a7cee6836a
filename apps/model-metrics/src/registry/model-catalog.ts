import { asc } from "drizzle-orm";
import type { Database } from "../../../../db/client.ts";
import { models } from "../../../../db/schema/models.ts";
import type { InferenceMetrics } from "../inference/inference-metrics.ts";
import { ModelRunner, type RunnerTuning } from "../inference/model-runner.ts";
import { createProvider } from "../providers/index.ts";
import type { Model } from "./model.ts";

export interface CatalogDeps {
  database: Database;
  metrics: InferenceMetrics;
  env: Record<string, string | undefined>;
  tuning: RunnerTuning;
  /** Tier names from first choice to last resort; tiers not listed come after, by name. */
  tierOrder: readonly string[];
}

/** The registered models, persisted in Postgres, each with the runner that guards its provider. */
export class ModelCatalog {
  private readonly runners = new Map<string, ModelRunner>();

  constructor(private readonly deps: CatalogDeps) {}

  /** Registers the boot-time models (builtin and `MODELS_FILE`) over the stored ones, then loads them all. */
  async load(initial: readonly Model[]): Promise<void> {
    for (const model of initial) await this.save(model);
    const rows = await this.deps.database.run("models.list", (db) =>
      db.select().from(models).orderBy(asc(models.id)),
    );
    for (const row of rows) {
      this.install({
        id: row.id,
        provider: row.provider,
        model: row.model,
        tier: row.tier,
        task_types: row.taskTypes,
        max_concurrency: row.maxConcurrency,
        timeout_ms: row.timeoutMs,
        ...(row.baseUrl ? { base_url: row.baseUrl } : {}),
        ...(row.apiKeyEnv ? { api_key_env: row.apiKeyEnv } : {}),
      });
    }
  }

  async put(model: Model): Promise<{ created: boolean }> {
    const created = !this.runners.has(model.id);
    await this.save(model);
    this.install(model);
    return { created };
  }

  get(id: string): ModelRunner | undefined {
    return this.runners.get(id);
  }

  list(): Model[] {
    return [...this.runners.values()].map((r) => r.model).sort((a, b) => a.id.localeCompare(b.id));
  }

  allRunners(): ModelRunner[] {
    return [...this.runners.values()];
  }

  /** Models serving `taskType` in routing order: tier order, then id. */
  candidatesFor(taskType: string): ModelRunner[] {
    const rank = (tier: string) => {
      const at = this.deps.tierOrder.indexOf(tier);
      return at < 0 ? this.deps.tierOrder.length : at;
    };
    return [...this.runners.values()]
      .filter((r) => r.model.task_types.includes(taskType))
      .sort(
        (a, b) =>
          rank(a.model.tier) - rank(b.model.tier) ||
          a.model.tier.localeCompare(b.model.tier) ||
          a.model.id.localeCompare(b.model.id),
      );
  }

  shutdown(): void {
    for (const runner of this.runners.values()) runner.shutdown();
  }

  private install(model: Model): void {
    const { metrics, env, tuning } = this.deps;
    this.runners.get(model.id)?.shutdown();
    this.runners.set(model.id, new ModelRunner(model, createProvider(model, env), tuning, metrics));
  }

  private async save(model: Model): Promise<void> {
    const row = {
      provider: model.provider,
      baseUrl: model.base_url ?? null,
      model: model.model,
      tier: model.tier,
      taskTypes: model.task_types,
      maxConcurrency: model.max_concurrency,
      timeoutMs: model.timeout_ms,
      apiKeyEnv: model.api_key_env ?? null,
      updatedAt: new Date(),
    };
    await this.deps.database.run("models.upsert", (db) =>
      db
        .insert(models)
        .values({ id: model.id, ...row })
        .onConflictDoUpdate({ target: models.id, set: row }),
    );
  }
}
