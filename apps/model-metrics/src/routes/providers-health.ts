import { z } from "zod";
import type { ModelRunner } from "../inference/model-runner.ts";
import { API_BASE, type RouteContext } from "./route-context.ts";

const hostSchema = z.object({
  provider: z.string(),
  base_url: z.string().nullable(),
  status: z.enum(["up", "down"]),
  latency_ms: z.number(),
  models: z.array(
    z.object({ id: z.string(), model: z.string(), listed: z.boolean().nullable(), circuit: z.string() }),
  ),
  error: z.string().optional(),
});
const responseSchema = z.object({
  status: z.enum(["ok", "degraded", "down"]),
  providers: z.array(hostSchema),
});

/** Probes each model host once (`/api/tags`, `/v1/models`); a down host degrades, it never fails /ready. */
export function registerProvidersHealthRoute({ api, openapi, catalog, tuning }: RouteContext): void {
  const path = `${API_BASE}/providers/health`;
  api.get(path, async (c) => {
    const hosts = new Map<string, ModelRunner[]>();
    for (const runner of catalog.allRunners()) {
      const key = `${runner.model.provider} ${runner.model.base_url ?? ""}`;
      hosts.set(key, [...(hosts.get(key) ?? []), runner]);
    }
    const providers = await Promise.all(
      [...hosts.values()].map(async (runners) => {
        const first = runners[0]!;
        const started = performance.now();
        const base = { provider: first.model.provider, base_url: first.model.base_url ?? null };
        const models = (listed: string[] | undefined) =>
          runners.map((r) => ({
            id: r.model.id,
            model: r.model.model,
            listed: listed ? listed.includes(r.model.model) : null,
            circuit: r.circuitState,
          }));
        try {
          const probe = await first.provider.probe(AbortSignal.timeout(tuning.probeTimeoutMs));
          return {
            ...base,
            status: "up" as const,
            latency_ms: elapsed(started),
            models: models(probe.models),
          };
        } catch (err) {
          const error = err instanceof Error ? err.message : String(err);
          return {
            ...base,
            status: "down" as const,
            latency_ms: elapsed(started),
            models: models(undefined),
            error,
          };
        }
      }),
    );
    const down = providers.filter((p) => p.status === "down").length;
    const status = down === 0 ? "ok" : down === providers.length ? "down" : "degraded";
    return c.json({ status, providers });
  });
  openapi.add({
    method: "get",
    path,
    summary: "Probe every model host; the service stays ready while some are down",
    tags: ["providers"],
    auth: "apiKey",
    responses: {
      200: { description: "Each host with its models and their circuit state", schema: responseSchema },
    },
  });
}

const elapsed = (started: number) => Math.round((performance.now() - started) * 100) / 100;
