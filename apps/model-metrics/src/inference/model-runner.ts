import CircuitBreaker from "opossum";
import { ApiError, unavailable } from "../../../../shared/errors.ts";
import type { GenerateRequest, Generation, ModelProvider } from "../providers/provider.ts";
import { ProviderError } from "../providers/provider.ts";
import type { Model } from "../registry/model.ts";
import { ConcurrencyLimiter, QueueFullError } from "./concurrency-limiter.ts";
import { CIRCUIT_STATE, type InferenceMetrics } from "./inference-metrics.ts";

export interface CircuitTuning {
  /** Failure percentage over the rolling window that opens the circuit. */
  errorThresholdPercentage: number;
  /** Calls in the window before the percentage counts, so one early failure does not open it. */
  volumeThreshold: number;
  /** How long an open circuit fails fast before one trial call is let through. */
  resetTimeoutMs: number;
  rollingWindowMs: number;
}

export interface RunnerTuning {
  maxQueuedPerModel: number;
  circuit: CircuitTuning;
}

/**
 * One registered model's guard rails around its provider: a concurrency limit, the model's timeout
 * (covering the wait for a slot) and a circuit breaker that answers 503 at once while the host fails.
 */
export class ModelRunner {
  private readonly limiter: ConcurrencyLimiter;
  private readonly breaker: CircuitBreaker<[GenerateRequest, AbortSignal], Generation>;

  constructor(
    readonly model: Model,
    readonly provider: ModelProvider,
    private readonly tuning: RunnerTuning,
    private readonly metrics: InferenceMetrics,
  ) {
    this.limiter = new ConcurrencyLimiter(model.max_concurrency, tuning.maxQueuedPerModel);
    const { circuit } = tuning;
    this.breaker = new CircuitBreaker((request, signal) => provider.generate(request, signal), {
      timeout: false,
      errorThresholdPercentage: circuit.errorThresholdPercentage,
      volumeThreshold: circuit.volumeThreshold,
      resetTimeout: circuit.resetTimeoutMs,
      rollingCountTimeout: circuit.rollingWindowMs,
      rollingCountBuckets: 10,
    });
    const state = (value: number) => () => metrics.circuitState.set({ model: model.id }, value);
    this.breaker.on("open", state(CIRCUIT_STATE.open));
    this.breaker.on("halfOpen", state(CIRCUIT_STATE.half_open));
    this.breaker.on("close", state(CIRCUIT_STATE.closed));
    state(CIRCUIT_STATE.closed)();
    metrics.inFlight.set({ model: model.id }, 0);
  }

  get circuitOpen(): boolean {
    return this.breaker.opened;
  }

  get circuitState(): keyof typeof CIRCUIT_STATE {
    return this.breaker.opened ? "open" : this.breaker.halfOpen ? "half_open" : "closed";
  }

  async run(request: GenerateRequest): Promise<Generation> {
    const { id, timeout_ms } = this.model;
    if (this.breaker.opened) throw this.circuitOpenError();
    const signal = AbortSignal.timeout(timeout_ms);
    let release: (() => void) | undefined;
    try {
      release = await this.limiter.acquire(signal);
      this.metrics.inFlight.inc({ model: id });
      return await this.breaker.fire(request, signal);
    } catch (err) {
      throw this.toApiError(err, signal);
    } finally {
      if (release) {
        this.metrics.inFlight.dec({ model: id });
        release();
      }
    }
  }

  shutdown(): void {
    this.breaker.shutdown();
  }

  private toApiError(err: unknown, signal: AbortSignal): ApiError {
    const { id, timeout_ms } = this.model;
    if (err instanceof ApiError) return err;
    if (signal.aborted) {
      return new ApiError(504, "TIMEOUT", `model ${id} did not answer within ${timeout_ms} ms`);
    }
    if (err instanceof QueueFullError) return unavailable(`model ${id} is saturated: ${err.message}`);
    if ((err as { code?: string }).code === "EOPENBREAKER") return this.circuitOpenError();
    if (err instanceof ProviderError) {
      return new ApiError(502, "UPSTREAM_FAILED", `model ${id} failed: ${err.message}`, { cause: err });
    }
    const reason = err instanceof Error ? err.message : String(err);
    return new ApiError(502, "UPSTREAM_FAILED", `model ${id} failed: ${reason}`, { cause: err });
  }

  private circuitOpenError(): ApiError {
    const retryAfter = Math.max(1, Math.ceil(this.tuning.circuit.resetTimeoutMs / 1000));
    return unavailable(
      `model ${this.model.id} is unavailable: its circuit is open after repeated failures`,
      retryAfter,
    );
  }
}
