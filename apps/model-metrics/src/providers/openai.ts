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

const chatAnswer = z.object({
  choices: z.array(z.object({ message: z.object({ content: z.string().nullable() }) })).min(1),
  usage: z.object({ prompt_tokens: z.number(), completion_tokens: z.number() }).optional(),
});

const modelsAnswer = z.object({ data: z.array(z.object({ id: z.string() })) });

/**
 * The OpenAI chat completions protocol that vLLM, llama.cpp server, LM Studio and OpenAI share.
 * `base_url` may or may not end in `/v1`, as each server documents it differently.
 */
export class OpenAiProvider implements ModelProvider {
  private readonly apiRoot: string;

  constructor(
    baseUrl: string,
    private readonly apiKey: string | undefined,
  ) {
    const trimmed = baseUrl.replace(/\/+$/, "");
    this.apiRoot = trimmed.endsWith("/v1") ? trimmed : `${trimmed}/v1`;
  }

  private headers(): Record<string, string> {
    return this.apiKey ? { authorization: `Bearer ${this.apiKey}` } : {};
  }

  async generate(request: GenerateRequest, signal: AbortSignal): Promise<Generation> {
    const { system, ...params } = request.params;
    const messages = [
      ...(typeof system === "string" ? [{ role: "system", content: system }] : []),
      { role: "user", content: request.prompt },
    ];
    const body = { ...params, model: request.model, messages, stream: false };
    const json = await postJson(joinUrl(this.apiRoot, "/chat/completions"), body, this.headers(), signal);
    const answer = chatAnswer.safeParse(json);
    if (!answer.success) throw new ProviderError("/v1/chat/completions answered without choices");
    const { choices, usage } = answer.data;
    return {
      output: choices[0]?.message.content ?? "",
      tokensIn: usage?.prompt_tokens ?? 0,
      tokensOut: usage?.completion_tokens ?? 0,
    };
  }

  async probe(signal: AbortSignal): Promise<ProbeResult> {
    const answer = modelsAnswer.safeParse(
      await getJson(joinUrl(this.apiRoot, "/models"), this.headers(), signal),
    );
    if (!answer.success) throw new ProviderError("/v1/models answered without a data list");
    return { models: answer.data.data.map((m) => m.id) };
  }
}
