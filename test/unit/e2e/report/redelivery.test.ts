// The rule that tells a killed or frozen bot's redelivered batch from a repeat baton answers for
// (e2e/report/redelivery.ts), used by the fault suite and the real node alike.
import { describe, expect, it } from 'vitest';
import { inFlightAt, repeats, unconfirmedOffset } from '../../../../e2e/report/redelivery.ts';
import type { PollEvent } from '../../../../e2e/telegram/accounting.ts';

const h = (update: number, process: number, mono: number) => ({ update, process, mono });

describe('repeats', () => {
  it('excuses only updates a killed process handled first, at or above its unconfirmed offset', () => {
    // Process 1 handled 10..13 and was killed; its last getUpdates asked for offset 12: 12 and 13 were unconfirmed.
    const handled = [h(10, 1, 1), h(11, 1, 2), h(12, 1, 3), h(13, 1, 4), h(11, 2, 5), h(12, 2, 6), h(13, 2, 7), h(14, 2, 8)];
    const r = repeats(handled, new Map([[1, 12]]));
    expect(r.extra).toEqual([11, 12, 13]);
    // 11 was confirmed by the offset 12: handling it again is baton's fault, not the kill's.
    expect(r.afterKill).toEqual([12, 13]);
  });

  it('excuses nothing when no process was killed, and counts every extra handling', () => {
    const r = repeats([h(5, 1, 1), h(5, 2, 2), h(5, 3, 3), h(6, 1, 4)], new Map());
    expect(r).toEqual({ extra: [5, 5], afterKill: [], afterFreeze: [] });
  });

  it('judges by who handled first in time, whatever the input order', () => {
    // The survivor (2) handled 20 first; the killed process handled it after: not a redelivery of the kill.
    const r = repeats([h(20, 1, 9), h(20, 2, 1)], new Map([[1, 0]]));
    expect(r).toEqual({ extra: [20], afterKill: [], afterFreeze: [] });
  });
});

describe('repeats after a freeze', () => {
  // Process 1 was frozen at t = 10 with a batch 20..23 in hand (its last getUpdates before the freeze asked for
  // offset 20); process 2 took over during the freeze and was handed 20..23 again; 1 was thawed at t = 30.
  const frozen = new Map([[1, { offset: 20, at: 10 }]]);

  it('excuses only updates the frozen process handled before the freeze, at or above its unconfirmed offset', () => {
    const handled = [h(19, 1, 1), h(20, 1, 8), h(21, 1, 9), h(19, 2, 20), h(20, 2, 21), h(21, 2, 22), h(22, 2, 23), h(23, 2, 24)];
    const r = repeats(handled, new Map(), frozen);
    expect(r.extra).toEqual([19, 20, 21]);
    // 19 was confirmed by the offset 20: handling it again is baton's fault, not the freeze's.
    expect(r.afterFreeze).toEqual([20, 21]);
    expect(r.afterKill).toEqual([]);
  });

  it('excuses nothing the frozen process handled after the freeze (the next leader already had it)', () => {
    // 22 and 23 were handled by 2 during the freeze; 1 handled them again after the thaw: two workers, one update.
    const handled = [h(20, 1, 8), h(20, 2, 21), h(22, 2, 23), h(23, 2, 24), h(22, 1, 31), h(23, 1, 32)];
    const r = repeats(handled, new Map(), frozen);
    expect(r.extra).toEqual([20, 22, 23]);
    expect(r.afterFreeze).toEqual([20]);
  });

  it('excuses the one update whose handler was in flight at the freeze and ended after the thaw (F1, residual window)', () => {
    // 20 handled before the freeze; 21's handler was running when the pod froze and ended after the thaw (t = 31),
    // after 2 had handled it; 22 handled by 1 after the thaw is not excused.
    const inFlight = new Map([[1, { offset: 20, at: 10, inFlight: 21 }]]);
    const handled = [h(20, 1, 8), h(20, 2, 21), h(21, 2, 22), h(22, 2, 23), h(21, 1, 31), h(22, 1, 32)];
    const r = repeats(handled, new Map(), inFlight);
    expect(r.extra).toEqual([20, 21, 22]);
    expect(r.afterFreeze).toEqual([20, 21]);
  });

  it('excuses nothing repeated after an update the frozen process handled first after the thaw', () => {
    // 24 was first handled by the thawed process (t = 31 > freeze): a repeat of it is not the freeze's redelivery.
    const r = repeats([h(24, 1, 31), h(24, 2, 33)], new Map(), frozen);
    expect(r).toEqual({ extra: [24], afterKill: [], afterFreeze: [] });
  });
});

describe('inFlightAt', () => {
  it("is the batch's first update not handled before the freeze (handlers run one at a time)", () => {
    expect(inFlightAt([20, 21, 22, 23], new Set([20]))).toBe(21);
    expect(inFlightAt([20, 21], new Set([20, 21]))).toBeUndefined();
    expect(inFlightAt([], new Set())).toBeUndefined();
  });
});

describe('unconfirmedOffset', () => {
  const start = (client: string, at: number, offset: number, token = 't'): PollEvent => ({
    type: 'start',
    requestId: at,
    client,
    token,
    at,
    offset,
    limit: 100,
    timeout: 30,
    requested: {},
    forcedTimeout: false,
    forcedLimit: false,
  });

  it("is the offset of the client's last getUpdates with the token before the kill", () => {
    const log = [start('a', 1, 5), start('b', 2, 7), start('a', 3, 9), start('a', 4, 11, 'other'), start('a', 10, 15)];
    expect(unconfirmedOffset(log, 't', 'a', 5)).toBe(9);
    expect(unconfirmedOffset(log, 't', 'a', 1)).toBeUndefined();
    expect(unconfirmedOffset(log, 't', 'c', 99)).toBeUndefined();
  });
});
