import { asObject, type JsonObject, readId, readString, requireObject, requireValue } from "./payload.ts";
import {
  decodeHexDigest,
  digestMatchesAny,
  hmacSha256,
  missingHeader,
  missingSecret,
  SIGNATURE_MISMATCH,
} from "./signature.ts";
import {
  type ProviderEnvelope,
  ProviderPayloadError,
  type ProviderRequest,
  type Verification,
  type WebhookProvider,
} from "./types.ts";

const SIGNATURE_HEADER = "X-Hub-Signature-256";
const SIGNATURE_PREFIX = "sha256=";

const PULL_REQUEST_EVENTS = new Set([
  "pull_request",
  "pull_request_review",
  "pull_request_review_comment",
  "pull_request_review_thread",
]);

/** These payload keys name the scope of every event, not the subject of the event carrying the same name. */
const SCOPE_EVENTS = new Set(["repository", "organization"]);

/** GitHub signs with no timestamp, so replays are stopped by X-GitHub-Delivery deduplication instead. */
export function verifyGithubSignature(secret: string, req: ProviderRequest): Verification {
  if (!secret) return missingSecret();
  const header = req.headers.get(SIGNATURE_HEADER);
  if (header === null) return missingHeader(SIGNATURE_HEADER);
  const provided = header.startsWith(SIGNATURE_PREFIX)
    ? decodeHexDigest(header.slice(SIGNATURE_PREFIX.length))
    : undefined;
  if (!provided) return { ok: false, reason: `malformed ${SIGNATURE_HEADER} header (expected sha256=<hex>)` };
  return digestMatchesAny(hmacSha256(secret, req.rawBody), [provided]) ? { ok: true } : SIGNATURE_MISMATCH;
}

/**
 * Picks the object an event is about, first rule that applies:
 * 1. pull_request* events: `pull_request`, `owner/repo#number`.
 * 2. issues / issue_comment: `issue`, `owner/repo#number` (`pull_request` when the issue is a pull request,
 *    so PR comments share the PR's ordering key).
 * 3. the payload has an object named like the event with an `id` (release, workflow_run, check_run,
 *    deployment, discussion, installation, …): the event name, `owner/repo:id` (`org:id`, or bare id).
 * 4. a repository is present (push, create, delete, star, fork, …): `repository`, `owner/repo`.
 * 5. an organization is present: `organization`, its login.
 * 6. a ping from a GitHub App: `hook`, the hook id.
 */
export function githubResource(event: string, body: JsonObject): { resource: string; resource_id: string } {
  const repository = readString(asObject(body.repository), "full_name");
  const organization = readString(asObject(body.organization), "login");

  if (PULL_REQUEST_EVENTS.has(event)) {
    const number = readId(asObject(body.pull_request), "number") ?? readId(body, "number");
    return {
      resource: "pull_request",
      resource_id: numbered(
        requireValue("github", repository, "repository.full_name"),
        number,
        "pull_request",
      ),
    };
  }

  if (event === "issues" || event === "issue_comment") {
    const issue = asObject(body.issue);
    return {
      resource: issue?.pull_request === undefined ? "issue" : "pull_request",
      resource_id: numbered(
        requireValue("github", repository, "repository.full_name"),
        readId(issue, "number"),
        "issue",
      ),
    };
  }

  const subjectId = SCOPE_EVENTS.has(event) ? undefined : readId(asObject(body[event]), "id");
  if (subjectId !== undefined) {
    const scope = repository ?? organization;
    return { resource: event, resource_id: scope ? `${scope}:${subjectId}` : subjectId };
  }

  if (repository) return { resource: "repository", resource_id: repository };
  if (organization) return { resource: "organization", resource_id: organization };

  const hookId = readId(body, "hook_id");
  if (hookId !== undefined) return { resource: "hook", resource_id: hookId };

  throw new ProviderPayloadError("github", `cannot tell which object the ${event} event is about`);
}

function numbered(repository: string, number: string | undefined, kind: string): string {
  return `${repository}#${requireValue("github", number, `${kind}.number`)}`;
}

export function githubEnvelope(req: ProviderRequest, body: unknown): ProviderEnvelope {
  const event = req.headers.get("X-GitHub-Event");
  const deliveryId = req.headers.get("X-GitHub-Delivery");
  if (!event) throw new ProviderPayloadError("github", "missing X-GitHub-Event header");
  if (!deliveryId) throw new ProviderPayloadError("github", "missing X-GitHub-Delivery header");
  const object = requireObject("github", body);
  const subAction = readString(object, "action");
  return {
    action: subAction ? `${event}.${subAction}` : event,
    ...githubResource(event, object),
    delivery_id: deliveryId,
    payload: body,
  };
}

export const github: WebhookProvider = {
  name: "github",
  verify: verifyGithubSignature,
  toEnvelope: githubEnvelope,
};
