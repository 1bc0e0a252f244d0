// The watch's reconnect report: each (re)start counted by reason, a reconnect at debug, a reconnect loop
// one warning when it begins and one info line when it ends; a blip or a routine resume stays at debug.
import { describe, expect, it } from 'vitest';
import type { WatchStart } from '../../../src/kube/object-watcher.ts';
import { watchReport } from '../../../src/kube/watch-report.ts';

function harness(loopAfter?: number) {
  const lines: Array<{ level: string; event: string; msg: string }> = [];
  const log = (level: string) => (obj: object, msg: string) => void lines.push({ level, event: (obj as { event: string }).event, msg });
  const counted: string[] = [];
  const report = watchReport({
    watch: 'lease',
    label: 'Lease "bot"',
    logger: { debug: log('debug'), info: log('info'), warn: log('warn') },
    count: (w, r) => void counted.push(`${w}/${r}`),
    ...(loopAfter === undefined ? {} : { loopAfter }),
  });
  const failure = new Error('connect ECONNREFUSED 127.0.0.1:6443');
  const start = (reason: WatchStart['reason'], failures: number) => report.onStart(failures > 0 ? { reason, failures, error: failure } : { reason, failures });
  const loud = () => lines.filter((l) => l.level !== 'debug').map((l) => `${l.level} ${l.msg}`);
  return { lines, counted, report, start, loud };
}

describe('watchReport', () => {
  it('counts every start by reason; the first and routine resumes log nothing above debug', () => {
    const h = harness();
    h.start('initial', 0);
    for (let i = 0; i < 5; i++) h.start('closed', 0); // the server ends a watch once a minute
    h.start('expired', 0);
    expect(h.counted).toEqual(['lease/initial', ...Array<string>(5).fill('lease/closed'), 'lease/expired']);
    expect(h.lines.map((l) => [l.level, l.event])).toEqual(Array(6).fill(['debug', 'watch-restart']));
  });

  it('a blip (fewer failures than loopAfter) stays at debug', () => {
    const h = harness();
    h.start('initial', 0);
    h.start('error', 0); // the connection was reset
    h.start('error', 1); // refused once
    h.start('timeout', 2);
    h.report.onRecovered(2);
    expect(h.loud()).toEqual([]);
    expect(h.lines.at(-1)).toMatchObject({ level: 'debug', event: 'watch-recovered' });
  });

  it('a reconnect loop: one warning when it begins (not per attempt), one info line when it ends', () => {
    const h = harness();
    h.start('initial', 0);
    h.start('error', 0);
    for (let failures = 1; failures <= 12; failures++) h.start(failures % 2 ? 'error' : 'timeout', failures);
    h.report.onRecovered(12);
    expect(h.loud()).toEqual([
      'warn Lease "bot" watch: 3 attempts in a row failed (connect ECONNREFUSED 127.0.0.1:6443); retrying with backoff until the API server answers',
      expect.stringMatching(/^info Lease "bot" watch: re-established after 12 failed attempt\(s\) in \d+(\.\d)? s$/),
    ]);
    // A second loop warns again.
    h.start('error', 0);
    for (let failures = 1; failures <= 4; failures++) h.start('error', failures);
    h.report.onRecovered(4);
    expect(h.loud()).toHaveLength(4);
    expect(h.counted.filter((c) => c === 'lease/error')).toHaveLength(1 + 6 + 1 + 4);
    expect(h.counted.filter((c) => c === 'lease/timeout')).toHaveLength(6);
  });

  it('loopAfter is configurable', () => {
    const h = harness(1);
    h.start('error', 1);
    expect(h.loud()).toHaveLength(1);
  });
});
