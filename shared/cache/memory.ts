import type { Registry } from "../metrics.ts";
import { type CacheMetrics, cacheMetrics } from "./instrument.ts";
import type { Cache } from "./interface.ts";

interface Entry {
  value: string;
  expiresAt: number;
}

/**
 * The embedded cache: a Map with expiry, swept periodically so expired keys do not pile up, and
 * capped at `maxEntries` by dropping the oldest keys, so a day of dedupe keys cannot exhaust memory.
 */
export class MemoryCache implements Cache {
  readonly kind = "memory" as const;
  private readonly entries = new Map<string, Entry>();
  private readonly metrics: CacheMetrics | undefined;
  private readonly sweeper: Timer;

  private readonly maxEntries: number;

  constructor(
    options: { registry?: Registry; sweepIntervalMs?: number; now?: () => number; maxEntries?: number } = {},
  ) {
    this.maxEntries = options.maxEntries ?? 1_000_000;
    this.metrics = cacheMetrics(options.registry, "memory");
    if (options.now) this.now = options.now;
    this.sweeper = setInterval(() => this.sweep(), options.sweepIntervalMs ?? 10_000);
    this.sweeper.unref();
  }

  private now: () => number = Date.now;

  private live(key: string): Entry | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    if (entry.expiresAt <= this.now()) {
      this.entries.delete(key);
      return undefined;
    }
    return entry;
  }

  async get(key: string): Promise<string | null> {
    const entry = this.live(key);
    if (entry) this.metrics?.hit();
    else this.metrics?.miss();
    return entry?.value ?? null;
  }

  async set(key: string, value: string, ttlMs: number): Promise<void> {
    this.store(key, { value, expiresAt: this.now() + ttlMs });
  }

  private store(key: string, entry: Entry): void {
    if (!this.entries.has(key) && this.entries.size >= this.maxEntries) {
      const oldest = this.entries.keys().next();
      if (!oldest.done) this.entries.delete(oldest.value);
    }
    this.entries.set(key, entry);
  }

  async delete(key: string): Promise<void> {
    this.entries.delete(key);
  }

  async setIfAbsent(key: string, value: string, ttlMs: number): Promise<boolean> {
    if (this.live(key)) return false;
    this.store(key, { value, expiresAt: this.now() + ttlMs });
    return true;
  }

  async increment(key: string, ttlMs: number, by = 1): Promise<number> {
    const entry = this.live(key);
    if (!entry) {
      this.store(key, { value: String(by), expiresAt: this.now() + ttlMs });
      return by;
    }
    const next = Number(entry.value) + by;
    entry.value = String(next);
    return next;
  }

  async check(): Promise<void> {}

  async close(): Promise<void> {
    clearInterval(this.sweeper);
  }

  private sweep(): void {
    const now = this.now();
    for (const [key, entry] of this.entries) if (entry.expiresAt <= now) this.entries.delete(key);
  }
}
