import type { Server } from "bun";

export interface ModelServerAnswer {
  delayMs?: number;
  /** HTTP status to fail with instead of answering. */
  failWith?: number;
  text?: string;
}

export interface LocalModelServerOptions {
  /** Decides per request from the prompt; the server-wide `delayMs` and `failWith` apply otherwise. */
  respond?: (prompt: string) => ModelServerAnswer;
  /** Required as `Authorization: Bearer` on the OpenAI routes when set. */
  apiKey?: string;
  models?: string[];
}

const words = (text: string) => (text.match(/\S+/g) ?? []).length;
const sleep = (ms: number) => (ms > 0 ? Bun.sleep(ms) : undefined);
const badRequest = (message: string) => Response.json({ error: message }, { status: 400 });

/**
 * A model host on 127.0.0.1:0 that speaks Ollama's `/api/generate` and `/api/tags` and the OpenAI
 * `/v1/chat/completions` and `/v1/models` shapes, with latency and failures the caller controls.
 */
export class LocalModelServer {
  delayMs = 0;
  failWith: number | undefined;
  inFlight = 0;
  maxInFlight = 0;
  readonly requests: { path: string; body: unknown; authorization: string | null }[] = [];
  private readonly server: Server<undefined>;

  constructor(private readonly options: LocalModelServerOptions = {}) {
    this.server = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: (request) => this.handle(request) });
  }

  get url(): string {
    return `http://127.0.0.1:${this.server.port}`;
  }

  async stop(): Promise<void> {
    await this.server.stop(true);
  }

  private async handle(request: Request): Promise<Response> {
    const { pathname } = new URL(request.url);
    const authorization = request.headers.get("authorization");
    const models = this.options.models ?? ["llama3.2:1b", "qwen2.5:0.5b"];
    if (request.method === "GET" && pathname === "/api/tags") {
      return Response.json({
        models: models.map((name) => ({ name, model: name, size: 1_300_000_000, digest: "sha256:0" })),
      });
    }
    if (
      pathname.startsWith("/v1/") &&
      this.options.apiKey &&
      authorization !== `Bearer ${this.options.apiKey}`
    ) {
      return Response.json(
        { error: { message: "Incorrect API key provided", type: "invalid_request_error" } },
        { status: 401 },
      );
    }
    if (request.method === "GET" && pathname === "/v1/models") {
      return Response.json({
        object: "list",
        data: models.map((id) => ({ id, object: "model", owned_by: "local" })),
      });
    }
    if (request.method !== "POST") return new Response("not found", { status: 404 });
    const body = (await request.json()) as Record<string, unknown>;
    this.requests.push({ path: pathname, body, authorization });
    if (pathname === "/api/generate") {
      if (typeof body.model !== "string" || typeof body.prompt !== "string")
        return badRequest("model and prompt required");
      if (body.stream !== false) return badRequest("this server only answers stream: false");
      return this.answer(body.prompt, (text, startedAt) => {
        const evalCount = words(text);
        const promptCount = words(body.prompt as string);
        const totalNs = Math.round((performance.now() - startedAt) * 1e6);
        return Response.json({
          model: body.model,
          created_at: new Date().toISOString(),
          response: text,
          done: true,
          done_reason: "stop",
          context: [1, 2, 3],
          total_duration: totalNs,
          load_duration: 1000,
          prompt_eval_count: promptCount,
          prompt_eval_duration: 1_000_000,
          eval_count: evalCount,
          // Fixed at 100 tokens per second, so a test can check the provider reads it.
          eval_duration: evalCount * 10_000_000,
        });
      });
    }
    if (pathname === "/v1/chat/completions") {
      const messages = body.messages as { role: string; content: string }[] | undefined;
      const prompt = messages?.findLast((m) => m.role === "user")?.content;
      if (typeof body.model !== "string" || typeof prompt !== "string")
        return badRequest("model and messages required");
      return this.answer(prompt, (text) => {
        const promptTokens = messages!.reduce((n, m) => n + words(m.content), 0);
        const completionTokens = words(text);
        return Response.json({
          id: `chatcmpl-${crypto.randomUUID()}`,
          object: "chat.completion",
          created: Math.floor(Date.now() / 1000),
          model: body.model,
          choices: [{ index: 0, message: { role: "assistant", content: text }, finish_reason: "stop" }],
          usage: {
            prompt_tokens: promptTokens,
            completion_tokens: completionTokens,
            total_tokens: promptTokens + completionTokens,
          },
        });
      });
    }
    return new Response("not found", { status: 404 });
  }

  private async answer(
    prompt: string,
    shape: (text: string, startedAt: number) => Response,
  ): Promise<Response> {
    const startedAt = performance.now();
    const decided = this.options.respond?.(prompt) ?? {};
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    try {
      await sleep(decided.delayMs ?? this.delayMs);
      const failWith = decided.failWith ?? this.failWith;
      if (failWith) return Response.json({ error: "model crashed" }, { status: failWith });
      return shape(decided.text ?? `Answer to: ${prompt}`, startedAt);
    } finally {
      this.inFlight--;
    }
  }
}
