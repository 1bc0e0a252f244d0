import { describe, expect, it } from 'vitest';
import { WorkerController, type SignalEvent, type WorkerEvents } from '../../../src/worker/controller.ts';
import { StubSource } from '../fakes/worker.ts';
import { FakeClock } from '../../harness/fake-clock.ts';

function setup(opts: { resyncMs?: number } = {}) {
  const clock = new FakeClock();
  const source = new StubSource();
  const kills: Array<{ pid: number; signal: NodeJS.Signals }> = [];
  let killError: NodeJS.ErrnoException | undefined;
  const controller = new WorkerController({
    finder: source,
    clock,
    scanIntervalMs: 500,
    resyncMs: opts.resyncMs ?? 30_000,
    kill: (pid, signal) => {
      if (killError) throw killError;
      kills.push({ pid, signal });
    },
  });
  const events: Array<{ name: keyof WorkerEvents; payload: unknown }> = [];
  for (const name of ['target-found', 'target-lost', 'worker-restarted', 'signal'] as const) {
    controller.on(name, (payload: unknown) => events.push({ name, payload }));
  }
  const signals = () => events.filter((e) => e.name === 'signal').map((e) => e.payload as SignalEvent);
  return {
    clock,
    source,
    kills,
    controller,
    events,
    signals,
    failKills: (code: string | undefined) => {
      killError = code ? Object.assign(new Error(`kill ${code}`), { code }) : undefined;
    },
  };
}

