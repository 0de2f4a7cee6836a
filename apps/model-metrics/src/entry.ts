import { readFile } from "node:fs/promises";
import type { ServiceEntry } from "../../../shared/run.ts";
import { createModelMetricsService } from "./app.ts";
import { BUILTIN_MODELS, type Model, parseModelsFile } from "./registry/model.ts";

/** `MODELS_FILE` is checked with the schema of `PUT /models/{id}`; a bad file stops the start. */
async function loadModelsFile(path: string): Promise<Model[]> {
  const text = await readFile(path, "utf8");
  try {
    return parseModelsFile(JSON.parse(text));
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new Error(`MODELS_FILE ${path} is not a valid models list: ${reason}`);
  }
}

export const modelMetricsEntry: ServiceEntry = {
  async build(platform) {
    const fromFile = platform.config.MODELS_FILE ? await loadModelsFile(platform.config.MODELS_FILE) : [];
    return createModelMetricsService({
      database: platform.database,
      registry: platform.registry,
      logger: platform.logger.child({ service: "model-metrics" }),
      apiKeys: platform.apiKeys,
      models: [...BUILTIN_MODELS, ...fromFile],
      env: process.env,
    });
  },
  port: (config) => config.MODEL_METRICS_PORT,
};
