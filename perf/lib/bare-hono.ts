import { Hono } from "hono";

// The baseline: Hono on Bun parsing the same JSON body and answering 202, with no durability at all.
const app = new Hono();
app.post("/api/v1/hooks/receive", async (c) => {
  const body = (await c.req.json()) as { resource_id?: string };
  return c.json({ event_id: crypto.randomUUID(), status: "accepted", resource: body.resource_id }, 202);
});
app.get("/health", (c) => c.json({ status: "ok" }));

const server = Bun.serve({ port: Number(process.env.PORT ?? 0), hostname: "127.0.0.1", fetch: app.fetch });
console.log(`listening ${server.port}`);
