import { github } from "./github.ts";
import { shopify } from "./shopify.ts";
import { slack } from "./slack.ts";
import { standard } from "./standard.ts";
import { stripe } from "./stripe.ts";
import type { ProviderName, WebhookProvider } from "./types.ts";

export const providers: Record<ProviderName, WebhookProvider> = { github, stripe, slack, shopify, standard };

export function isProviderName(value: string): value is ProviderName {
  return Object.hasOwn(providers, value);
}

export { github, githubEnvelope, githubResource, verifyGithubSignature } from "./github.ts";
export { shopify, shopifyEnvelope, shopifyObjectId, verifyShopifySignature } from "./shopify.ts";
export {
  parseSlackBody,
  SLACK_TOLERANCE_SECONDS,
  type SlackBody,
  slack,
  slackEnvelope,
  slackImmediateResponse,
  verifySlackSignature,
} from "./slack.ts";
export {
  STANDARD_TOLERANCE_SECONDS,
  standard,
  standardEnvelope,
  standardSigningKey,
  verifyStandardSignature,
} from "./standard.ts";
export { STRIPE_TOLERANCE_SECONDS, stripe, stripeEnvelope, verifyStripeSignature } from "./stripe.ts";
export * from "./types.ts";
