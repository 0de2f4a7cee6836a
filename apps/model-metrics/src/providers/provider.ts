/** What a model host is asked: the provider's own model name, the task and its text. */
export interface GenerateRequest {
  model: string;
  taskType: string;
  prompt: string;
  params: Record<string, unknown>;
}

export interface Generation {
  /** Text for the HTTP providers; structured results for the builtin models. */
  output: unknown;
  tokensIn: number;
  tokensOut: number;
  /** Generation speed as the host measured it, when it reports durations. */
  tokensPerSecond?: number;
}

export interface ProbeResult {
  /** Model names the host says it serves, when it lists them. */
  models?: string[];
}

export interface ModelProvider {
  /** Rejects with `ProviderError` on a refused connection or a non-2xx answer; honours `signal`. */
  generate(request: GenerateRequest, signal: AbortSignal): Promise<Generation>;
  /** A cheap liveness call on the host (`/api/tags`, `/v1/models`); rejects when the host is down. */
  probe(signal: AbortSignal): Promise<ProbeResult>;
}

/** A model host that answered badly or not at all (as opposed to our timeout or an open circuit). */
export class ProviderError extends Error {
  override name = "ProviderError";
  constructor(
    message: string,
    readonly httpStatus?: number,
  ) {
    super(message);
  }
}

export async function postJson(
  url: string,
  body: unknown,
  headers: Record<string, string>,
  signal: AbortSignal,
): Promise<unknown> {
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
    signal,
  }).catch(rethrowUnlessAbort(url));
  return readJson(url, response);
}

export async function getJson(
  url: string,
  headers: Record<string, string>,
  signal: AbortSignal,
): Promise<unknown> {
  const response = await fetch(url, { headers, signal }).catch(rethrowUnlessAbort(url));
  return readJson(url, response);
}

function rethrowUnlessAbort(url: string) {
  return (err: unknown): never => {
    if (err instanceof Error && (err.name === "AbortError" || err.name === "TimeoutError")) throw err;
    const reason = err instanceof Error ? err.message : String(err);
    throw new ProviderError(`${new URL(url).host} unreachable: ${reason}`);
  };
}

async function readJson(url: string, response: Response): Promise<unknown> {
  if (!response.ok) {
    // The host's body is not echoed: a model host may be an internal address whose answers stay inside.
    await response.body?.cancel().catch(() => {});
    throw new ProviderError(`${new URL(url).pathname} answered ${response.status}`, response.status);
  }
  try {
    return await response.json();
  } catch {
    throw new ProviderError(`${new URL(url).pathname} answered a body that is not JSON`);
  }
}

export const joinUrl = (base: string, path: string) => `${base.replace(/\/+$/, "")}${path}`;
