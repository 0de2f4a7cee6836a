import { describe, expect, test } from "bun:test";
import { createHmac } from "node:crypto";
import { sign as signGithub } from "@octokit/webhooks-methods";
import { Webhook } from "standardwebhooks";
import Stripe from "stripe";
import {
  ProviderPayloadError,
  type ProviderRequest,
  providers,
  verifyGithubSignature,
  verifyShopifySignature,
  verifySlackSignature,
  verifyStandardSignature,
  verifyStripeSignature,
} from "./index.ts";

const NOW_MS = Date.UTC(2025, 5, 1, 12, 0, 0);
const NOW_S = NOW_MS / 1000;

function request(headers: Record<string, string>, rawBody: string, nowMs = NOW_MS): ProviderRequest {
  return { headers: new Headers(headers), rawBody, nowMs };
}

function rejectionReason(result: ReturnType<typeof verifyGithubSignature>): string {
  if (result.ok) throw new Error("expected the delivery to be rejected");
  return result.reason;
}

function envelopeOf(name: keyof typeof providers, req: ProviderRequest) {
  return providers[name].toEnvelope(req, JSON.parse(req.rawBody));
}

describe("GitHub", () => {
  const secret = "gh-webhook-secret";
  const body = JSON.stringify({
    action: "opened",
    number: 42,
    pull_request: { id: 1793851040, number: 42, title: "Add retries", state: "open" },
    repository: { id: 1296269, name: "hello-world", full_name: "octo-org/hello-world" },
    sender: { login: "octocat", id: 1 },
  });

  async function signed(rawBody = body, signWith = secret, event = "pull_request") {
    return request(
      {
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": "72d3162e-cc78-11e3-81ab-4c9367dc0958",
        "X-Hub-Signature-256": await signGithub(signWith, rawBody),
      },
      rawBody,
    );
  }

  test("a delivery signed by @octokit/webhooks-methods passes", async () => {
    expect(verifyGithubSignature(secret, await signed())).toEqual({ ok: true });
  });

  test("GitHub's published example signature passes", () => {
    const req = request(
      {
        "X-Hub-Signature-256": "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17",
      },
      "Hello, World!",
    );
    expect(verifyGithubSignature("It's a Secret to Everybody", req)).toEqual({ ok: true });
  });

  test("a body changed after signing is rejected", async () => {
    const req = await signed();
    const tampered = { ...req, rawBody: req.rawBody.replace("Add retries", "Drop retries") };
    expect(rejectionReason(verifyGithubSignature(secret, tampered))).toBe("signature does not match");
  });

  test("a delivery signed with another secret is rejected", async () => {
    expect(verifyGithubSignature(secret, await signed(body, "other-secret")).ok).toBe(false);
  });

  test("a delivery without X-Hub-Signature-256 is rejected with the header named", () => {
    const reason = rejectionReason(verifyGithubSignature(secret, request({}, body)));
    expect(reason).toBe("missing X-Hub-Signature-256 header");
  });

  test("a signature that is not sha256=<hex> is rejected as malformed", () => {
    const req = request({ "X-Hub-Signature-256": "sha1=abc" }, body);
    expect(rejectionReason(verifyGithubSignature(secret, req))).toContain("malformed");
  });

  test("an empty configured secret rejects even a delivery signed with the empty key", () => {
    // @octokit/webhooks-methods refuses to sign with an empty secret, so this signature is computed directly.
    const emptyKeySignature = `sha256=${createHmac("sha256", "").update(body).digest("hex")}`;
    const req = request({ "X-Hub-Signature-256": emptyKeySignature }, body);
    expect(rejectionReason(verifyGithubSignature("", req))).toBe(
      "no signing secret is configured for this provider",
    );
  });

  test("a rejection reason never contains the secret or the expected signature", async () => {
    const req = await signed(body, "other-secret");
    const expected = createHmac("sha256", secret).update(body).digest("hex");
    const reason = rejectionReason(verifyGithubSignature(secret, req));
    expect(reason).not.toContain(expected);
    expect(reason).not.toContain(secret);
  });

  test("a pull_request delivery maps to pull_request.opened on owner/repo#number", async () => {
    expect(envelopeOf("github", await signed())).toEqual({
      action: "pull_request.opened",
      resource: "pull_request",
      resource_id: "octo-org/hello-world#42",
      delivery_id: "72d3162e-cc78-11e3-81ab-4c9367dc0958",
      payload: JSON.parse(body),
    });
  });

  test("a push maps to the repository with no sub-action", async () => {
    const push = JSON.stringify({
      ref: "refs/heads/main",
      before: "6113728f27ae82c7b1a177c8d03f9e96e0adf246",
      after: "59b20b8d5c6ff8d09518454d4dd8b7a30f095ab5",
      repository: { id: 1296269, full_name: "octo-org/hello-world" },
      pusher: { name: "octocat" },
    });
    const envelope = envelopeOf("github", await signed(push, secret, "push"));
    expect(envelope).toMatchObject({
      action: "push",
      resource: "repository",
      resource_id: "octo-org/hello-world",
    });
  });

  test("an issue comment is filed under its issue, or under the pull request it belongs to", async () => {
    const onIssue = JSON.stringify({
      action: "created",
      issue: { id: 1, number: 7 },
      comment: { id: 99 },
      repository: { full_name: "octo-org/hello-world" },
    });
    const onPullRequest = JSON.stringify({
      action: "created",
      issue: { id: 2, number: 42, pull_request: { url: "https://api.github.com/repos/o/r/pulls/42" } },
      comment: { id: 100 },
      repository: { full_name: "octo-org/hello-world" },
    });
    expect(envelopeOf("github", await signed(onIssue, secret, "issue_comment"))).toMatchObject({
      action: "issue_comment.created",
      resource: "issue",
      resource_id: "octo-org/hello-world#7",
    });
    expect(envelopeOf("github", await signed(onPullRequest, secret, "issue_comment"))).toMatchObject({
      resource: "pull_request",
      resource_id: "octo-org/hello-world#42",
    });
  });

  test("an event with an object named after it maps to that object's id within the repository", async () => {
    const release = JSON.stringify({
      action: "published",
      release: { id: 184307651, tag_name: "v1.2.0" },
      repository: { full_name: "octo-org/hello-world" },
    });
    expect(envelopeOf("github", await signed(release, secret, "release"))).toMatchObject({
      action: "release.published",
      resource: "release",
      resource_id: "octo-org/hello-world:184307651",
    });
  });

  test("an App ping without repository or organization maps to its hook", async () => {
    const ping = JSON.stringify({
      zen: "Keep it logically awesome.",
      hook_id: 12345678,
      hook: { id: 12345678 },
    });
    expect(envelopeOf("github", await signed(ping, secret, "ping"))).toMatchObject({
      action: "ping",
      resource: "hook",
      resource_id: "12345678",
    });
  });

  test("a delivery without X-GitHub-Event cannot be mapped", async () => {
    const req = await signed();
    req.headers.delete("X-GitHub-Event");
    expect(() => envelopeOf("github", req)).toThrow(ProviderPayloadError);
    expect(() => envelopeOf("github", req)).toThrow("missing X-GitHub-Event header");
  });
});

