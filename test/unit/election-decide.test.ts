// Table tests of the decider (src/election/decide.ts): (state, input, now) → (state, request, events).
// Each case pins one rule at the level where it is kept, with no shell, clock or network around it.
import { describe, expect, it } from 'vitest';
import { decide, initialState, type DecideConfig, type Decision, type ElectionState, type Input } from '../../src/election/decide.ts';
import type { LeaderRecord, ObservedLease } from '../../src/election/record.ts';

const cfg: DecideConfig = { identity: 'b', leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000, workerGraceMs: 5_000 };
const WALL = 1_800_000_000_000;

function lease(rv: number, record: Partial<LeaderRecord>): ObservedLease {
  return {
    resourceVersion: String(rv),
    record: { holderIdentity: 'a', leaseDurationSeconds: 15, acquireTime: new Date(WALL), renewTime: new Date(WALL), leaseTransitions: 0, ...record },
  };
}

/** Feeds inputs in order, each at its own local time; returns every decision. */
function run(steps: Array<[number, Input]>, from: ElectionState = initialState()): Decision[] {
  let s = from;
  const out: Decision[] = [];
  for (const [now, input] of steps) {
    const d = decide(s, input, cfg, now, new Date(WALL + now), 0);
    out.push(d);
    s = d.state;
  }
  return out;
}

/** The answer to the request a decision made. */
function answer(d: Decision, outcome: Extract<Input, { type: 'result' }>['outcome']): Input {
  return { type: 'result', id: d.request!.id, outcome };
}

describe('decide()', () => {
  describe('S1: the expiry restarts on every new resourceVersion, not only on a change of the five spec fields', () => {
    // Issue 18, part 2 (seed -371408769): a Lease edited by hand to drop renewTime/acquireTime, twice, with a
    // renew between, while this standby misses the versions between. Its verify read finds the same content at a
    // new resourceVersion: that is a write it did not see, possibly the leader's renew, so the wait starts again.
    const garbage = { leaseDurationSeconds: 0, renewTime: undefined, acquireTime: undefined };
    it('a verify read that finds the same content at a new version waits a full lease duration again', () => {
      const start = run([[0, { type: 'start' }]]);
      const [seen] = run([[0, answer(start[0]!, { ok: true, lease: lease(2, garbage) })]], start[0]!.state);
      expect(seen!.request).toBeUndefined();
      expect(seen!.wakeAt).toBe(15_000);
      const [verify] = run([[15_000, { type: 'tick' }]], seen!.state);
      expect(verify!.request).toMatchObject({ kind: 'verify', op: 'get' });
      // rv 3 (the leader's renew at 14 s) and rv 4 (the same garbage again) were missed.
      const [after] = run([[15_010, answer(verify!, { ok: true, lease: lease(4, garbage) })]], verify!.state);
      expect(after!.request).toBeUndefined();
      expect(after!.state.observedAt).toBe(15_010);
      expect(after!.wakeAt).toBe(30_010);
    });

    it('a watch event with the same content at a new version restarts the wait; a repeat of the same version does not', () => {
      const start = run([[0, { type: 'start' }]]);
      const ds = run(
        [
          [0, answer(start[0]!, { ok: true, lease: lease(2, garbage) })],
          [5_000, { type: 'observed', lease: lease(4, garbage) }],
          [6_000, { type: 'observed', lease: lease(4, garbage) }],
        ],
        start[0]!.state,
      );
      expect(ds[1]!.state.observedAt).toBe(5_000);
      expect(ds[2]!.state.observedAt).toBe(5_000);
      expect(ds[2]!.wakeAt).toBe(20_000);
    });
  });
});
