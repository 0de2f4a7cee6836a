import { gauge, type Registry } from "../metrics.ts";
import type { PartitionLag } from "./interface.ts";

export type LagSource = () => Promise<PartitionLag[]>;

/*
 * Several buses may share one registry (all services in one process) while the gauge exists once, so the
 * gauge's collect() asks every live bus registered on that registry.
 */
const lagSources = new WeakMap<Registry, Set<LagSource>>();

export function registerLagSource(registry: Registry, source: LagSource): () => void {
  let sources = lagSources.get(registry);
  if (!sources) {
    const live = new Set<LagSource>();
    sources = live;
    lagSources.set(registry, live);
    gauge(registry, {
      name: "bus_consumer_lag",
      help: "Records not yet committed by a consumer group, per partition.",
      labelNames: ["topic", "partition", "group"],
      async collect() {
        const results = await Promise.all([...live].map((read) => read()));
        this.reset();
        for (const row of results.flat()) {
          this.set({ topic: row.topic, partition: String(row.partition), group: row.groupId }, row.lag);
        }
      },
    });
  }
  sources.add(source);
  return () => sources.delete(source);
}