describe("Stripe", () => {
  const secret = "whsec_test_7c1b2f0e9d";
  const body = JSON.stringify({
    id: "evt_3MtwBwLkdIwHu7ix0snN0B15",
    object: "event",
    api_version: "2022-11-15",
    created: 1680064028,
    data: {
      object: {
        id: "pi_3MtwBwLkdIwHu7ix28a3tqPa",
        object: "payment_intent",
        amount: 2000,
        currency: "usd",
        status: "succeeded",
      },
    },
    livemode: false,
    pending_webhooks: 1,
    request: { id: "req_8Jm1ZDb8LkMyUa", idempotency_key: null },
    type: "payment_intent.succeeded",
  });

  // Bun loads Stripe's worker build, whose SubtleCrypto provider only offers the async signer.
  function stripeHeader(options: { payload?: string; secret?: string; timestamp?: number } = {}) {
    return Stripe.webhooks.generateTestHeaderStringAsync({
      payload: options.payload ?? body,
      secret: options.secret ?? secret,
      timestamp: options.timestamp ?? NOW_S,
    });
  }

  function v1Of(header: string): string {
    const v1 = header.split(",").find((part) => part.startsWith("v1="));
    if (!v1) throw new Error("Stripe produced no v1 signature");
    return v1.slice(3);
  }

  test("a delivery signed by Stripe's test header generator passes", async () => {
    const req = request({ "Stripe-Signature": await stripeHeader() }, body);
    expect(verifyStripeSignature(secret, req)).toEqual({ ok: true });
  });

  test("a body changed after signing is rejected", async () => {
    const req = request({ "Stripe-Signature": await stripeHeader() }, body.replace("2000", "1"));
    expect(rejectionReason(verifyStripeSignature(secret, req))).toBe("signature does not match");
  });

  test("a delivery signed with another secret is rejected", async () => {
    const req = request({ "Stripe-Signature": await stripeHeader({ secret: "whsec_other" }) }, body);
    expect(verifyStripeSignature(secret, req).ok).toBe(false);
  });

  test("a delivery without Stripe-Signature is rejected with the header named", () => {
    expect(rejectionReason(verifyStripeSignature(secret, request({}, body)))).toBe(
      "missing Stripe-Signature header",
    );
  });

  test("a Stripe delivery older than 300 s is rejected", async () => {
    const req = request({ "Stripe-Signature": await stripeHeader({ timestamp: NOW_S - 301 }) }, body);
    expect(rejectionReason(verifyStripeSignature(secret, req))).toContain("301 s old");
  });

  test("a Stripe delivery exactly 300 s old is still accepted", async () => {
    const req = request({ "Stripe-Signature": await stripeHeader({ timestamp: NOW_S - 300 }) }, body);
    expect(verifyStripeSignature(secret, req)).toEqual({ ok: true });
  });

  test("a Stripe delivery stamped more than 300 s in the future is rejected", async () => {
    const req = request({ "Stripe-Signature": await stripeHeader({ timestamp: NOW_S + 301 }) }, body);
    expect(rejectionReason(verifyStripeSignature(secret, req))).toContain("in the future");
  });

  test("a header with several v1 signatures passes when any one of them matches", async () => {
    const stale = v1Of(await stripeHeader({ secret: "whsec_rolled_secret" }));
    const current = v1Of(await stripeHeader());
    const header = `t=${NOW_S},v1=${stale},v1=${current},v0=${"0".repeat(64)}`;
    expect(verifyStripeSignature(secret, request({ "Stripe-Signature": header }, body))).toEqual({
      ok: true,
    });
  });

  test("a header whose only valid-looking signature is v0 is rejected", async () => {
    const header = `t=${NOW_S},v0=${v1Of(await stripeHeader())}`;
    const reason = rejectionReason(
      verifyStripeSignature(secret, request({ "Stripe-Signature": header }, body)),
    );
    expect(reason).toBe("Stripe-Signature header has no v1 signature");
  });

  test("a payment_intent event maps to its type and the PaymentIntent", async () => {
    const req = request({ "Stripe-Signature": await stripeHeader() }, body);
    expect(envelopeOf("stripe", req)).toEqual({
      action: "payment_intent.succeeded",
      resource: "payment_intent",
      resource_id: "pi_3MtwBwLkdIwHu7ix28a3tqPa",
      delivery_id: "evt_3MtwBwLkdIwHu7ix0snN0B15",
      payload: JSON.parse(body),
    });
  });

  test("an event about a singleton object without id uses the object type as resource_id", () => {
    const balance = JSON.stringify({
      id: "evt_1NG8Du2eZvKYlo2CUI79vXWy",
      object: "event",
      type: "balance.available",
      data: { object: { object: "balance", available: [{ amount: 2217, currency: "usd" }] } },
    });
    expect(envelopeOf("stripe", request({}, balance))).toMatchObject({
      action: "balance.available",
      resource: "balance",
      resource_id: "balance",
    });
  });

  test("an event without data.object cannot be mapped", () => {
    const req = request({}, JSON.stringify({ id: "evt_1", type: "x.y", data: {} }));
    expect(() => envelopeOf("stripe", req)).toThrow("missing data.object");
  });
});

