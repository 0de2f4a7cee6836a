import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { TestDatabase } from "../../../../shared/testing/services.ts";
import { type Coordinator, setUpDatabase, startCoordinator } from "../testing/coordinator.ts";

let testDb: TestDatabase;
let coordinator: Coordinator;

beforeAll(async () => {
  const setup = await setUpDatabase("wf_definitions");
  testDb = setup.testDb;
  coordinator = await startCoordinator(setup.url);
});

afterAll(async () => {
  await coordinator?.stop();
  await testDb?.drop();
});

const execute = (workflow_definition: unknown) =>
  coordinator.call("POST", "/api/v1/workflows/execute", { workflow_definition });

const transform = (id: string, depends_on: string[] = [], expression = "1") => ({
  id,
  type: "transform",
  depends_on,
  params: { expression },
});

describe("definition validation", () => {
  test("a cycle is rejected with 400 and the message names the cycle", async () => {
    const res = await execute({
      name: "cyclic",
      tasks: [
        transform("start"),
        transform("a", ["start", "c"]),
        transform("b", ["a"]),
        transform("c", ["b"]),
      ],
    });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe("VALIDATION_FAILED");
    expect(res.body.error.message).toBe("invalid workflow definition: dependency cycle: a -> b -> c -> a");
    expect(res.body.error.details[0].field).toBe("workflow_definition.tasks");
    const listed = await coordinator.call("GET", "/api/v1/workflows?name=cyclic");
    expect(listed.body.workflows).toEqual([]);
  });

  test("unknown dependencies, duplicate ids and self-dependencies are named", async () => {
    const res = await execute({
      name: "broken-deps",
      tasks: [transform("a", ["ghost"]), transform("a"), transform("b", ["b"])],
    });
    expect(res.status).toBe(400);
    const messages = res.body.error.details.map((d: { message: string }) => d.message);
    expect(messages).toContain('task "a" depends on unknown task "ghost"');
    expect(messages).toContain('duplicate task id "a"');
    expect(messages).toContain('task "b" depends on itself');
  });

  test("an unknown task type and bad params are rejected naming the field", async () => {
    const unknown = await execute({ name: "x", tasks: [{ id: "a", type: "teleport", params: {} }] });
    expect(unknown.status).toBe(400);
    expect(unknown.body.error.details[0]).toEqual({
      field: "workflow_definition.tasks.0.type",
      message: "unknown task type; expected one of http, delay, model_infer, emit, transform",
    });
    const badParams = await execute({
      name: "x",
      tasks: [{ id: "a", type: "http", params: { method: "GET" } }],
    });
    expect(badParams.status).toBe(400);
    expect(badParams.body.error.details[0].field).toBe("workflow_definition.tasks.0.params.url");
    const badJsonata = await execute({ name: "x", tasks: [transform("a", [], "$$$(")] });
    expect(badJsonata.status).toBe(400);
    expect(badJsonata.body.error.details[0].field).toBe("workflow_definition.tasks.0.params.expression");
  });

  test("a template may only read the outputs of tasks it depends on", async () => {
    const res = await execute({
      name: "peeking",
      tasks: [transform("a"), { id: "b", type: "delay", params: { ms: "{{tasks.a.output.ms}}" } }],
    });
    expect(res.status).toBe(400);
    expect(res.body.error.details[0].message).toBe(
      '"{{tasks.a.output.ms}}" reads task "a", which "b" does not depend on',
    );
  });

  test("workflow and workflow_definition together, or neither, are rejected", async () => {
    const both = await coordinator.call("POST", "/api/v1/workflows/execute", {
      workflow: "x",
      workflow_definition: { name: "x", tasks: [transform("a")] },
    });
    expect(both.status).toBe(400);
    const neither = await coordinator.call("POST", "/api/v1/workflows/execute", { input: {} });
    expect(neither.status).toBe(400);
    expect(neither.body.error.details[0].field).toBe("workflow");
  });
});

describe("registered definitions", () => {
  test("each PUT adds a version, and a run keeps the version it started with", async () => {
    const v1 = await coordinator.call("PUT", "/api/v1/workflow-definitions/versioned", {
      tasks: [{ id: "wait", type: "delay", params: { ms: 300 } }, transform("answer", ["wait"], "'v1'")],
    });
    expect(v1.status).toBe(201);
    expect(v1.body.version).toBe(1);
    const run = await coordinator.call("POST", "/api/v1/workflows/execute", { workflow: "versioned" });
    expect(run.status).toBe(202);

    const v2 = await coordinator.call("PUT", "/api/v1/workflow-definitions/versioned", {
      name: "versioned",
      tasks: [transform("answer", [], "'v2'")],
    });
    expect(v2.body.version).toBe(2);

    const first = await coordinator.waitFor(run.body.workflow_id, ["completed", "failed"]);
    expect(first.output).toEqual({ answer: "v1" });
    const later = await coordinator.call("POST", "/api/v1/workflows/execute", { workflow: "versioned" });
    const second = await coordinator.waitFor(later.body.workflow_id, ["completed", "failed"]);
    expect(second.output).toEqual({ answer: "v2" });

    const listed = await coordinator.call("GET", "/api/v1/workflow-definitions");
    const entry = listed.body.definitions.find((d: { name: string }) => d.name === "versioned");
    expect(entry.version).toBe(2);
  });

  test("an invalid definition is not registered, and an unknown name cannot be started", async () => {
    const bad = await coordinator.call("PUT", "/api/v1/workflow-definitions/loop", {
      tasks: [transform("a", ["b"]), transform("b", ["a"])],
    });
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toContain("dependency cycle");
    const mismatched = await coordinator.call("PUT", "/api/v1/workflow-definitions/one", {
      name: "other",
      tasks: [transform("a")],
    });
    expect(mismatched.status).toBe(400);
    const missing = await coordinator.call("POST", "/api/v1/workflows/execute", { workflow: "loop" });
    expect(missing.status).toBe(404);
  });

  test("the OpenAPI document describes the workflow routes", async () => {
    const res = await coordinator.call("GET", "/openapi.json");
    expect(Object.keys(res.body.paths)).toEqual(
      expect.arrayContaining([
        "/api/v1/workflows/execute",
        "/api/v1/workflows/{id}/status",
        "/api/v1/workflows/{id}/pause",
        "/api/v1/workflows/active",
        "/api/v1/workflow-definitions/{name}",
      ]),
    );
  });
});
