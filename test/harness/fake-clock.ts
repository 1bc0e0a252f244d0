// The one fake clock of the unit tests: time moves only when a test says so.
import type { Clock, TimerHandle } from '../../src/election/clock.ts';

/** Lets pending promise callbacks run (a real macrotask turn; no time passes on the fake clock). */
export async function flush(turns = 5): Promise<void> {
  for (let i = 0; i < turns; i++) await new Promise<void>((r) => setImmediate(r));
}

interface Timer {
  at: number;
  seq: number;
  fn: () => void;
}

/** A `Clock` that moves only when a test calls `advance()`; timers run in due order, synchronously. */
export class FakeClock implements Clock {
  private t: number;
  private seq = 0;
  private timers: Timer[] = [];

  constructor(start = 1_000) {
    this.t = start;
  }

  now(): number {
    return this.t;
  }

  wallClock(): Date {
    return new Date(this.t);
  }

  setTimer(fn: () => void, ms: number): TimerHandle {
    const timer: Timer = { at: this.t + Math.max(0, ms), seq: this.seq++, fn };
    this.timers.push(timer);
    return { cancel: () => void (this.timers = this.timers.filter((x) => x !== timer)) };
  }

  /** Moves time forward by `ms`, running every timer that falls due, including ones scheduled meanwhile. */
  advance(ms: number): void {
    const end = this.t + ms;
    for (;;) {
      const next = this.timers.filter((x) => x.at <= end).sort((a, b) => a.at - b.at || a.seq - b.seq)[0];
      if (!next) break;
      this.timers = this.timers.filter((x) => x !== next);
      this.t = next.at;
      next.fn();
    }
    this.t = end;
  }

  /**
   * Like `advance`, for code that awaits between timers (the election loop): lets promises settle
   * before and after every timer that falls due.
   */
  async advanceAsync(ms: number): Promise<void> {
    const end = this.t + ms;
    await flush();
    for (;;) {
      const next = this.timers.filter((x) => x.at <= end).sort((a, b) => a.at - b.at || a.seq - b.seq)[0];
      if (!next) break;
      this.timers = this.timers.filter((x) => x !== next);
      this.t = Math.max(this.t, next.at);
      next.fn();
      await flush();
    }
    this.t = end;
    await flush();
  }

  /** Advances (async) in small steps until `cond` holds; returns the fake time it took. */
  async until(cond: () => boolean, limitMs = 60_000, stepMs = 10): Promise<number> {
    const start = this.t;
    while (!cond()) {
      if (this.t - start > limitMs) throw new Error(`condition not met within ${limitMs} ms of fake time`);
      await this.advanceAsync(stepMs);
    }
    return this.t - start;
  }

  /** Timers still waiting. */
  pending(): number {
    return this.timers.length;
  }
}
