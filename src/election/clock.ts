/** A handle for a scheduled callback. */
export interface TimerHandle {
  cancel(): void;
}

/**
 * Time as the election sees it. `now()` is a monotonic millisecond count used for every duration
 * (observed time, renew deadline); `wallClock()` is only written into the Lease, never compared.
 */
export interface Clock {
  now(): number;
  wallClock(): Date;
  setTimer(fn: () => void, ms: number): TimerHandle;
}

/** The real clock: `performance.now()` cannot jump when NTP steps the wall clock. */
export const systemClock: Clock = {
  now: () => performance.now(),
  wallClock: () => new Date(),
  setTimer(fn, ms) {
    const t = setTimeout(fn, Math.max(0, ms));
    return { cancel: () => clearTimeout(t) };
  },
};
