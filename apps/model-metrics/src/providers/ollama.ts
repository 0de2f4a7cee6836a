import { z } from "zod";
import {
  type GenerateRequest,
  type Generation,
  getJson,
  joinUrl,
  type ModelProvider,
  type ProbeResult,
  ProviderError,
  postJson,
} from "./provider.ts";

const generateAnswer = z.object({
  response: z.string(),
  prompt_eval_count: z.number().optional(),
  eval_count: z.number().optional(),
  /** Nanoseconds spent generating the answer's tokens. */
  eval_duration: z.number().optional(),
});

const tagsAnswer = z.object({ models: z.array(z.object({ name: z.string() })) });

/** Ollama's native API: `POST /api/generate` without streaming; `GET /api/tags` lists pulled models. */
export class OllamaProvider implements ModelProvider {
  constructor(private readonly baseUrl: string) {}

  async generate(request: GenerateRequest, signal: AbortSignal): Promise<Generation> {
    const { system, ...options } = request.params;
    const body = {
      model: request.model,
      prompt: request.prompt,
      stream: false,
      ...(typeof system === "string" ? { system } : {}),
      ...(Object.keys(options).length > 0 ? { options } : {}),
    };
    const json = await postJson(joinUrl(this.baseUrl, "/api/generate"), body, {}, signal);
    const answer = generateAnswer.safeParse(json);
    if (!answer.success) throw new ProviderError("/api/generate answered without a response field");
    const { response, prompt_eval_count = 0, eval_count = 0, eval_duration } = answer.data;
    return {
      output: response,
      tokensIn: prompt_eval_count,
      tokensOut: eval_count,
      tokensPerSecond: eval_duration && eval_duration > 0 ? eval_count / (eval_duration / 1e9) : undefined,
    };
  }

  async probe(signal: AbortSignal): Promise<ProbeResult> {
    const answer = tagsAnswer.safeParse(await getJson(joinUrl(this.baseUrl, "/api/tags"), {}, signal));
    if (!answer.success) throw new ProviderError("/api/tags answered without a models list");
    return { models: answer.data.models.map((m) => m.name) };
  }
}
