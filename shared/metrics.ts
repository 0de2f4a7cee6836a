import {
  Counter,
  type CounterConfiguration,
  collectDefaultMetrics,
  Gauge,
  type GaugeConfiguration,
  Histogram,
  type HistogramConfiguration,
  Registry,
} from "prom-client";

export { Registry };

/** Latency buckets in seconds, dense below 50 ms where the hot paths live. */
export const LATENCY_BUCKETS = [
  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30,
];
export const SIZE_BUCKETS = [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500];

/** A registry with the process metrics (CPU, RSS, event-loop lag, GC) every service exports. */
export function createRegistry(options: { defaultMetrics?: boolean } = {}): Registry {
  const registry = new Registry();
  if (options.defaultMetrics !== false) {
    collectDefaultMetrics({ register: registry });
    registerProcessIo(registry);
  }
  return registry;
}

/** Storage I/O from /proc/self/io, read at scrape time; absent where the kernel does not offer it. */
function registerProcessIo(registry: Registry): void {
  const read = (field: string) => async () => {
    const text = await Bun.file("/proc/self/io")
      .text()
      .catch(() => "");
    return Number(new RegExp(`^${field}: (\\d+)`, "m").exec(text)?.[1] ?? Number.NaN);
  };
  for (const [name, field, help] of [
    ["process_io_read_bytes_total", "read_bytes", "Bytes this process caused to be read from storage"],
    ["process_io_write_bytes_total", "write_bytes", "Bytes this process caused to be written to storage"],
  ] as const) {
    const value = read(field);
    new Gauge({
      name,
      help,
      registers: [registry],
      async collect() {
        const v = await value();
        if (!Number.isNaN(v)) this.set(v);
      },
    });
  }
}

/*
 * Adapters and apps ask for their metrics by name, so two parts sharing one registry (all services in
 * one process) reuse one metric instead of failing on a duplicate registration.
 */
export function histogram<T extends string>(
  registry: Registry,
  config: Omit<HistogramConfiguration<T>, "registers">,
): Histogram<T> {
  const existing = registry.getSingleMetric(config.name);
  if (existing) return existing as Histogram<T>;
  return new Histogram<T>({ ...config, registers: [registry] });
}

export function counter<T extends string>(
  registry: Registry,
  config: Omit<CounterConfiguration<T>, "registers">,
): Counter<T> {
  const existing = registry.getSingleMetric(config.name);
  if (existing) return existing as Counter<T>;
  return new Counter<T>({ ...config, registers: [registry] });
}

export function gauge<T extends string>(
  registry: Registry,
  config: Omit<GaugeConfiguration<T>, "registers">,
): Gauge<T> {
  const existing = registry.getSingleMetric(config.name);
  if (existing) return existing as Gauge<T>;
  return new Gauge<T>({ ...config, registers: [registry] });
}
