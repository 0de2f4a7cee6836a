import { PermanentTaskError, type TaskContext, type TaskRunner } from "../tasks/types.ts";

export type AttemptOutcome =
  | { kind: "completed"; output: unknown }
  | { kind: "failed"; error: string; permanent: boolean }
  /** Stopped from outside (cancel, lost lease, shutdown): whoever aborted it owns the state change. */
  | { kind: "aborted"; reason: string };

/**
 * Runs one attempt under its timeout. The race against the signal enforces the timeout even for a
 * runner that ignores its signal.
 */
export async function runAttempt(
  runner: TaskRunner,
  params: Record<string, unknown>,
  context: Omit<TaskContext, "signal">,
  timeoutMs: number,
  abort: AbortSignal,
): Promise<AttemptOutcome> {
  const timeout = new AbortController();
  const timer = setTimeout(() => timeout.abort(new Error(`timed out after ${timeoutMs} ms`)), timeoutMs);
  const signal = AbortSignal.any([abort, timeout.signal]);
  try {
    const output = await raceAbort(runner(params, { ...context, signal }), signal);
    return { kind: "completed", output: output === undefined ? null : output };
  } catch (err) {
    if (abort.aborted) return { kind: "aborted", reason: String(abort.reason) };
    if (timeout.signal.aborted)
      return { kind: "failed", error: `timed out after ${timeoutMs} ms`, permanent: false };
    return {
      kind: "failed",
      error: err instanceof Error ? err.message : String(err),
      permanent: err instanceof PermanentTaskError,
    };
  } finally {
    clearTimeout(timer);
  }
}

function raceAbort<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    work.then(
      (value) => {
        signal.removeEventListener("abort", onAbort);
        resolve(value);
      },
      (err) => {
        signal.removeEventListener("abort", onAbort);
        reject(err);
      },
    );
  });
}
