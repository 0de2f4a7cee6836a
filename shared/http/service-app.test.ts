import { describe, expect, test } from "bun:test";
import { z } from "zod";
import { ApiError } from "../errors.ts";
import { silentLogger } from "../logger.ts";
import { createRegistry } from "../metrics.ts";
import { apiKeyAuth } from "./api-key.ts";
import { OpenApiDocument } from "./openapi.ts";
import { createServiceApp } from "./service-app.ts";
import { jsonBody } from "./validate.ts";

function build(readiness: Record<string, () => Promise<unknown>> = {}) {
  const registry = createRegistry({ defaultMetrics: false });
  const openapi = new OpenApiDocument("test");
  const app = createServiceApp({
    service: "test",
    logger: silentLogger,
    registry,
    readiness,
    bodyLimitBytes: 2048,
    openapi,
  });
  const schema = z.object({ name: z.string().min(1), count: z.number().int() });
  openapi.add({
    method: "post",
    path: "/items/:id",
    summary: "create",
    body: schema,
    responses: { 201: { description: "ok" } },
  });
  app.post("/items/:id", apiKeyAuth(["secret-key"]), ...jsonBody(schema), (c) =>
    c.json(c.req.valid("json"), 201),
  );
  app.get("/boom", () => {
    throw new Error("database password is hunter2");
  });
  app.get("/conflict", () => {
    throw new ApiError(409, "CONFLICT", "already done");
  });
  return { app, registry };
}

const authed = { "x-api-key": "secret-key", "content-type": "application/json" };

describe("the service app foundation", () => {
  test("every response carries X-Request-Id, and a caller's id is echoed", async () => {
    const { app } = build();
    const generated = await app.request("/health");
    expect(generated.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);
    const echoed = await app.request("/health", { headers: { "x-request-id": "trace-123" } });
    expect(echoed.headers.get("x-request-id")).toBe("trace-123");
    const unsafe = await app.request("/health", { headers: { "x-request-id": "bad id\twith spaces" } });
    expect(unsafe.headers.get("x-request-id")).not.toContain(" ");
  });

  test("an uncaught exception is a 500 in the error format without its message or stack", async () => {
    const res = await build().app.request("/boom");
    expect(res.status).toBe(500);
    const body = (await res.json()) as { error: { code: string; message: string; request_id: string } };
    expect(body.error.code).toBe("INTERNAL");
    expect(JSON.stringify(body)).not.toContain("hunter2");
    expect(body.error.request_id).toBe(res.headers.get("x-request-id")!);
  });

  test("validation failures name each field in details", async () => {
    const res = await build().app.request("/items/1", {
      method: "POST",
      headers: authed,
      body: JSON.stringify({ count: 1.5 }),
    });
    expect(res.status).toBe(400);
    const body = (await res.json()) as { error: { code: string; details: { field: string }[] } };
    expect(body.error.code).toBe("VALIDATION_FAILED");
    expect(body.error.details.map((d) => d.field).sort()).toEqual(["count", "name"]);
  });

  test("API keys are accepted from X-API-Key or Bearer and refused otherwise", async () => {
    const { app } = build();
    const body = JSON.stringify({ name: "a", count: 1 });
    const json = { "content-type": "application/json" };
    expect((await app.request("/items/1", { method: "POST", headers: json, body })).status).toBe(401);
    expect(
      (
        await app.request("/items/1", {
          method: "POST",
          headers: { ...json, "x-api-key": "secret-kex" },
          body,
        })
      ).status,
    ).toBe(401);
    expect(
      (
        await app.request("/items/1", {
          method: "POST",
          headers: { ...json, authorization: "Bearer secret-key" },
          body,
        })
      ).status,
    ).toBe(201);
  });

  test("a body over the limit is a 413 and a non-JSON body a 415", async () => {
    const { app } = build();
    const big = await app.request("/items/1", {
      method: "POST",
      headers: authed,
      body: JSON.stringify({ name: "x".repeat(4096), count: 1 }),
    });
    expect(big.status).toBe(413);
    const text = await app.request("/items/1", {
      method: "POST",
      headers: { ...authed, "content-type": "text/plain" },
      body: "hi",
    });
    expect(text.status).toBe(415);
  });

  test("ApiError keeps its status and code; 404 and 405 use the same body", async () => {
    const { app } = build();
    const conflict = await app.request("/conflict");
    expect(conflict.status).toBe(409);
    expect(((await conflict.json()) as { error: { code: string } }).error.code).toBe("CONFLICT");
    const missing = await app.request("/nope");
    expect(missing.status).toBe(404);
    const wrong = await app.request("/items/1", { method: "DELETE" });
    expect(wrong.status).toBe(405);
    expect(wrong.headers.get("allow")).toBe("POST");
  });

  test("/ready is 503 naming the failing dependency and 200 when all answer", async () => {
    const down = build({
      database: async () => {},
      kafka: async () => {
        throw new Error("no broker answered");
      },
    });
    const res = await down.app.request("/ready");
    expect(res.status).toBe(503);
    const body = (await res.json()) as { error: { message: string }; checks: Record<string, string> };
    expect(body.error.message).toBe("not ready: kafka");
    expect(body.checks).toEqual({ database: "ok", kafka: "no broker answered" });
    expect((await build({ database: async () => {} }).app.request("/ready")).status).toBe(200);
  });

  test("a readiness check that hangs is reported as failing, not waited on", async () => {
    const hanging = build({ cache: () => new Promise(() => {}) });
    const started = performance.now();
    const res = await hanging.app.request("/ready");
    expect(res.status).toBe(503);
    expect(performance.now() - started).toBeLessThan(2500);
  });

  test("the HTTP histogram is labelled by route template, never the raw path", async () => {
    const { app } = build();
    await app.request("/items/42", {
      method: "POST",
      headers: authed,
      body: JSON.stringify({ name: "a", count: 1 }),
    });
    await app.request("/items/43", {
      method: "POST",
      headers: authed,
      body: JSON.stringify({ name: "a", count: 1 }),
    });
    await app.request("/some/random/path");
    const text = await (await app.request("/metrics")).text();
    expect(text).toContain('route="/items/:id",status="201"} 2');
    expect(text).not.toContain("/items/42");
    expect(text).toContain('route="unmatched",status="404"');
  });

  test("/openapi.json is generated from the validation schemas", async () => {
    const doc = (await (await build().app.request("/openapi.json")).json()) as {
      openapi: string;
      paths: Record<
        string,
        { post: { requestBody: { content: { "application/json": { schema: { properties: object } } } } } }
      >;
    };
    expect(doc.openapi).toBe("3.0.3");
    expect(
      Object.keys(doc.paths["/items/{id}"]!.post.requestBody.content["application/json"].schema.properties),
    ).toEqual(["name", "count"]);
  });
});
