import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createHmac } from "node:crypto";
import { sign as signGithub } from "@octokit/webhooks-methods";
import { Webhook } from "standardwebhooks";
import Stripe from "stripe";
import { TOPICS } from "../../../../shared/bus/topics.ts";
import { collect, type ReceiverHarness, SECRETS, startReceiver, waitUntil } from "../test-support.ts";

const post = (h: ReceiverHarness, provider: string, body: string, headers: Record<string, string>) =>
  h.service.app.request(`/api/v1/hooks/${provider}`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body,
  });

describe("POST /api/v1/hooks/{provider}", () => {
  let h: ReceiverHarness;
  let events: Awaited<ReturnType<typeof collect>>;
  const eventFor = async (eventId: string) => {
    await waitUntil(() => events.values().some((v) => v.event_id === eventId), 10_000, `event ${eventId}`);
    return events.values().find((v) => v.event_id === eventId);
  };
  beforeAll(async () => {
    h = await startReceiver();
    events = await collect(h.bus, TOPICS.events);
  });
  afterAll(async () => {
    await events.stop();
    await h.close();
  });

  const githubBody = JSON.stringify({
    action: "opened",
    number: 7,
    pull_request: { id: 99, number: 7, title: "Add retries" },
    repository: { id: 1, full_name: "acme/widgets" },
  });

  test("a GitHub delivery signed with @octokit/webhooks-methods is accepted and mapped to the envelope", async () => {
    const delivery = crypto.randomUUID();
    const res = await post(h, "github", githubBody, {
      "x-github-event": "pull_request",
      "x-github-delivery": delivery,
      "x-hub-signature-256": await signGithub(SECRETS.github, githubBody),
    });
    expect(res.status).toBe(202);
    const { event_id } = (await res.json()) as { event_id: string };
    expect(await eventFor(event_id)).toMatchObject({
      source: "github",
      action: "pull_request.opened",
      resource: "pull_request",
      resource_id: "acme/widgets#7",
      delivery_id: delivery,
      payload: JSON.parse(githubBody),
    });
  });

  test("a GitHub delivery with a bad signature is a 401 and publishes nothing", async () => {
    const before = events.messages.length;
    const res = await post(h, "github", githubBody, {
      "x-github-event": "pull_request",
      "x-github-delivery": crypto.randomUUID(),
      "x-hub-signature-256": await signGithub("wrong-secret", githubBody),
    });
    expect(res.status).toBe(401);
    const body = (await res.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe("UNAUTHORIZED");
    expect(body.error.message).not.toContain(SECRETS.github);
    await Bun.sleep(50);
    expect(events.messages.length).toBe(before);
  });

  test("a body altered after signing is rejected", async () => {
    const signature = await signGithub(SECRETS.github, githubBody);
    const res = await post(h, "github", githubBody.replace("Add retries", "Add backdoor"), {
      "x-github-event": "pull_request",
      "x-github-delivery": crypto.randomUUID(),
      "x-hub-signature-256": signature,
    });
    expect(res.status).toBe(401);
  });

  test("a duplicate GitHub delivery publishes nothing and names the first event", async () => {
    const delivery = crypto.randomUUID();
    const headers = {
      "x-github-event": "pull_request",
      "x-github-delivery": delivery,
      "x-hub-signature-256": await signGithub(SECRETS.github, githubBody),
    };
    const first = (await (await post(h, "github", githubBody, headers)).json()) as { event_id: string };
    const again = await post(h, "github", githubBody, headers);
    expect(again.status).toBe(200);
    expect(await again.json()).toEqual({ event_id: first.event_id, status: "duplicate" });
    await waitUntil(() => events.values().some((v) => v.delivery_id === delivery));
    await Bun.sleep(80);
    expect(events.values().filter((v) => v.delivery_id === delivery)).toHaveLength(1);
  });

  test("a Stripe event signed by the stripe library is accepted with its event id as delivery id", async () => {
    const body = JSON.stringify({
      id: `evt_${crypto.randomUUID().replaceAll("-", "")}`,
      object: "event",
      type: "payment_intent.succeeded",
      data: { object: { id: "pi_123", object: "payment_intent", amount: 2000 } },
    });
    const header = await Stripe.webhooks.generateTestHeaderStringAsync({
      payload: body,
      secret: SECRETS.stripe,
    });
    const res = await post(h, "stripe", body, { "stripe-signature": header });
    expect(res.status).toBe(202);
    const { event_id } = (await res.json()) as { event_id: string };
    expect(await eventFor(event_id)).toMatchObject({
      source: "stripe",
      action: "payment_intent.succeeded",
      resource: "payment_intent",
      resource_id: "pi_123",
      delivery_id: JSON.parse(body).id,
    });
  });

  test("a Stripe signature older than 300 s is rejected", async () => {
    const body = JSON.stringify({
      id: "evt_old",
      type: "charge.succeeded",
      data: { object: { id: "ch_1", object: "charge" } },
    });
    const header = await Stripe.webhooks.generateTestHeaderStringAsync({
      payload: body,
      secret: SECRETS.stripe,
      timestamp: Math.floor(Date.now() / 1000) - 301,
    });
    const res = await post(h, "stripe", body, { "stripe-signature": header });
    expect(res.status).toBe(401);
    expect(((await res.json()) as { error: { message: string } }).error.message).toMatch(
      /tolerance|old|timestamp/i,
    );
  });

  test("a Standard Webhooks delivery signed by the standardwebhooks library is accepted", async () => {
    const id = `msg_${crypto.randomUUID()}`;
    const body = JSON.stringify({
      type: "invoice.paid",
      timestamp: new Date().toISOString(),
      data: { id: "inv_9" },
    });
    const now = new Date();
    const signature = new Webhook(SECRETS.standard).sign(id, now, body);
    const res = await post(h, "standard", body, {
      "webhook-id": id,
      "webhook-timestamp": String(Math.floor(now.getTime() / 1000)),
      "webhook-signature": signature,
    });
    expect(res.status).toBe(202);
    const { event_id } = (await res.json()) as { event_id: string };
    expect(await eventFor(event_id)).toMatchObject({
      action: "invoice.paid",
      resource: "invoice",
      resource_id: "inv_9",
      delivery_id: id,
    });
  });

  test("a Shopify delivery with a valid base64 HMAC is accepted", async () => {
    const body = JSON.stringify({
      id: 820982911946154500,
      admin_graphql_api_id: "gid://shopify/Order/820982911946154508",
    });
    const hmac = createHmac("sha256", SECRETS.shopify).update(body).digest("base64");
    const webhookId = crypto.randomUUID();
    const res = await post(h, "shopify", body, {
      "x-shopify-hmac-sha256": hmac,
      "x-shopify-topic": "orders/create",
      "x-shopify-shop-domain": "acme.myshopify.com",
      "x-shopify-webhook-id": webhookId,
    });
    expect(res.status).toBe(202);
    const { event_id } = (await res.json()) as { event_id: string };
    expect(await eventFor(event_id)).toMatchObject({
      action: "orders/create",
      resource: "orders",
      resource_id: "acme.myshopify.com:820982911946154508",
      delivery_id: webhookId,
    });
  });

  test("Slack's url_verification challenge is answered and publishes nothing", async () => {
    const before = events.messages.length;
    const body = JSON.stringify({
      type: "url_verification",
      challenge: "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P",
    });
    const ts = String(Math.floor(Date.now() / 1000));
    const signature = `v0=${createHmac("sha256", SECRETS.slack).update(`v0:${ts}:${body}`).digest("hex")}`;
    const res = await post(h, "slack", body, {
      "x-slack-request-timestamp": ts,
      "x-slack-signature": signature,
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ challenge: "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P" });
    await Bun.sleep(50);
    expect(events.messages.length).toBe(before);
  });

  test("a Slack event outside the 5 minute window is rejected", async () => {
    const body = JSON.stringify({
      type: "event_callback",
      event_id: "Ev1",
      team_id: "T1",
      event: { type: "message", channel: "C1" },
    });
    const ts = String(Math.floor(Date.now() / 1000) - 400);
    const signature = `v0=${createHmac("sha256", SECRETS.slack).update(`v0:${ts}:${body}`).digest("hex")}`;
    const res = await post(h, "slack", body, {
      "x-slack-request-timestamp": ts,
      "x-slack-signature": signature,
    });
    expect(res.status).toBe(401);
  });

  test("a provider without a configured secret answers 404, as does an unknown provider", async () => {
    const bare = await startReceiver({ overrides: { secrets: {} } });
    try {
      const res = await post(bare, "github", githubBody, { "x-hub-signature-256": "sha256=00" });
      expect(res.status).toBe(404);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe("NOT_FOUND");
    } finally {
      await bare.close();
    }
    expect((await post(h, "gitlab", "{}", {})).status).toBe(404);
  });

  test("provider endpoints need no API key but do need JSON", async () => {
    const res = await post(h, "github", githubBody, { "content-type": "text/plain" });
    expect(res.status).toBe(415);
  });
});
