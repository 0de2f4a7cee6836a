import { z } from "zod";
import type { Expectation } from "./expectation.ts";
import { parseJsonLoosely, taskHeuristic } from "./task-heuristics.ts";

export interface QualityInput {
  taskType: string;
  prompt: string;
  output: unknown;
  expect?: Expectation | undefined;
}

export const outputText = (output: unknown) => (typeof output === "string" ? output : JSON.stringify(output));

/**
 * The mean of the components that apply, rounded to 3 decimals (documented in the README):
 * the task heuristic always, plus keywords found, JSON schema match and length fit when expected.
 */
export function scoreQuality({ taskType, prompt, output, expect }: QualityInput): number {
  const text = outputText(output) ?? "";
  const components = [taskHeuristic(taskType, output, text, prompt)];
  if (expect?.keywords) components.push(keywordShare(text, expect.keywords));
  if (expect?.json_schema) components.push(matchesSchema(output, expect.json_schema) ? 1 : 0);
  if (expect?.length) components.push(lengthFit(text.length, expect.length));
  const mean = components.reduce((sum, c) => sum + c, 0) / components.length;
  return Math.round(mean * 1000) / 1000;
}

function keywordShare(text: string, keywords: string[]): number {
  const haystack = text.toLowerCase();
  return keywords.filter((k) => haystack.includes(k.toLowerCase())).length / keywords.length;
}

function matchesSchema(output: unknown, schema: Record<string, unknown>): boolean {
  const value = typeof output === "string" ? parseJsonLoosely(output) : output;
  if (value === undefined) return false;
  return z.fromJSONSchema(schema as z.core.JSONSchema.JSONSchema).safeParse(value).success;
}

/** 1 inside the range; outside, the ratio of the length to the bound it missed. */
function lengthFit(length: number, range: { min?: number | undefined; max?: number | undefined }): number {
  if (range.min !== undefined && length < range.min) return range.min === 0 ? 1 : length / range.min;
  if (range.max !== undefined && length > range.max) return range.max / length;
  return 1;
}
