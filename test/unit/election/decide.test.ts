// Table tests of the decider (src/election/decide.ts): each row is (state, input, local time) → (phase, state
// changes, request, events, wake-up). One row per branch of a rule, phase by phase, with no shell, clock or
// network around it. What a row leaves out it expects to be nothing: no request, no events, no wake-up, no
// abort, no settled release. The scenario tests of the same decider (several steps each) are in
// test/unit/election/decide-scenarios.test.ts; the model tests (election/model.test.ts) try the rules under faults.
import { describe, expect, it } from 'vitest';
import {
  decide,
  initialState,
  phaseOf,
  type DecideConfig,
  type ElectionState,
  type ElectorEvent,
  type InFlight,
  type Input,
  type LeaseView,
  type Outcome,
  type Phase,
  type Request,
} from '../../../src/election/decide.ts';
import type { LeaderRecord, ObservedLease } from '../../../src/election/record.ts';

// ---- the world of every row ------------------------------------------------------------------------

/** This pod is 'me'. Lease 15 s, renew deadline 10 s, retry period 2 s, renew interval 5 s, worker grace 5 s. */
const cfg: DecideConfig = {
  identity: 'me',
  leaseDurationMs: 15_000,
  renewDeadlineMs: 10_000,
  retryPeriodMs: 2_000,
  renewIntervalMs: 5_000,
  workerGraceMs: 5_000,
};
const WALL = 1_800_000_000_000;
/** The wall clock at local time `ms` (only ever written into records). */
const wall = (ms: number) => new Date(WALL + ms);

/** A record held by `holder` at epoch `epoch`, acquired at 0 and renewed at `renewedAt`. */
function rec(holder: string, epoch: number, renewedAt = 0, more: Partial<LeaderRecord> = {}): LeaderRecord {
  return { holderIdentity: holder, leaseDurationSeconds: 15, acquireTime: wall(0), renewTime: wall(renewedAt), leaseTransitions: epoch, ...more };
}
const lease = (rv: number, record: LeaderRecord): ObservedLease => ({ resourceVersion: String(rv), record });

const MINE = rec('me', 3);
const OTHER = rec('other', 3);
/** A release, as client-go writes it: no holder, 1 s. */
const RELEASED: LeaderRecord = { holderIdentity: '', leaseDurationSeconds: 1, acquireTime: wall(0), renewTime: wall(0), leaseTransitions: 3 };
/** This pod's acquire of RELEASED, sent at 2 s. */
const TAKEN = rec('me', 4, 2_000, { acquireTime: wall(2_000) });
/** This pod's create of a Lease it never saw, sent at 10 ms. */
const CREATED = rec('me', 0, 10, { acquireTime: wall(10) });
/** This pod's renew of MINE, sent at `ms`. */
const renewed = (ms: number) => rec('me', 3, ms);
/** This pod's release of MINE, sent at 1 s. */
const RELEASE: LeaderRecord = { holderIdentity: '', leaseDurationSeconds: 1, acquireTime: wall(1_000), renewTime: wall(1_000), leaseTransitions: 3 };

// ---- states, as the decider leaves them ------------------------------------------------------------

const unknown: LeaseView = { is: 'unknown' };
const absent = (since: number, deleted: boolean): LeaseView => ({ is: 'absent', since, deleted });
const present = (l: ObservedLease, observedAt: number): LeaseView => ({ is: 'present', observed: l, observedAt });

/** A standby that knows the Lease as `view` (seen present, its epoch is the highest seen). */
function standby(view: LeaseView, more: Partial<ElectionState> = {}): ElectionState {
  const maxEpoch = view.is === 'present' ? view.observed.record.leaseTransitions : -1;
  return { ...initialState(), phase: 'standby', lease: view, maxEpoch, ...more };
}

/** This pod leading on MINE at resourceVersion 5, written and last renewed at 0. */
function leader(more: Partial<ElectionState> = {}): ElectionState {
  return { ...initialState(), phase: 'leader', lease: present(lease(5, MINE), 0), written: MINE, maxEpoch: 3, lastRenewAt: 0, ...more };
}

/** This pod holding a Lease it created, its claim counting from `claimFrom` (S1: a create is a claim). */
const claiming = (claimFrom: number, more: Partial<ElectionState> = {}) => leader({ phase: 'claiming', claimFrom, ...more });

/** `s` with request 9 in flight. */
function sent(s: ElectionState, kind: InFlight['kind'], startedAt: number, more: Partial<InFlight> = {}): ElectionState {
  return { ...s, inflight: { id: 9, kind, startedAt, aborted: false, record: undefined, ...more }, nextId: 10 };
}

/** A standby taking RELEASED (seen at 1 s): its acquire, TAKEN, sent at 2 s. */
const acquiring = (more: Partial<ElectionState> = {}) =>
  sent(standby(present(lease(6, RELEASED), 1_000), { freeSince: 1_000, ...more }), 'acquire', 2_000, { record: TAKEN, freeSince: 1_000 });

