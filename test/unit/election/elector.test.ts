import { describe, expect, it } from 'vitest';
import { Elector, type ElectorEvent } from '../../../src/election/elector.ts';
import { timingProblems, expiresAt, acquiredRecord } from '../../../src/election/rules.ts';
import { MemoryLease } from '../fakes/election.ts';
import { FakeClock, flush } from '../../harness/fake-clock.ts';

const timings = { leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 };

interface Candidate {
  id: string;
  elector: Elector;
  events: Array<ElectorEvent & { at: number }>;
  /** Fake-time intervals during which this candidate was leader. */
  terms: Array<{ from: number; to: number | undefined }>;
  unwatch: () => void;
}

function candidate(store: MemoryLease, clock: FakeClock, id: string, opts: { watch?: boolean } = {}): Candidate {
  const elector = new Elector({ ...timings, identity: id, lock: store.lockFor(id), clock, random: () => 0.5 });
  const c: Candidate = { id, elector, events: [], terms: [], unwatch: () => undefined };
  elector.on((e) => {
    c.events.push({ ...e, at: clock.now() });
    if (e.type === 'acquired') c.terms.push({ from: clock.now(), to: undefined });
    if (e.type === 'lost' || e.type === 'released') c.terms.at(-1)!.to = clock.now();
  });
  if (opts.watch !== false) c.unwatch = store.watch((lease) => elector.observe(lease));
  elector.start();
  return c;
}

/** Invariant 1 at the election level: no two candidates' leadership terms overlap in time. */
function assertNoOverlap(cands: Candidate[]): void {
  const terms = cands.flatMap((c) => c.terms.map((t) => ({ ...t, id: c.id })));
  for (const a of terms) {
    for (const b of terms) {
      if (a === b) continue;
      const aEnd = a.to ?? Infinity;
      const bEnd = b.to ?? Infinity;
      const overlap = Math.min(aEnd, bEnd) - Math.max(a.from, b.from);
      expect(overlap, `${a.id} [${a.from},${a.to}] overlaps ${b.id} [${b.from},${b.to}]`).toBeLessThanOrEqual(0);
    }
  }
}

/** A Lease a previous holder released (the first pod takes it at once); `absent: true` for no Lease at all. */
function setup(opts: { absent?: boolean } = {}) {
  const clock = new FakeClock(0);
  const store = new MemoryLease(clock, { released: !opts.absent });
  return { clock, store };
}

describe('timing rules', () => {
  it('accepts client-go defaults and rejects what client-go rejects, naming the variable', () => {
    expect(timingProblems(timings)).toEqual([]);
    expect(timingProblems({ ...timings, renewDeadlineMs: 15_000 }).join()).toMatch(/BATON_LEASE_DURATION .* must be greater than BATON_RENEW_DEADLINE/);
    expect(timingProblems({ ...timings, retryPeriodMs: 9_000 }).join()).toMatch(/BATON_RENEW_DEADLINE .* greater than 1.2 × BATON_RETRY_PERIOD/);
  });

  it('refuses a configuration that leaves no room for the pause to land', () => {
    expect(timingProblems({ leaseDurationMs: 10_000, renewDeadlineMs: 9_500, retryPeriodMs: 2_000 }).join()).toMatch(/at least 1000 ms/);
  });

  it('judges expiry by local observation and never below the configured duration', () => {
    const rec = acquiredRecord(undefined, 'a', timings, new Date());
    expect(expiresAt(rec, 100, timings)).toBe(15_100);
    expect(expiresAt({ ...rec, leaseDurationSeconds: 1 }, 100, timings)).toBe(15_100);
    expect(expiresAt({ ...rec, leaseDurationSeconds: 60 }, 100, timings)).toBe(60_100);
  });
});

