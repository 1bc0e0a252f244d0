// The handoff timeline of npm run e2e:node (issue 20): each step found in the right process's log, on one clock.
import { describe, expect, it } from 'vitest';
import {
  gapParts,
  gapPartsTable,
  handoffTimelines,
  mediansTable,
  stepMedians,
  timelineTable,
  type BotLogLine,
  type LedgerEntry,
  type SidecarLogLine,
} from '../../../../e2e/report/handoff-timeline.ts';

const T = Date.parse('2026-12-07T06:00:00.000Z');
const iso = (ms: number) => new Date(T + ms).toISOString();
const sc = (identity: string, ms: number, event: string, fields: Record<string, unknown> = {}): SidecarLogLine => ({
  time: iso(ms),
  identity,
  event,
  ...fields,
});
const bot = (name: string, ms: number, event: string, fields: Partial<BotLogLine> = {}): BotLogLine => ({ mono: T + ms, name, pid: 7, event, ...fields });

/** One rollout handoff old → next, its SIGTERM `at` ms after T. */
function handoff(old: string, next: string, at: number) {
  const sidecar = [
    sc(next, at - 500, 'observed', { holder: old }), // a renewal seen by the standby: not the release
    sc(old, at, 'shutdown', { signal: 'SIGTERM', leader: true }),
    sc(old, at + 1, 'handoff', { phase: 'pause', trigger: 'SIGTERM', pause: 1 }),
    sc(old, at + 1, 'signal', { signal: 'SIGUSR2', state: 'paused', result: 'sent' }),
    sc(old, at + 30, 'pause-confirmation', { pause: 1, result: 'accepted' }),
    sc(old, at + 40, 'leadership', { change: 'released', reason: 'handoff' }),
    sc(next, at + 45, 'observed', { holder: '' }),
    sc(next, at + 55, 'leadership', { change: 'acquired' }),
    sc(next, at + 56, 'signal', { signal: 'SIGUSR1', state: 'running', result: 'sent' }),
  ];
  const bots = [
    bot(old, at - 100, 'handled', { update: 1 }),
    bot(old, at + 2.5, 'signal', { signal: 'SIGUSR2' }),
    bot(old, at + 12, 'handled', { update: 2 }),
    bot(old, at + 20, 'polling-stop'),
    bot(old, at + 32, 'ack'),
    bot(next, at + 57.2, 'signal', { signal: 'SIGUSR1' }),
    bot(next, at + 65, 'polling-start'),
  ];
  const ledger: LedgerEntry[] = [
    { type: 'end', client: old, at: T + at + 5 }, // the aborted long poll
    { type: 'start', client: old, at: T + at + 16, timeout: 0 },
    { type: 'end', client: old, at: T + at + 18 }, // the confirming poll
    { type: 'start', client: next, at: T + at + 70.4, timeout: 30 },
  ];
  return { sidecar, bots, ledger };
}

