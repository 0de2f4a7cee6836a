/**
 * At most `limit` calls in flight for one model; the rest wait in FIFO order, up to `maxQueued`.
 * A waiter whose signal aborts leaves the queue, so a request's timeout covers its wait too.
 */
export class ConcurrencyLimiter {
  private active = 0;
  private readonly waiters: { grant: () => void; signal: AbortSignal; onAbort: () => void }[] = [];

  constructor(
    readonly limit: number,
    private readonly maxQueued: number,
  ) {}

  get inFlight(): number {
    return this.active;
  }

  get queued(): number {
    return this.waiters.length;
  }

  /** Resolves with a release function, or rejects with the signal's reason or `QueueFullError`. */
  acquire(signal: AbortSignal): Promise<() => void> {
    signal.throwIfAborted();
    if (this.active < this.limit) {
      this.active++;
      return Promise.resolve(this.releaser());
    }
    if (this.waiters.length >= this.maxQueued) return Promise.reject(new QueueFullError(this.maxQueued));
    return new Promise((resolve, reject) => {
      const waiter = {
        signal,
        grant: () => {
          signal.removeEventListener("abort", waiter.onAbort);
          resolve(this.releaser());
        },
        onAbort: () => {
          const at = this.waiters.indexOf(waiter);
          if (at >= 0) this.waiters.splice(at, 1);
          reject(signal.reason);
        },
      };
      signal.addEventListener("abort", waiter.onAbort, { once: true });
      this.waiters.push(waiter);
    });
  }

  private releaser(): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.waiters.shift();
      // The slot passes straight to the next waiter, so `active` only drops when nobody waits.
      if (next) next.grant();
      else this.active--;
    };
  }
}

export class QueueFullError extends Error {
  override name = "QueueFullError";
  constructor(maxQueued: number) {
    super(`more than ${maxQueued} requests already wait for this model`);
  }
}
