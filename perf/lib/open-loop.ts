/**
 * An open-loop load generator: requests are sent on a fixed schedule whatever the server's pace, and
 * each latency is measured from the request's scheduled time, so a stalled server cannot hide its
 * queueing delay (no coordinated omission).
 */
export interface StepResult {
  rate: number;
  durationS: number;
  sent: number;
  ok: number;
  errors: number;
  /** Requests not sent because `maxInFlight` were already outstanding (k6's dropped_iterations). */
  dropped: number;
  statuses: Record<number, number>;
  p50: number;
  p95: number;
  p99: number;
  max: number;
  achievedRps: number;
}

export interface StepOptions {
  rate: number;
  durationS: number;
  makeRequest: (i: number) => Request | Promise<Request>;
  /** Which statuses count as success. */
  isOk?: (status: number) => boolean;
  maxInFlight?: number;
  timeoutMs?: number;
  /** Sees every response with its latency from the scheduled time, e.g. to check Retry-After on sheds. */
  onResponse?: (res: Response, body: ArrayBuffer, latencyMs: number) => void;
}

export function percentile(sorted: Float64Array | number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const idx = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[idx]!;
}

export async function runStep(options: StepOptions): Promise<StepResult> {
  const { rate, durationS, makeRequest } = options;
  const isOk = options.isOk ?? ((s) => s >= 200 && s < 300);
  const maxInFlight = options.maxInFlight ?? 20_000;
  const total = Math.round(rate * durationS);
  const latencies = new Float64Array(total);
  const statuses: Record<number, number> = {};
  let done = 0;
  let ok = 0;
  let errors = 0;
  let dropped = 0;
  let inFlight = 0;
  let sent = 0;
  const intervalMs = 1000 / rate;
  const start = performance.now();
  let resolveAll!: () => void;
  const allDone = new Promise<void>((r) => {
    resolveAll = r;
  });
  const finish = () => {
    if (done + dropped === total) resolveAll();
  };

  const fire = async (i: number, scheduled: number) => {
    inFlight++;
    try {
      const res = await fetch(await makeRequest(i), {
        signal: AbortSignal.timeout(options.timeoutMs ?? 10_000),
      });
      const body = await res.arrayBuffer();
      options.onResponse?.(res, body, performance.now() - scheduled);
      statuses[res.status] = (statuses[res.status] ?? 0) + 1;
      if (isOk(res.status)) ok++;
      else errors++;
    } catch {
      statuses[0] = (statuses[0] ?? 0) + 1;
      errors++;
    } finally {
      latencies[done++] = performance.now() - scheduled;
      inFlight--;
      finish();
    }
  };

  while (sent + dropped < total) {
    const now = performance.now();
    const due = Math.min(total, Math.floor((now - start) / intervalMs) + 1);
    while (sent + dropped < due) {
      const i = sent + dropped;
      if (inFlight >= maxInFlight) {
        dropped++;
        finish();
        continue;
      }
      sent++;
      void fire(i, start + i * intervalMs);
    }
    const next = start + (sent + dropped) * intervalMs;
    const wait = next - performance.now();
    // A macrotask yield, not a microtask: the responses' I/O callbacks must get their turn.
    await (wait > 1 ? Bun.sleep(wait - 0.5) : new Promise<void>((r) => setImmediate(r)));
  }
  await allDone;
  const elapsed = (performance.now() - start) / 1000;
  const measured = latencies.subarray(0, done).sort();
  return {
    rate,
    durationS,
    sent,
    ok,
    errors,
    dropped,
    statuses,
    p50: percentile(measured, 50),
    p95: percentile(measured, 95),
    p99: percentile(measured, 99),
    max: measured.length > 0 ? measured[measured.length - 1]! : Number.NaN,
    achievedRps: done / elapsed,
  };
}

export function formatTable(title: string, rows: StepResult[]): string {
  const header =
    "| target RPS | achieved RPS | sent | ok | errors | dropped | p50 ms | p95 ms | p99 ms | max ms |";
  const sep = "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|";
  const lines = rows.map(
    (r) =>
      `| ${r.rate} | ${r.achievedRps.toFixed(0)} | ${r.sent} | ${r.ok} | ${r.errors} | ${r.dropped} | ${r.p50.toFixed(2)} | ${r.p95.toFixed(2)} | ${r.p99.toFixed(2)} | ${r.max.toFixed(1)} |`,
  );
  return [`### ${title}`, "", header, sep, ...lines].join("\n");
}

/** A step "holds" when nearly everything succeeded on time: errors+dropped under 1% and p99 under the bound. */
export function holds(r: StepResult, p99BoundMs: number): boolean {
  const failed = (r.errors + r.dropped) / Math.max(1, r.sent + r.dropped);
  return failed < 0.01 && r.p99 < p99BoundMs;
}