describe('WorkerController', () => {
  it('never signals a process without handlers, then sends the current state once they are up', () => {
    const { clock, source, kills, controller, signals } = setup();
    source.worker(100, false);
    controller.start();
    controller.setDesired('running');
    clock.advance(5_000);
    expect(kills).toEqual([]);
    expect(controller.status()).toMatchObject({ found: true, pid: 100, handlersInstalled: false, desired: 'running', delivered: null });
    expect(controller.status().problem).toContain('has not installed handlers for SIGUSR2 yet (/proc/100/status SigCgt)');

    source.worker(100, true);
    clock.advance(500);
    expect(kills).toEqual([{ pid: 100, signal: 'SIGUSR1' }]);
    expect(signals()).toEqual([{ signal: 'SIGUSR1', pid: 100, state: 'running', reason: 'new-target', result: 'sent' }]);
    expect(controller.status()).toEqual({ found: true, pid: 100, handlersInstalled: true, desired: 'running', delivered: 'running', restarts: 0 });
  });

  it('sends the paused state to a newly found worker too (it is the current state)', () => {
    const { source, kills, controller } = setup();
    source.worker(100, true);
    controller.start();
    expect(kills).toEqual([{ pid: 100, signal: 'SIGUSR2' }]);
  });

  it('signals inside setDesired when the target is ready: no waiting for a scan', () => {
    const { source, kills, controller, signals } = setup();
    source.worker(100, true);
    controller.start();
    kills.length = 0;
    controller.setDesired('running');
    expect(kills).toEqual([{ pid: 100, signal: 'SIGUSR1' }]);
    expect(signals().at(-1)).toMatchObject({ reason: 'change', state: 'running' });
    controller.setDesired('running'); // no change, no signal
    controller.setDesired('paused');
    controller.setDesired('running');
    expect(kills.map((k) => k.signal)).toEqual(['SIGUSR1', 'SIGUSR2', 'SIGUSR1']);
  });

  it('sends a start that closely follows a pause once more, since pending signals arrive lowest number first', () => {
    const { clock, source, kills, controller, signals } = setup();
    source.worker(100, true);
    controller.start(); // SIGUSR2: the paused state to a new worker
    clock.advance(100);
    controller.setDesired('running'); // SIGUSR1 100 ms later: both may be pending in a busy worker
    clock.advance(999);
    expect(kills.map((k) => k.signal)).toEqual(['SIGUSR2', 'SIGUSR1']);
    clock.advance(1);
    expect(kills.map((k) => k.signal)).toEqual(['SIGUSR2', 'SIGUSR1', 'SIGUSR1']);
    expect(signals().at(-1)).toMatchObject({ reason: 'repeat', state: 'running' });
    // Once, not a storm; and no repeat when the signals are far apart.
    clock.advance(5_000);
    controller.setDesired('paused');
    clock.advance(10_000);
    expect(kills.map((k) => k.signal)).toEqual(['SIGUSR2', 'SIGUSR1', 'SIGUSR1', 'SIGUSR2']);
  });

  it('re-checks the process just before the kill and holds back if it changed since the scan', () => {
    const { source, kills, controller } = setup();
    source.worker(100, true);
    controller.start();
    kills.length = 0;
    source.checkOverride = 'gone';
    controller.setDesired('running');
    expect(kills).toEqual([]);
    expect(controller.status().problem).toContain('process 100 exited');
  });

  it('delivers a change made while no worker is found as soon as one is ready', () => {
    const { clock, source, kills, controller } = setup();
    controller.start();
    controller.setDesired('running');
    expect(controller.status()).toMatchObject({ found: false, pid: null, problem: 'no process matches BATON_TARGET_COMMAND /bot/' });
    source.worker(100, true);
    clock.advance(499);
    expect(kills).toEqual([]);
    clock.advance(1);
    expect(kills).toEqual([{ pid: 100, signal: 'SIGUSR1' }]);
  });

  it('bounds signals: one per change plus at most one per resync period', () => {
    const { clock, source, kills, controller, signals } = setup({ resyncMs: 2_000 });
    source.worker(100, true);
    controller.start();
    controller.setDesired('running');
    const periods = 10;
    clock.advance(periods * 2_000);
    // 1 initial pause + 1 change + 1 repeat (the start followed the pause within REORDER_WINDOW_MS, at
    // 1 s) + one resync per period after that (3 s, 5 s, ... 19 s).
    expect(kills).toHaveLength(2 + 1 + (periods - 1));
    expect(signals()[2]).toMatchObject({ reason: 'repeat', signal: 'SIGUSR1' });
    expect(
      signals()
        .slice(3)
        .every((s) => s.reason === 'resync' && s.signal === 'SIGUSR1'),
    ).toBe(true);
  });

  it('treats a new pid, or a reused pid with a new start time, as a restarted worker and re-sends the state', () => {
    const { clock, source, kills, controller, events } = setup();
    source.worker(100, true);
    controller.start();
    controller.setDesired('running');
    kills.length = 0;

    source.current = undefined; // the worker died
    clock.advance(500);
    source.worker(200, false); // and came back, handlers not yet installed
    clock.advance(500);
    expect(kills).toEqual([]);
    source.worker(200, true);
    clock.advance(500);
    expect(kills).toEqual([{ pid: 200, signal: 'SIGUSR1' }]);

    source.worker(200, true, 999); // same pid, different process
    clock.advance(500);
    expect(kills).toEqual([
      { pid: 200, signal: 'SIGUSR1' },
      { pid: 200, signal: 'SIGUSR1' },
    ]);
    expect(controller.status().restarts).toBe(2);

    const names = events.map((e) => e.name).filter((n) => n !== 'signal');
    expect(names).toEqual(['target-found', 'target-lost', 'target-found', 'worker-restarted', 'target-lost', 'target-found', 'worker-restarted']);
    expect(events.find((e) => e.name === 'worker-restarted')!.payload).toMatchObject({
      previous: { pid: 100, startTime: 1000 },
      target: { pid: 200 },
      restarts: 1,
    });
    expect(events.find((e) => e.name === 'target-lost')!.payload).toEqual({
      pid: 100,
      startTime: 1000,
      reason: 'no process matches BATON_TARGET_COMMAND /bot/',
      exited: true,
    });
  });

  it('does not count the first process that becomes ready as a restart (sh → node)', () => {
    const { clock, source, controller } = setup();
    source.worker(100, false); // sh, never ready
    controller.start();
    source.worker(101, true); // its node child installs handlers
    clock.advance(500);
    expect(controller.status()).toMatchObject({ pid: 101, restarts: 0, delivered: 'paused' });
  });

  it('reports kill errors with the fix and retries on the next scan', () => {
    const { clock, source, kills, controller, signals, failKills } = setup();
    source.worker(100, true);
    failKills('EPERM');
    controller.start();
    expect(signals()).toHaveLength(1);
    expect(signals()[0]).toMatchObject({ signal: 'SIGUSR2', pid: 100, result: 'failed', reason: 'new-target' });
    expect(signals()[0]!.error).toContain('CAP_KILL');
    expect(controller.status()).toMatchObject({ delivered: null, problem: expect.stringContaining('EPERM') as unknown });

    clock.advance(500);
    expect(signals()).toHaveLength(2);
    failKills(undefined);
    clock.advance(500);
    expect(kills).toEqual([{ pid: 100, signal: 'SIGUSR2' }]);
    expect(signals().at(-1)).toMatchObject({ result: 'sent', reason: 'retry' });
    expect(controller.status().problem).toBeUndefined();

    failKills('ESRCH');
    controller.setDesired('running');
    expect(signals().at(-1)!.error).toContain('exited before SIGUSR1 reached it (ESRCH)');
  });

  it('survives a finder that throws, and passes an ambiguity on with the target', () => {
    const { clock, source, controller, events } = setup();
    source.throws = new Error('EACCES: permission denied');
    controller.start();
    expect(controller.status().problem).toBe('reading /proc failed: EACCES: permission denied');
    source.throws = undefined;
    source.worker(100, true);
    source.ambiguity = '2 unrelated processes match';
    clock.advance(500);
    expect(events.find((e) => e.name === 'target-found')!.payload).toMatchObject({ target: { pid: 100 }, ambiguity: '2 unrelated processes match' });
  });

  it('stops scanning and signalling after stop()', () => {
    const { clock, source, kills, controller } = setup();
    source.worker(100, true);
    controller.start();
    controller.stop();
    expect(clock.pending()).toBe(0);
    controller.setDesired('running');
    clock.advance(60_000);
    expect(kills).toEqual([{ pid: 100, signal: 'SIGUSR2' }]);
  });
});
