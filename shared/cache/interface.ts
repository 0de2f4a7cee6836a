export interface Cache {
  readonly kind: "redis" | "memory";
  get(key: string): Promise<string | null>;
  set(key: string, value: string, ttlMs: number): Promise<void>;
  delete(key: string): Promise<void>;
  /** Sets the key only when it is absent; true when this call set it. */
  setIfAbsent(key: string, value: string, ttlMs: number): Promise<boolean>;
  /** Adds `by` and returns the new value; the TTL starts when the key is created and is not extended. */
  increment(key: string, ttlMs: number, by?: number): Promise<number>;
  /** Throws when the cache cannot serve. Used by /ready. */
  check(): Promise<void>;
  close(): Promise<void>;
}
