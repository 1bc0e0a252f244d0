import type { Clock, TimerHandle } from '../../src/election/clock.ts';

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

  /** Timers still waiting. */
  pending(): number {
    return this.timers.length;
  }
}
