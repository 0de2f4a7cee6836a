/** What `{{…}}` placeholders resolve against: the run's input and the finished tasks' outputs. */
export interface TemplateScope {
  input: unknown;
  tasks: Record<string, { output: unknown }>;
}

const PLACEHOLDER = /\{\{\s*([^{}]+?)\s*\}\}/g;
const WHOLE_PLACEHOLDER = /^\{\{\s*([^{}]+?)\s*\}\}$/;
const PATH = /^(input(\.[A-Za-z0-9_-]+)*|tasks\.[A-Za-z0-9_-]+\.output(\.[A-Za-z0-9_-]+)*)$/;

export interface TemplateReference {
  path: string;
  /** The task whose output the path reads, when it reads one. */
  taskId?: string;
}

/** Every placeholder inside a params value, for validation before anything runs. */
export function templateReferences(value: unknown): TemplateReference[] {
  const found: TemplateReference[] = [];
  walkStrings(value, (text) => {
    for (const match of text.matchAll(PLACEHOLDER)) {
      const path = match[1] ?? "";
      const segments = path.split(".");
      found.push(segments[0] === "tasks" ? { path, taskId: segments[1] } : { path });
    }
  });
  return found;
}

export function isValidTemplatePath(path: string): boolean {
  return PATH.test(path);
}

/**
 * Replaces placeholders. A string that is exactly one placeholder becomes the referenced value with
 * its JSON type; placeholders inside longer strings are interpolated as text.
 */
export function renderTemplate(value: unknown, scope: TemplateScope): unknown {
  if (typeof value === "string") return renderString(value, scope);
  if (Array.isArray(value)) return value.map((item) => renderTemplate(item, scope));
  if (value !== null && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) out[key] = renderTemplate(item, scope);
    return out;
  }
  return value;
}

function renderString(text: string, scope: TemplateScope): unknown {
  if (!text.includes("{{")) return text;
  const whole = WHOLE_PLACEHOLDER.exec(text);
  if (whole) return resolve(whole[1] ?? "", scope);
  return text.replace(PLACEHOLDER, (_, path: string) => {
    const resolved = resolve(path, scope);
    if (resolved === undefined || resolved === null) return "";
    return typeof resolved === "string" ? resolved : JSON.stringify(resolved);
  });
}

function resolve(path: string, scope: TemplateScope): unknown {
  let current: unknown = scope;
  for (const segment of path.split(".")) {
    if (current === null || typeof current !== "object") return undefined;
    current = (current as Record<string, unknown>)[segment];
  }
  return current;
}

function walkStrings(value: unknown, visit: (text: string) => void): void {
  if (typeof value === "string") visit(value);
  else if (Array.isArray(value)) for (const item of value) walkStrings(item, visit);
  else if (value !== null && typeof value === "object") {
    for (const item of Object.values(value)) walkStrings(item, visit);
  }
}
