// The rule that tells a killed bot's redelivered batch from a repeat baton answers for
// (e2e/report/redelivery.ts), used by the fault suite and the real node alike.
import { describe, expect, it } from 'vitest';
import { repeats, unconfirmedOffset } from '../../e2e/report/redelivery.ts';
import type { PollEvent } from '../../e2e/telegram/accounting.ts';

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
    expect(r).toEqual({ extra: [5, 5], afterKill: [] });
  });

  it('judges by who handled first in time, whatever the input order', () => {
    // The survivor (2) handled 20 first; the killed process handled it after: not a redelivery of the kill.
    const r = repeats([h(20, 1, 9), h(20, 2, 1)], new Map([[1, 0]]));
    expect(r).toEqual({ extra: [20], afterKill: [] });
  });
});

describe('unconfirmedOffset', () => {
  const start = (client: string, at: number, offset: number, token = 't'): PollEvent => ({
    type: 'start', requestId: at, client, token, at, offset, limit: 100, timeout: 30, requested: {}, forcedTimeout: false, forcedLimit: false,
  });

  it("is the offset of the client's last getUpdates with the token before the kill", () => {
    const log = [start('a', 1, 5), start('b', 2, 7), start('a', 3, 9), start('a', 4, 11, 'other'), start('a', 10, 15)];
    expect(unconfirmedOffset(log, 't', 'a', 5)).toBe(9);
    expect(unconfirmedOffset(log, 't', 'a', 1)).toBeUndefined();
    expect(unconfirmedOffset(log, 't', 'c', 99)).toBeUndefined();
  });
});
