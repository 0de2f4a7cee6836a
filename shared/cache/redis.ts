import Redis from "ioredis";
import type { Registry } from "../metrics.ts";
import { type CacheMetrics, cacheMetrics } from "./instrument.ts";
import type { Cache } from "./interface.ts";

// INCRBY then set the expiry only on creation, atomically, so a counter window is never extended.
const INCREMENT_WITH_TTL = `
local v = redis.call('INCRBY', KEYS[1], ARGV[1])
if v == tonumber(ARGV[1]) then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return v`;

export interface RedisCacheOptions {
  url: string;
  keyPrefix?: string;
  registry?: Registry;
  commandTimeoutMs?: number;
}

/**
 * ioredis with the offline queue off: while Redis is unreachable a command fails at once instead of
 * waiting in memory, so callers see the outage and can degrade.
 */
export class RedisCache implements Cache {
  readonly kind = "redis" as const;
  readonly client: Redis;
  private readonly metrics: CacheMetrics | undefined;

  private constructor(client: Redis, registry: Registry | undefined) {
    this.client = client;
    this.metrics = cacheMetrics(registry, "redis");
    client.defineCommand("incrementWithTtl", { numberOfKeys: 1, lua: INCREMENT_WITH_TTL });
  }

  static async connect(options: RedisCacheOptions): Promise<RedisCache> {
    const client = new Redis(options.url, {
      keyPrefix: options.keyPrefix,
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      commandTimeout: options.commandTimeoutMs ?? 1000,
      connectTimeout: 2000,
      retryStrategy: (times) => Math.min(times * 100, 2000),
      // Commands issued in the same tick share one round trip: the hot paths issue several at once.
      enableAutoPipelining: true,
    });
    // Errors surface through the failing commands; without a listener ioredis would log every retry.
    client.on("error", () => {});
    await client.connect();
    return new RedisCache(client, options.registry);
  }

  private async run<T>(command: string, fn: () => Promise<T>): Promise<T> {
    const start = performance.now();
    try {
      const result = await fn();
      this.metrics?.observe(command, start, "ok");
      return result;
    } catch (err) {
      this.metrics?.observe(command, start, "error");
      throw err;
    }
  }

  async get(key: string): Promise<string | null> {
    const value = await this.run("get", () => this.client.get(key));
    if (value === null) this.metrics?.miss();
    else this.metrics?.hit();
    return value;
  }

  async set(key: string, value: string, ttlMs: number): Promise<void> {
    await this.run("set", () => this.client.set(key, value, "PX", ttlMs));
  }

  async delete(key: string): Promise<void> {
    await this.run("del", () => this.client.del(key));
  }

  async setIfAbsent(key: string, value: string, ttlMs: number): Promise<boolean> {
    const result = await this.run("set_nx", () => this.client.set(key, value, "PX", ttlMs, "NX"));
    return result === "OK";
  }

  async increment(key: string, ttlMs: number, by = 1): Promise<number> {
    const client = this.client as Redis & {
      incrementWithTtl(key: string, by: number, ttlMs: number): Promise<number>;
    };
    return this.run("incr", () => client.incrementWithTtl(key, by, ttlMs));
  }

  async check(): Promise<void> {
    await this.client.ping();
  }

  async close(): Promise<void> {
    if (this.client.status === "end") return;
    await this.client.quit().catch(() => this.client.disconnect());
  }
}
