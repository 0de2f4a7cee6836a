import { mkdirSync } from "node:fs";
import type { StepResult } from "./open-loop.ts";

/** One figure of ours beside the document's and the threshold it must meet. */
export interface ResultRow {
  metric: string;
  ours: number | string;
  document?: number | string;
  threshold?: string;
  pass?: boolean;
}

export interface ScenarioResult {
  name: string;
  service: string;
  kind: string;
  startedAt: string;
  conditions: string;
  rows: ResultRow[];
  steps?: StepResult[];
  /** False when the end-to-end counts did not match: such a run is void. */
  reconciled: boolean | null;
  reconciliation?: string;
  passed: boolean;
  notes: string[];
}

export const OUT_DIR = new URL("../out/", import.meta.url).pathname;

export async function saveResult(result: ScenarioResult): Promise<void> {
  mkdirSync(OUT_DIR, { recursive: true });
  await Bun.write(`${OUT_DIR}${result.name}.json`, JSON.stringify(result, null, 2));
}

export const below = (value: number, bound: number | undefined) => bound === undefined || value < bound;

export function errorRate(step: StepResult): number {
  return (step.errors + step.dropped) / Math.max(1, step.sent + step.dropped);
}
