// Regression tests for the edges of issue 9 at the election level: each one failed on the elector
// before the one-decider rebuild (items 1, 2, 3 and 8 of the issue).
import { describe, expect, it } from 'vitest';
import { JITTER_MAX } from '../../../src/defaults.ts';
import { Elector, type ElectorEvent } from '../../../src/election/elector.ts';
import { MemoryLease } from '../fakes/election.ts';
import { FakeClock, flush } from '../../harness/fake-clock.ts';

const timings = { leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 };

function setup() {
  const clock = new FakeClock(0);
  const store = new MemoryLease(clock, { released: true }); // the first pod takes it at once
  const candidates: Array<ReturnType<typeof candidate>> = [];
  function candidate(id: string) {
    const elector = new Elector({ ...timings, identity: id, lock: store.lockFor(id), clock, random: () => 0.5 });
    const events: Array<ElectorEvent & { at: number }> = [];
    const epochs: number[] = [];
    elector.on((e) => {
      events.push({ ...e, at: clock.now() });
      const ep = elector.snapshot().observed?.record.leaseTransitions;
      if (ep !== undefined) epochs.push(ep);
    });
    store.watch((lease) => elector.observe(lease));
    elector.start();
    return { id, elector, events, epochs };
  }
  const add = (id: string) => {
    const c = candidate(id);
    candidates.push(c);
    return c;
  };
  /** Leaders at this instant. */
  const leaders = () => candidates.filter((c) => c.elector.isLeader()).map((c) => c.id);
  return { clock, store, add, leaders };
}

describe('Elector at the edges', () => {
  it('item 1: a fresh read before taking an expired Lease is compared with the record judged expired, not with the watch', async () => {
    const { clock, store, add, leaders } = setup();
    const a = add('a');
    await clock.advanceAsync(0);
    const b = add('b');
    const c = add('c');
    await clock.advanceAsync(1_000);
    a.elector.stop(); // the leader's process is frozen for good: no release
    // b's read at expiry is held until c has taken the Lease and the watch has told b so.
    let letGo: () => void = () => undefined;
    const held = new Promise<void>((r) => (letGo = r));
    let holding = false;
    store.hook = (who, op) => {
      if (who === 'b' && op === 'get' && clock.now() >= 15_000 && !holding) {
        holding = true;
        return held;
      }
      return undefined;
    };
    await clock.until(() => c.elector.isLeader(), 30_000);
    await flush();
    expect(b.elector.snapshot().observed?.record.holderIdentity).toBe('c');
    letGo();
    await flush();
    await clock.advanceAsync(100);
    expect(leaders()).toEqual(['c']);
    expect(store.record?.holderIdentity).toBe('c');
    expect(b.events.filter((e) => e.type === 'acquired')).toEqual([]);
  });

  it("item 2: a record naming this pod that it never wrote is someone else's: wait a lease duration, and the epoch moves", async () => {
    const { clock, store, add, leaders } = setup();
    const a = add('a');
    await clock.advanceAsync(0);
    const b = add('b');
    await clock.advanceAsync(3_000);
    const epoch = store.record!.leaseTransitions;
    store.edit({ holderIdentity: 'b' });
    const editedAt = clock.now();
    await flush();
    expect(a.elector.isLeader()).toBe(false); // the leader sees it was taken and pauses at once
    expect(b.elector.isLeader()).toBe(false); // but b may not start while a's worker may be finishing
    // Nobody leads until the edited claim has gone unchanged for a lease duration; then one pod takes it
    // (a or b: both waited the same), at a higher epoch.
    await clock.until(() => leaders().length > 0, 30_000);
    expect(clock.now()).toBeGreaterThanOrEqual(editedAt + timings.leaseDurationMs);
    expect(leaders()).toHaveLength(1);
    expect(store.record).toMatchObject({ holderIdentity: leaders()[0], leaseTransitions: epoch + 1 });
    expect(b.events.filter((e) => e.type === 'acquired' && e.at < editedAt + timings.leaseDurationMs)).toEqual([]);
  });

  it("a write that timed out but landed later is still this process's own: after an API freeze its writer takes the Lease back at once", async () => {
    // Seen in the fault suite (api-freeze, default timings): the frozen API server carried out the leader's
    // abandoned renew when it resumed. Every pod saw "a new record naming a" and waited a lease duration from
    // then — a included, since it never heard that its write landed: 15 s more without a poller.
    const { clock, store, add, leaders } = setup();
    const a = add('a');
    await clock.advanceAsync(0);
    const b = add('b');
    await clock.advanceAsync(3_000);
    store.freeze();
    const frozenAt = clock.now();
    await clock.until(() => !a.elector.isLeader(), 20_000); // the renew deadline
    await clock.advanceAsync(30_000 - (clock.now() - frozenAt));
    expect(leaders()).toEqual([]);
    const before = store.rv;
    store.resume();
    const resumedAt = clock.now();
    await flush();
    expect(store.rv).toBeGreaterThan(before); // one of a's abandoned writes landed, naming a
    expect(store.record?.holderIdentity).toBe('a');
    // a wrote that record: its worker was paused by a itself, so no one else's claim is in the way (S1).
    await clock.until(() => leaders().length > 0, 40_000);
    expect(clock.now() - resumedAt).toBeLessThan(timings.retryPeriodMs * JITTER_MAX + 100);
    expect(leaders()).toEqual(['a']);
    // b saw a record change at the resume: it may not take over before a lease duration from then.
    expect(b.events.filter((e) => e.type === 'acquired')).toEqual([]);
  });

  it('item 3: the epoch never goes backwards, across deletion and recreation', async () => {
    const { clock, store, add } = setup();
    const a = add('a');
    await clock.advanceAsync(0);
    const b = add('b');
    await clock.advanceAsync(1_000);
    void a.elector.retire();
    await a.elector.release();
    await clock.advanceAsync(1_000);
    expect(store.record).toMatchObject({ holderIdentity: 'b', leaseTransitions: 2 });
    store.delete();
    await clock.advanceAsync(5_000);
    expect(store.record?.holderIdentity).toBe('b');
    expect(store.record!.leaseTransitions).toBeGreaterThanOrEqual(2);
    for (const x of [a, b]) {
      for (let i = 1; i < x.epochs.length; i++) expect(x.epochs[i]!).toBeGreaterThanOrEqual(x.epochs[i - 1]!);
    }
  });

  it('item 8: a release that cannot be written still ends leadership with an event', async () => {
    const { clock, store, add } = setup();
    const a = add('a');
    await clock.advanceAsync(0);
    await clock.advanceAsync(1_000);
    store.failing.set('a', 'error');
    void a.elector.retire();
    const released = await a.elector.release();
    expect(released).toBe(false);
    expect(a.elector.isLeader()).toBe(false);
    expect(a.events.some((e) => e.type === 'lost' || e.type === 'released')).toBe(true);
  });

  it('item 8: a release of a Lease deleted meanwhile ends leadership with an event', async () => {
    const { clock, store, add } = setup();
    const a = add('a');
    await clock.advanceAsync(1_000);
    store.delete();
    await flush();
    void a.elector.retire();
    await a.elector.release();
    expect(a.elector.isLeader()).toBe(false);
    expect(a.events.some((e) => e.type === 'lost' || e.type === 'released')).toBe(true);
  });
});
