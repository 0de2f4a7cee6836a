import type { ModelPerformance } from "./performance-query.ts";

export interface Recommendation {
  model: string;
  rank: number;
  score: number;
  confidence: number;
  count: number;
  success_rate: number;
  p50_latency_ms: number | null;
  quality_score: number | null;
  reason: string;
}

export interface Recommendations {
  task_type: string;
  min_sample_size: number;
  recommendations: Recommendation[];
  /** Models with executions in the window but fewer than `min_sample_size`: not ranked yet. */
  insufficient_data: { model: string; count: number }[];
}

/** The weights of the ranking score; the README states the same rule. */
export const SCORE_WEIGHTS = { quality: 0.5, success: 0.3, speed: 0.2 } as const;

/**
 * Ranks the models with at least `minSampleSize` executions of the task type by
 * 0.5 × quality + 0.3 × success rate + 0.2 × speed, where speed is the fastest p50 divided by the
 * model's p50. Confidence grows with the sample: √(count / (4 × minSampleSize)), capped at 1.
 */
export function recommend(
  taskType: string,
  performance: readonly ModelPerformance[],
  minSampleSize: number,
): Recommendations {
  const rows = performance.filter((p) => p.task_type === taskType);
  const eligible = rows.filter((p) => p.count >= minSampleSize);
  const latencies = eligible.map((p) => p.latency_ms.p50).filter((l): l is number => l !== null && l > 0);
  const fastest = latencies.length > 0 ? Math.min(...latencies) : null;
  const scored = eligible
    .map((p) => {
      const p50 = p.latency_ms.p50;
      const speed = fastest !== null && p50 !== null && p50 > 0 ? fastest / p50 : 0;
      const score =
        SCORE_WEIGHTS.quality * (p.quality_score ?? 0) +
        SCORE_WEIGHTS.success * p.success_rate +
        SCORE_WEIGHTS.speed * speed;
      return {
        p,
        score: round(score, 3),
        confidence: round(Math.min(1, Math.sqrt(p.count / (4 * minSampleSize))), 2),
      };
    })
    .sort((a, b) => b.score - a.score || b.p.count - a.p.count || a.p.model.localeCompare(b.p.model));
  const best = scored[0];
  return {
    task_type: taskType,
    min_sample_size: minSampleSize,
    recommendations: scored.map(({ p, score, confidence }, index) => ({
      model: p.model,
      rank: index + 1,
      score,
      confidence,
      count: p.count,
      success_rate: p.success_rate,
      p50_latency_ms: p.latency_ms.p50,
      quality_score: p.quality_score,
      reason: explain(p, score, index, best?.p, taskType),
    })),
    insufficient_data: rows
      .filter((p) => p.count < minSampleSize)
      .map((p) => ({ model: p.model, count: p.count })),
  };
}

function explain(
  p: ModelPerformance,
  score: number,
  index: number,
  best: ModelPerformance | undefined,
  taskType: string,
): string {
  const figures = `quality ${fmt(p.quality_score)}, ${Math.round(p.success_rate * 100)}% success, p50 ${fmtMs(p.latency_ms.p50)} over ${p.count} runs`;
  if (index === 0 || !best) return `Best score (${score}) for ${taskType}: ${figures}.`;
  const gaps: string[] = [];
  if ((p.quality_score ?? 0) < (best.quality_score ?? 0)) gaps.push("lower quality");
  if (p.success_rate < best.success_rate) gaps.push("fails more often");
  if ((p.latency_ms.p50 ?? Infinity) > (best.latency_ms.p50 ?? Infinity)) gaps.push("slower");
  const versus = gaps.length > 0 ? `${gaps.join(", ")} than ${best.model}` : `ties with ${best.model}`;
  return `Rank ${index + 1} with score ${score} (${versus}): ${figures}.`;
}

const round = (value: number, digits: number) => Math.round(value * 10 ** digits) / 10 ** digits;
const fmt = (value: number | null) => (value === null ? "unknown" : String(value));
const fmtMs = (value: number | null) => (value === null ? "unknown" : `${Math.round(value)} ms`);
