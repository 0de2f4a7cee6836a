import { counter, histogram, LATENCY_BUCKETS, type Registry } from "../metrics.ts";

export interface CacheMetrics {
  observe(command: string, startedAt: number, outcome: "ok" | "error"): void;
  hit(): void;
  miss(): void;
}

export function cacheMetrics(registry: Registry | undefined, kind: string): CacheMetrics | undefined {
  if (!registry) return undefined;
  const duration = histogram(registry, {
    name: "cache_command_duration_seconds",
    help: "Cache command duration",
    labelNames: ["cache", "command", "outcome"],
    buckets: LATENCY_BUCKETS,
  });
  const hits = counter(registry, {
    name: "cache_hits_total",
    help: "Cache reads that found the key",
    labelNames: ["cache"],
  });
  const misses = counter(registry, {
    name: "cache_misses_total",
    help: "Cache reads that did not find the key",
    labelNames: ["cache"],
  });
  // Zero-valued series from the start, so a hit-rate query has both sides before the first miss.
  hits.inc({ cache: kind }, 0);
  misses.inc({ cache: kind }, 0);
  return {
    observe: (command, startedAt, outcome) =>
      duration.observe({ cache: kind, command, outcome }, (performance.now() - startedAt) / 1000),
    hit: () => hits.inc({ cache: kind }),
    miss: () => misses.inc({ cache: kind }),
  };
}
