// Time as the kit sees it, injectable for tests.

/** A handle for a scheduled callback. */
export interface TimerHandle {
  /** Cancels the callback (no-op once it ran). */
  cancel(): void;
}

/**
 * `now()` is a monotonic millisecond count for durations; `wallClock()` is the node's clock in ms
 * since the epoch, compared only with times the pod's own sidecar wrote (the Lease's renew time).
 */
export interface Clock {
  /** Monotonic milliseconds. */
  now(): number;
  /** Milliseconds since the epoch, from the node's clock. */
  wallClock(): number;
  /** Calls `fn` after `ms` milliseconds. */
  setTimer(fn: () => void, ms: number): TimerHandle;
}

/** The real clock. */
export const systemClock: Clock = {
  now: () => performance.now(),
  wallClock: () => Date.now(),
  setTimer(fn, ms) {
    const t = setTimeout(fn, Math.max(0, ms));
    return { cancel: () => clearTimeout(t) };
  },
};