describe("Slack", () => {
  const secret = "8f742231b10e8888abcd99yyyzzz85a5";

  // Slack publishes no signing library for Node in this project, so this follows
  // https://api.slack.com/authentication/verifying-requests-from-slack directly.
  function slackSignature(rawBody: string, timestamp: number, signWith = secret): string {
    return `v0=${createHmac("sha256", signWith).update(`v0:${timestamp}:${rawBody}`).digest("hex")}`;
  }

  function signed(
    rawBody: string,
    options: { timestamp?: number; contentType?: string; secret?: string } = {},
  ) {
    const timestamp = options.timestamp ?? NOW_S;
    return request(
      {
        "Content-Type": options.contentType ?? "application/json",
        "X-Slack-Request-Timestamp": String(timestamp),
        "X-Slack-Signature": slackSignature(rawBody, timestamp, options.secret),
      },
      rawBody,
    );
  }

  const eventBody = JSON.stringify({
    token: "XXYYZZ",
    team_id: "T061EG9R6",
    api_app_id: "A0PNCHHK2",
    event: {
      type: "app_mention",
      user: "U061F7AUR",
      text: "<@U0LAN0Z89> is it everything a river should be?",
      ts: "1515449522.000016",
      channel: "C0LAN2Q65",
      event_ts: "1515449522000016",
    },
    type: "event_callback",
    event_id: "Ev0LAN670R",
    event_time: 1515449522,
  });

  // The worked example from Slack's documentation: a slash command body signed at 1531420618.
  const docsBody =
    "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c";
  const docsRequest = request(
    {
      "Content-Type": "application/x-www-form-urlencoded",
      "X-Slack-Request-Timestamp": "1531420618",
      "X-Slack-Signature": "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503",
    },
    docsBody,
    1531420618 * 1000,
  );

  test("Slack's published example signature passes and matches the test's own signer", () => {
    expect(verifySlackSignature(secret, docsRequest)).toEqual({ ok: true });
    expect(slackSignature(docsBody, 1531420618)).toBe(docsRequest.headers.get("X-Slack-Signature") ?? "");
  });

  test("a correctly signed Events API delivery passes", () => {
    expect(verifySlackSignature(secret, signed(eventBody))).toEqual({ ok: true });
  });

  test("a body changed after signing is rejected", () => {
    const req = signed(eventBody);
    const tampered = { ...req, rawBody: req.rawBody.replace("app_mention", "message") };
    expect(rejectionReason(verifySlackSignature(secret, tampered))).toBe("signature does not match");
  });

  test("a delivery signed with another secret is rejected", () => {
    expect(verifySlackSignature(secret, signed(eventBody, { secret: "another-secret" })).ok).toBe(false);
  });

  test("a delivery without X-Slack-Signature or its timestamp is rejected with the header named", () => {
    const req = signed(eventBody);
    const noSignature = request({ "X-Slack-Request-Timestamp": String(NOW_S) }, eventBody);
    const noTimestamp = request(
      { "X-Slack-Signature": req.headers.get("X-Slack-Signature") ?? "" },
      eventBody,
    );
    expect(rejectionReason(verifySlackSignature(secret, noSignature))).toBe(
      "missing X-Slack-Signature header",
    );
    expect(rejectionReason(verifySlackSignature(secret, noTimestamp))).toBe(
      "missing X-Slack-Request-Timestamp header",
    );
  });

  test("a Slack delivery older than 5 minutes is rejected", () => {
    const reason = rejectionReason(
      verifySlackSignature(secret, signed(eventBody, { timestamp: NOW_S - 301 })),
    );
    expect(reason).toContain("301 s old");
  });

  test("a Slack delivery stamped more than 5 minutes in the future is rejected", () => {
    const reason = rejectionReason(
      verifySlackSignature(secret, signed(eventBody, { timestamp: NOW_S + 301 })),
    );
    expect(reason).toContain("in the future");
  });

  test("a url_verification request is answered with its challenge", () => {
    const challenge = "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P";
    const body = { token: "Jhj5dZrVaK7ZwHHjRyZWjbDl", challenge, type: "url_verification" };
    expect(providers.slack.immediateResponse?.(body)).toEqual({ challenge });
  });

  test("an event callback gets no immediate answer", () => {
    expect(providers.slack.immediateResponse?.(JSON.parse(eventBody))).toBeUndefined();
  });

  test("an Events API delivery maps to the event type in its team and channel", () => {
    expect(envelopeOf("slack", signed(eventBody))).toEqual({
      action: "app_mention",
      resource: "channel",
      resource_id: "T061EG9R6:C0LAN2Q65",
      delivery_id: "Ev0LAN670R",
      payload: JSON.parse(eventBody),
    });
  });

  test("a reaction is filed under the channel of the item it was added to", () => {
    const reaction = JSON.stringify({
      team_id: "T061EG9R6",
      event: {
        type: "reaction_added",
        user: "U024BE7LH",
        reaction: "thumbsup",
        item: { type: "message", channel: "C0G9QF9GZ", ts: "1360782400.498405" },
      },
      type: "event_callback",
      event_id: "Ev0LAN671R",
    });
    expect(envelopeOf("slack", signed(reaction))).toMatchObject({
      action: "reaction_added",
      resource: "channel",
      resource_id: "T061EG9R6:C0G9QF9GZ",
    });
  });

  test("an event outside any channel is filed under the team", () => {
    const teamJoin = JSON.stringify({
      team_id: "T061EG9R6",
      event: { type: "team_join", user: { id: "W012A3CDE" } },
      type: "event_callback",
      event_id: "Ev0LAN672R",
    });
    expect(envelopeOf("slack", signed(teamJoin))).toMatchObject({
      action: "team_join",
      resource: "team",
      resource_id: "T061EG9R6:",
    });
  });

  test("a url_verification that reaches mapping is keyed by its challenge", () => {
    const body = JSON.stringify({ token: "t", challenge: "abc123", type: "url_verification" });
    expect(envelopeOf("slack", signed(body))).toMatchObject({
      action: "url_verification",
      delivery_id: "url_verification:abc123",
    });
  });

  test("a form-encoded interactivity delivery is mapped from the JSON in its payload field", () => {
    const interaction = {
      type: "block_actions",
      team: { id: "T9TK3CUKW", domain: "example" },
      user: { id: "UA8RXUSPL", team_id: "T9TK3CUKW" },
      channel: { id: "CBR2V3XEX", name: "review-updates" },
      trigger_id: "12466734323.1395872398.3a8f9e1b6c",
      actions: [{ action_id: "approve", block_id: "b1", type: "button", value: "approve" }],
    };
    const rawBody = new URLSearchParams({ payload: JSON.stringify(interaction) }).toString();
    const req = signed(rawBody, { contentType: "application/x-www-form-urlencoded" });
    expect(verifySlackSignature(secret, req)).toEqual({ ok: true });
    expect(providers.slack.toEnvelope(req, undefined)).toEqual({
      action: "block_actions",
      resource: "channel",
      resource_id: "T9TK3CUKW:CBR2V3XEX",
      delivery_id: "12466734323.1395872398.3a8f9e1b6c",
      payload: interaction,
    });
  });

  test("a slash command maps to slash_command in its channel, keyed by trigger_id", () => {
    expect(providers.slack.toEnvelope(docsRequest, undefined)).toMatchObject({
      action: "slash_command",
      resource: "channel",
      resource_id: "T1DC2JH3J:G8PSS9T3V",
      delivery_id: "398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c",
      payload: { command: "/webhook-collect", channel_name: "foobar" },
    });
  });

  test("an event callback without event_id cannot be mapped", () => {
    const body = JSON.stringify({ team_id: "T1", type: "event_callback", event: { type: "message" } });
    expect(() => envelopeOf("slack", signed(body))).toThrow("missing event_id");
  });
});

