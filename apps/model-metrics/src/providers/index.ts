import type { Model } from "../registry/model.ts";
import { BuiltinProvider } from "./builtin.ts";
import { OllamaProvider } from "./ollama.ts";
import { OpenAiProvider } from "./openai.ts";
import type { ModelProvider } from "./provider.ts";

/** `env` resolves a model's `api_key_env`, so the key never sits in the database. */
export function createProvider(model: Model, env: Record<string, string | undefined>): ModelProvider {
  switch (model.provider) {
    case "ollama":
      return new OllamaProvider(model.base_url ?? "");
    case "openai":
      return new OpenAiProvider(model.base_url ?? "", model.api_key_env ? env[model.api_key_env] : undefined);
    case "builtin":
      return new BuiltinProvider();
  }
}
