// R1 (docs/protocol.md): the worker kit under a leader that renews every renew interval (5 s at the defaults,
// issue 20) instead of every retry period. The kit's dead-man's switch and fence (F1) judge `renewedAt + RD`:
// the same instant as the sidecar's own deadline, whatever the interval. What the interval changes is how old
// the renewal the kit holds may be; these tests pin the margins the protocol states: a steady leader's worker
// runs on (its renewal never older than RI + one poll), one failed renew retried a retry period later costs
// nothing, renewals that stop pause the worker at the deadline as before, and two failed renews in a row are
// the documented price (a pause at the kit's last look, a start again at the next poll once the retry landed).
// Time is a test clock; the stand-in sidecar answers on loopback.
import { afterEach, describe, expect, it } from 'vitest';
import { EventEmitter } from 'node:events';
import type { Clock, TimerHandle } from '../src/clock.ts';
import { Leadership } from '../src/leadership.ts';
import { flush } from '../../../test/harness/fake-clock.ts';
import { FakeSidecar } from '../../../test/harness/fake-sidecar.ts';

const LD = 15_000;
const RD = 10_000;
const RP = 2_000;
/** The default renew interval at these timings (a third of LD). */
const RI = 5_000;
/** The kit's poll of GET /leader (its default). */
const POLL = 1_000;
/** The kit's last look at the Lease before the deadline: a quarter of LD − RD, at most 1 s. */
const LAST_LOOK = 1_000;
const STEP = 250;

/** The kit's Clock, moved by the test only; timers due run in order. */
class TestClock implements Clock {
  readonly start = Date.UTC(2026, 11, 7, 6, 0, 0);
  t = this.start;
  private timers: Array<{ at: number; fn: () => void }> = [];
  now(): number {
    return this.t;
  }
  wallClock(): number {
    return this.t;
  }
  setTimer(fn: () => void, ms: number): TimerHandle {
    const timer = { at: this.t + Math.max(0, ms), fn };
    this.timers.push(timer);
    return { cancel: () => void (this.timers = this.timers.filter((x) => x !== timer)) };
  }
  /** Runs the next timer due by `end` (and moves the clock to it); false when none is. */
  runNext(end: number): boolean {
    const due = this.timers.filter((x) => x.at <= end).sort((a, b) => a.at - b.at)[0];
    if (!due) return false;
    this.timers = this.timers.filter((x) => x !== due);
    this.t = Math.max(this.t, due.at);
    due.fn();
    return true;
  }
}

let cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanup) await c();
  cleanup = [];
});

/**
 * A leader's kit whose sidecar publishes the renewals `renewals` lists — each `[visible from, renewTime]` in ms
 * after the start (a renew's renewTime is the start of its write; it shows on /leader once answered).
 */
async function leaderWith(renewals: Array<[number, number]>) {
  const clock = new TestClock();
  const sidecar = new FakeSidecar({
    identity: 'p',
    standbyHolder: 'q',
    isLeader: true,
    timings: { leaseDurationMs: LD, renewDeadlineMs: RD, retryPeriodMs: RP },
    renewedAt: new Date(clock.t).toISOString(),
  });
  await sidecar.listen();
  const signals = new EventEmitter();
  const calls: Array<[string, number]> = [];
  const lead = new Leadership({
    url: sidecar.url,
    clock,
    signals: signals as unknown as NodeJS.Process,
    start: () => void calls.push(['start', clock.t - clock.start]),
    pause: () => void calls.push(['pause', clock.t - clock.start]),
    warn: () => undefined,
  });
  const deadMan: number[] = [];
  lead.on('dead-man', () => deadMan.push(clock.t - clock.start));
  cleanup.push(async () => {
    await lead.close().catch(() => undefined);
    await sidecar.close();
  });
  await lead.ready;
  /** The oldest renewal the kit held while its worker ran, as an age in ms. */
  let oldest = 0;
  /** Runs the world until `ms` after the start: renewals become visible on time, every request is answered. */
  const runUntil = async (ms: number) => {
    for (let at = clock.t - clock.start + STEP; at <= ms; at += STEP) {
      for (const [visible, renewTime] of renewals) if (visible <= at) sidecar.renewedAt = new Date(clock.start + renewTime).toISOString();
      for (;;) {
        const asked = sidecar.answers.length;
        if (!clock.runNext(clock.start + at)) break;
        // A timer that reads /leader (every timer of the kit does, but a switch re-armed by a fresher renewal):
        // wait for the answer on loopback and for what the kit does with it; no test time passes meanwhile.
        for (let i = 0; i < 1000 && sidecar.answers.length === asked; i++) await flush(1);
        await flush(5);
      }
      clock.t = clock.start + at;
      const seen = lead.status()?.renewedAt;
      if (lead.isLeader() && seen) oldest = Math.max(oldest, clock.t - Date.parse(seen));
    }
  };
  return { clock, lead, calls, deadMan, runUntil, oldest: () => oldest };
}

