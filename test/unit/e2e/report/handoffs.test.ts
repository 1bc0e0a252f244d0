// The handoff figures of the bench, the e2e and the frameworks test: pause signal → the new bot polls.
import { describe, expect, it } from 'vitest';
import { handoffFigures, handoffs } from '../../../../e2e/report/handoffs.ts';
import type { WorkerLogLine } from '../../../harness/timeline.ts';

const line = (pid: number, mono: number, event: string, signal?: string): WorkerLogLine => ({
  t: mono,
  mono,
  pid,
  name: `b${pid}`,
  event,
  ...(signal ? { signal } : {}),
});

describe('handoffs()', () => {
  it("measures pause signal → the next bot's polling-start, and the old bot's pause", () => {
    const lines = [
      line(1, 0, 'polling-start'),
      line(1, 100, 'signal', 'SIGUSR2'),
      line(1, 103, 'polling-stop'),
      line(2, 110, 'signal', 'SIGUSR1'),
      line(2, 111, 'polling-start'),
      line(2, 500, 'signal', 'SIGUSR2'),
      line(2, 3500, 'polling-stop'),
      line(3, 3520, 'polling-start'),
    ];
    const hs = handoffs(lines);
    expect(hs).toEqual([
      { signalAt: 100, pauseMs: 3, handoffMs: 11 },
      { signalAt: 500, pauseMs: 3000, handoffMs: 3020 },
    ]);
    expect(handoffs(lines, 200)).toHaveLength(1);
    expect(handoffFigures(hs)).toMatchObject({ n: 2, max: 3020, pauseMax: 3000 });
  });

  it('ignores a pause signal to a bot that was not polling, and a restart of the same bot', () => {
    const lines = [
      line(1, 0, 'signal', 'SIGUSR2'),
      line(1, 5, 'polling-start'),
      line(1, 10, 'signal', 'SIGUSR2'),
      line(1, 12, 'polling-stop'),
      line(1, 20, 'polling-start'),
    ];
    expect(handoffs(lines)).toEqual([]);
  });
});