/** A standby that never saw the Lease (found absent at 10 ms): its create, CREATED, sent at 10 ms. */
const creating = (more: Partial<ElectionState> = {}) => sent(standby(absent(10, false), more), 'create', 10, { record: CREATED });

/** A leader handing over: its release, RELEASE, sent at 1 s. */
const releasing = (more: Partial<ElectionState> = {}) =>
  sent(leader({ phase: 'releasing', retired: true, releaseWanted: 'handoff', ...more }), 'release', 1_000, { record: RELEASE });

/** L2: an acquire won while retiring, however its success is learned (answer or watch): released at once. */
const releasedAtOnce: Row['then'] = {
  phase: 'releasing',
  events: [{ type: 'observed' }, { type: 'acquired', retiring: true }, { type: 'releasing', reason: 'handoff' }],
  request: { kind: 'release', record: { holderIdentity: '', leaseDurationSeconds: 1, leaseTransitions: 4 }, base: lease(7, TAKEN) },
  wakeAt: 12_000,
  state: { releaseWanted: 'handoff' },
};

// ---- inputs ----------------------------------------------------------------------------------------

const tick: Input = { type: 'tick' };
const answer = (outcome: Outcome): Input => ({ type: 'result', id: 9, outcome });
const ok = (l: ObservedLease | undefined) => answer({ ok: true, lease: l });
const conflict = answer({ ok: false, error: 'conflict', cause: new Error('409') });
const failed = answer({ ok: false, error: 'failed', cause: new Error('timed out') });
const seen = (l: ObservedLease): Input => ({ type: 'observed', lease: l });

// ---- the table -------------------------------------------------------------------------------------

interface Row {
  /** The rule or the branch the row pins. */
  rule: string;
  name: string;
  given: ElectionState;
  input: Input;
  at: number;
  jitter?: number;
  then: {
    phase: Phase;
    /** The request made (matched: only the fields given), or none. */
    request?: { id?: number; kind?: Request['kind']; op?: Request['op']; record?: Partial<LeaderRecord>; base?: ObservedLease };
    /** The events, in order (each matched). */
    events?: Array<Partial<ElectorEvent>>;
    wakeAt?: number;
    abort?: boolean;
    releaseSettled?: boolean;
    /** Fields of the next state (matched). */
    state?: Partial<ElectionState>;
  };
}

