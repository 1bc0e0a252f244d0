// Regression tests for the edges of issue 9 at the sidecar level (items 4, 5, 8 and 9): each one failed
// on the sidecar before the one-decider rebuild.
import { describe, expect, it } from 'vitest';
import { RELEASE_EVENT_WAIT_MS, DEFAULT_WORKER_GRACE_MS as WORKER_GRACE_MS } from '../../../src/defaults.ts';
import { MemoryLease, sidecarWithFakes } from '../fakes/election.ts';
import { FakeClock, flush } from '../../harness/fake-clock.ts';

type Pod = ReturnType<typeof pod>;

function pod(store: MemoryLease, identity: string, pid: number) {
  return sidecarWithFakes({ store, identity, pid });
}

/** Pod a takes the Lease. */
async function leader() {
  const clock = new FakeClock(0);
  const store = new MemoryLease(clock, { released: true });
  const a = pod(store, 'a', 100);
  await clock.advanceAsync(600);
  return { clock, store, a };
}

/** Pod a takes the Lease; then pod b joins and `standbyAfterMs` more pass. */
async function leaderAndStandby(standbyAfterMs: number) {
  const world = await leader();
  const b = pod(world.store, 'b', 200);
  await world.clock.advanceAsync(standbyAfterMs);
  return { ...world, b };
}

/** The leader `p` is told to terminate and its worker confirms the pause at once; resolves when the handoff has ended. */
async function handOverConfirmed(clock: FakeClock, p: Pod): Promise<void> {
  const handoff = p.sidecar.handOver('SIGTERM');
  await clock.advanceAsync(0);
  p.sidecar.confirmPause(p.sidecar.status().pause.id);
  // E1: the handoff ends once its release's Event is sent (the successor seen, or RELEASE_EVENT_WAIT_MS).
  let done = false;
  void handoff.then(() => (done = true));
  await flush();
  await clock.until(() => done, RELEASE_EVENT_WAIT_MS + 1_000);
}