describe('handoff timeline', () => {
  it('places every step after the SIGTERM, from the process that did it', () => {
    const { sidecar, bots, ledger } = handoff('pod-a', 'pod-b', 1000);
    const [h, ...rest] = handoffTimelines(sidecar, bots, ledger);
    expect(rest).toEqual([]);
    expect(h).toMatchObject({ from: 'pod-a', to: 'pod-b', at: T + 1000, trigger: 'SIGTERM', gapMs: 45 });
    expect(h!.steps).toEqual({
      sigterm: 0,
      'pause-sent': 1,
      'pause-received': 2.5,
      'batch-done': 12,
      'offset-confirmed': 18,
      'bot-paused': 20,
      'paused-received': 30,
      'confirm-answered': 32,
      released: 40,
      'watch-event': 45,
      acquired: 55,
      'start-sent': 56,
      'start-received': 57.2,
      'polling-start': 65,
      'first-getupdates': 70.4,
    });
    expect(timelineTable(h!)).toContain('| watch-event | new sidecar | 45.0 | 5.0 |');
    // The gap (polling-stop 20 → polling-start 65) cut along its path.
    expect(gapParts(h!)).toEqual({ confirm: 10, 'release → watch': 15, acquire: 10, signal: 2.2, start: 7.8 });
    expect(gapPartsTable([h!])).toContain('| acquire (watch-event → acquired) | 10.0 | 10.0 |');
  });

  it('takes a native sidecar’s Pod deletion as the trigger and skips a handoff nobody took (scale to 0)', () => {
    const a = handoff('pod-a', 'pod-b', 1000);
    const deletion = a.sidecar.map((l) => (l.event === 'shutdown' ? { ...l, event: 'handoff', signal: undefined, trigger: 'deletion' } : l));
    // Scale to 0: pod-b hands over to nobody; the pod of the scale back up (born after that) is no successor.
    const lone = [
      sc('pod-b', 9000, 'shutdown', { signal: 'SIGTERM' }),
      sc('pod-b', 9001, 'handoff', { phase: 'pause', trigger: 'SIGTERM' }),
      sc('pod-b', 9030, 'leadership', { change: 'released' }),
      sc('pod-z', 30_000, 'observed', { holder: '' }),
      sc('pod-z', 30_050, 'leadership', { change: 'acquired' }),
    ];
    const hs = handoffTimelines([...deletion, ...lone], a.bots, a.ledger);
    expect(hs.map((h) => [h.from, h.to, h.trigger])).toEqual([['pod-a', 'pod-b', 'deletion']]);
  });

  it('an idle bot has no batch to finish: that step is absent and the next counts from the one before', () => {
    const { sidecar, bots, ledger } = handoff('pod-a', 'pod-b', 1000);
    const [h] = handoffTimelines(
      sidecar,
      bots.filter((l) => !(l.event === 'handled' && l.update === 2)),
      ledger,
    );
    expect(h!.steps['batch-done']).toBeUndefined();
    const m = stepMedians([h!]);
    expect(m.find((x) => x.step === 'batch-done')).toMatchObject({ n: 0 });
    expect(m.find((x) => x.step === 'offset-confirmed')).toMatchObject({ n: 1, atP50: 18, deltaP50: 15.5 });
  });

  it('medians per step over several handoffs', () => {
    const one = handoff('pod-a', 'pod-b', 1000);
    const two = handoff('pod-b', 'pod-c', 60_000);
    // The second handoff's release waits 20 ms longer.
    two.sidecar = two.sidecar.map((l) => (l.change === 'released' ? { ...l, time: iso(60_060) } : l));
    const three = handoff('pod-c', 'pod-d', 120_000);
    const hs = handoffTimelines(
      [...one.sidecar, ...two.sidecar, ...three.sidecar],
      [...one.bots, ...two.bots, ...three.bots],
      [...one.ledger, ...two.ledger, ...three.ledger],
    );
    expect(hs.map((h) => h.to)).toEqual(['pod-b', 'pod-c', 'pod-d']);
    const released = stepMedians(hs).find((m) => m.step === 'released')!;
    expect(released).toMatchObject({ n: 3, atP50: 40, deltaP50: 8, deltaMax: 28 });
    expect(mediansTable(stepMedians(hs), hs.length)).toContain('| released | old sidecar | release written | 40.0 | 8.0 | 28.0 | 3 |');
  });

  it('a pod that hands over again (its sidecar restarted, then leader once more) counts from its latest SIGTERM', () => {
    const one = handoff('pod-a', 'pod-b', 1000);
    const two = handoff('pod-b', 'pod-a', 30_000);
    const three = handoff('pod-a', 'pod-b', 60_000);
    const hs = handoffTimelines(
      [...one.sidecar, ...two.sidecar, ...three.sidecar],
      [...one.bots, ...two.bots, ...three.bots],
      [...one.ledger, ...two.ledger, ...three.ledger],
    );
    expect(hs.map((h) => [h.from, h.to, h.at - T])).toEqual([
      ['pod-a', 'pod-b', 1000],
      ['pod-b', 'pod-a', 30_000],
      ['pod-a', 'pod-b', 60_000],
    ]);
    expect(hs.map((h) => h.gapMs)).toEqual([45, 45, 45]);
  });
});
