import { PermanentTaskError, type TaskRunner } from "./types.ts";

/** Resolves after `ms`, or rejects with the signal's reason as soon as it aborts. */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    signal.addEventListener("abort", onAbort, { once: true });
  });
}

export const delayTask: TaskRunner = async (params, context) => {
  const ms = Number(params.ms);
  if (!Number.isFinite(ms) || ms < 0)
    throw new PermanentTaskError(`ms must be a non-negative number, got ${String(params.ms)}`);
  await sleep(ms, context.signal);
  return { waited_ms: ms };
};