describe("Shopify", () => {
  const secret = "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";
  // 820982911946154508 is beyond 2^53, as Shopify ids can be; JSON.parse would round it.
  const body = `{"id":820982911946154508,"admin_graphql_api_id":"gid://shopify/Order/820982911946154508","email":"jon@example.com","created_at":"2025-06-01T08:00:00-04:00","currency":"USD","total_price":"403.00","financial_status":"paid","line_items":[{"id":866550311766439020,"title":"IPod Nano - 8GB","quantity":1}]}`;

  // Shopify publishes no signing library for Node in this project; this follows
  // https://shopify.dev/docs/apps/build/webhooks/subscribe/https#step-5-verify-the-webhook.
  function shopifySignature(rawBody: string, signWith = secret): string {
    return createHmac("sha256", signWith).update(rawBody, "utf8").digest("base64");
  }

  function signed(rawBody = body, signWith = secret, extra: Record<string, string> = {}) {
    return request(
      {
        "X-Shopify-Topic": "orders/create",
        "X-Shopify-Shop-Domain": "example.myshopify.com",
        "X-Shopify-Webhook-Id": "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043",
        "X-Shopify-Event-Id": "98880550-7158-44d4-b7cd-2c97c8a091b5",
        "X-Shopify-API-Version": "2025-04",
        "X-Shopify-Hmac-Sha256": shopifySignature(rawBody, signWith),
        ...extra,
      },
      rawBody,
    );
  }

  test("a correctly signed delivery passes", () => {
    expect(verifyShopifySignature(secret, signed())).toEqual({ ok: true });
  });

  test("a body with non-ASCII text is verified over its UTF-8 bytes", () => {
    const rawBody = body.replace("IPod Nano", "Crème brûlée 🍮");
    expect(verifyShopifySignature(secret, signed(rawBody))).toEqual({ ok: true });
  });

  test("a body changed after signing is rejected", () => {
    const req = signed();
    const tampered = { ...req, rawBody: req.rawBody.replace("403.00", "4.00") };
    expect(rejectionReason(verifyShopifySignature(secret, tampered))).toBe("signature does not match");
  });

  test("a delivery signed with another secret is rejected", () => {
    expect(verifyShopifySignature(secret, signed(body, "shpss_other")).ok).toBe(false);
  });

  test("a delivery without X-Shopify-Hmac-Sha256 is rejected with the header named", () => {
    expect(rejectionReason(verifyShopifySignature(secret, request({}, body)))).toBe(
      "missing X-Shopify-Hmac-Sha256 header",
    );
  });

  test("a hex signature where base64 is expected is rejected as malformed", () => {
    const hex = createHmac("sha256", secret).update(body).digest("hex");
    const req = request({ "X-Shopify-Hmac-Sha256": hex }, body);
    expect(rejectionReason(verifyShopifySignature(secret, req))).toContain("malformed");
  });

  test("an orders/create delivery maps to the order in its shop with the id's exact digits", () => {
    expect(envelopeOf("shopify", signed())).toEqual({
      action: "orders/create",
      resource: "orders",
      resource_id: "example.myshopify.com:820982911946154508",
      delivery_id: "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043",
      payload: JSON.parse(body),
    });
  });

  test("X-Shopify-Event-Id is the delivery id when X-Shopify-Webhook-Id is absent", () => {
    const req = signed();
    req.headers.delete("X-Shopify-Webhook-Id");
    expect(envelopeOf("shopify", req).delivery_id).toBe("98880550-7158-44d4-b7cd-2c97c8a091b5");
  });

  test("a shop-level topic without an object id maps to the shop domain", () => {
    const rawBody = JSON.stringify({ shop_id: 954889, shop_domain: "example.myshopify.com" });
    const req = signed(rawBody, secret, { "X-Shopify-Topic": "shop/redact" });
    expect(envelopeOf("shopify", req)).toMatchObject({
      action: "shop/redact",
      resource: "shop",
      resource_id: "example.myshopify.com",
    });
  });

  test("a delivery without X-Shopify-Topic cannot be mapped", () => {
    const req = signed();
    req.headers.delete("X-Shopify-Topic");
    expect(() => envelopeOf("shopify", req)).toThrow("missing X-Shopify-Topic header");
  });
});

