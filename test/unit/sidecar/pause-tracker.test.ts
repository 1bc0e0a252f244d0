import { describe, expect, it } from 'vitest';
import { PauseTracker } from '../../../src/pause-tracker.ts';
import { FakeClock } from '../../harness/fake-clock.ts';

/**
 * A tracker and the worker's desired state it reads (the worker controller's, in the sidecar): `start()`
 * tells the worker to run, `pause()` sends a pause as the sidecar does (its id first, then the state).
 */
function tracker() {
  const clock = new FakeClock(0);
  let paused = true;
  const t = new PauseTracker({ clock, ackTimeoutMs: 15_000, drainMs: 5_000, workerPaused: () => paused });
  const start = () => void (paused = false);
  const pause = () => {
    const id = t.pauseSent();
    paused = true;
    return id;
  };
  return { clock, t, start, pause };
}

/** Starts waiting for the pause sent last: `result()` stays undefined until the wait ends. */
function startWait(t: PauseTracker): () => unknown {
  let result: unknown;
  void t.wait().then((r) => (result = r));
  return () => result;
}

describe('PauseTracker', () => {
  it('accepts only the confirmation of the latest pause while paused', () => {
    const { t, start, pause } = tracker();
    expect(t.confirm(0)).toBe('accepted'); // the worker starts paused: pause 0
    start();
    expect(t.confirm(0)).toBe('not-paused');
    expect(pause()).toBe(1);
    expect(t.confirm(0)).toBe('stale');
    expect(t.confirm(2)).toBe('early');
    expect(t.confirm(1)).toBe('accepted');
    expect(t.confirm(1)).toBe('duplicate');
    expect(t.status()).toMatchObject({ id: 1 });
    expect(t.status().confirmedAt).not.toBeNull();
  });

  it('waits the drain for a worker that never confirmed, and ends early on a confirmation', async () => {
    const { clock, t, start, pause } = tracker();
    start();
    pause();
    const result = startWait(t);
    await clock.advanceAsync(4_999);
    expect(result()).toBeUndefined();
    await clock.advanceAsync(1);
    expect(result()).toEqual({ outcome: 'drained', waitedMs: 5_000 });
  });

  it('waits up to the ack timeout for a worker known to confirm, ignoring stale confirmations', async () => {
    const { clock, t, start, pause } = tracker();
    expect(t.confirm(0)).toBe('accepted');
    start();
    pause();
    const result = startWait(t);
    await clock.advanceAsync(6_000);
    expect(t.confirm(0)).toBe('stale');
    await clock.advanceAsync(0);
    expect(result()).toBeUndefined();
    t.confirm(1);
    await clock.advanceAsync(0);
    expect(result()).toEqual({ outcome: 'confirmed', waitedMs: 6_000 });
  });

  it('times out after the ack timeout, and forgets the worker confirms when it restarts', async () => {
    const { clock, t, start, pause } = tracker();
    t.confirm(0);
    start();
    pause();
    const result = startWait(t);
    await clock.advanceAsync(15_000);
    expect(result()).toEqual({ outcome: 'timeout', waitedMs: 15_000 });
    t.workerRestarted();
    expect(t.workerConfirms()).toBe(false);
  });

  it('boot race: a confirmation that arrives after the pod took the Lease still shows the worker confirms', async () => {
    const { clock, t, start, pause } = tracker();
    // The pod acquired the Lease and told the worker to start before its boot confirmation arrived.
    start();
    expect(t.confirm(0)).toBe('not-paused');
    expect(t.workerConfirms()).toBe(true);
    // So the next handoff waits for its confirmation (up to the ack timeout), not just the drain.
    pause();
    const result = startWait(t);
    await clock.advanceAsync(5_000);
    expect(result()).toBeUndefined();
    t.confirm(1);
    await clock.advanceAsync(0);
    expect(result()).toEqual({ outcome: 'confirmed', waitedMs: 5_000 });
  });

  it('any confirmation, stale or early, shows the worker confirms', () => {
    for (const id of [0, 5]) {
      const { t, start, pause } = tracker();
      start();
      pause();
      pause();
      expect(t.confirm(id)).toBe(id === 0 ? 'stale' : 'early');
      expect(t.workerConfirms()).toBe(true);
    }
  });

  it('a sidecar that restarted learns it from the worker saying so (its requests carry the header)', () => {
    const { t } = tracker();
    expect(t.workerConfirms()).toBe(false);
    t.workerSaysItConfirms();
    expect(t.workerConfirms()).toBe(true);
  });

  it('a pause waited for ends when the worker exits, and a wait begun after the exit ends at once, until a worker is found again', async () => {
    const { clock, t, start, pause } = tracker();
    t.confirm(0);
    start();
    pause();
    const result = startWait(t);
    await clock.advanceAsync(300);
    expect(result()).toBeUndefined();
    t.workerExited();
    await clock.advanceAsync(0);
    expect(result()).toEqual({ outcome: 'exited', waitedMs: 300 });
    // A later handoff with no worker at all does not wait either.
    pause();
    await expect(t.wait()).resolves.toMatchObject({ outcome: 'exited' });
    // A new worker process: a pause of it is waited for again (the drain, it has not confirmed yet).
    t.workerFound();
    t.workerRestarted();
    start();
    pause();
    const later = startWait(t);
    await clock.advanceAsync(4_999);
    expect(later()).toBeUndefined();
    await clock.advanceAsync(1);
    expect(later()).toMatchObject({ outcome: 'drained' });
  });
});
