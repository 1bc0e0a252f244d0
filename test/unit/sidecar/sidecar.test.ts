// The sidecar's orchestration with a fake clock: the order of pause, wait and release; pausing first
// on a loss; and invariant 6 — /leader, the label, the metric and the Events agree at every step.
import { describe, expect, it } from 'vitest';
import { MemoryLease, sidecarWithFakes } from '../fakes/election.ts';
import { FakeClock } from '../../harness/fake-clock.ts';

function pod(store: MemoryLease, identity: string, pid: number, handlers = true) {
  const p = sidecarWithFakes({ store, identity, pid, handlers });
  /** Invariant 6 at this instant (a handoff's label is held until its release's Event goes: E1). */
  const agree = async () => {
    const s = p.sidecar.status();
    expect(p.labels.at(-1)).toBe(s.isLeader || p.sidecar.labelIsHeld ? 'leader' : 'standby');
    expect(await p.leaderGauge()).toBe(s.isLeader ? 1 : 0);
    expect(p.worker.status().desired).toBe(s.isLeader ? 'running' : 'paused');
  };
  return { ...p, agree };
}

describe('Sidecar', () => {
  it('starts the worker on acquiring, and every report agrees', async () => {
    const clock = new FakeClock(0);
    const store = new MemoryLease(clock, { released: true });
    const a = pod(store, 'a', 100);
    await clock.advanceAsync(600);
    expect(a.sidecar.status()).toMatchObject({ isLeader: true, holder: 'a', epoch: 1, lease: { name: 'bot', namespace: 'ns' } });
    expect(a.kills.map((k) => k.signal)).toEqual(['SIGUSR2', 'SIGUSR1']); // paused when found, then started
    expect(a.events).toEqual(['LeaderElected']);
    await a.agree();
    expect(a.sidecar.readiness()).toEqual({ ready: true, missing: [] });
  });

  it('publishes the Lease it acquired before it sends the start signal, so the worker need not read /leader first', async () => {
    // The kit (F1) starts only on a renewal of its own pod's Lease it has seen; a push that comes after the
    // signal makes it wait for a loopback read, in every handoff's gap. The fake's watch event of the
    // acquire comes after the acquire's answer, as the API server's often does.
    const clock = new FakeClock(0);
    const store = new MemoryLease(clock, { released: true });
    const a = pod(store, 'a', 100);
    const seen: Array<{ holder: string; renewedAt: string | null; starts: number }> = [];
    a.sidecar.subscribe((s) => seen.push({ holder: s.holder, renewedAt: s.renewedAt, starts: a.starts().length }));
    await clock.advanceAsync(600);
    expect(a.starts()).toHaveLength(1);
    const renewedAt = store.record?.renewTime?.toISOString();
    const own = seen.find((s) => s.holder === 'a' && s.renewedAt === renewedAt);
    expect(own).toBeDefined();
    expect(own!.starts).toBe(0);
  });

  it('hands over: pause, wait for the confirmation, release; the standby starts only after the confirmation', async () => {
    const clock = new FakeClock(0);
    const store = new MemoryLease(clock, { released: true });
    const a = pod(store, 'a', 100);
    await clock.advanceAsync(600);
    const b = pod(store, 'b', 200);
    await clock.advanceAsync(600);
    expect(a.sidecar.confirmPause(0)).toBe('not-paused');

    const handoffAt = clock.now();
    const handoff = a.sidecar.handOver('SIGTERM');
    await clock.advanceAsync(0);
    expect(a.sidecar.status()).toMatchObject({ isLeader: false, handingOver: true, pause: { id: 1 } });
    await a.agree();
    // E1: the label (a Pod patch) waits for the successor, not to meet the release at the API server.
    expect(a.labels.at(-1)).toBe('leader');
    // Not yet released: b must not start while a's worker may still be finishing its batch.
    await clock.advanceAsync(3_000);
    expect(b.sidecar.status().isLeader).toBe(false);
    expect(b.kills.filter((k) => k.signal === 'SIGUSR1')).toEqual([]);
    expect(a.sidecar.confirmPause(1)).toBe('accepted');
    let handedOver = false;
    void handoff.then(() => (handedOver = true));
    await clock.until(() => handedOver, 1_000);
    await clock.advanceAsync(0);
    expect(b.sidecar.status()).toMatchObject({ isLeader: true, epoch: 2 });
    await b.agree();
    await a.agree();
    expect(a.labels.at(-1)).toBe('standby'); // sent with the release's Event, once b's acquire showed
    expect(a.sidecar.labelIsHeld).toBe(false);
    expect(a.events).toEqual(['LeaderElected', 'LeaderReleased']);
    const aPause = a.kills.find((k) => k.signal === 'SIGUSR2' && k.at >= handoffAt)!.at;
    const bStart = b.kills.find((k) => k.signal === 'SIGUSR1')!.at;
    expect(bStart).toBeGreaterThanOrEqual(aPause + 3_000);
    // A pod that has begun to hand over never takes the Lease again.
    void b.sidecar.handOver('SIGTERM'); // b's worker never confirms: its handoff waits the drain (fake time)
    await clock.advanceAsync(60_000);
    expect(store.record?.holderIdentity).toBe('');
    expect(a.sidecar.status().isLeader).toBe(false);
  });

  it('a standby hands over at once: nothing to wait for', async () => {
    const clock = new FakeClock(0);
    const store = new MemoryLease(clock, { released: true });
    pod(store, 'a', 100);
    await clock.advanceAsync(600);
    const b = pod(store, 'b', 200);
    await clock.advanceAsync(600);
    let done = false;
    void b.sidecar.handOver('deletion').then(() => (done = true));
    await clock.advanceAsync(0);
    expect(done).toBe(true);
    expect(b.sidecar.status()).toMatchObject({ isLeader: false, handingOver: true, holder: 'a' });
  });

  it('pauses the worker the moment leadership is lost, before a standby could start', async () => {
    const clock = new FakeClock(0);
    const store = new MemoryLease(clock, { released: true });
    const a = pod(store, 'a', 100);
    await clock.advanceAsync(600);
    const b = pod(store, 'b', 200);
    await clock.advanceAsync(600);
    store.failing.set('a', 'error');
    await clock.until(() => !a.sidecar.status().isLeader, 20_000);
    const pausedAt = clock.now();
    expect(a.kills.at(-1)).toMatchObject({ signal: 'SIGUSR2' });
    expect(a.events.at(-1)).toBe('LeaderLost');
    await a.agree();
    await clock.until(() => b.sidecar.status().isLeader, 20_000);
    expect(b.kills.find((k) => k.signal === 'SIGUSR1')!.at - pausedAt).toBeGreaterThanOrEqual(4_000);
    await b.agree();
  });

  it('is not Ready while the worker has no handlers, and says so; never depends on leadership', async () => {
    const clock = new FakeClock(0);
    const store = new MemoryLease(clock, { released: true });
    const a = pod(store, 'a', 100, false);
    await clock.advanceAsync(600);
    const r = a.sidecar.readiness();
    expect(r.ready).toBe(false);
    expect(r.missing.join()).toMatch(/has not installed handlers for SIGUSR2/);
    expect(a.sidecar.status().isLeader).toBe(false); // not eligible: it does not take the Lease either
    expect(a.kills).toEqual([]);
    a.source.worker(100, true);
    await clock.advanceAsync(1_000);
    expect(a.sidecar.readiness().ready).toBe(true);
    expect(a.sidecar.status().isLeader).toBe(true);
  });

  it('reports itself stuck only when a leader has not renewed for longer than the lease duration', async () => {
    const clock = new FakeClock(0);
    const store = new MemoryLease(clock, { released: true });
    const a = pod(store, 'a', 100);
    await clock.advanceAsync(600);
    expect(a.sidecar.health()).toEqual({ healthy: true });
    store.failing.set('a', 'hang');
    await clock.advanceAsync(20_000);
    // It stepped down at the renew deadline: a standby that cannot reach the API is not stuck.
    expect(a.sidecar.health()).toEqual({ healthy: true });
  });
});
