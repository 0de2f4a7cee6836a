import type { ServiceName } from "./stack.ts";

export interface Thresholds {
  p50_ms?: number;
  p95_ms?: number;
  p99_ms?: number;
  error_rate?: number;
}

export interface Scenario {
  name: string;
  service: ServiceName | "all";
  kind: "load" | "batch" | "workflow" | "stress";
  request: string;
  rate?: number;
  duration_s?: number;
  items?: number;
  batches?: number;
  tasks?: number;
  parallel?: number;
  concurrent?: number;
  ramp?: { from: number; to: number };
  payload_bytes?: { min: number; max: number };
  memory_cap_fraction?: number;
  document: Record<string, number>;
  sla?: Record<string, number>;
  criteria?: Record<string, number | boolean>;
}

export interface ScenarioFile {
  services: Record<ServiceName, { port: number; sla: Thresholds }>;
  scenarios: Scenario[];
}

export const scenarioFile = (await Bun.file(
  new URL("../scenarios.json", import.meta.url),
).json()) as ScenarioFile;

export function scenario(name: string): Scenario {
  const found = scenarioFile.scenarios.find((s) => s.name === name);
  if (!found)
    throw new Error(`unknown scenario ${name}; try: ${scenarioFile.scenarios.map((s) => s.name).join(", ")}`);
  return found;
}

export function slaFor(s: Scenario): Thresholds {
  return s.service === "all" ? {} : scenarioFile.services[s.service].sla;
}
