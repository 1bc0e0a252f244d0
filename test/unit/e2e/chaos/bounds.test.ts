// The fault suite's predicted bounds (e2e/chaos/bounds.ts): each value and the formula printed beside it come
// from the same terms. Pinned here at the default and the fast timings to the values and texts the verdicts
// printed before the bounds were computed by `bound()`.
import { describe, expect, it } from 'vitest';
import { atLeast, atMost, bound, JITTER_MAX, minus, terms } from '../../../../e2e/chaos/bounds.ts';
import { DEFAULT_TIMINGS, FAST_TIMINGS } from '../../../../e2e/chaos/world.ts';
import { JITTER_FACTOR } from '../../../../src/defaults.ts';

describe('chaos bounds', () => {
  it("the backstop multiplier is client-go's jitter factor, 1 + 1.2", () => {
    expect(JITTER_MAX).toBe(1 + JITTER_FACTOR);
    expect(`${JITTER_MAX}`).toBe('2.2');
  });

  it.each([
    [
      'default',
      DEFAULT_TIMINGS,
      {
        takeover: '≤ 20.40 s (LD + 2.2·RP + 1 s)',
        afterFreeze: '≤ 20.40 s after the freeze (LD + 2.2·RP + 1 s)',
        backstop: 5400,
        recreate: '≤ 11.00 s (RI + request timeout + 1 s)',
        restore: '≤ 6.00 s (RI + 1 s)',
        margin: '≥ 5 s (LD − RD)',
        earliest: '≥ 15 s (LD)',
        exit: '≤ 20.00 s (pause-ack timeout + request timeout)',
        datastore: 10_400,
      },
    ],
    [
      'fast',
      FAST_TIMINGS,
      {
        takeover: '≤ 13.20 s (LD + 2.2·RP + 1 s)',
        afterFreeze: '≤ 13.20 s after the freeze (LD + 2.2·RP + 1 s)',
        backstop: 3200,
        recreate: '≤ 6.50 s (RI + request timeout + 1 s)',
        restore: '≤ 4.00 s (RI + 1 s)',
        margin: '≥ 5 s (LD − RD)',
        earliest: '≥ 10 s (LD)',
        exit: '≤ 7.50 s (pause-ack timeout + request timeout)',
        datastore: 5700,
      },
    ],
  ])('%s timings: the values and formulas the verdicts print', (_name, t, want) => {
    const T = terms(t);
    const takeover = bound(T.LD, T.backstop, T.slack);
    expect(takeover.ms).toBe(t.leaseDurationMs + 2.2 * t.retryPeriodMs + 1000);
    expect(atMost(takeover)).toBe(want.takeover);
    expect(atMost(takeover, 'after the freeze')).toBe(want.afterFreeze);
    const backstop = bound(T.backstop, T.slack);
    expect(backstop).toEqual({ ms: want.backstop, formula: '2.2·RP + 1 s' });
    expect(atMost(bound(T.RI, T.requestTimeout, T.slack))).toBe(want.recreate);
    expect(atMost(bound(T.RI, T.slack))).toBe(want.restore);
    expect(atLeast(bound(T.LD, minus(T.RD)))).toBe(want.margin);
    expect(atLeast(bound(T.LD))).toBe(want.earliest);
    expect(atMost(bound(T.pauseAck, T.requestTimeout))).toBe(want.exit);
    // The outages: a datastore outage adds one request timeout (RT) for the attempt held open.
    expect(bound(T.RT, T.backstop, T.slack)).toEqual({ ms: want.datastore, formula: 'RT + 2.2·RP + 1 s' });
    expect(bound(T.grace, T.slack)).toEqual({ ms: 6000, formula: 'grace + 1 s' });
  });
});
