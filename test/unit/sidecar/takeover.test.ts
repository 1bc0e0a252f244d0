// Rule W1 at the sidecar: a leader handing over tells its word once its worker has paused; a standby that hears
// it takes the Lease in one write; a refusal makes the leader release at once, silence at the offer's end.
// Fake clock, in-memory Lease, the word carried by hand between the pods.
import { describe, expect, it } from 'vitest';
import { MemoryLease, sidecarWithFakes } from '../fakes/election.ts';
import { FakeClock } from '../../harness/fake-clock.ts';
import type { TakeoverWord } from '../../../src/election/takeover.ts';
import { offerOutcome } from '../../../src/http/takeover.ts';
import type { Sidecar, WordChannel } from '../../../src/sidecar.ts';

const OFFER_MS = 300;

/** A worker that confirms each pause as soon as its signal arrives. */
const confirming = (signal: string, sidecar: Sidecar) => {
  if (signal === 'SIGUSR2') queueMicrotask(() => sidecar.confirmPause(sidecar.status().pause.id));
};

/** Words told, and what happens to them: heard by `to` (at once), or never answered. */
function network(how: 'deliver' | 'silent') {
  const pods = new Map<string, Sidecar>();
  const told: Array<{ word: TakeoverWord; at: 'paused' | 'running' }> = [];
  const channelOf = (from: string, workerRuns: () => boolean): WordChannel => ({
    offer: async (word) => {
      told.push({ word, at: workerRuns() ? 'running' : 'paused' });
      if (how === 'silent') return new Promise(() => {});
      const deliveries = [...pods].filter(([name]) => name !== from).map(([name, s]) => ({ name, answer: s.hearWord(word) }));
      return offerOutcome(
        deliveries.map((d) => d.name),
        deliveries,
      );
    },
  });
  return { pods, told, channelOf };
}

async function twoPods(how: 'deliver' | 'silent', bHandlers = true) {
  const clock = new FakeClock(0);
  const store = new MemoryLease(clock, { released: true });
  const net = network(how);
  const make = (identity: string, pid: number, handlers: boolean) => {
    let runs = () => false;
    const p = sidecarWithFakes({
      store,
      identity,
      pid,
      handlers,
      onSignal: confirming,
      takeover: { offerMs: OFFER_MS, channel: net.channelOf(identity, () => runs()) },
    });
    runs = () => p.worker.status().desired === 'running';
    net.pods.set(identity, p.sidecar);
    return p;
  };
  const a = make('a', 100, true);
  await clock.advanceAsync(600);
  const b = make('b', 200, bHandlers);
  await clock.advanceAsync(2_000);
  expect(a.sidecar.status().isLeader).toBe(true);
  return { clock, store, a, b, told: net.told };
}

/** The holders the store's writes left, in order ("" is a release). */
const holdersWritten = (store: MemoryLease, from: number) => store.writes.slice(from).map((w) => w.holderIdentity);

describe('W1: the takeover on the leader’s word', () => {
  it('SIGTERM: the word goes out after the pause, the standby takes the Lease in one write, both report it', async () => {
    const { clock, store, a, b, told } = await twoPods('deliver');
    const before = store.writes.length;
    const handoff = a.sidecar.handOver('SIGTERM');
    await clock.until(() => b.starts().length > 0, 2_000);
    await handoff;
    expect(told).toHaveLength(1);
    expect(told[0]!.at).toBe('paused'); // S1: never while the worker may still poll
    expect(holdersWritten(store, before)).toEqual(['b']); // no release between
    expect(a.events).toEqual(['LeaderElected', 'LeaderReleased']);
    expect(a.labels.at(-1)).toBe('standby');
    expect(b.events).toEqual(['LeaderElected']);
    expect(clock.now()).toBeLessThan(2_600 + OFFER_MS); // no offer waited out
  });

  it('a standby that cannot take it (no worker) refuses: the leader releases at once, and nobody starts', async () => {
    const { clock, store, a, b, told } = await twoPods('deliver', false);
    const before = store.writes.length;
    const start = clock.now();
    let done = false;
    void a.sidecar.handOver('SIGTERM').then(() => (done = true));
    await clock.until(() => done, 2_000);
    expect(told).toHaveLength(1);
    expect(holdersWritten(store, before)).toEqual(['']);
    // The release was sent at once, not at the offer's end (the handoff itself then waits for E1's Event).
    const release = store.calls.filter((c) => c.who === 'a' && c.op === 'update').at(-1)!;
    expect(release.at - start).toBeLessThan(OFFER_MS);
    await clock.advanceAsync(1_000);
    expect(b.starts()).toEqual([]);
  });

  it('a word nobody answers costs the offer, then the release as before; the standby takes that', async () => {
    const { clock, store, a, b } = await twoPods('silent');
    const before = store.writes.length;
    const start = clock.now();
    const handoff = a.sidecar.handOver('SIGTERM');
    await clock.until(() => b.starts().length > 0, 2_000);
    await handoff;
    expect(holdersWritten(store, before)).toEqual(['', 'b']);
    const released = store.writes.length; // noted: the release came at the offer's end
    expect(released).toBeGreaterThan(before);
    expect(clock.now() - start).toBeGreaterThanOrEqual(OFFER_MS);
  });
});
