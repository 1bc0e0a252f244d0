// Table tests of the decider (src/election/decide.ts): (state, input, now) → (state, request, events).
// Each case pins one rule at the level where it is kept, with no shell, clock or network around it.
import { describe, expect, it } from 'vitest';
import { currentLease, decide, initialState, type DecideConfig, type Decision, type ElectionState, type Input } from '../../../src/election/decide.ts';
import type { LeaderRecord, ObservedLease } from '../../../src/election/record.ts';

const cfg: DecideConfig = { identity: 'b', leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000, workerGraceMs: 5_000 };
const WALL = 1_800_000_000_000;

function lease(rv: number, record: Partial<LeaderRecord>): ObservedLease {
  return {
    resourceVersion: String(rv),
    record: { holderIdentity: 'a', leaseDurationSeconds: 15, acquireTime: new Date(WALL), renewTime: new Date(WALL), leaseTransitions: 0, ...record },
  };
}

/** Feeds inputs in order, each at its own local time; returns every decision. */
function run(steps: Array<[number, Input]>, from: ElectionState = initialState()): Decision[] {
  let s = from;
  const out: Decision[] = [];
  for (const [now, input] of steps) {
    const d = decide(s, input, cfg, now, new Date(WALL + now), 0);
    out.push(d);
    s = d.state;
  }
  return out;
}

/** When the Lease's current version was first seen (the start of its expiry, S1); undefined unless it is present. */
const observedAt = (s: ElectionState) => (s.lease.is === 'present' ? s.lease.observedAt : undefined);
/** When the Lease was seen to vanish; undefined unless it is absent after a deletion. */
const deletedAt = (s: ElectionState) => (s.lease.is === 'absent' && s.lease.deleted ? s.lease.since : undefined);

/** The answer to the request a decision made. */
function answer(d: Decision, outcome: Extract<Input, { type: 'result' }>['outcome']): Input {
  return { type: 'result', id: d.request!.id, outcome };
}