describe('Sidecar at the edges', () => {
  it("item 4 (L1): a leader whose worker is gone steps aside after the grace; the standby's worker runs within grace + 1 s", async () => {
    const { clock, a, b } = await leaderAndStandby(2_000);
    expect(a.sidecar.status().isLeader).toBe(true);
    a.source.current = undefined; // the bot container died
    const diedAt = clock.now();
    await clock.until(() => b.starts().length > 0, 30_000);
    expect(clock.now() - diedAt).toBeLessThanOrEqual(WORKER_GRACE_MS + 1_000);
    expect(a.sidecar.status().isLeader).toBe(false);
    expect(await a.leaderGauge()).toBe(0);
    expect(a.labels.at(-1)).toBe('standby');
    expect(a.events.at(-1)).toMatch(/LeaderReleased|LeaderLost/);
    // Its worker back, a stands by (b holds the Lease) and does not start it.
    a.source.worker(101, true);
    await clock.advanceAsync(30_000);
    expect(a.starts().filter((k) => k.pid === 101)).toEqual([]);
    expect(b.sidecar.status().isLeader).toBe(true);
  });

  it('item 4 (L1): the step-aside is reported with the grace it waited, not "gone for 0 ms"', async () => {
    const clock = new FakeClock(0);
    const store = new MemoryLease(clock, { released: true });
    const lines: Array<Record<string, unknown>> = [];
    const a = sidecarWithFakes({ store, identity: 'a', pid: 100, logSink: (l) => lines.push(JSON.parse(l) as Record<string, unknown>) });
    await clock.advanceAsync(600);
    expect(a.sidecar.status().isLeader).toBe(true);
    a.source.current = undefined; // the bot container died
    await clock.until(() => lines.some((l) => l.change === 'released'), 30_000);
    expect(lines.find((l) => l.change === 'released')?.msg).toMatch(new RegExp(`its worker has been gone for ${WORKER_GRACE_MS} ms$`));
  });

  it('item 4 (L1): a plain worker restart within the grace keeps the leader', async () => {
    const { clock, a, b } = await leaderAndStandby(2_000);
    a.source.current = undefined;
    await clock.advanceAsync(2_000);
    a.source.worker(101, true);
    await clock.advanceAsync(30_000);
    expect(a.sidecar.status().isLeader).toBe(true);
    expect(a.starts().at(-1)?.pid).toBe(101);
    expect(b.starts()).toEqual([]);
  });

  it('a worker that exits while its pause is awaited is paused: the release does not wait out the ack timeout', async () => {
    // Seen in the benchmark under load: the bot got its SIGTERM during the pause and exited without confirming;
    // the sidecar logged "worker lost" and still waited the whole BATON_PAUSE_ACK_TIMEOUT (15 s) to release.
    const { clock, a, b } = await leaderAndStandby(2_000);
    a.pauses.workerSaysItConfirms(); // a worker that confirms: the wait is the ack timeout, not the drain
    const handoff = a.sidecar.handOver('SIGTERM');
    await clock.advanceAsync(100);
    expect(a.kills.at(-1)?.signal).toBe('SIGUSR2');
    a.source.current = undefined; // the bot process exits, unconfirmed
    const exitedAt = clock.now();
    await clock.until(() => b.starts().length > 0, 30_000);
    await handoff;
    // Noticed at the next scan of /proc (0.5 s), then released; b's watch sees the release at once.
    expect(clock.now() - exitedAt).toBeLessThanOrEqual(1_000);
    expect(a.sidecar.status().isLeader).toBe(false);
  });

  it('a worker that is still there but silent is waited for, as before (the ack timeout)', async () => {
    const { clock, a, b } = await leaderAndStandby(2_000);
    a.pauses.workerSaysItConfirms();
    const handoff = a.sidecar.handOver('SIGTERM');
    const pausedAt = clock.now();
    await clock.until(() => b.starts().length > 0, 30_000);
    await handoff;
    expect(clock.now() - pausedAt).toBeGreaterThanOrEqual(15_000);
  });

  it('item 5 (L2): SIGTERM during an in-flight acquire: the worker is never started and the Lease ends released', async () => {
    const { clock, store, a, b } = await leaderAndStandby(600);
    let letGo: () => void = () => undefined;
    const held = new Promise<void>((r) => (letGo = r));
    store.hook = (who, op) => (who === 'b' && op === 'update' ? held : undefined);
    await handOverConfirmed(clock, a);
    await flush();
    // b has seen the release and its acquire is in flight: now b is told to terminate.
    expect(store.calls.filter((c) => c.who === 'b' && c.op === 'update')).toHaveLength(1);
    let bDone = false;
    void b.sidecar.handOver('SIGTERM').then(() => (bDone = true));
    await flush();
    letGo();
    await clock.advanceAsync(20_000);
    expect(bDone).toBe(true);
    expect(b.starts()).toEqual([]);
    expect(store.record?.holderIdentity).toBe('');
    expect(b.sidecar.status().isLeader).toBe(false);
  });

  it('item 5 (L2): SIGTERM during an acquire whose answer never comes: the handoff still ends', async () => {
    const { clock, store, a, b } = await leaderAndStandby(600);
    store.hook = (who, op) => (who === 'b' && op === 'update' ? new Promise<void>(() => undefined) : undefined);
    await handOverConfirmed(clock, a);
    let bDone = false;
    void b.sidecar.handOver('SIGTERM').then(() => (bDone = true));
    await clock.advanceAsync(20_000);
    expect(bDone).toBe(true);
    expect(b.starts()).toEqual([]);
  });

  it("E1: the release's Event waits for the successor's acquire to show (sent with the release, it met that acquire at the API server), then the handoff ends", async () => {
    const { clock, store, a } = await leaderAndStandby(600);
    let letGo: () => void = () => undefined;
    const held = new Promise<void>((r) => (letGo = r));
    store.hook = (who, op) => (who === 'b' && op === 'update' ? held : undefined);
    let done = false;
    void a.sidecar.handOver('SIGTERM').then(() => (done = true));
    await clock.advanceAsync(0);
    a.sidecar.confirmPause(a.sidecar.status().pause.id);
    await flush();
    // Released, and b's acquire is on its way: the log line and the metric are out, the Event is not.
    expect(store.record?.holderIdentity).toBe('');
    expect(await a.leaderGauge()).toBe(0);
    expect(a.events).toEqual(['LeaderElected']);
    expect(done).toBe(false);
    letGo();
    await flush();
    expect(store.record?.holderIdentity).toBe('b');
    expect(a.events).toEqual(['LeaderElected', 'LeaderReleased']);
    expect(done).toBe(true);
  });

  it("E1: with no successor, the release's Event goes out after RELEASE_EVENT_WAIT_MS", async () => {
    const { clock, a } = await leader();
    let done = false;
    void a.sidecar.handOver('SIGTERM').then(() => (done = true));
    await clock.advanceAsync(0);
    a.sidecar.confirmPause(a.sidecar.status().pause.id);
    await flush();
    const releasedAt = clock.now();
    expect(a.events).toEqual(['LeaderElected']);
    await clock.until(() => done, RELEASE_EVENT_WAIT_MS + 100);
    expect(a.events).toEqual(['LeaderElected', 'LeaderReleased']);
    expect(clock.now() - releasedAt).toBeGreaterThanOrEqual(RELEASE_EVENT_WAIT_MS);
  });

  it('item 8 (C2): a handoff whose release cannot be written still reports the end of leadership as an Event', async () => {
    const { clock, store, a } = await leader();
    store.failing.set('a', 'error');
    await handOverConfirmed(clock, a);
    expect(a.events).toEqual(['LeaderElected', 'LeaderLost']);
    expect(a.labels.at(-1)).toBe('standby');
    expect(await a.leaderGauge()).toBe(0);
  });

  it('item 9 (L4): /healthz fails when an election step has been unsettled for longer than twice the request timeout', async () => {
    const { clock, store, a } = await leader();
    expect(a.sidecar.health()).toEqual({ healthy: true });
    store.failing.set('a', 'stuck'); // a request that never settles, not even when aborted
    await clock.advanceAsync(9_000);
    expect(a.sidecar.health()).toEqual({ healthy: true });
    await clock.advanceAsync(15_000);
    const h = a.sidecar.health();
    expect(h.healthy).toBe(false);
    expect(h.reason).toMatch(/stuck/);
  });

  it('item 9 (L4): a standby that merely cannot reach the API is healthy', async () => {
    const { clock, store, a } = await leader();
    store.failing.set('a', 'hang');
    await clock.advanceAsync(60_000);
    expect(a.sidecar.health()).toEqual({ healthy: true });
  });

  it('S1, issue 18: a pod that creates the Lease claims it and starts its worker a lease duration later; /leader, label, gauge and Events say "not yet" meanwhile', async () => {
    const clock = new FakeClock(0);
    const store = new MemoryLease(clock); // no Lease: a first install, or one deleted by hand
    const lines: Array<Record<string, unknown>> = [];
    const a = sidecarWithFakes({ store, identity: 'a', pid: 100, logSink: (l) => lines.push(JSON.parse(l) as Record<string, unknown>) });
    await clock.advanceAsync(600);
    expect(store.record?.holderIdentity).toBe('a');
    expect(a.sidecar.status().isLeader).toBe(false);
    expect(a.starts()).toEqual([]);
    expect(a.labels.at(-1)).toBe('standby');
    expect(await a.leaderGauge()).toBe(0);
    expect(a.events).toEqual([]);
    expect(lines.find((l) => l.change === 'claimed')).toMatchObject({ event: 'leadership', change: 'claimed', epoch: 0 });
    await clock.advanceAsync(14_000);
    expect(a.starts()).toEqual([]);
    await clock.advanceAsync(1_000);
    expect(a.sidecar.status().isLeader).toBe(true);
    expect(a.starts()).toHaveLength(1);
    expect(a.starts()[0]!.at).toBeGreaterThanOrEqual(15_000);
    expect(a.events).toEqual(['LeaderElected']);
    expect(a.labels.at(-1)).toBe('leader');
  });

  it('S1, issue 18: a pod handed over during its claim writes no release (its record expires) and never starts its worker', async () => {
    const clock = new FakeClock(0);
    const store = new MemoryLease(clock);
    const a = pod(store, 'a', 100);
    await clock.advanceAsync(600);
    const b = pod(store, 'b', 200);
    await clock.advanceAsync(600);
    await a.sidecar.handOver('SIGTERM');
    expect(store.record?.holderIdentity).toBe('a'); // not released
    expect(a.starts()).toEqual([]);
    expect(a.events).toEqual([]);
    // b takes it once a's record has stood unchanged a lease duration (from a's last write, as b saw it at once).
    const lastWrite = Math.max(...store.calls.filter((c) => c.who === 'a' && c.op !== 'get').map((c) => c.at));
    await clock.until(() => b.sidecar.status().isLeader, 30_000);
    expect(clock.now()).toBeGreaterThanOrEqual(lastWrite + 15_000);
    expect(b.starts()).toHaveLength(1);
  });
});
