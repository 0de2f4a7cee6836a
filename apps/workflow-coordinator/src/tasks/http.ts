import { privateAddressOf } from "./private-address.ts";
import { PermanentTaskError, type TaskPorts, type TaskRunner } from "./types.ts";

const MAX_ERROR_BODY = 500;

/** Reads a response as JSON when it says so, else as text. */
export async function readBody(response: Response): Promise<unknown> {
  const text = await response.text();
  if ((response.headers.get("content-type") ?? "").includes("json")) {
    try {
      return JSON.parse(text);
    } catch {
      return text;
    }
  }
  return text;
}

export function httpTask(ports: TaskPorts): TaskRunner {
  return async (params, context) => {
    const method = String(params.method ?? "GET");
    let url: URL;
    try {
      url = new URL(String(params.url));
    } catch {
      throw new PermanentTaskError(`invalid url: ${String(params.url)}`);
    }
    if (url.protocol !== "http:" && url.protocol !== "https:") {
      throw new PermanentTaskError(`only http and https URLs are allowed, got ${url.protocol}`);
    }
    if (!ports.allowPrivateHttp) {
      const address = await privateAddressOf(url);
      if (address)
        throw new PermanentTaskError(`refused: ${url.hostname} resolves to private address ${address}`);
    }
    const headers = new Headers(params.headers as Record<string, string> | undefined);
    // Stable across attempts, so a receiver can drop a retried delivery it already applied.
    headers.set("Idempotency-Key", `${context.runId}:${context.taskId}`);
    let body: string | undefined;
    if (params.body !== undefined && method !== "GET" && method !== "HEAD") {
      body = typeof params.body === "string" ? params.body : JSON.stringify(params.body);
      if (!headers.has("content-type")) headers.set("content-type", "application/json");
    }
    const response = await fetch(url, { method, headers, body, signal: context.signal, redirect: "manual" });
    const responseBody = await readBody(response);
    if (response.status < 200 || response.status >= 300) {
      const text = typeof responseBody === "string" ? responseBody : JSON.stringify(responseBody);
      throw new Error(`HTTP ${response.status} from ${url.host}: ${text.slice(0, MAX_ERROR_BODY)}`);
    }
    return { status: response.status, body: responseBody };
  };
}
