import { ApiError, notFound } from "../../../../shared/errors.ts";
import { scoreQuality } from "../quality/quality-score.ts";
import type { ExecutionRecorder } from "../records/execution-recorder.ts";
import type { ModelCatalog } from "../registry/model-catalog.ts";
import { type InferRequest, type InferResponse, promptText } from "./infer-request.ts";
import type { InferenceMetrics } from "./inference-metrics.ts";
import type { ModelRouter } from "./model-router.ts";
import type { ModelRunner } from "./model-runner.ts";

type ExecutionStatus = "success" | "error" | "timeout" | "rejected";

const STATUS_BY_CODE: Partial<Record<string, ExecutionStatus>> = {
  TIMEOUT: "timeout",
  SERVICE_UNAVAILABLE: "rejected",
};

/** Failures of the model host rather than of the request: worth trying the next model for. */
const ESCALATING_CODES = new Set(["TIMEOUT", "SERVICE_UNAVAILABLE", "UPSTREAM_FAILED"]);

export interface InferenceEngineDeps {
  catalog: ModelCatalog;
  router: ModelRouter;
  recorder: ExecutionRecorder;
  metrics: InferenceMetrics;
  now: () => number;
  /** Measures latencies; performance.now() outside tests. */
  monotonic: () => number;
  /** Models tried after the first one fails, at most. */
  maxEscalations: number;
}

/** Runs one inference: picks the model, guards the call, scores the answer, records the execution. */
export class InferenceEngine {
  constructor(private readonly deps: InferenceEngineDeps) {}

  async infer(request: InferRequest): Promise<InferResponse> {
    const { catalog, router, maxEscalations } = this.deps;
    let chain: ModelRunner[];
    if (request.model) {
      const runner = catalog.get(request.model);
      if (!runner) throw notFound(`model ${request.model}`);
      if (!runner.model.task_types.includes(request.task_type)) {
        throw new ApiError(
          400,
          "BAD_REQUEST",
          `model ${request.model} does not serve task type ${request.task_type} (it serves ${runner.model.task_types.join(", ")})`,
        );
      }
      chain = request.fallback ? [runner, ...router.escalationChain(runner, request.task_type)] : [runner];
    } else {
      chain = await router.route(request.task_type);
      if (chain.length === 0) {
        throw new ApiError(404, "NOT_FOUND", `no registered model serves task type ${request.task_type}`);
      }
      if (request.fallback === false) chain = chain.slice(0, 1);
    }
    chain = chain.slice(0, maxEscalations + 1);

    const prompt = promptText(request);
    let lastError: ApiError | undefined;
    for (const [index, runner] of chain.entries()) {
      const escalatedFrom = index > 0 ? chain[index - 1]?.model.id : undefined;
      if (escalatedFrom) this.deps.metrics.escalations.inc({ from: escalatedFrom, to: runner.model.id });
      try {
        return await this.attempt(runner, request, prompt, escalatedFrom);
      } catch (err) {
        if (!(err instanceof ApiError) || !ESCALATING_CODES.has(err.code)) throw err;
        lastError = err;
      }
    }
    throw lastError ?? new ApiError(500, "INTERNAL", "no model was tried");
  }

  private async attempt(
    runner: ModelRunner,
    request: InferRequest,
    prompt: string,
    escalatedFrom: string | undefined,
  ): Promise<InferResponse> {
    const { metrics, recorder } = this.deps;
    const { id } = runner.model;
    const taskType = request.task_type;
    const started = this.deps.monotonic();
    const createdAt = new Date(this.deps.now());
    try {
      const generation = await runner.run({
        model: runner.model.model,
        taskType,
        prompt,
        params: request.params ?? {},
      });
      const latencyMs = this.deps.monotonic() - started;
      const tokensPerSecond =
        generation.tokensPerSecond ?? (latencyMs > 0 ? generation.tokensOut / (latencyMs / 1000) : 0);
      const quality = scoreQuality({ taskType, prompt, output: generation.output, expect: request.expect });
      metrics.duration.observe({ model: id, task_type: taskType, status: "success" }, latencyMs / 1000);
      metrics.tokens.inc({ model: id, direction: "in" }, generation.tokensIn);
      metrics.tokens.inc({ model: id, direction: "out" }, generation.tokensOut);
      metrics.quality.observe({ model: id, task_type: taskType }, quality);
      recorder.record({
        modelId: id,
        taskType,
        status: "success",
        latencyMs,
        tokensIn: generation.tokensIn,
        tokensOut: generation.tokensOut,
        tokensPerSecond,
        qualityScore: quality,
        escalatedFrom: escalatedFrom ?? null,
        createdAt,
      });
      return {
        output: generation.output,
        model: id,
        latency_ms: Math.round(latencyMs * 100) / 100,
        tokens_in: generation.tokensIn,
        tokens_out: generation.tokensOut,
        tokens_per_second: Math.round(tokensPerSecond * 100) / 100,
        quality_score: quality,
        ...(escalatedFrom ? { escalated_from: escalatedFrom } : {}),
      };
    } catch (err) {
      const latencyMs = this.deps.monotonic() - started;
      const apiError =
        err instanceof ApiError ? err : new ApiError(500, "INTERNAL", `model ${id} failed unexpectedly`);
      const status = STATUS_BY_CODE[apiError.code] ?? "error";
      metrics.duration.observe({ model: id, task_type: taskType, status }, latencyMs / 1000);
      recorder.record({
        modelId: id,
        taskType,
        status,
        latencyMs,
        error: apiError.message.slice(0, 500),
        escalatedFrom: escalatedFrom ?? null,
        createdAt,
      });
      throw apiError;
    }
  }
}