/** Renewals every `every` ms from 0 to `until`, each visible 40 ms after it began. */
const every = (interval: number, until: number, skip: number[] = []): Array<[number, number]> => {
  const out: Array<[number, number]> = [];
  for (let t = interval; t <= until; t += interval) if (!skip.includes(t)) out.push([t + 40, t]);
  return out;
};

describe('R1: the worker kit with renewals every renew interval', () => {
  it('a steady leader renewing every 5 s: the worker runs on for a minute; the renewal it holds is never older than RI + one poll', async () => {
    const { lead, calls, deadMan, runUntil, oldest } = await leaderWith(every(RI, 60_000));
    await runUntil(60_000);
    expect(deadMan).toEqual([]);
    expect(calls).toEqual([['start', 0]]);
    expect(lead.isLeader()).toBe(true);
    expect(lead.mayAct()).toBe(true);
    expect(oldest()).toBeLessThanOrEqual(RI + POLL);
    // The kit's last look comes at RD − 1 s: 3 s to spare at the defaults (was 6 s with renewals every 2 s).
    expect(RD - LAST_LOOK - (RI + POLL)).toBe(3_000);
  });

  it('one renew failing, retried a retry period later (7 s), costs nothing: the retry lands before the last look (9 s)', async () => {
    const renewals = every(RI, 40_000, [RI]);
    renewals.push([RI + RP + 40, RI + RP]);
    const { lead, calls, deadMan, runUntil } = await leaderWith(renewals.sort((a, b) => a[0] - b[0]));
    await runUntil(30_000);
    expect(deadMan).toEqual([]);
    expect(calls).toEqual([['start', 0]]);
    expect(lead.isLeader()).toBe(true);
  });

  it('renewals that stop: the switch pauses the worker by the last renewal + RD, as before (no earlier than its last look)', async () => {
    const { lead, calls, deadMan, runUntil } = await leaderWith(every(RI, 5_000));
    await runUntil(20_000);
    expect(deadMan).toHaveLength(1);
    const firedAfterRenewal = deadMan[0]! - RI;
    expect(firedAfterRenewal).toBeGreaterThanOrEqual(RD - LAST_LOOK);
    expect(firedAfterRenewal).toBeLessThanOrEqual(RD);
    expect(calls.map(([c]) => c)).toEqual(['start', 'pause']);
    expect(lead.isLeader()).toBe(false);
    expect(lead.mayAct()).toBe(false);
  });

  it('two renews failing in a row (5 s, 7 s), the retry at 9.04 s succeeding: the price — paused at the last look, started again at the next poll', async () => {
    const renewals: Array<[number, number]> = [
      [9_290, 9_040],
      ...every(RI, 40_000)
        .filter(([, t]) => t > 9_040)
        .map(([v, t]): [number, number] => [v + 4_040, t + 4_040]),
    ];
    const { lead, calls, deadMan, runUntil } = await leaderWith(renewals);
    await runUntil(30_000);
    expect(deadMan).toEqual([RD - LAST_LOOK]);
    expect(calls).toEqual([
      ['start', 0],
      ['pause', RD - LAST_LOOK],
      ['start', RD],
    ]);
    expect(lead.isLeader()).toBe(true);
  });
});
