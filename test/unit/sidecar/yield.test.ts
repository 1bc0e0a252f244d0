// Rule Y1 at the sidecar: a leader that learns of a Ready pod of a newer revision hands over to it (pause,
// confirmation, release) and stays as a standby; old standbys let that pod take the Lease; SIGTERM during a
// yield makes the retirement final. Fake clock, in-memory Lease.
import { describe, expect, it } from 'vitest';
import { MemoryLease, sidecarWithFakes } from '../fakes/election.ts';
import { FakeClock } from '../../harness/fake-clock.ts';
import type { Sidecar } from '../../../src/sidecar.ts';

const YIELD_MS = 1_000;

/** A worker that confirms each pause as soon as its signal arrives. */
const confirming = (signal: string, sidecar: Sidecar) => {
  if (signal === 'SIGUSR2') queueMicrotask(() => sidecar.confirmPause(sidecar.status().pause.id));
};

function pod(store: MemoryLease, identity: string, pid: number, yieldDelayMs: number | 'off' = YIELD_MS) {
  return sidecarWithFakes({ store, identity, pid, onSignal: confirming, ...(yieldDelayMs === 'off' ? {} : { yieldDelayMs }) });
}

/** How many times the pod became the leader (its LeaderElected Events). */
const elected = (p: { events: string[] }) => p.events.filter((e) => e === 'LeaderElected').length;
/** The signals sent to the worker since the pod began: the first is the pause every pod starts with. */
const signals = (p: { kills: Array<{ signal: string }> }) => p.kills.map((k) => k.signal).filter((s, i, all) => i === 0 || s !== all[i - 1]);

/** Old pods a (leader) and b (standby), then c of the new revision. */
async function rollout() {
  const clock = new FakeClock(0);
  const store = new MemoryLease(clock, { released: true });
  const a = pod(store, 'a', 100);
  await clock.advanceAsync(600);
  const b = pod(store, 'b', 200);
  await clock.advanceAsync(2_000);
  const c = pod(store, 'c', 300);
  await clock.advanceAsync(2_000);
  expect(a.sidecar.status().isLeader).toBe(true);
  return { clock, store, a, b, c };
}

const holder = (store: MemoryLease) => store.current()?.record.holderIdentity;

describe('Y1: yielding to a Ready pod of a newer revision', () => {
  it('the leader hands over to it after the delay, once; the old standby does not contend; the old leader stays a standby', async () => {
    const { clock, store, a, b, c } = await rollout();
    for (const p of [a, b]) p.sidecar.setNewerPeer('c');
    await clock.advanceAsync(YIELD_MS - 10);
    expect(a.sidecar.status().isLeader).toBe(true); // not before the delay
    await clock.until(() => c.starts().length > 0, 5_000);
    expect(holder(store)).toBe('c');
    expect(b.starts()).toEqual([]);
    // a paused its worker before the release (S1), and now is a standby again, not handing over.
    expect(signals(a)).toEqual(['SIGUSR2', 'SIGUSR1', 'SIGUSR2']);
    await clock.advanceAsync(2_000);
    expect(a.sidecar.status()).toMatchObject({ isLeader: false, handingOver: false });
    expect(a.labels.at(-1)).toBe('standby');
    // Nothing moves while c is there.
    await clock.advanceAsync(60_000);
    expect(holder(store)).toBe('c');
    expect([elected(a), elected(b), elected(c)]).toEqual([1, 0, 1]);
    expect(a.worker.status().desired).toBe('paused');
  });

  it('the old pods may lead again once the newer pod is gone (a failed rollout)', async () => {
    const { clock, store, a, b, c } = await rollout();
    for (const p of [a, b]) p.sidecar.setNewerPeer('c');
    await clock.until(() => c.starts().length > 0, 5_000);
    // c crashes: its Lease is no longer renewed, and the peer watch no longer shows it Ready.
    c.sidecar.stop();
    for (const p of [a, b]) p.sidecar.setNewerPeer(undefined);
    await clock.until(() => holder(store) !== 'c', 40_000);
    expect(['a', 'b']).toContain(holder(store));
    expect(elected(a) + elected(b)).toBe(2);
  });

  it('a newer pod that is no longer Ready before the delay ends takes nothing', async () => {
    const { clock, store, a, b, c } = await rollout();
    a.sidecar.setNewerPeer('c');
    await clock.advanceAsync(YIELD_MS / 2);
    a.sidecar.setNewerPeer(undefined);
    await clock.advanceAsync(30_000);
    expect(holder(store)).toBe('a');
    expect(signals(a)).toEqual(['SIGUSR2', 'SIGUSR1']);
    expect([elected(b), elected(c)]).toEqual([0, 0]);
  });

  it('a standby that knows of a newer pod does not take a released Lease; it does once that pod is gone', async () => {
    const clock = new FakeClock(0);
    const store = new MemoryLease(clock, { released: true });
    const b = pod(store, 'b', 200);
    b.sidecar.setNewerPeer('c');
    await clock.advanceAsync(30_000);
    expect(b.starts()).toEqual([]);
    expect(holder(store)).toBe('');
    b.sidecar.setNewerPeer(undefined);
    await clock.until(() => b.starts().length > 0, 5_000);
    expect(holder(store)).toBe('b');
  });

  it('SIGTERM during a yield: the handoff completes once and the pod never leads again', async () => {
    const { clock, store, a, b, c } = await rollout();
    a.sidecar.setNewerPeer('c');
    await clock.advanceAsync(YIELD_MS);
    // The yield has begun (pause sent); now the Pod is deleted too.
    expect(a.kills.at(-1)?.signal).toBe('SIGUSR2');
    const done = a.sidecar.handOver('SIGTERM');
    let ended = false;
    void done.then(() => (ended = true));
    await clock.until(() => ended, 5_000);
    expect(holder(store)).not.toBe('a');
    // The newer pod goes away again: a pod that is ending never takes the Lease back.
    a.sidecar.setNewerPeer(undefined);
    c.sidecar.stop();
    await clock.advanceAsync(60_000);
    expect(elected(a)).toBe(1);
    expect(a.sidecar.status().handingOver).toBe(true);
    expect(elected(b)).toBe(1); // b took over once c's Lease expired
  });

  it('SIGTERM after a yield ended: nothing to hand over, and it stays retired', async () => {
    const { clock, a, b, c } = await rollout();
    for (const p of [a, b]) p.sidecar.setNewerPeer('c');
    await clock.until(() => c.starts().length > 0, 5_000);
    await clock.advanceAsync(2_000);
    let ended = false;
    void a.sidecar.handOver('SIGTERM').then(() => (ended = true));
    await clock.until(() => ended, 5_000);
    expect(signals(a)).toEqual(['SIGUSR2', 'SIGUSR1', 'SIGUSR2']);
    expect(a.sidecar.status().handingOver).toBe(true);
  });

  it('off (no BATON_YIELD_TO_NEWER): the word of a newer pod changes nothing', async () => {
    const clock = new FakeClock(0);
    const store = new MemoryLease(clock, { released: true });
    const a = pod(store, 'a', 100, 'off');
    await clock.advanceAsync(600);
    a.sidecar.setNewerPeer('c');
    await clock.advanceAsync(30_000);
    expect(holder(store)).toBe('a');
    expect(signals(a)).toEqual(['SIGUSR2', 'SIGUSR1']);
  });
});
