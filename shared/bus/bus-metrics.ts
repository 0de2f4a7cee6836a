import { counter, gauge, histogram, LATENCY_BUCKETS, type Registry, SIZE_BUCKETS } from "../metrics.ts";
import type { OutgoingMessage, PartitionLag } from "./interface.ts";

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

/** Publish duration and batch size, the same names for every bus. */
export class PublishMetrics {
  private readonly duration;
  private readonly batchSize;
  private readonly bytes;

  constructor(registry: Registry) {
    this.bytes = counter(registry, {
      name: "bus_publish_bytes_total",
      help: "Key and value bytes published, by topic.",
      labelNames: ["topic"],
    });
    this.duration = histogram(registry, {
      name: "bus_publish_duration_seconds",
      help: "Time from publish to durable acknowledgement, by topic and outcome.",
      labelNames: ["topic", "outcome"],
      buckets: LATENCY_BUCKETS,
    });
    this.batchSize = histogram(registry, {
      name: "bus_publish_batch_size",
      help: "Messages per publish call.",
      labelNames: ["topic"],
      buckets: SIZE_BUCKETS,
    });
  }

  observe(topic: string, messages: OutgoingMessage[], startedAt: number, outcome: "ok" | "error"): void {
    this.batchSize.observe({ topic }, messages.length);
    if (outcome === "ok") {
      let bytes = 0;
      for (const m of messages) bytes += m.value.length + (m.key?.length ?? 0);
      this.bytes.inc({ topic }, bytes);
    }
    this.duration.observe({ topic, outcome }, (performance.now() - startedAt) / 1000);
  }
}
