import { describe, expect, test } from "bun:test";
import { ConfigError, loadConfig } from "./config.ts";

describe("loadConfig", () => {
  test("an empty environment is the embedded default on the documented ports", () => {
    const config = loadConfig({});
    expect(config.embedded).toBe(true);
    expect([config.HOOK_RECEIVER_PORT, config.MODEL_METRICS_PORT, config.WORKFLOW_COORDINATOR_PORT]).toEqual([
      8001, 8002, 8003,
    ]);
    expect(config.KAFKA_IDEMPOTENT).toBe(true);
    expect(config.RATE_LIMIT_PER_KEY_RPS).toBe(5000);
    expect(config.DATA_DIR).toBe("./.data");
  });

  test("lists and booleans are parsed from their string forms", () => {
    const config = loadConfig({
      KAFKA_BROKERS: "a:9092, b:9092",
      KAFKA_IDEMPOTENT: "false",
      API_KEYS: "k1,k2",
      REDIS_URL: "redis://127.0.0.1:6379",
    });
    expect(config.KAFKA_BROKERS).toEqual(["a:9092", "b:9092"]);
    expect(config.KAFKA_IDEMPOTENT).toBe(false);
    expect(config.API_KEYS).toEqual(["k1", "k2"]);
    expect(config.embedded).toBe(false);
  });

  test("a bad value stops start-up with one line naming the variable and the problem", () => {
    let error: unknown;
    try {
      loadConfig({ HOOK_RECEIVER_PORT: "eighty", KAFKA_IDEMPOTENT: "maybe" });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as Error).message;
    expect(message.split("\n")).toHaveLength(1);
    expect(message).toContain("HOOK_RECEIVER_PORT");
    expect(message).toContain('KAFKA_IDEMPOTENT: expected "true" or "false"');
  });

  test("infrastructure without API_KEYS refuses to start", () => {
    expect(() => loadConfig({ DATABASE_URL: "postgres://postgres@127.0.0.1/x" })).toThrow(
      /API_KEYS: required/,
    );
  });
});