describe("Standard Webhooks", () => {
  const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
  const msgId = "msg_2Lh9KRb0pzN4LePd3XiA0cT1";
  const body = JSON.stringify({
    type: "invoice.paid",
    timestamp: "2025-06-01T12:00:00.000Z",
    data: { id: "inv_01HZX3Q8M5", customer_id: "cus_42", amount: 1999, currency: "EUR" },
  });

  function signed(
    options: {
      rawBody?: string;
      secret?: string;
      timestamp?: number;
      signature?: string;
      raw?: boolean;
    } = {},
  ) {
    const rawBody = options.rawBody ?? body;
    const timestamp = options.timestamp ?? NOW_S;
    const webhook = new Webhook(options.secret ?? secret, options.raw ? { format: "raw" } : undefined);
    return request(
      {
        "webhook-id": msgId,
        "webhook-timestamp": String(timestamp),
        "webhook-signature": options.signature ?? webhook.sign(msgId, new Date(timestamp * 1000), rawBody),
      },
      rawBody,
    );
  }

  test("a delivery signed by the standardwebhooks library passes", () => {
    expect(verifyStandardSignature(secret, signed())).toEqual({ ok: true });
  });

  test("the spec's published example signature passes", () => {
    const req = request(
      {
        "webhook-id": "msg_p5jXN8AQM9LWM0D4loKWxJek",
        "webhook-timestamp": "1614265330",
        "webhook-signature": "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
      },
      '{"test": 2432232314}',
      1614265330 * 1000,
    );
    expect(verifyStandardSignature(secret, req)).toEqual({ ok: true });
  });

  test("a secret without the whsec_ prefix is used as raw bytes", () => {
    const rawSecret = "a-plain-shared-secret";
    expect(verifyStandardSignature(rawSecret, signed({ secret: rawSecret, raw: true }))).toEqual({
      ok: true,
    });
  });

  test("a body changed after signing is rejected", () => {
    const req = signed();
    const tampered = { ...req, rawBody: req.rawBody.replace("1999", "1") };
    expect(rejectionReason(verifyStandardSignature(secret, tampered))).toBe("signature does not match");
  });

  test("a delivery signed with another secret is rejected", () => {
    const other = "whsec_dGhpcyBpcyBhbm90aGVyIHNlY3JldA==";
    expect(verifyStandardSignature(secret, signed({ secret: other })).ok).toBe(false);
  });

  test("a delivery missing a webhook-* header is rejected with the header named", () => {
    for (const header of ["webhook-id", "webhook-timestamp", "webhook-signature"]) {
      const req = signed();
      req.headers.delete(header);
      expect(rejectionReason(verifyStandardSignature(secret, req))).toBe(`missing ${header} header`);
    }
  });

  test("a delivery older than 5 minutes is rejected", () => {
    const reason = rejectionReason(verifyStandardSignature(secret, signed({ timestamp: NOW_S - 301 })));
    expect(reason).toContain("301 s old");
  });

  test("a delivery stamped more than 5 minutes in the future is rejected", () => {
    const reason = rejectionReason(verifyStandardSignature(secret, signed({ timestamp: NOW_S + 301 })));
    expect(reason).toContain("in the future");
  });

  test("a signature list passes when any v1 entry matches and other versions are ignored", () => {
    const current = new Webhook(secret).sign(msgId, new Date(NOW_S * 1000), body);
    const rolled = new Webhook("whsec_cm9sbGVkIHNlY3JldA==").sign(msgId, new Date(NOW_S * 1000), body);
    const signature = `${rolled} v1a,bm90IGNoZWNrZWQ= ${current}`;
    expect(verifyStandardSignature(secret, signed({ signature }))).toEqual({ ok: true });
  });

  test("a signature list with no v1 entry is rejected", () => {
    const current = new Webhook(secret).sign(msgId, new Date(NOW_S * 1000), body);
    const signature = current.replace("v1,", "v2,");
    expect(rejectionReason(verifyStandardSignature(secret, signed({ signature })))).toBe(
      "webhook-signature has no v1 signature",
    );
  });

  test("a whsec_ secret that is not base64 is reported as misconfigured, not as a bad signature", () => {
    expect(rejectionReason(verifyStandardSignature("whsec_not*base64", signed()))).toContain("not a valid");
  });

  test("an invoice.paid delivery maps to the invoice named in data.id", () => {
    expect(envelopeOf("standard", signed())).toEqual({
      action: "invoice.paid",
      resource: "invoice",
      resource_id: "inv_01HZX3Q8M5",
      delivery_id: msgId,
      payload: JSON.parse(body),
    });
  });

  test("an event without data.id uses the webhook-id as resource_id", () => {
    const rawBody = JSON.stringify({ type: "account.settings_changed", timestamp: "2025-06-01T12:00:00Z" });
    expect(envelopeOf("standard", signed({ rawBody }))).toMatchObject({
      action: "account.settings_changed",
      resource: "account",
      resource_id: msgId,
    });
  });

  test("an event without a type cannot be mapped", () => {
    const rawBody = JSON.stringify({ data: { id: "x" } });
    expect(() => envelopeOf("standard", signed({ rawBody }))).toThrow("missing type");
  });
});

test("every provider refuses to verify when no secret is configured", () => {
  for (const provider of Object.values(providers)) {
    expect(provider.verify("", request({}, "{}"))).toEqual({
      ok: false,
      reason: "no signing secret is configured for this provider",
    });
  }
});

test("every provider is registered under its own name", () => {
  for (const [name, provider] of Object.entries(providers)) expect<string>(provider.name).toBe(name);
});
