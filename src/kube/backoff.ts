// Retry pacing shared by the watcher and the labeler: jittered, capped exponential backoff, so that
// many sidecars that lost the API server at once do not come back in lockstep.

/** Backoff bounds in milliseconds. */
export interface BackoffOptions {
  initialMs: number;
  maxMs: number;
}

/** 250 ms doubling to 5 s: quick first retries, bounded load on a struggling API server. */
export const DEFAULT_BACKOFF: BackoffOptions = { initialMs: 250, maxMs: 5_000 };

/** The delay before retry number `failures` (1-based): doubling from `initialMs`, capped at `maxMs`, then jittered to 50–100 %. */
export function backoffDelay(failures: number, options: BackoffOptions = DEFAULT_BACKOFF, random: () => number = Math.random): number {
  const exp = Math.min(options.maxMs, options.initialMs * 2 ** Math.max(0, Math.min(failures - 1, 30)));
  return Math.round(exp * (0.5 + random() * 0.5));
}

/** Resolves after `ms`, or at once when `signal` aborts (never rejects: callers check their own state). */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}
