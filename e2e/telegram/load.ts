// A steady stream of text updates, so handoff tests can measure gaps and duplicates under
// traffic. Catch-up by schedule (not one update per timer tick) keeps the rate right even when
// timers fire late on a busy 2-core machine.
import { textUpdate, type UpdateBody } from './updates.ts';

/** The one capability the load generator needs; TelegramDouble provides it. */
export interface Injector {
  inject(update: UpdateBody | string, opts?: { token?: string }): number | null;
}

/** Options of {@link startLoad}. */
export interface LoadOptions {
  /** Updates per second, > 0. */
  readonly ratePerSecond: number;
  /** Stops by itself after this long. Default and maximum: {@link MAX_LOAD_DURATION_MS}. */
  readonly durationMs?: number;
  /** Bot token to load; default: the double's first token. */
  readonly token?: string;
}

/** A running load. */
export interface LoadHandle {
  /** Stops now (idempotent); resolves to the number of updates injected. */
  stop(): Promise<number>;
  /** Resolves with the injected count once the load stops, by itself or by `stop()`. */
  readonly done: Promise<number>;
  /** Injected so far. */
  injected(): number;
}

/** No load runs longer than this, so a forgotten one cannot run forever. */
export const MAX_LOAD_DURATION_MS = 10 * 60 * 1000;

/** Starts injecting `load #n` text messages at a steady rate. */
export function startLoad(double: Injector, opts: LoadOptions): LoadHandle {
  const rate = opts.ratePerSecond;
  if (!Number.isFinite(rate) || rate <= 0) throw new RangeError(`ratePerSecond must be > 0, got ${rate}`);
  const durationMs = Math.min(opts.durationMs ?? MAX_LOAD_DURATION_MS, MAX_LOAD_DURATION_MS);
  const injectOpts = opts.token === undefined ? {} : { token: opts.token };
  const startedAt = performance.now();
  let count = 0;
  let finished = false;
  let resolveDone: (n: number) => void = () => {};
  const done = new Promise<number>((resolve) => {
    resolveDone = resolve;
  });

  const finish = (): void => {
    if (finished) return;
    finished = true;
    clearInterval(timer);
    resolveDone(count);
  };
  const tick = (): void => {
    const elapsed = Math.min(performance.now() - startedAt, durationMs);
    const due = Math.floor((elapsed / 1000) * rate);
    while (count < due) {
      count += 1;
      double.inject(textUpdate(`load #${count}`, { messageId: count }), injectOpts);
    }
    if (elapsed >= durationMs) finish();
  };
  const timer = setInterval(tick, Math.max(5, Math.min(100, 1000 / rate)));
  // A forgotten load must not keep a test process alive.
  timer.unref();

  return {
    stop: async () => {
      if (!finished) {
        tick();
        finish();
      }
      return done;
    },
    done,
    injected: () => count,
  };
}
