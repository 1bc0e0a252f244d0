// A frozen process's polling (e2e/report/frozen.ts): nothing while frozen; after the thaw only if it acts.
import { describe, expect, it } from 'vitest';
import { withoutFrozen } from '../../../../e2e/report/frozen.ts';
import type { PollInterval } from '../../../harness/timeline.ts';

const iv = (pid: number, from: number, to: number): PollInterval => ({ name: `p${pid}`, pid, from, to, cut: false });

describe('withoutFrozen', () => {
  // Process 1 polled from 0 and logged its stop at 40; it was frozen from 10 to 30. Process 2 polled from 25.
  const intervals = [iv(1, 0, 40), iv(2, 25, 60)];
  const freeze = { pid: 1, from: 10, to: 30 };

  it('ends the polling at the freeze when the thawed process does nothing (fenced)', () => {
    expect(withoutFrozen(intervals, [freeze], () => false)).toEqual([iv(1, 0, 10), iv(2, 25, 60)]);
  });

  it('counts the thawed process as polling from the thaw to its logged stop when it acts', () => {
    expect(withoutFrozen(intervals, [freeze], () => true)).toEqual([iv(1, 0, 10), iv(2, 25, 60), iv(1, 30, 40)]);
  });

  it('leaves other processes and intervals outside the freeze alone', () => {
    const before = [iv(1, 0, 5), iv(1, 50, 60), iv(3, 0, 60)];
    expect(withoutFrozen(before, [freeze], () => true)).toEqual([iv(1, 0, 5), iv(3, 0, 60), iv(1, 50, 60)]);
  });

  it('keeps a process still frozen at the end out of every later moment', () => {
    expect(withoutFrozen([iv(1, 0, 100)], [{ pid: 1, from: 10, to: Infinity }], () => true)).toEqual([iv(1, 0, 10)]);
  });
});