const rows: Row[] = [
  // stopped
  {
    rule: 'start',
    name: 'a stopped elector starts by reading the Lease',
    given: initialState(),
    input: { type: 'start' },
    at: 0,
    then: { phase: 'standby', request: { id: 1, kind: 'read', op: 'get' } },
  },
  { rule: 'stopped', name: 'a tick does nothing', given: initialState(), input: tick, at: 0, then: { phase: 'stopped' } },
  {
    rule: 'stopped',
    name: 'a release settles at once, unwritten',
    given: initialState(),
    input: { type: 'release' },
    at: 0,
    then: { phase: 'stopped', releaseSettled: false, state: { retired: false } },
  },
  {
    rule: 'stopped',
    name: 'retire is still recorded',
    given: initialState(),
    input: { type: 'retire' },
    at: 0,
    then: { phase: 'stopped', state: { retired: true } },
  },
  {
    rule: 'stopped',
    name: 'eligibility is still recorded',
    given: initialState(),
    input: { type: 'eligible', eligible: false },
    at: 100,
    then: { phase: 'stopped', state: { ineligibleSince: 100 } },
  },
  {
    rule: 'stopped',
    name: 'the watch is still recorded',
    given: initialState(),
    input: seen(lease(5, OTHER)),
    at: 100,
    then: { phase: 'stopped', events: [{ type: 'observed' }], state: { lease: present(lease(5, OTHER), 100), maxEpoch: 3 } },
  },

  // standby: the Lease not known yet, or absent
  {
    rule: 'S1 create = claim',
    name: 'a Lease found absent, never seen, is created at once at epoch 0',
    given: sent(standby(unknown), 'read', 0),
    input: ok(undefined),
    at: 10,
    then: {
      phase: 'acquiring',
      request: { kind: 'create', op: 'create', record: rec('me', 0, 10, { acquireTime: wall(10) }) },
      state: { lease: absent(10, false) },
    },
  },
  {
    rule: 'retry',
    name: 'a failed read is retried after the jittered retry period',
    given: sent(standby(unknown), 'read', 0),
    input: failed,
    at: 10,
    jitter: 0.5,
    then: { phase: 'standby', events: [{ type: 'error', op: 'get' }], wakeAt: 3_210, state: { notBefore: 3_210 } },
  },
  {
    rule: 'S1 deletion',
    name: 'a Lease seen deleted is not created before a lease duration has passed',
    given: standby(absent(1_000, true), { maxEpoch: 3 }),
    input: tick,
    at: 5_000,
    then: { phase: 'standby', wakeAt: 16_000 },
  },
  {
    rule: 'S1 deletion, S2',
    name: '… and then at an epoch above every one seen',
    given: standby(absent(1_000, true), { maxEpoch: 3 }),
    input: tick,
    at: 16_000,
    then: { phase: 'acquiring', request: { kind: 'create', record: rec('me', 4, 16_000, { acquireTime: wall(16_000) }) } },
  },
  {
    rule: 'S1 create = claim',
    name: 'a Lease never seen is created without a wait',
    given: standby(absent(1_000, false)),
    input: tick,
    at: 1_000,
    then: { phase: 'acquiring', request: { kind: 'create', record: { holderIdentity: 'me', leaseTransitions: 0 } } },
  },

  // standby: someone else's record
  {
    rule: 'S1 expiry',
    name: "someone else's record is waited out a lease duration from when this pod saw it",
    given: standby(present(lease(5, OTHER), 1_000)),
    input: tick,
    at: 2_000,
    then: { phase: 'standby', wakeAt: 16_000 },
  },
  {
    rule: 'S1 expiry',
    name: 'a record edited to 1 s is still waited out the configured lease duration',
    given: standby(present(lease(5, rec('other', 3, 0, { leaseDurationSeconds: 1 })), 1_000)),
    input: tick,
    at: 3_000,
    then: { phase: 'standby', wakeAt: 16_000 },
  },
  {
    rule: 'S1 expiry',
    name: "a record's longer duration counts",
    given: standby(present(lease(5, rec('other', 3, 0, { leaseDurationSeconds: 30 })), 1_000)),
    input: tick,
    at: 3_000,
    then: { phase: 'standby', wakeAt: 31_000 },
  },
  {
    rule: 'S1 verify',
    name: 'expired by local observation, it is read again before it is taken',
    given: standby(present(lease(5, OTHER), 1_000)),
    input: tick,
    at: 16_000,
    then: { phase: 'standby', request: { kind: 'verify', op: 'get' } },
  },
  {
    rule: 'S1 verify, S2',
    name: 'the read finds the same version: taken at once, at the next epoch, based on that version',
    given: sent(standby(present(lease(5, OTHER), 1_000)), 'verify', 16_000),
    input: ok(lease(5, OTHER)),
    at: 16_010,
    then: {
      phase: 'acquiring',
      request: { kind: 'acquire', op: 'update', record: rec('me', 4, 16_010, { acquireTime: wall(16_010) }), base: lease(5, OTHER) },
      state: { verifiedVersion: '5' },
    },
  },
  {
    rule: 'S1 verify',
    name: 'the read finds a new version (a renew the watch missed): the wait starts again',
    given: sent(standby(present(lease(5, OTHER), 1_000)), 'verify', 16_000),
    input: ok(lease(6, rec('other', 3, 14_000))),
    at: 16_010,
    then: { phase: 'standby', events: [{ type: 'observed' }], wakeAt: 31_010, state: { verifiedVersion: undefined } },
  },
  {
    rule: 'S1 verify',
    name: 'a version already verified is taken without another read',
    given: standby(present(lease(5, OTHER), 1_000), { verifiedVersion: '5' }),
    input: tick,
    at: 16_000,
    then: { phase: 'acquiring', request: { kind: 'acquire', base: lease(5, OTHER) } },
  },
  {
    rule: 'S1 release',
    name: 'a released Lease is taken at once; the acquire carries when it was seen free',
    given: standby(present(lease(6, RELEASED), 1_000), { freeSince: 1_000 }),
    input: tick,
    at: 1_000,
    then: {
      phase: 'acquiring',
      request: { kind: 'acquire', record: rec('me', 4, 1_000, { acquireTime: wall(1_000) }) },
      state: {
        inflight: { id: 1, kind: 'acquire', startedAt: 1_000, aborted: false, record: rec('me', 4, 1_000, { acquireTime: wall(1_000) }), freeSince: 1_000 },
      },
    },
  },
  {
    rule: 'S1 own record',
    name: 'the last record this process wrote is its own: taken back at once, with a fresh acquireTime',
    given: standby(present(lease(5, MINE), 1_000), { written: MINE }),
    input: tick,
    at: 1_000,
    then: { phase: 'acquiring', request: { kind: 'acquire', record: rec('me', 4, 1_000, { acquireTime: wall(1_000) }) } },
  },
  {
    rule: 'S1 hand edit',
    name: 'a record naming this pod that it did not write is waited out like any other',
    given: standby(present(lease(5, rec('me', 3, 7_000)), 1_000), { written: MINE }),
    input: tick,
    at: 2_000,
    then: { phase: 'standby', wakeAt: 16_000 },
  },
  {
    rule: 'L1 eligibility',
    name: 'a standby whose worker is gone does not acquire, even a released Lease',
    given: standby(present(lease(6, RELEASED), 1_000), { ineligibleSince: 500 }),
    input: tick,
    at: 1_000,
    then: { phase: 'standby' },
  },
  {
    rule: 'L2',
    name: 'a retired standby never acquires',
    given: standby(present(lease(6, RELEASED), 1_000), { retired: true }),
    input: tick,
    at: 1_000,
    then: { phase: 'standby' },
  },
  {
    rule: 'C1 conflict',
    name: 'a standby whose write conflicted reads first',
    given: standby(present(lease(6, RELEASED), 1_000), { stale: true }),
    input: tick,
    at: 1_000,
    then: { phase: 'standby', request: { kind: 'read' } },
  },
  {
    rule: 'retry',
    name: 'after a failure nothing is sent before the back-off ends',
    given: standby(present(lease(6, RELEASED), 1_000), { notBefore: 5_000 }),
    input: tick,
    at: 3_000,
    then: { phase: 'standby', wakeAt: 5_000 },
  },
  {
    rule: 'retry',
    name: 'news of the Lease ends the back-off: a release seen is taken at once',
    given: standby(present(lease(5, OTHER), 1_000), { notBefore: 9_000 }),
    input: seen(lease(6, RELEASED)),
    at: 3_000,
    then: {
      phase: 'acquiring',
      events: [{ type: 'observed', lease: lease(6, RELEASED) }],
      request: { kind: 'acquire' },
      state: { notBefore: undefined, freeSince: 3_000 },
    },
  },
  {
    rule: 'L1 eligibility',
    name: 'a worker found again ends the back-off too',
    given: standby(present(lease(6, RELEASED), 1_000), { ineligibleSince: 500, notBefore: 9_000 }),
    input: { type: 'eligible', eligible: true },
    at: 3_000,
    then: { phase: 'acquiring', request: { kind: 'acquire' }, state: { ineligibleSince: undefined, notBefore: undefined } },
  },

  // acquiring
  {
    rule: 'acquire',
    name: 'an acquire that lands leads: acquired, with the wait since the Lease was seen free; next renew a renew interval after it began',
    given: acquiring(),
    input: ok(lease(7, TAKEN)),
    at: 2_050,
    then: {
      phase: 'leader',
      events: [{ type: 'observed' }, { type: 'acquired', record: TAKEN, waitedMs: 1_050, retiring: false }],
      wakeAt: 7_000,
      state: { lastRenewAt: 2_000, written: TAKEN, freeSince: undefined, maxEpoch: 4 },
    },
  },
  {
    rule: 'acquire',
    name: 'our own write seen through the watch first (freeSince cleared): the wait still counts from the carried time',
    given: { ...acquiring({ freeSince: undefined, lease: present(lease(7, TAKEN), 2_040) }) },
    input: ok(lease(7, TAKEN)),
    at: 2_050,
    then: { phase: 'leader', events: [{ type: 'acquired', waitedMs: 1_050 }], wakeAt: 7_000 },
  },
  {
    rule: 'acquire',
    name: "our own write seen through the watch before its answer leads at once: its lease time counts from the write's start (S1), as on the answer",
    given: acquiring(),
    input: seen(lease(7, TAKEN)),
    at: 2_030,
    then: {
      phase: 'leader',
      events: [{ type: 'observed' }, { type: 'acquired', record: TAKEN, waitedMs: 1_030, retiring: false }],
      wakeAt: 7_000,
      state: { lastRenewAt: 2_000, written: TAKEN, freeSince: undefined, maxEpoch: 4, inflight: undefined },
    },
  },
  {
    rule: 'acquire',
    name: 'the answer that follows the watch is old news: nothing changes, the next renew keeps its time',
    given: leader({ lease: present(lease(7, TAKEN), 2_030), written: TAKEN, lastRenewAt: 2_000, maxEpoch: 4 }),
    input: ok(lease(7, TAKEN)),
    at: 2_050,
    then: { phase: 'leader', wakeAt: 7_000, state: { lastRenewAt: 2_000, inflight: undefined } },
  },
  {
    rule: 'acquire',
    name: "another pod's record seen while our acquire is in flight answers nothing: the answer decides (a conflict, most likely)",
    given: acquiring(),
    input: seen(lease(7, rec('other', 4, 2_000, { acquireTime: wall(2_000) }))),
    at: 2_030,
    then: {
      phase: 'acquiring',
      events: [{ type: 'observed' }],
      state: { inflight: { id: 9, kind: 'acquire', startedAt: 2_000, aborted: false, record: TAKEN, freeSince: 1_000 } },
    },
  },
  {
    rule: 'L2',
    name: 'an acquire won while retiring and seen through the watch first is released at once, its worker never started',
    given: acquiring({ retired: true }),
    input: seen(lease(7, TAKEN)),
    at: 2_030,
    then: releasedAtOnce,
  },
  {
    rule: 'acquire',
    name: 'a conflict (someone was first) reads again at once',
    given: acquiring(),
    input: conflict,
    at: 2_050,
    then: { phase: 'standby', request: { kind: 'read' }, state: { stale: true } },
  },
  {
    rule: 'S1 unanswered',
    name: 'a failed acquire is remembered as unanswered (it may still land) and retried after the retry period',
    given: acquiring(),
    input: failed,
    at: 2_050,
    then: {
      phase: 'standby',
      events: [{ type: 'error', op: 'acquire' }],
      wakeAt: 4_050,
      state: { notBefore: 4_050, unanswered: [{ record: TAKEN, created: false }] },
    },
  },
  {
    rule: 'L2',
    name: 'an acquire won while retiring is released at once, its worker never started',
    given: acquiring({ retired: true }),
    input: ok(lease(7, TAKEN)),
    at: 2_050,
    then: releasedAtOnce,
  },
  {
    rule: 'L2',
    name: 'a release asked for during an acquire waits for its answer',
    given: acquiring(),
    input: { type: 'release' },
    at: 2_010,
    then: { phase: 'acquiring', state: { retired: true } },
  },
  {
    rule: 'L2',
    name: 'retiring during an acquire lets it finish',
    given: acquiring(),
    input: { type: 'retire' },
    at: 2_010,
    then: { phase: 'acquiring', state: { retired: true } },
  },
  {
    rule: 'L3',
    name: 'a stop abandons the acquire, and a release waiting for it settles unwritten',
    given: acquiring(),
    input: { type: 'stop' },
    at: 2_010,
    then: {
      phase: 'stopped',
      abort: true,
      releaseSettled: false,
      state: { inflight: { id: 9, kind: 'acquire', startedAt: 2_000, aborted: true, record: TAKEN, freeSince: 1_000 } },
    },
  },

  // creating: a create is a claim (S1)
  {
    rule: 'S1 create = claim',
    name: 'a create that lands is a claim: the worker may start a lease duration after the answer',
    given: creating(),
    input: ok(lease(1, CREATED)),
    at: 40,
    then: {
      phase: 'claiming',
      events: [{ type: 'observed' }, { type: 'claimed', record: CREATED, startsAt: 15_040 }],
      wakeAt: 5_010,
      state: { claimFrom: 40, lastRenewAt: 10 },
    },
  },
  {
    rule: 'S1 create = claim, L2',
    name: 'a create that lands while retiring is given up unreleased',
    given: creating({ retired: true }),
    input: ok(lease(1, CREATED)),
    at: 40,
    then: { phase: 'standby', events: [{ type: 'observed' }, { type: 'claim-lost', reason: 'stopped' }] },
  },
  {
    rule: 'acquire',
    name: 'a create that conflicts (someone created it first) reads again',
    given: creating(),
    input: conflict,
    at: 40,
    then: { phase: 'standby', request: { kind: 'read' }, state: { stale: true } },
  },
  {
    rule: 'S1 unanswered',
    name: 'a failed create is remembered as an unanswered create',
    given: creating(),
    input: failed,
    at: 40,
    then: { phase: 'standby', events: [{ type: 'error', op: 'create' }], wakeAt: 2_040, state: { unanswered: [{ record: CREATED, created: true }] } },
  },

  // claiming
  {
    rule: 'S1 create = claim',
    name: 'a claim that has stood a lease duration is leadership: acquired',
    given: claiming(0, { lastRenewAt: 14_000 }),
    input: tick,
    at: 15_000,
    then: {
      phase: 'leader',
      events: [{ type: 'acquired', record: MINE, waitedMs: undefined, retiring: false }],
      wakeAt: 19_000,
      state: { claimFrom: undefined },
    },
  },
  {
    rule: 'S1 create = claim',
    name: 'an unripe claim wakes when it ripens',
    given: claiming(0, { lastRenewAt: 14_000 }),
    input: tick,
    at: 14_999,
    then: { phase: 'claiming', wakeAt: 15_000 },
  },
  {
    rule: 'deadline',
    name: 'a claim that cannot renew gives up at the deadline (claim-lost, no lost), then takes its own record back, the claim continuing',
    given: claiming(0),
    input: tick,
    at: 10_000,
    then: {
      phase: 'acquiring',
      events: [{ type: 'claim-lost', reason: 'renew-deadline' }],
      request: { kind: 'acquire', base: lease(5, MINE) },
      state: {
        inflight: { id: 1, kind: 'acquire', startedAt: 10_000, aborted: false, record: rec('me', 4, 10_000, { acquireTime: wall(10_000) }), claimFrom: 0 },
      },
    },
  },
  {
    rule: 'S1 create = claim, L2',
    name: 'a handoff during a claim gives it up without a release (seed 13)',
    given: claiming(0),
    input: { type: 'retire' },
    at: 1_000,
    then: { phase: 'standby', events: [{ type: 'claim-lost', reason: 'stopped' }], state: { retired: true } },
  },
  {
    rule: 'S1 create = claim',
    name: "someone else's record ends a claim",
    given: claiming(0),
    input: seen(lease(6, rec('other', 4))),
    at: 5_000,
    then: { phase: 'standby', events: [{ type: 'observed' }, { type: 'claim-lost', reason: 'taken' }], wakeAt: 20_000, state: { claimFrom: undefined } },
  },

  // leader
  {
    rule: 'R1',
    name: 'a leader renews a renew interval after its last renew began, not a retry period',
    given: leader(),
    input: tick,
    at: 1_000,
    then: { phase: 'leader', wakeAt: 5_000 },
  },
  {
    rule: 'R1',
    name: '… then renews: only renewTime moves',
    given: leader(),
    input: tick,
    at: 5_000,
    then: { phase: 'leader', request: { kind: 'renew', op: 'update', record: renewed(5_000), base: lease(5, MINE) }, wakeAt: 10_000 },
  },
  {
    rule: 'R1',
    name: 'a renew that lands moves the deadline and the next renew on, from when it began',
    given: sent(leader(), 'renew', 5_000, { record: renewed(5_000) }),
    input: ok(lease(6, renewed(5_000))),
    at: 5_040,
    then: {
      phase: 'leader',
      events: [{ type: 'observed' }, { type: 'renewed', record: renewed(5_000), durationMs: 40 }],
      wakeAt: 10_000,
      state: { lastRenewAt: 5_000, written: renewed(5_000) },
    },
  },
  {
    rule: 'R1 retry',
    name: 'a failed renew is retried after the retry period, not jittered, and remembered as unanswered',
    given: sent(leader(), 'renew', 5_000, { record: renewed(5_000) }),
    input: failed,
    at: 5_030,
    then: {
      phase: 'leader',
      events: [{ type: 'renew-failed', result: 'error', durationMs: 30 }],
      wakeAt: 7_030,
      state: { notBefore: 7_030, unanswered: [{ record: renewed(5_000), created: false }] },
    },
  },
  {
    rule: 'deadline',
    name: 'a retry due after the renew deadline: woken at the deadline',
    given: leader({ notBefore: 11_050 }),
    input: tick,
    at: 9_050,
    then: { phase: 'leader', wakeAt: 10_000 },
  },
  {
    rule: 'deadline',
    name: 'at the renew deadline the leader gives up (lost first), then takes its own record back as a standby',
    given: leader(),
    input: tick,
    at: 10_000,
    then: { phase: 'acquiring', events: [{ type: 'lost', reason: 'renew-deadline' }], request: { kind: 'acquire', base: lease(5, MINE) } },
  },
  {
    rule: 'C1',
    name: 'a renew that conflicts (a label, an edit) reads again and renews at once',
    given: sent(leader(), 'renew', 5_000, { record: renewed(5_000) }),
    input: conflict,
    at: 5_010,
    then: {
      phase: 'leader',
      events: [{ type: 'renew-failed', result: 'conflict' }],
      request: { kind: 'read' },
      wakeAt: 10_000,
      state: { stale: true, renewNow: true },
    },
  },
  {
    rule: 'C2 taken',
    name: 'another holder seen: leadership lost (the worker pauses first), then its record is waited out',
    given: leader(),
    input: seen(lease(6, rec('other', 4))),
    at: 3_000,
    then: { phase: 'standby', events: [{ type: 'observed' }, { type: 'lost', reason: 'taken' }], wakeAt: 18_000 },
  },
  {
    rule: 'S1 deletion, S2',
    name: 'a leader whose Lease is deleted recreates it at once, at the highest epoch seen, keeping its acquireTime',
    given: leader(),
    input: { type: 'observed', lease: undefined, absentAt: '9' },
    at: 1_000,
    then: {
      phase: 'leader',
      events: [{ type: 'observed', lease: undefined }],
      request: { kind: 'recreate', op: 'create', record: rec('me', 3, 1_000) },
      wakeAt: 10_000,
      state: { lease: absent(1_000, true), renewNow: true },
    },
  },
  {
    rule: 'S1 old news',
    name: 'an absence listed at an older version than known is ignored',
    given: leader(),
    input: { type: 'observed', lease: undefined, absentAt: '4' },
    at: 40,
    then: { phase: 'leader', wakeAt: 5_000, state: { lease: present(lease(5, MINE), 0) } },
  },
  {
    rule: 'L1',
    name: 'a leader whose worker is gone waits the grace',
    given: leader({ lastRenewAt: 4_000, ineligibleSince: 3_000 }),
    input: tick,
    at: 4_000,
    then: { phase: 'leader', wakeAt: 8_000 },
  },
  {
    rule: 'L1',
    name: '… then releases the Lease (worker-gone)',
    given: leader({ lastRenewAt: 4_000, ineligibleSince: 3_000 }),
    input: tick,
    at: 8_000,
    then: {
      phase: 'releasing',
      events: [{ type: 'releasing', reason: 'worker-gone' }],
      request: { kind: 'release', record: { holderIdentity: '', leaseDurationSeconds: 1, leaseTransitions: 3 }, base: lease(5, MINE) },
      wakeAt: 14_000,
      state: { releaseWanted: 'worker-gone' },
    },
  },
  {
    rule: 'L1, L2',
    name: 'a retiring leader leaves the release to the handoff',
    given: leader({ lastRenewAt: 4_000, ineligibleSince: 3_000, retired: true }),
    input: tick,
    at: 8_000,
    then: { phase: 'leader', wakeAt: 9_000 },
  },
  {
    rule: 'handoff',
    name: 'release: the leader retires and writes the release',
    given: leader(),
    input: { type: 'release' },
    at: 1_000,
    then: {
      phase: 'releasing',
      events: [{ type: 'releasing', reason: 'handoff' }],
      request: { kind: 'release', record: RELEASE, base: lease(5, MINE) },
      wakeAt: 10_000,
      state: { retired: true, releaseWanted: 'handoff' },
    },
  },
  {
    rule: 'handoff',
    name: 'a release asked for while a renew is in flight waits for its answer',
    given: sent(leader(), 'renew', 5_000, { record: renewed(5_000) }),
    input: { type: 'release' },
    at: 5_010,
    then: { phase: 'leader', wakeAt: 10_000, state: { releaseWanted: 'handoff' } },
  },
  {
    rule: 'L2',
    name: 'retire alone: the leader keeps leading (and renewing) until the release',
    given: leader(),
    input: { type: 'retire' },
    at: 1_000,
    then: { phase: 'leader', wakeAt: 5_000, state: { retired: true } },
  },
  {
    rule: 'L3',
    name: 'a stop ends leadership as lost (stopped)',
    given: leader(),
    input: { type: 'stop' },
    at: 1_000,
    then: { phase: 'stopped', events: [{ type: 'lost', reason: 'stopped' }] },
  },
  {
    rule: 'L3',
    name: '… and abandons the request in flight',
    given: sent(leader(), 'renew', 5_000, { record: renewed(5_000) }),
    input: { type: 'stop' },
    at: 5_010,
    then: { phase: 'stopped', abort: true, events: [{ type: 'lost', reason: 'stopped' }] },
  },
  {
    rule: 'C2 deleted',
    name: "a release asked for after the Lease was deleted ends leadership as lost (deleted); the deadline's wake-up, set before, stays",
    given: leader({ lease: absent(1_000, true), renewNow: true }),
    input: { type: 'release' },
    at: 1_010,
    then: { phase: 'standby', events: [{ type: 'lost', reason: 'deleted' }], releaseSettled: false, wakeAt: 10_000 },
  },

  // releasing
  {
    rule: 'handoff',
    name: 'a release that lands: released, and the release settles',
    given: releasing(),
    input: ok(lease(6, RELEASE)),
    at: 1_020,
    then: {
      phase: 'standby',
      events: [{ type: 'observed' }, { type: 'released', record: RELEASE, reason: 'handoff' }],
      releaseSettled: true,
      state: { freeSince: 1_020, releaseWanted: undefined },
    },
  },
  {
    rule: 'C2 successor',
    name: 'a successor seen before the release is answered is left to that answer: no lost',
    given: releasing(),
    input: seen(lease(7, rec('other', 4))),
    at: 1_010,
    then: { phase: 'releasing', events: [{ type: 'observed' }], wakeAt: 10_000 },
  },
  {
    rule: 'C2 release-failed',
    name: "a release that fails ends leadership as lost (release-failed); the retry period after it, a leader's, not jittered, still wakes it",
    given: releasing(),
    input: failed,
    at: 1_020,
    then: {
      phase: 'standby',
      events: [{ type: 'lost', reason: 'release-failed' }],
      releaseSettled: false,
      wakeAt: 3_020,
      state: { notBefore: 3_020, unanswered: [{ record: RELEASE, created: false }] },
    },
  },
  {
    rule: 'C2 conflict',
    name: 'a release that conflicts reads again (a leader again until it is sent anew)',
    given: releasing(),
    input: conflict,
    at: 1_020,
    then: { phase: 'leader', request: { kind: 'read' }, wakeAt: 10_000, state: { stale: true } },
  },
  {
    rule: 'C2 conflict',
    name: '… and while a back-off holds, stays releasing until it ends',
    given: releasing({ notBefore: 3_000 }),
    input: conflict,
    at: 1_020,
    then: { phase: 'releasing', wakeAt: 3_000, state: { stale: true } },
  },
  {
    rule: 'L1',
    name: 'a worker-gone release that lands: released, and the pod stands by without acquiring (its worker is still gone)',
    given: releasing({ retired: false, releaseWanted: 'worker-gone', ineligibleSince: 0 }),
    input: ok(lease(6, RELEASE)),
    at: 1_020,
    then: { phase: 'standby', events: [{ type: 'observed' }, { type: 'released', reason: 'worker-gone' }] },
  },

  // writes whose answer never came (S1, unanswered)
  {
    rule: 'S1 unanswered',
    name: 'the older of two unanswered renews lands (a frozen API server resumes in order): it is our own, taken back at once',
    given: standby(present(lease(5, MINE), 0), {
      written: MINE,
      unanswered: [
        { record: renewed(2_000), created: false },
        { record: renewed(4_000), created: false },
      ],
    }),
    input: seen(lease(6, renewed(2_000))),
    at: 10_500,
    then: {
      phase: 'acquiring',
      events: [{ type: 'observed' }],
      request: { kind: 'acquire', base: lease(6, renewed(2_000)) },
      state: { written: renewed(2_000), unanswered: [] },
    },
  },
  {
    rule: 'S1 unanswered',
    name: 'an unanswered create seen landed starts a claim from when it is seen; taking it back carries the claim',
    given: standby(absent(10, false), { unanswered: [{ record: CREATED, created: true }] }),
    input: seen(lease(1, CREATED)),
    at: 3_000,
    then: {
      phase: 'acquiring',
      events: [{ type: 'observed' }],
      request: { kind: 'acquire' },
      state: {
        claimFrom: 3_000,
        inflight: { id: 1, kind: 'acquire', startedAt: 3_000, aborted: false, record: rec('me', 1, 3_000, { acquireTime: wall(3_000) }), claimFrom: 3_000 },
      },
    },
  },
  {
    rule: 'S1 unanswered',
    name: 'the answer to an abandoned write is ignored, but the write is remembered',
    given: sent(initialState(), 'renew', 5_000, { record: renewed(5_000), aborted: true }),
    input: ok(lease(6, renewed(5_000))),
    at: 5_010,
    then: { phase: 'stopped', state: { inflight: undefined, unanswered: [{ record: renewed(5_000), created: false }] } },
  },
  {
    rule: 'answers',
    name: 'an answer to a request no longer in flight is ignored; the next renew keeps its time (no wake-up would cancel it)',
    given: leader(),
    input: { type: 'result', id: 3, outcome: { ok: true, lease: undefined } },
    at: 1_000,
    then: { phase: 'leader', wakeAt: 5_000, state: leader() },
  },

  // Y1: deferring to a Ready pod of a newer revision, and rejoining after a yield
  {
    rule: 'Y1 defer',
    name: 'a deferring standby leaves a released Lease to the newer pod',
    given: standby(present(lease(6, RELEASED), 1_000), { deferring: true }),
    input: tick,
    at: 2_000,
    then: { phase: 'standby' },
  },
  {
    rule: 'Y1 defer',
    name: 'once the newer pod is gone it takes the released Lease at once',
    given: standby(present(lease(6, RELEASED), 1_000), { deferring: true }),
    input: { type: 'defer', defer: false },
    at: 2_000,
    then: { phase: 'acquiring', request: { kind: 'acquire', op: 'update', base: lease(6, RELEASED) }, state: { deferring: false } },
  },
  {
    rule: 'Y1 defer',
    name: 'a deferring leader keeps what it holds: it renews (the sidecar hands it over)',
    given: leader({ deferring: true }),
    input: tick,
    at: 5_000,
    then: { phase: 'leader', request: { kind: 'renew', op: 'update' }, wakeAt: 10_000 },
  },
  {
    rule: 'Y1 rejoin',
    name: 'a retired standby with nothing in flight may acquire again',
    given: standby(present(lease(6, RELEASED), 1_000), { retired: true }),
    input: { type: 'rejoin' },
    at: 2_000,
    then: { phase: 'acquiring', request: { kind: 'acquire', op: 'update' }, state: { retired: false } },
  },
  {
    rule: 'Y1 rejoin',
    name: 'not while it holds the Lease',
    given: leader({ retired: true }),
    input: { type: 'rejoin' },
    at: 100,
    then: { phase: 'leader', wakeAt: 5_000, state: { retired: true } },
  },
  {
    rule: 'Y1 rejoin',
    name: 'not while an acquire is in flight (L2 decides what it won)',
    given: acquiring({ retired: true }),
    input: { type: 'rejoin' },
    at: 2_100,
    then: { phase: 'acquiring', state: { retired: true } },
  },
];

describe('decide(): one row per branch of each rule', () => {
  it.each(rows)('$rule — $name', ({ given, input, at, jitter, then }) => {
    const d = decide(given, input, cfg, at, wall(at), jitter ?? 0);
    expect(phaseOf(d.state)).toBe(then.phase);
    if (then.request === undefined) expect(d.request).toBeUndefined();
    else expect(d.request).toMatchObject(then.request);
    expect(d.events).toMatchObject(then.events ?? []);
    expect(d.wakeAt).toBe(then.wakeAt);
    expect(d.abort).toBe(then.abort ?? false);
    expect(d.releaseSettled).toBe(then.releaseSettled);
    if (then.state) expect(d.state).toMatchObject(then.state);
  });

  it('never changes the state it is given (the elector keeps it until the decision replaces it)', () => {
    for (const { given, input, at, jitter } of rows) {
      const before = structuredClone(given);
      decide(given, input, cfg, at, wall(at), jitter ?? 0);
      expect(given).toEqual(before);
    }
  });
});
