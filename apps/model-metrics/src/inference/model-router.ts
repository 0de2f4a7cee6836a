import type { Logger } from "../../../../shared/logger.ts";
import type { ModelCatalog } from "../registry/model-catalog.ts";
import type { ModelRunner } from "./model-runner.ts";

interface CachedChoice {
  model: string | undefined;
  expiresAt: number;
  refreshing: boolean;
}

/**
 * Picks the model for a request without one: the top recommendation for the task type when there
 * is one, else the first model of the tier order. Recommendations are cached per task type and
 * refreshed in the background when stale, so only a task type's first request waits on Postgres.
 */
export class ModelRouter {
  private readonly choices = new Map<string, CachedChoice>();

  constructor(
    private readonly catalog: ModelCatalog,
    private readonly bestModel: (taskType: string) => Promise<string | undefined>,
    private readonly cacheMs: number,
    private readonly now: () => number,
    private readonly logger: Logger,
  ) {}

  /** The models to try in order: the choice first, then its escalation chain. Skips open circuits. */
  async route(taskType: string): Promise<ModelRunner[]> {
    const candidates = this.catalog.candidatesFor(taskType);
    if (candidates.length === 0) return [];
    const recommended = await this.recommended(taskType);
    const available = candidates.filter((r) => !r.circuitOpen);
    const first = available.find((r) => r.model.id === recommended) ?? available[0] ?? candidates[0]!;
    return [first, ...this.escalationChain(first, taskType).filter((r) => !r.circuitOpen)];
  }

  /** Models to fall back to after `from`: the rest of its tier, then the tiers after it. */
  escalationChain(from: ModelRunner, taskType: string): ModelRunner[] {
    const candidates = this.catalog.candidatesFor(taskType);
    const tierStart = candidates.findIndex((r) => r.model.tier === from.model.tier);
    return candidates.slice(Math.max(0, tierStart)).filter((r) => r !== from);
  }

  private async recommended(taskType: string): Promise<string | undefined> {
    const cached = this.choices.get(taskType);
    if (!cached) {
      const model = await this.bestModel(taskType).catch((err) => {
        this.logger.warn({ err, taskType }, "loading recommendations failed; routing by tier");
        return undefined;
      });
      this.choices.set(taskType, { model, expiresAt: this.now() + this.cacheMs, refreshing: false });
      return model;
    }
    if (cached.expiresAt <= this.now() && !cached.refreshing) {
      cached.refreshing = true;
      this.bestModel(taskType)
        .then((model) => {
          cached.model = model;
          cached.expiresAt = this.now() + this.cacheMs;
        })
        .catch((err) => this.logger.warn({ err, taskType }, "refreshing recommendations failed"))
        .finally(() => {
          cached.refreshing = false;
        });
    }
    return cached.model;
  }
}
