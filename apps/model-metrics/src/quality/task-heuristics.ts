/**
 * What a plausible answer looks like for each task type, scored 0..1 without a reference answer.
 * Empty output scores 0 for every task type.
 */
export function taskHeuristic(taskType: string, output: unknown, text: string, prompt: string): number {
  if (text.trim() === "" || text === "{}" || text === "null") return 0;
  switch (taskType) {
    case "sentiment":
      return /\b(positive|negative|neutral)\b/i.test(text) ? 1 : 0.3;
    case "entities":
    case "extract":
    case "json":
      return structured(output) ? 1 : 0.5;
    case "classify":
    case "classification":
      return wordCount(text) <= 5 ? 1 : 0.6;
    case "summarize":
    case "summarise": {
      const summary = typeof output === "object" && output !== null ? JSON.stringify(output) : text;
      return summary.length < prompt.length ? 1 : 0.5;
    }
    default:
      return repetitionPenalty(text);
  }
}

function structured(output: unknown): boolean {
  if (typeof output === "object" && output !== null) return true;
  return typeof output === "string" && parseJsonLoosely(output) !== undefined;
}

/** Text that loops on itself (distinct words under 30% of a 20+ word answer) scores 0.5. */
function repetitionPenalty(text: string): number {
  const words = text.toLowerCase().match(/\w+/g) ?? [];
  if (words.length < 20) return 1;
  return new Set(words).size / words.length < 0.3 ? 0.5 : 1;
}

const wordCount = (text: string) => (text.match(/\S+/g) ?? []).length;

/** JSON in an answer, also when a chat model wraps it in a Markdown code fence. */
export function parseJsonLoosely(text: string): unknown {
  const fenced = /```(?:json)?\s*([\s\S]*?)```/.exec(text);
  try {
    return JSON.parse((fenced?.[1] ?? text).trim());
  } catch {
    return undefined;
  }
}