describe('Elector', () => {
  it('creates an absent Lease as a claim, renews it every retry period, and leads a lease duration after the create (S1)', async () => {
    const { clock, store } = setup({ absent: true });
    const a = candidate(store, clock, 'a');
    await clock.advanceAsync(0);
    // A create is a claim, not a proof: an old holder's worker may still be finishing (the Lease deleted by hand).
    expect(a.elector.isLeader()).toBe(false);
    expect(a.elector.snapshot().phase).toBe('claiming');
    expect(a.events.map((e) => e.type)).toEqual(['observed', 'claimed']);
    expect(store.record).toMatchObject({ holderIdentity: 'a', leaseTransitions: 0, leaseDurationSeconds: 15 });
    const renewTimes: number[] = [];
    a.elector.on((e) => e.type === 'renewed' && renewTimes.push(clock.now()));
    await clock.advanceAsync(14_999);
    expect(a.elector.isLeader()).toBe(false);
    await clock.advanceAsync(1);
    expect(a.elector.isLeader()).toBe(true);
    expect(a.events.find((e) => e.type === 'acquired')).toMatchObject({ at: 15_000, retiring: false });
    await clock.advanceAsync(5_000);
    expect(renewTimes).toEqual([2000, 4000, 6000, 8000, 10_000, 12_000, 14_000, 16_000, 18_000, 20_000]);
    expect(a.events.filter((e) => e.type === 'lost' || e.type === 'claim-lost')).toEqual([]);
  });

  it('a watching standby sends no requests while the leader renews', async () => {
    const { clock, store } = setup();
    const a = candidate(store, clock, 'a');
    await clock.advanceAsync(0);
    const b = candidate(store, clock, 'b');
    await clock.advanceAsync(60_000);
    const bCalls = store.calls.filter((c) => c.who === 'b');
    // One initial read, then nothing: the watch carries every renew.
    expect(bCalls.map((c) => c.op)).toEqual(['get']);
    expect(b.elector.isLeader()).toBe(false);
    expect(b.elector.snapshot().observed?.record.holderIdentity).toBe('a');
    assertNoOverlap([a, b]);
  });

  it('takes a released Lease at once, with the epoch moved on', async () => {
    const { clock, store } = setup();
    const a = candidate(store, clock, 'a');
    await clock.advanceAsync(0);
    const b = candidate(store, clock, 'b');
    await clock.advanceAsync(3_000);
    void a.elector.retire();
    const releasedAt = clock.now();
    expect(await a.elector.release()).toBe(true);
    await flush();
    const acquired = b.events.find((e) => e.type === 'acquired');
    expect(acquired?.at).toBe(releasedAt); // no fake time passed: one watch event and one update
    expect(store.record).toMatchObject({ holderIdentity: 'b', leaseTransitions: 2 });
    expect(acquired).toMatchObject({ waitedMs: 0 });
    // The retired pod never takes it back, even when it becomes free again.
    await clock.advanceAsync(5_000);
    void b.elector.retire();
    await b.elector.release();
    await clock.advanceAsync(60_000);
    expect(a.elector.isLeader()).toBe(false);
    expect(store.record?.holderIdentity).toBe('');
    assertNoOverlap([a, b]);
  });

  it('after a crash, the standby takes over one lease duration after it last saw the record change', async () => {
    const { clock, store } = setup();
    const a = candidate(store, clock, 'a');
    await clock.advanceAsync(0);
    const b = candidate(store, clock, 'b');
    await clock.advanceAsync(4_000); // last renew at 4000
    a.elector.stop(); // SIGKILL: no release
    a.terms.at(-1)!.to = clock.now();
    const waited = await clock.until(() => b.elector.isLeader(), 30_000);
    expect(clock.now()).toBeGreaterThanOrEqual(4_000 + 15_000);
    expect(clock.now()).toBeLessThanOrEqual(4_000 + 15_000 + 20);
    expect(waited).toBeGreaterThan(0);
    expect(store.record).toMatchObject({ holderIdentity: 'b', leaseTransitions: 2 });
    assertNoOverlap([a, b]);
  });

  it('a leader that cannot renew gives up at the renew deadline, before any standby may acquire', async () => {
    const { clock, store } = setup();
    const a = candidate(store, clock, 'a');
    await clock.advanceAsync(0);
    const b = candidate(store, clock, 'b');
    await clock.advanceAsync(2_500); // renewed at 2000
    store.failing.set('a', 'error');
    await clock.until(() => !a.elector.isLeader(), 20_000);
    expect(clock.now()).toBe(2_000 + 10_000);
    expect(a.events.find((e) => e.type === 'lost')).toMatchObject({ reason: 'renew-deadline' });
    await clock.until(() => b.elector.isLeader(), 20_000);
    expect(clock.now()).toBeGreaterThanOrEqual(2_000 + 15_000);
    assertNoOverlap([a, b]);
    // The old leader, its API back, becomes a plain standby that watches again.
    store.failing.delete('a');
    await clock.advanceAsync(30_000);
    expect(a.elector.isLeader()).toBe(false);
    assertNoOverlap([a, b]);
  });

  it('gives up at the deadline even when requests hang instead of failing', async () => {
    const { clock, store } = setup();
    const a = candidate(store, clock, 'a');
    await clock.advanceAsync(0);
    await clock.advanceAsync(2_500);
    store.failing.set('a', 'hang');
    await clock.until(() => !a.elector.isLeader(), 20_000);
    expect(clock.now()).toBe(12_000);
  });

  it('lets exactly one of two standbys win a released Lease', async () => {
    const { clock, store } = setup();
    const a = candidate(store, clock, 'a');
    await clock.advanceAsync(0);
    const b = candidate(store, clock, 'b');
    const c = candidate(store, clock, 'c');
    await clock.advanceAsync(1_000);
    await a.elector.release();
    await clock.advanceAsync(100);
    const leaders = [b, c].filter((x) => x.elector.isLeader());
    expect(leaders).toHaveLength(1);
    expect(store.record?.holderIdentity).toBe(leaders[0]!.id);
    expect(store.record?.leaseTransitions).toBe(2);
    await clock.advanceAsync(60_000);
    expect([b, c].filter((x) => x.elector.isLeader())).toHaveLength(1);
    assertNoOverlap([a, b, c]);
  });

  it('survives the Lease being deleted: the leader recreates it and no standby starts meanwhile', async () => {
    const { clock, store } = setup();
    const a = candidate(store, clock, 'a');
    await clock.advanceAsync(0);
    const b = candidate(store, clock, 'b');
    await clock.advanceAsync(3_000);
    store.delete();
    await clock.advanceAsync(2_000);
    expect(store.record?.holderIdentity).toBe('a');
    expect(a.elector.isLeader()).toBe(true);
    await clock.advanceAsync(30_000);
    expect(b.elector.isLeader()).toBe(false);
    assertNoOverlap([a, b]);
  });

  it('creates a deleted Lease after one lease duration when its leader is gone too', async () => {
    const { clock, store } = setup();
    const a = candidate(store, clock, 'a');
    await clock.advanceAsync(0);
    const b = candidate(store, clock, 'b');
    await clock.advanceAsync(1_000);
    a.elector.stop();
    a.terms.at(-1)!.to = clock.now();
    store.delete();
    const deletedAt = clock.now();
    // b creates it a lease duration after the deletion (a live leader would have recreated it first), and
    // that create is a claim: b leads a lease duration after it.
    await clock.until(() => store.record !== undefined, 30_000);
    const createdAt = clock.now();
    expect(createdAt).toBeGreaterThanOrEqual(deletedAt + 15_000);
    expect(b.elector.isLeader()).toBe(false);
    await clock.until(() => b.elector.isLeader(), 30_000);
    expect(clock.now()).toBeGreaterThanOrEqual(createdAt + 15_000);
    assertNoOverlap([a, b]);
  });

  it('survives a hand edit of the holder: the leader steps down at once, the standby waits the lease duration', async () => {
    const { clock, store } = setup();
    const a = candidate(store, clock, 'a');
    await clock.advanceAsync(0);
    const b = candidate(store, clock, 'b');
    await clock.advanceAsync(3_000);
    store.edit({ holderIdentity: 'intruder', leaseDurationSeconds: 1 });
    const editedAt = clock.now();
    await flush();
    expect(a.elector.isLeader()).toBe(false);
    expect(a.events.find((e) => e.type === 'lost')).toMatchObject({ reason: 'taken' });
    await clock.until(() => b.elector.isLeader() || a.elector.isLeader(), 30_000);
    // leaseDurationSeconds: 1 in the edit does not shorten the wait below the configured 15 s.
    expect(clock.now()).toBeGreaterThanOrEqual(editedAt + 15_000);
    assertNoOverlap([a, b]);
  });

  it('a stalled watch cannot make a standby take a Lease that is being renewed', async () => {
    const { clock, store } = setup();
    candidate(store, clock, 'a');
    await clock.advanceAsync(0);
    const b = candidate(store, clock, 'b', { watch: false });
    await clock.advanceAsync(100_000);
    expect(b.elector.isLeader()).toBe(false);
    // Without a watch it reads once per lease duration, sees progress, and waits again.
    const gets = store.calls.filter((c) => c.who === 'b' && c.op === 'get').length;
    expect(gets).toBeGreaterThan(3);
    expect(gets).toBeLessThan(10);
    expect(store.calls.filter((c) => c.who === 'b' && c.op === 'update')).toEqual([]);
  });

  it('keeps renewing through a renew conflict caused by an unrelated write', async () => {
    const { clock, store } = setup();
    const a = candidate(store, clock, 'a', { watch: false });
    await clock.advanceAsync(0);
    await clock.advanceAsync(1_000);
    store.edit({}); // a metadata-only change: resourceVersion moves, holder stays
    await clock.advanceAsync(10_000);
    expect(a.elector.isLeader()).toBe(true);
    expect(a.events.some((e) => e.type === 'renew-failed' && e.result === 'conflict')).toBe(true);
  });

  it('does not acquire while not eligible, and does as soon as it becomes eligible', async () => {
    const { clock, store } = setup();
    const a = new Elector({ ...timings, identity: 'a', lock: store.lockFor('a'), clock });
    a.setEligible(false);
    a.start();
    await clock.advanceAsync(30_000);
    expect(a.isLeader()).toBe(false);
    a.setEligible(true);
    await clock.advanceAsync(0);
    expect(a.isLeader()).toBe(true);
  });

  it('a standby never stays passive: after API errors it keeps retrying and acquires once it can', async () => {
    const { clock, store } = setup();
    store.failing.set('a', 'error');
    const a = candidate(store, clock, 'a');
    await clock.advanceAsync(60_000);
    expect(a.elector.isLeader()).toBe(false);
    const attempts = store.calls.filter((c) => c.who === 'a').length;
    // Jittered retry period (2 s × [1, 2.2)): bounded, not a storm.
    expect(attempts).toBeGreaterThan(10);
    expect(attempts).toBeLessThan(35);
    store.failing.delete('a');
    await clock.until(() => a.elector.isLeader(), 10_000);
  });
});