describe('decide()', () => {
  describe('S1: the expiry restarts on every new resourceVersion, not only on a change of the five spec fields', () => {
    // Issue 18, part 2 (seed -371408769): a Lease edited by hand to drop renewTime/acquireTime, twice, with a
    // renew between, while this standby misses the versions between. Its verify read finds the same content at a
    // new resourceVersion: that is a write it did not see, possibly the leader's renew, so the wait starts again.
    const garbage = { leaseDurationSeconds: 0, renewTime: undefined, acquireTime: undefined };
    it('a verify read that finds the same content at a new version waits a full lease duration again', () => {
      const start = run([[0, { type: 'start' }]]);
      const [seen] = run([[0, answer(start[0]!, { ok: true, lease: lease(2, garbage) })]], start[0]!.state);
      expect(seen!.request).toBeUndefined();
      expect(seen!.wakeAt).toBe(15_000);
      const [verify] = run([[15_000, { type: 'tick' }]], seen!.state);
      expect(verify!.request).toMatchObject({ kind: 'verify', op: 'get' });
      // rv 3 (the leader's renew at 14 s) and rv 4 (the same garbage again) were missed.
      const [after] = run([[15_010, answer(verify!, { ok: true, lease: lease(4, garbage) })]], verify!.state);
      expect(after!.request).toBeUndefined();
      expect(observedAt(after!.state)).toBe(15_010);
      expect(after!.wakeAt).toBe(30_010);
    });

    it('a watch event with the same content at a new version restarts the wait; a repeat of the same version does not', () => {
      const start = run([[0, { type: 'start' }]]);
      const ds = run(
        [
          [0, answer(start[0]!, { ok: true, lease: lease(2, garbage) })],
          [5_000, { type: 'observed', lease: lease(4, garbage) }],
          [6_000, { type: 'observed', lease: lease(4, garbage) }],
        ],
        start[0]!.state,
      );
      expect(observedAt(ds[1]!.state)).toBe(5_000);
      expect(observedAt(ds[2]!.state)).toBe(5_000);
      expect(ds[2]!.wakeAt).toBe(20_000);
    });
  });

  /** This pod ('b') leading on record `rec` at resourceVersion `rv`, renewed at 0. */
  function leading(rv: number, rec: Partial<LeaderRecord> = {}): ElectionState {
    const observed = lease(rv, { holderIdentity: 'b', leaseTransitions: 3, ...rec });
    return { ...initialState(), phase: 'leader', lease: { is: 'present', observed, observedAt: 0 }, written: observed.record, maxEpoch: 3, lastRenewAt: 0 };
  }

  describe('the renew interval: a leader renews at the renew interval after a success, at the retry period after a failure (issue 20, item 4)', () => {
    // With a watching standby nothing is gained by renewing every retry period: the standby's takeover and the
    // renew deadline do not depend on how often the leader writes (docs/protocol.md, "Renew interval").
    const every5s: DecideConfig = { ...cfg, renewIntervalMs: 5_000 };
    const at = (steps: Array<[number, Input]>, from: ElectionState) => {
      let s = from;
      return steps.map(([now, input]) => {
        const d = decide(s, input, every5s, now, new Date(WALL + now), 0);
        s = d.state;
        return d;
      });
    };

    it('after a successful renew the next one is due a renew interval after that renew began, not a retry period', () => {
      const [idle] = at([[0, { type: 'tick' }]], leading(5));
      expect(idle!.request).toBeUndefined();
      expect(idle!.wakeAt).toBe(5_000);
      const [early, due] = at(
        [
          [2_000, { type: 'tick' }],
          [5_000, { type: 'tick' }],
        ],
        leading(5),
      );
      expect(early!.request).toBeUndefined();
      expect(due!.request).toMatchObject({ kind: 'renew', op: 'update' });
      const renewed = lease(6, { ...(due!.request as { record: LeaderRecord }).record });
      const [answered] = at([[5_040, answer(due!, { ok: true, lease: renewed })]], due!.state);
      expect(answered!.events.map((e) => e.type)).toContain('renewed');
      expect(answered!.state.lastRenewAt).toBe(5_000);
      // Measured from the start of the write, as the renew deadline is (client-go's rule).
      expect(answered!.wakeAt).toBe(10_000);
    });

    it('after a failed renew it retries every retry period, and gives up at the renew deadline counted from the last success', () => {
      const [due] = at([[5_000, { type: 'tick' }]], leading(5));
      const fail = (d: Decision) => answer(d, { ok: false, error: 'failed', cause: new Error('503') });
      const [failed1] = at([[5_030, fail(due!)]], due!.state);
      expect(failed1!.events.map((e) => e.type)).toEqual(['renew-failed']);
      expect(failed1!.request).toBeUndefined();
      expect(failed1!.wakeAt).toBe(7_030); // a retry period after the failure, not a renew interval
      const [retry1] = at([[7_030, { type: 'tick' }]], failed1!.state);
      expect(retry1!.request).toMatchObject({ kind: 'renew' });
      const [failed2] = at([[7_040, fail(retry1!)]], retry1!.state);
      expect(failed2!.wakeAt).toBe(9_040);
      const [retry2] = at([[9_040, { type: 'tick' }]], failed2!.state);
      expect(retry2!.request).toMatchObject({ kind: 'renew' });
      const [failed3] = at([[9_050, fail(retry2!)]], retry2!.state);
      // The next retry (11 050) would come after the deadline: woken at the deadline, 10 s after the last success at 0.
      expect(failed3!.wakeAt).toBe(10_000);
      const [deadline] = at([[10_000, { type: 'tick' }]], failed3!.state);
      expect(deadline!.events).toEqual([{ type: 'lost', reason: 'renew-deadline' }]);
      expect(deadline!.state.phase).toBe('standby');
    });

    it('a retry that succeeds puts the leader back on the renew interval, counted from that retry', () => {
      const [due] = at([[5_000, { type: 'tick' }]], leading(5));
      const [failed] = at([[5_030, answer(due!, { ok: false, error: 'failed', cause: new Error('reset') })]], due!.state);
      const [retry] = at([[7_030, { type: 'tick' }]], failed!.state);
      const renewed = lease(6, { ...(retry!.request as { record: LeaderRecord }).record });
      const [ok] = at([[7_050, answer(retry!, { ok: true, lease: renewed })]], retry!.state);
      expect(ok!.state.lastRenewAt).toBe(7_030);
      expect(ok!.wakeAt).toBe(12_030);
    });

    it('a conflict is read again and renewed at once, whatever the interval (C1)', () => {
      const [due] = at([[5_000, { type: 'tick' }]], leading(5));
      const [conflict] = at([[5_010, answer(due!, { ok: false, error: 'conflict', cause: new Error('409') })]], due!.state);
      expect(conflict!.request).toMatchObject({ kind: 'read' });
      const labelled = { ...lease(7, { holderIdentity: 'b', leaseTransitions: 3 }), object: { metadata: { labels: { x: 'y' } } } };
      const [read] = at([[5_020, answer(conflict!, { ok: true, lease: labelled })]], conflict!.state);
      expect(read!.request).toMatchObject({ kind: 'renew' });
    });

    it('a claim renews at the renew interval too', () => {
      const claiming: ElectionState = { ...leading(5), phase: 'claiming', claimFrom: 0 };
      const [d] = at([[0, { type: 'tick' }]], claiming);
      expect(d!.wakeAt).toBe(5_000);
    });
  });

  describe("C2: a release that landed is reported as released, even when the successor's acquire is seen before its answer", () => {
    // Issue 18, 3a: the watch delivered the release (rv 6) and the successor's acquire (rv 7) before the
    // release's own answer came; the decider counted only the release record itself as its own, so it
    // reported `lost (taken)` and a LeaderLost Event for a handoff that went right (1 of 10 handoffs).
    it('releasing, then the release and a successor seen by the watch, then the answer: one `released`, no `lost`', () => {
      const ds = run([[1_000, { type: 'release' }]], leading(5));
      const release = ds[0]!;
      expect(release.request).toMatchObject({ kind: 'release', op: 'update' });
      const released = lease(6, { ...(release.request as { record: LeaderRecord }).record });
      const taken = lease(7, { holderIdentity: 'c', leaseTransitions: 4 });
      const after = run(
        [
          [1_010, { type: 'observed', lease: released }],
          [1_011, { type: 'observed', lease: taken }],
          [1_020, answer(release, { ok: true, lease: released })],
        ],
        release.state,
      );
      const events = after.flatMap((d) => d.events.map((e) => e.type));
      expect(events).not.toContain('lost');
      expect(events.filter((e) => e === 'released')).toHaveLength(1);
      expect(after.at(-1)!.releaseSettled).toBe(true);
      expect(after.at(-1)!.state.phase).toBe('standby');
    });

    it('releasing, and the Lease taken by a hand edit: the release conflicts, and leadership ends as `lost (taken)`', () => {
      const ds = run([[1_000, { type: 'release' }]], leading(5));
      const release = ds[0]!;
      const taken = lease(6, { holderIdentity: 'c', leaseTransitions: 3 });
      const after = run(
        [
          [1_010, { type: 'observed', lease: taken }],
          [1_020, answer(release, { ok: false, error: 'conflict', cause: new Error('409') })],
        ],
        release.state,
      );
      const read = after.at(-1)!;
      expect(read.request).toMatchObject({ kind: 'read' });
      const [end] = run([[1_030, answer(read, { ok: true, lease: taken })]], read.state);
      expect(end!.events).toEqual([{ type: 'lost', reason: 'taken' }]);
      expect(end!.releaseSettled).toBe(false);
    });
  });

  describe('L3: a handoff asked while an L1 release is being retried settles when the release is written', () => {
    // Found reading the state for the tidy-up: the leader's worker gone for the grace (L1), its release conflicts
    // (a label edit) and is read again; SIGTERM comes meanwhile. The release was then written with the reason
    // worker-gone, and only a handoff's release settled the handoff's wait: `release()` never resolved and the
    // sidecar waited for the kubelet's SIGKILL.
    it('worker gone, release conflicts, release asked, the read and the release answered: settled, true', () => {
      const [gone] = run([[100, { type: 'eligible', eligible: false }]], leading(5));
      const [release] = run([[5_100, { type: 'tick' }]], gone!.state);
      expect(release!.events).toEqual([{ type: 'releasing', reason: 'worker-gone' }]);
      expect(release!.request).toMatchObject({ kind: 'release', op: 'update' });
      const labelled = lease(6, { holderIdentity: 'b', leaseTransitions: 3 });
      const [conflict] = run([[5_110, answer(release!, { ok: false, error: 'conflict', cause: new Error('409') })]], release!.state);
      expect(conflict!.request).toMatchObject({ kind: 'read' });
      const [asked] = run([[5_120, { type: 'release' }]], conflict!.state);
      const [again] = run([[5_130, answer(conflict!, { ok: true, lease: labelled })]], asked!.state);
      expect(again!.request).toMatchObject({ kind: 'release', op: 'update' });
      const written = lease(7, { ...(again!.request as { record: LeaderRecord }).record });
      const [end] = run([[5_140, answer(again!, { ok: true, lease: written })]], again!.state);
      expect(end!.events.map((e) => e.type)).toContain('released');
      expect(end!.releaseSettled).toBe(true);
    });
  });

  describe('S1: the oldest unanswered write is remembered however long the freeze', () => {
    // The model tests' fixed seed froze the API server through nine lost writes of one leader; the server then
    // carried out the oldest, and with only the last eight kept the leader took its own record for someone
    // else's and waited a lease duration for it. Nine renews, each timed out, all based on rv 5.
    it("nine renews get no answer; the first lands: it is this pod's own record", () => {
      let s = leading(5);
      const sent: LeaderRecord[] = [];
      let t = 0;
      for (let i = 0; i < 9; i++) {
        t += 5_000;
        const [due] = run([[t, { type: 'tick' }]], s);
        const req = due!.request as { kind: string; record: LeaderRecord } | undefined;
        if (!req) {
          s = due!.state;
          continue;
        }
        sent.push(req.record);
        const [failed] = run([[t + 1, answer(due!, { ok: false, error: 'failed', cause: new Error('timeout') })]], due!.state);
        s = failed!.state;
      }
      expect(sent.length).toBeGreaterThanOrEqual(9);
      expect(s.unanswered).toHaveLength(8);
      const [seen] = run([[t + 10, { type: 'observed', lease: lease(6, sent[0]!) }]], s);
      expect(seen!.state.written).toEqual(sent[0]);
      expect(seen!.state.unanswered).toEqual([]);
    });
  });

  describe('a Lease seen absent at a version older than the one this pod knows is old news', () => {
    // Issue 18, 3b: the watch's first list, taken before this pod created the Lease, arrived after the create's
    // answer: the fresh leader took it for a deletion and tried to recreate it (`create … AlreadyExists` 40 ms
    // after acquiring, 3 of 25 runs).
    it('a leader ignores an absence listed at an older resourceVersion: no recreate, no deletion reported', () => {
      const [d] = run([[40, { type: 'observed', lease: undefined, absentAt: '4' }]], leading(7));
      expect(d!.request).toBeUndefined();
      expect(d!.events).toEqual([]);
      expect(currentLease(d!.state)?.resourceVersion).toBe('7');
      expect(deletedAt(d!.state)).toBeUndefined();
    });

    it('a deletion at a newer resourceVersion is news: the leader recreates its Lease at once', () => {
      const [d] = run([[40, { type: 'observed', lease: undefined, absentAt: '8' }]], leading(7));
      expect(d!.request).toMatchObject({ kind: 'recreate', op: 'create' });
      expect(d!.events).toEqual([{ type: 'observed', lease: undefined }]);
    });
  });

  describe('S1: a create is a claim, not a proof — the worker starts a lease duration after the create was answered', () => {
    // Issue 18, part 2, second family (seeds 2, 13, 144): a Lease deleted by hand while held; a pod that had
    // never seen it (or whose deletion wait had run out while frozen) created it and started its worker at once,
    // beside the old leader's worker. Every old leader's last renew landed before the deletion, so before the
    // create: a lease duration after the create's answer, every old worker has stopped (its sidecar's renew
    // deadline, the kit's F1 and dead-man's switch, and the rest of a lease duration for the pause to land).
    const absent = () => {
      const [d0] = run([[0, { type: 'start' }]]);
      const [d1] = run([[10, answer(d0!, { ok: true, lease: undefined })]], d0!.state);
      return d1!;
    };
    const created = (d: Decision, at: number) =>
      run([[at, answer(d, { ok: true, lease: lease(1, { ...(d.request as { record: LeaderRecord }).record }) })]], d.state)[0]!;

    it('a pod that never saw the Lease creates it at once, and claims it: no `acquired` until a lease duration has passed', () => {
      const create = absent();
      expect(create.request).toMatchObject({ kind: 'create', op: 'create', record: { holderIdentity: 'b', leaseTransitions: 0 } });
      const claimed = created(create, 40);
      expect(claimed.state.phase).toBe('claiming');
      expect(claimed.events.map((e) => e.type)).toEqual(['observed', 'claimed']);
      expect(claimed.events[1]).toMatchObject({ type: 'claimed', startsAt: 15_040 });
      // It keeps the Lease meanwhile: renews every retry period, gives up at the renew deadline.
      const [renew] = run([[2_010, { type: 'tick' }]], claimed.state); // the create left at 10
      expect(renew!.request).toMatchObject({ kind: 'renew' });
      const [early] = run([[15_039, { type: 'tick' }]], { ...claimed.state, lastRenewAt: 14_000 });
      expect(early!.events).toEqual([]);
      const [due] = run([[15_040, { type: 'tick' }]], { ...claimed.state, lastRenewAt: 14_000 });
      expect(due!.events).toEqual([{ type: 'acquired', record: currentLease(claimed.state)!.record, waitedMs: undefined, retiring: false }]);
      expect(due!.state.phase).toBe('leader');
    });

    it('a claim that loses the Lease before its lease duration ends as `claim-lost`, never `acquired` or `lost`', () => {
      const claimed = created(absent(), 40);
      const [taken] = run([[5_000, { type: 'observed', lease: lease(3, { holderIdentity: 'c', leaseTransitions: 1 }) }]], claimed.state);
      expect(taken!.events.map((e) => e.type)).toEqual(['observed', 'claim-lost']);
      expect(taken!.state.phase).toBe('standby');
      expect(taken!.state.claimFrom).toBeUndefined();
      const [deadline] = run([[10_010, { type: 'tick' }]], claimed.state);
      expect(deadline!.events).toEqual([{ type: 'claim-lost', reason: 'renew-deadline' }]);
    });

    it('a handoff during a claim gives the claim up without a release: the record expires instead (seed 13)', () => {
      // A release would tell the next pod that every earlier worker has stopped; an unripe claim cannot say so
      // (an older claimant, frozen, may still lead until its own renew deadline).
      const claimed = created(absent(), 40);
      const [retire] = run([[1_000, { type: 'retire' }]], claimed.state);
      expect(retire!.events).toEqual([{ type: 'claim-lost', reason: 'stopped' }]);
      expect(retire!.request).toBeUndefined();
      const [release] = run([[1_001, { type: 'release' }]], retire!.state);
      expect(release!.request).toBeUndefined();
      expect(release!.releaseSettled).toBe(false);
      // Created while retiring: the same.
      const create = absent();
      const [retired] = run([[20, { type: 'retire' }]], create.state);
      const late = created({ ...create, state: retired!.state }, 40);
      expect(late.events.map((e) => e.type)).toEqual(['observed', 'claim-lost']);
      expect(late.request).toBeUndefined();
      expect(late.state.phase).toBe('standby');
    });

    it('an unanswered create seen landed starts the claim when seen; taking that record back continues the claim', () => {
      const create = absent();
      const [lost] = run([[40, answer(create, { ok: false, error: 'failed', cause: new Error('reset') })]], create.state);
      const mineLanded = lease(1, { ...(create.request as { record: LeaderRecord }).record });
      const [seen] = run([[3_000, { type: 'observed', lease: mineLanded }]], lost!.state);
      expect(seen!.state.claimFrom).toBe(3_000);
      expect(seen!.request).toMatchObject({ kind: 'acquire' }); // its own record: no expiry to wait for
      const [taken] = run([[3_010, answer(seen!, { ok: true, lease: lease(2, { ...(seen!.request as { record: LeaderRecord }).record }) })]], seen!.state);
      expect(taken!.state.phase).toBe('claiming');
      expect(taken!.events.find((e) => e.type === 'acquired')).toBeUndefined();
      expect(taken!.events.find((e) => e.type === 'claimed')).toMatchObject({ startsAt: 18_000 });
    });

    it('a leader recreating its own deleted Lease keeps leading: no claim, its worker keeps running', () => {
      const [deleted] = run([[1_000, { type: 'observed', lease: undefined, absentAt: '9' }]], leading(7));
      expect(deleted!.request).toMatchObject({ kind: 'recreate' });
      const [recreated] = run(
        [[1_010, answer(deleted!, { ok: true, lease: lease(10, { ...(deleted!.request as { record: LeaderRecord }).record }) })]],
        deleted!.state,
      );
      expect(recreated!.state.phase).toBe('leader');
      expect(recreated!.events.map((e) => e.type)).toEqual(['observed', 'renewed']);
    });
  });
});
