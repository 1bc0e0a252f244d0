// The one decider of the election, as client-go's tryAcquireOrRenew is: given the state, what just
// happened and the local time, it returns the next state, at most one request to make, the events to
// report and when to be woken. No I/O, no timers, no randomness of its own: `Elector` (elector.ts) runs
// what it decides. Every rule it keeps is named after docs/protocol.md (S1, S2, L1, L2, C2 …).
//
// The rules (docs/protocol.md has them in full, with the tests that try to break them):
//   S1  a worker starts only on proof of the previous holder's pause: a release, or one full lease
//       duration, measured locally, since this pod saw someone else's record change; a record naming
//       this pod that this process did not write is someone else's (a write whose answer was lost and
//       that landed later is one this process wrote).
//   S2  every change of holder writes an epoch above every epoch this process has seen, across deletion.
//   L1  a leader whose worker has been gone for the worker grace releases and stands by.
//   L2  a handoff never strands the Lease: an acquire won while retiring is released at once, unstarted.
//   L3  shutdown always ends (every request is aborted at its timeout; stop() ends everything).
//   L4  a request unsettled beyond twice its timeout shows in the snapshot (`busySince`): /healthz fails.
//   C1  a write changes only the election's spec fields of the object it is based on (the lock's job).
//   C2  every acquire and every end of leadership is an event; none ends silently.
//   C3  config that breaks S1 is refused (src/config.ts, rules.ts timingProblems).
//   W1  a standby may take a held Lease at once on its holder's word (`takeover.ts`): the holder, paused and
//       done writing, reveals the secret whose hash its record carries, and the takeover is written over that
//       very record, so it lands only if nothing was written since; else the holder releases as before.
//   R1  a leader renews a renew interval after its last successful renew began, retries a failed one every
//       retry period; the renew deadline counts from the last success, so neither S1 nor F1 depends on it.
import { sameRecord, type LeaderRecord, type ObservedLease } from './record.ts';
import { withTakeoverHash, wordOf, wordProves, type TakeoverWord } from './takeover.ts';
import { acquiredRecord, expiresAt, isReleased, jittered, releasedRecord, renewedRecord, renewIntervalOf, type ElectionTimings } from './rules.ts';

/**
 * Where this process stands. `acquiring`: a create or acquire of this pod is in flight — not stored, it is
 * read from the request in flight (`phaseOf`). `claiming`: this pod created the Lease and holds it (renews
 * it), but its worker may start only once the claim has stood a lease duration (S1); it is not the leader
 * yet. `releasing`: a leader whose release has begun — its write is in flight, or it conflicted and the
 * read that follows waits out a back-off — and whose worker is paused; it still holds the Lease.
 */
export type Phase = 'stopped' | 'standby' | 'acquiring' | 'claiming' | 'leader' | 'releasing';

/** Why leadership ended without a release written by this pod. */
export type LossReason = 'renew-deadline' | 'taken' | 'stopped' | 'release-failed' | 'deleted';

/** Why this pod releases: a handoff (SIGTERM or deletion, `retired`), or its worker is gone (rule L1). */
export type ReleaseReason = 'handoff' | 'worker-gone';

export type ElectorEvent =
  /** This pod now holds the Lease. `retiring`: taken while handing over — the worker must not start; a release follows at once (L2). */
  | { type: 'acquired'; record: LeaderRecord; waitedMs: number | undefined; retiring: boolean }
  /** A release is about to be written: pause the worker first if it runs. */
  | { type: 'releasing'; reason: ReleaseReason }
  /** Leadership ended without a release. Emitted before anything else happens, so the worker is paused first. */
  | { type: 'lost'; reason: LossReason; error?: unknown }
  /** This pod created the Lease and holds it; its worker may start at `startsAt` (local time), when `acquired` follows (S1). */
  | { type: 'claimed'; record: LeaderRecord; startsAt: number }
  /** A claim ended before it became leadership (its worker never started). */
  | { type: 'claim-lost'; reason: LossReason }
  /** This pod released the Lease — or, `takenOver`, a standby took it on this pod's word (W1) before any release. */
  | { type: 'released'; record: LeaderRecord; reason: ReleaseReason; takenOver?: boolean }
  /** W1: before releasing, tell the standbys this word (its worker has paused); a release follows unless one takes over by `until` (local time). */
  | { type: 'offer'; word: TakeoverWord; until: number }
  | { type: 'renewed'; record: LeaderRecord; durationMs: number }
  | { type: 'renew-failed'; result: 'conflict' | 'error'; durationMs: number; error: unknown }
  /** The observed record changed (holder, epoch or renew time), or the Lease disappeared (`lease` undefined). */
  | { type: 'observed'; lease: ObservedLease | undefined }
  /** An API call failed; the loop retries by itself. */
  | { type: 'error'; op: string; error: unknown };

/** What a request is for; `read` refreshes a stale view, `verify` re-reads a Lease judged expired before taking it. */
export type OpKind = 'read' | 'verify' | 'create' | 'acquire' | 'renew' | 'recreate' | 'release';

export type Request =
  | { id: number; kind: 'read' | 'verify'; op: 'get' }
  | { id: number; kind: 'create' | 'recreate'; op: 'create'; record: LeaderRecord }
  | { id: number; kind: 'acquire' | 'renew' | 'release'; op: 'update'; record: LeaderRecord; base: ObservedLease };

export type Outcome = { ok: true; lease: ObservedLease | undefined } | { ok: false; error: 'conflict' | 'not-found' | 'failed'; cause: unknown };

export type Input =
  | { type: 'start' }
  | { type: 'stop' }
  /** A timer fell due (or anything else worth a fresh judgement). */
  | { type: 'tick' }
  /**
   * The Lease watch: the Lease as delivered, or `undefined` when deleted or absent; `absentAt`, the
   * resourceVersion at which it was found absent (a list's, or the deletion's), when known.
   */
  | { type: 'observed'; lease: ObservedLease | undefined; absentAt?: string }
  /** Whether this pod's worker is found with handlers (it may lead). */
  | { type: 'eligible'; eligible: boolean }
  /** The handoff began: never acquire again (L2). */
  | { type: 'retire' }
  /** Release the Lease (after the worker paused). */
  | { type: 'release' }
  /**
   * Y1: a handoff to a pod of a newer revision has ended and this pod stays: it may acquire again, as any
   * standby (ignored unless it is a standby with nothing in flight).
   */
  | { type: 'rejoin' }
  /**
   * Y1: a Ready pod of a newer revision is there (or no longer): while it is, this pod takes no Lease (no
   * create, no acquire) and leaves a release to that pod. What it holds it keeps: the sidecar hands it over.
   */
  | { type: 'defer'; defer: boolean }
  /** W1: a word heard from the holder (unchecked: the decider checks it against the Lease as last seen). */
  | { type: 'word'; word: TakeoverWord }
  /** W1: nobody will take over on the word about `resourceVersion` (every standby refused, or none is there): release now. */
  | { type: 'offer-declined'; resourceVersion: string }
  | { type: 'result'; id: number; outcome: Outcome };

export interface DecideConfig extends ElectionTimings {
  identity: string;
  /** Rule L1: how long a leader's worker may be gone before the leader steps aside. */
  workerGraceMs: number;
  /**
   * W1: `key` (random per process) seals every record this pod writes as holder with its term's hash; with
   * `offerMs` > 0 a leader that releases first offers its word, and releases `offerMs` later if nobody took
   * over (or at once when declined). Absent: no hash, no offer. Words heard are judged either way.
   */
  takeover?: { key: string; offerMs: number };
}

/**
 * What this process knows of the Lease, from a read, a write's answer or the watch: nothing yet; that it is
 * absent — `since` the local time it was first found so, `deleted` when it was seen to vanish (a standby then
 * waits a lease duration before creating it) rather than never seen; or present, as last seen, with
 * `observedAt`, the local monotonic time its current resourceVersion was first seen: the start of its expiry (S1).
 */
export type LeaseView = { is: 'unknown' } | { is: 'absent'; since: number; deleted: boolean } | { is: 'present'; observed: ObservedLease; observedAt: number };

/** Everything the decider knows. Plain data: the elector keeps one and replaces it with each decision. */
export interface ElectionState {
  /** `acquiring` is the request in flight, not a stored phase: see `phaseOf`. */
  phase: Exclude<Phase, 'acquiring'>;
  /** Never acquire again (handoff begun). */
  retired: boolean;
  /** Y1: take no Lease while a newer pod is Ready (unlike `retired`, it ends with that pod). */
  deferring: boolean;
  /** Local time this pod's worker was last found gone (for L1's grace); undefined while it is eligible (`isEligible`). */
  ineligibleSince: number | undefined;
  /** What is known of the Lease, as one fact (`LeaseView`; `currentLease` for the Lease as last seen). */
  lease: LeaseView;
  /** A write conflicted: read before acting. */
  stale: boolean;
  /** When the Lease was first seen released, for the acquire-after-release figure (`acquired`'s `waitedMs`). */
  freeSince: number | undefined;
  /** S2: the highest leaseTransitions this process has seen or written. -1 before any. */
  maxEpoch: number;
  /** S1: the last record this process wrote. A record naming us that is not this one is someone else's. */
  written: LeaderRecord | undefined;
  /**
   * S1: writes this process sent whose answer never came (timed out, abandoned, failed in transit): they may
   * still land — a frozen API server carries them out when it resumes, usually the oldest first. Seen landed, one is
   * ours (`written`) and the rest are forgotten; `created`: it was a create, so seeing it landed starts a claim.
   * The last few are kept, not only the newest (`MAX_UNANSWERED` says why).
   */
  unanswered: Array<{ record: LeaderRecord; created: boolean }>;
  /**
   * S1: the local time from which this pod's claim on a Lease it created counts (the create's answer, or the
   * moment its unanswered create was seen landed): its worker may start a lease duration later. Kept while
   * the records are its own; cleared once the claim became leadership or someone else's record is seen.
   */
  claimFrom: number | undefined;
  /** The resourceVersion a `verify` read found; the acquire that follows uses it (S1). */
  verifiedVersion: string | undefined;
  /** W1: the resourceVersion a holder's word proved paused; an acquire over it may go at once. */
  takeoverVersion: string | undefined;
  /** W1: the word this leader revealed before its release — the version it is about, until when it waits, whether it was declined. */
  offer: { version: string; until: number; declined: boolean } | undefined;
  /** Monotonic start of the last successful acquire or renew. */
  lastRenewAt: number | undefined;
  /** A renew conflicted but the Lease is still ours: renew again at once. */
  renewNow: boolean;
  /** A release was asked for (handoff) or decided (L1); reason kept for the report. */
  releaseWanted: ReleaseReason | undefined;
  /** After a failed request: no new request before this local time (client-go's jittered retry period). */
  notBefore: number | undefined;
  /**
   * The request in flight; only one at a time. `aborted` once abandoned (its answer is then ignored). An
   * acquire carries `freeSince` and `claimFrom` as they were when it was sent: its answer needs them, and our own
   * write may come back through the watch first and clear them.
   */
  inflight: InFlight | undefined;
  nextId: number;
}

export interface InFlight {
  id: number;
  kind: OpKind;
  startedAt: number;
  aborted: boolean;
  /** What a write writes: seen landed after its answer was lost, it is this process's own (S1, `unanswered`). */
  record: LeaderRecord | undefined;
  /** An acquire's: when the Lease it takes was first seen released (its `waitedMs`). */
  freeSince?: number;
  /** An acquire's of this process's own record: the claim it continues (S1). */
  claimFrom?: number;
  /** An update's: the resourceVersion it is based on (W1: an acquire over the version a word proved). */
  base?: string;
}

export interface Decision {
  state: ElectionState;
  request: Request | undefined;
  /** Abort the request in flight (its answer will still be fed back, and ignored). */
  abort: boolean;
  events: ElectorEvent[];
  /** When to be woken with a `tick` (absolute local time); undefined: only by an input. */
  wakeAt: number | undefined;
  /** A release asked for has ended: true when written. */
  releaseSettled: boolean | undefined;
}

export function initialState(): ElectionState {
  return {
    phase: 'stopped',
    retired: false,
    deferring: false,
    ineligibleSince: undefined,
    lease: { is: 'unknown' },
    stale: false,
    freeSince: undefined,
    maxEpoch: -1,
    written: undefined,
    unanswered: [],
    claimFrom: undefined,
    verifiedVersion: undefined,
    takeoverVersion: undefined,
    offer: undefined,
    lastRenewAt: undefined,
    renewNow: false,
    releaseWanted: undefined,
    notBefore: undefined,
    inflight: undefined,
    nextId: 1,
  };
}

/** True while this pod leads: it holds the Lease and its worker may run (including while its release is being written). */
export function holds(s: ElectionState): boolean {
  return s.phase === 'leader' || s.phase === 'releasing';
}

/** The Lease as last seen; undefined when absent or not known yet. */
export function currentLease(s: ElectionState): ObservedLease | undefined {
  return s.lease.is === 'present' ? s.lease.observed : undefined;
}

/** Whether this pod's worker is found with handlers, so that it may lead. */
export function isEligible(s: ElectionState): boolean {
  return s.ineligibleSince === undefined;
}

/** The phase, `acquiring` included: a standby whose create or acquire is in flight is acquiring. */
export function phaseOf(s: ElectionState): Phase {
  return acquiring(s) ? 'acquiring' : s.phase;
}

/** True while a create or acquire of this pod is in flight (not abandoned): its answer decides whether this pod holds the Lease. */
function acquiring(s: ElectionState): boolean {
  const op = s.inflight;
  return op !== undefined && !op.aborted && (op.kind === 'create' || op.kind === 'acquire');
}

/** True while this pod keeps the Lease as its own: leading, or claiming a Lease it created (S1). */
function keeps(s: ElectionState): boolean {
  return holds(s) || s.phase === 'claiming';
}

/**
 * The decider. `now` is local monotonic time, `wallNow` only goes into records, `jitter` in [0, 1) spreads
 * a standby's retries as client-go's wait.Jitter does.
 */
export function decide(prev: ElectionState, input: Input, cfg: DecideConfig, now: number, wallNow: Date, jitter: number): Decision {
  const d: Decision = { state: { ...prev }, request: undefined, abort: false, events: [], wakeAt: undefined, releaseSettled: undefined };
  const s = d.state;
  if (s.phase === 'stopped' && input.type !== 'start' && input.type !== 'result' && input.type !== 'observed') {
    if (input.type === 'retire') s.retired = true;
    if (input.type === 'defer') s.deferring = input.defer;
    if (input.type === 'eligible') setEligible(s, input.eligible, now);
    if (input.type === 'release') d.releaseSettled = false;
    return d;
  }
  switch (input.type) {
    case 'start':
      if (s.phase === 'stopped') s.phase = 'standby';
      break;
    case 'stop':
      if (keeps(s)) lose(d, 'stopped');
      if (acquiring(s) || s.releaseWanted) d.releaseSettled = false;
      s.releaseWanted = undefined;
      s.phase = 'stopped';
      if (s.inflight && !s.inflight.aborted) abort(d);
      return d;
    case 'observed':
      // Our acquire seen landed before its answer (the watch often outruns it): it is answered now, with its
      // answer's rules (S1: the lease time still counts from the write's start). The answer that follows is
      // old news. Only our own record proves it, as for `unanswered`: the same times, holder and epoch.
      if (answeredByWatch(s, input.lease)) {
        onResult(d, { ok: true, lease: input.lease }, cfg, now, jitter);
        break;
      }
      // News of the Lease is worth acting on at once, even while backing off after a failure.
      if (observe(d, input.lease, cfg, now, input.absentAt)) s.notBefore = undefined;
      break;
    case 'eligible':
      setEligible(s, input.eligible, now);
      if (input.eligible) s.notBefore = undefined;
      break;
    case 'retire':
      s.retired = true;
      if (s.phase === 'claiming') abandonClaim(d);
      break;
    case 'release':
      s.retired = true;
      if (s.phase === 'claiming') abandonClaim(d);
      if (holds(s)) s.releaseWanted ??= 'handoff';
      else if (!acquiring(s)) d.releaseSettled = false;
      // An acquire in flight finishes first; if it wins, the Lease is released at once (L2).
      break;
    case 'defer':
      s.deferring = input.defer;
      if (!input.defer) s.notBefore = undefined;
      break;
    case 'word':
      // W1: only a proven word about the Lease as last seen counts (a forged, stale or early one is ignored);
      // the standby rules below then take it as they take a release: at once, over that version.
      if (s.phase === 'standby' && wordProves(currentLease(s), input.word, cfg.identity)) {
        s.takeoverVersion = input.word.resourceVersion;
        s.freeSince ??= now;
        s.notBefore = undefined;
      }
      break;
    case 'offer-declined':
      if (s.offer && s.offer.version === input.resourceVersion) s.offer = { ...s.offer, declined: true };
      break;
    case 'rejoin':
      // Y1: only a standby with no acquire or release in flight: its worker is paused and it holds nothing,
      // so from here the standby rules (S1) decide alone whether it may take the Lease again.
      if (s.phase === 'standby' && !s.inflight && s.releaseWanted === undefined) s.retired = false;
      break;
    case 'result':
      // An answer to a request abandoned long ago, or to an acquire the watch answered first: judged as a tick
      // (returning no wake-up here would cancel the elector's timer, and with it the next renew).
      if (!s.inflight || s.inflight.id !== input.id) break;
      onResult(d, input.outcome, cfg, now, jitter);
      break;
    case 'tick':
      break;
  }
  if (s.phase !== 'stopped') judge(d, cfg, now, wallNow);
  return d;
}

function setEligible(s: ElectionState, eligible: boolean, now: number): void {
  if (isEligible(s) === eligible) return;
  s.ineligibleSince = eligible ? undefined : now;
}

/**
 * Records an observation of the Lease. A leader that sees another holder has lost it (and pauses first).
 * Returns true when the Lease is news: a new resourceVersion, or a deletion.
 */
function observe(d: Decision, lease: ObservedLease | undefined, cfg: DecideConfig, now: number, absentAt?: string): boolean {
  const s = d.state;
  const before = currentLease(s);
  // S1: an absence listed before a version this pod already saw is old news (a watch's first list, taken
  // before our own create, arriving after its answer): it is no deletion, and a leader must not recreate.
  if (lease === undefined && before !== undefined && absentAt !== undefined && olderVersion(absentAt, before.resourceVersion)) return false;
  if (lease === undefined) {
    s.stale = false;
    // Absent since it was first found so; a Lease seen before is a deletion (the wait before creating it).
    if (s.lease.is !== 'absent') s.lease = { is: 'absent', since: now, deleted: before !== undefined };
    if (before !== undefined) d.events.push({ type: 'observed', lease: undefined });
    s.verifiedVersion = undefined;
    // A leader keeps its claim: it recreates the Lease at once (and standbys wait a lease duration after a deletion).
    if (keeps(s)) s.renewNow = true;
    return before !== undefined;
  }
  // Our own writes come back twice (answer and watch), in either order: an older version arriving late is ignored.
  if (before !== undefined && olderVersion(lease.resourceVersion, before.resourceVersion)) return false;
  s.stale = false;
  // S2: remember the highest epoch ever seen, across deletion and recreation.
  if (Number.isFinite(lease.record.leaseTransitions)) s.maxEpoch = Math.max(s.maxEpoch, lease.record.leaseTransitions);
  const changed = before === undefined || !sameRecord(before.record, lease.record);
  // S1: any new resourceVersion is a write this pod may not have seen all of — the holder's renew among
  // versions it missed (a frozen pod, a held watch), even when the content came back identical (a hand edit
  // repeated). So the expiry restarts on every new version, not only on a change of the spec fields. The
  // price: a metadata-only write (a label, an annotation) also delays a takeover by up to a lease duration.
  const newVersion = before === undefined || before.resourceVersion !== lease.resourceVersion;
  s.lease = { is: 'present', observed: lease, observedAt: s.lease.is === 'present' && !newVersion ? s.lease.observedAt : now };
  if (newVersion) {
    s.verifiedVersion = undefined;
    s.takeoverVersion = undefined;
  }
  // S1: a write of ours that was never answered has landed after all: the record is ours, not someone else's.
  const landed = s.unanswered.find((u) => sameRecord(u.record, lease.record));
  if (landed) {
    s.written = lease.record;
    s.unanswered = [];
    // A create of ours landed before now: its claim counts from now (S1).
    if (landed.created) s.claimFrom = now;
  }
  if (changed) {
    if (isReleased(lease.record)) s.freeSince ??= now;
    else s.freeSince = undefined;
    d.events.push({ type: 'observed', lease });
  }
  const mine = lease.record.holderIdentity === cfg.identity;
  // C2: while our release is in flight, another holder is most likely the successor that took our release,
  // seen before the release's answer. The worker is paused already, so the answer may decide: written,
  // it is a release; a conflict means someone else wrote first, and the read that follows reports the loss.
  const releaseInFlight = s.phase === 'releasing' && s.inflight?.kind === 'release' && !s.inflight.aborted;
  // W1: after this leader offered its word, another holder is a standby that took over on it: the handoff
  // is done, as a release would have done it (the worker paused before the word went out).
  if (keeps(s) && !mine && !releaseInFlight) {
    if (s.offer && holds(s)) handedOver(d);
    else lose(d, 'taken');
  }
  // S1: a claim lives only on this pod's own records; someone else's record ends it.
  if (!mine) s.claimFrom = undefined;
  return newVersion;
}

/** The acquire in flight, seen landed: the watch shows the very record it writes (the answer may come later). */
function answeredByWatch(s: ElectionState, lease: ObservedLease | undefined): lease is ObservedLease {
  const op = s.inflight;
  return op !== undefined && !op.aborted && op.kind === 'acquire' && op.record !== undefined && lease !== undefined && sameRecord(op.record, lease.record);
}

/** W1: a standby took over on this leader's word: reported as the release it replaces (C2). */
function handedOver(d: Decision): void {
  const s = d.state;
  const reason = s.releaseWanted ?? 'handoff';
  s.phase = 'standby';
  s.renewNow = false;
  s.releaseWanted = undefined;
  s.offer = undefined;
  if (s.inflight && !s.inflight.aborted) abort(d);
  d.events.push({ type: 'released', record: s.written ?? currentLease(s)!.record, reason, takenOver: true });
  if (reason === 'handoff' || s.retired) d.releaseSettled = true;
}

/** Ends leadership (or a claim) without a release: the `lost` event goes out first, so the sidecar pauses the worker first. */
function lose(d: Decision, reason: LossReason, error?: unknown): void {
  const s = d.state;
  if (!keeps(s)) return;
  const claiming = s.phase === 'claiming';
  s.phase = 'standby';
  s.renewNow = false;
  if (s.releaseWanted) d.releaseSettled = false;
  s.releaseWanted = undefined;
  s.offer = undefined;
  if (s.inflight && !s.inflight.aborted) abort(d);
  // A claim was never leadership: its worker never started, and no LeaderLost is due (C2 pairs acquires and ends).
  if (claiming) d.events.push({ type: 'claim-lost', reason });
  else d.events.push({ type: 'lost', reason, ...(error === undefined ? {} : { error }) });
}

/** A claim becomes leadership: its lease duration has passed (S1); now the worker may start. */
function promote(d: Decision): void {
  const s = d.state;
  const record = currentLease(s)?.record ?? s.written;
  s.phase = 'leader';
  s.claimFrom = undefined;
  if (record) d.events.push({ type: 'acquired', record, waitedMs: undefined, retiring: false });
}

/**
 * S1, L2: a claim held when the handoff begins is given up without a release. A release tells the next pod
 * that every earlier worker has stopped, and a claim that has not stood its lease duration cannot say so (an
 * older claimant, frozen, may still lead until its renew deadline; seed 13). Its record expires instead: the
 * next pod takes it a lease duration after it last saw it change, which covers every older holder too.
 */
function abandonClaim(d: Decision): void {
  const s = d.state;
  s.phase = 'standby';
  s.renewNow = false;
  if (s.inflight && !s.inflight.aborted) abort(d);
  d.events.push({ type: 'claim-lost', reason: 'stopped' });
}

function abort(d: Decision): void {
  d.state.inflight = { ...d.state.inflight!, aborted: true };
  d.abort = true;
}

function onResult(d: Decision, outcome: Outcome, cfg: DecideConfig, now: number, jitter: number): void {
  const s = d.state;
  const op = s.inflight!;
  s.inflight = undefined;
  // A write that got no answer may still land (S1): remember it, so that seeing it later is seeing our own.
  if (op.record && (op.aborted || (!outcome.ok && outcome.error === 'failed'))) {
    // The oldest is kept with the newest (MAX_UNANSWERED says why): a resuming server usually carries it out first.
    const kept = s.unanswered.length < MAX_UNANSWERED ? s.unanswered : [s.unanswered[0]!, ...s.unanswered.slice(-(MAX_UNANSWERED - 2))];
    s.unanswered = [...kept, { record: op.record, created: op.kind === 'create' }];
  }
  if (op.aborted) return; // abandoned (a loss, a stop): what it did is learned from the next observation
  const durationMs = now - op.startedAt;
  if (outcome.ok) {
    const lease = outcome.lease;
    if (op.kind === 'read' || op.kind === 'verify') {
      const news = observe(d, lease, cfg, now);
      if (op.kind === 'verify' && lease !== undefined && !news) s.verifiedVersion = lease.resourceVersion;
      return;
    }
    // Our write: remember it as ours before observing it (S1: our own record is no one else's claim).
    s.written = lease!.record;
    s.maxEpoch = Math.max(s.maxEpoch, lease!.record.leaseTransitions);
    if (op.kind === 'create' || op.kind === 'acquire') {
      const waitedMs = op.freeSince === undefined ? undefined : now - op.freeSince;
      s.phase = 'leader';
      s.lastRenewAt = op.startedAt;
      s.freeSince = undefined;
      observe(d, lease, cfg, now);
      // S1: a create is a claim, not a proof. Every old leader's last successful renew landed before the Lease
      // was deleted (or it never existed), so before this create: each old worker stops acting within the renew
      // deadline (its sidecar's deadline, the kit's F1 and dead-man's switch), with the rest of a lease duration
      // for the pause to land, as after an expiry. So the worker starts a lease duration after the answer.
      const claimFrom = op.kind === 'create' ? now : op.claimFrom;
      if (claimFrom !== undefined && now < claimFrom + cfg.leaseDurationMs) {
        s.phase = 'claiming';
        s.claimFrom = claimFrom;
        // Created while handing over: given up at once, unreleased (see abandonClaim).
        if (s.retired) return abandonClaim(d);
        d.events.push({ type: 'claimed', record: lease!.record, startsAt: claimFrom + cfg.leaseDurationMs });
        return;
      }
      s.claimFrom = undefined;
      // L2: a Lease taken while handing over is released at once; its worker is never started.
      if (s.retired) s.releaseWanted = 'handoff';
      d.events.push({ type: 'acquired', record: lease!.record, waitedMs, retiring: s.retired });
      return;
    }
    if (op.kind === 'renew' || op.kind === 'recreate') {
      if (!keeps(s)) return;
      observe(d, lease, cfg, now);
      s.lastRenewAt = op.startedAt;
      d.events.push({ type: 'renewed', record: lease!.record, durationMs });
      return;
    }
    // release
    const reason = s.releaseWanted ?? 'handoff';
    s.phase = 'standby';
    s.releaseWanted = undefined;
    s.offer = undefined;
    observe(d, lease, cfg, now);
    d.events.push({ type: 'released', record: lease!.record, reason });
    // L3: a handoff's wait ends with any release written — also one begun for L1 and asked for meanwhile
    // (its reason stays worker-gone); otherwise `release()` never resolved and shutdown waited for SIGKILL.
    if (reason === 'handoff' || s.retired) d.releaseSettled = true;
    return;
  }
  // Failures. A failed request (no answer, 5xx) is retried after the retry period — jittered for a standby,
  // as client-go's wait.JitterUntil — a conflict is read again at once.
  const { error, cause } = outcome;
  if (error === 'failed') s.notBefore = now + (keeps(s) ? cfg.retryPeriodMs : jittered(cfg.retryPeriodMs, () => jitter));
  if (op.kind === 'read' || op.kind === 'verify') {
    d.events.push({ type: 'error', op: 'get', error: cause });
    return;
  }
  if (op.kind === 'renew' || op.kind === 'recreate') {
    if (!keeps(s)) return;
    d.events.push({ type: 'renew-failed', result: error === 'failed' ? 'error' : 'conflict', durationMs, error: cause });
    // A conflict: someone wrote the Lease (a label edit, a deletion, a rival). Read it and judge again.
    if (error !== 'failed') {
      s.stale = true;
      s.renewNow = true;
    }
    return;
  }
  if (op.kind === 'release') {
    if (error !== 'failed') {
      s.stale = true; // written since we read it: read again and retry the release if it is still ours
      return;
    }
    // C2: a release that cannot be written ends leadership all the same, reported as a loss.
    lose(d, 'release-failed', cause);
    return;
  }
  // create / acquire: if we lost the race, read and judge again.
  s.phase = 'standby';
  if (s.releaseWanted === undefined && s.retired) d.releaseSettled = false;
  if (error === 'failed') d.events.push({ type: 'error', op: op.kind, error: cause });
  else s.stale = true;
}

/** Decides the next request (or the next wake) from the state. Runs after every input. */
function judge(d: Decision, cfg: DecideConfig, now: number, wallNow: Date): void {
  const s = d.state;
  const wake = (at: number) => (d.wakeAt = d.wakeAt === undefined ? at : Math.min(d.wakeAt, at));
  if (keeps(s)) {
    // The renew deadline, from the start of the last successful write: a leader gives up before any
    // standby's expiry (leaseDuration − renewDeadline ≥ 1 s), with or without a request in flight.
    const deadline = (s.lastRenewAt ?? now) + cfg.renewDeadlineMs;
    if (now >= deadline) {
      lose(d, 'renew-deadline');
    } else {
      wake(deadline);
    }
  }
  // S1: a claim that has stood a lease duration is leadership: now the worker may start.
  if (s.phase === 'claiming' && s.claimFrom !== undefined) {
    if (now >= s.claimFrom + cfg.leaseDurationMs) promote(d);
    else wake(s.claimFrom + cfg.leaseDurationMs);
  }
  if (s.inflight) return; // one request at a time; its answer brings the next judgement
  if (s.notBefore !== undefined && now < s.notBefore && !(holds(s) && s.releaseWanted && !s.stale)) return void wake(s.notBefore);
  if (keeps(s)) {
    if (s.phase === 'releasing') s.phase = 'leader';
    // L1: a leader whose worker has been gone for the grace steps aside (no pause needed: it is not polling).
    // A claim waits for its lease duration first: it becomes leadership, then L1 applies.
    if (s.phase === 'leader' && s.ineligibleSince !== undefined && s.releaseWanted === undefined && !s.retired) {
      const graceEnd = s.ineligibleSince + cfg.workerGraceMs;
      if (now >= graceEnd) {
        s.releaseWanted = 'worker-gone';
      } else wake(graceEnd);
    }
    if (s.stale) return read(d, 'read', now);
    if (s.releaseWanted) {
      const current = currentLease(s);
      if (current === undefined) {
        // Deleted under us: there is nothing to release, and leadership is over (C2: said, not silent).
        lose(d, 'deleted');
        return;
      }
      if (current.record.holderIdentity !== cfg.identity) {
        lose(d, 'taken');
        return;
      }
      const offer = s.offer;
      if (offer === undefined) d.events.push({ type: 'releasing', reason: s.releaseWanted });
      s.phase = 'releasing';
      // W1: first the word — only about a record sealed with this process's key — then, unless a standby takes
      // over meanwhile (seen in `observe`), the release: at the offer's end, or at once when it is declined or the
      // Lease moved on (a takeover over an older version can no longer land).
      const t = cfg.takeover;
      if (offer === undefined && t !== undefined && t.offerMs > 0 && current.record.takeoverHash === sealed(current.record, cfg).takeoverHash) {
        s.offer = { version: current.resourceVersion, until: now + t.offerMs, declined: false };
        d.events.push({ type: 'offer', word: wordOf(current, t.key), until: s.offer.until });
        return void wake(s.offer.until);
      }
      if (offer && offer.version === current.resourceVersion && !offer.declined && now < offer.until) return void wake(offer.until);
      return request(d, { kind: 'release', op: 'update', record: releasedRecord(current.record, wallNow), base: current }, now);
    }
    const current = currentLease(s);
    if (current === undefined) {
      // The Lease was deleted while we hold it: recreate it as ours at once, at the highest epoch seen (S2).
      const record = sealed(
        {
          ...acquiredRecord(undefined, cfg.identity, cfg, wallNow),
          acquireTime: s.written?.acquireTime ?? wallNow,
          leaseTransitions: Math.max(0, s.maxEpoch),
        },
        cfg,
      );
      return request(d, { kind: 'recreate', op: 'create', record }, now);
    }
    // R1: the renew interval (client-go: the retry period), measured from the start of the previous successful
    // attempt; a failed one is retried at the retry period (`notBefore` above) until the renew deadline. Neither
    // S1 nor F1 depends on it: the deadline counts from the last success, a standby's expiry from what it saw.
    const due = s.renewNow ? now : (s.lastRenewAt ?? now) + renewIntervalOf(cfg);
    if (now < due) return void wake(due);
    s.renewNow = false;
    return request(d, { kind: 'renew', op: 'update', record: sealed(renewedRecord(current.record, cfg, wallNow), cfg), base: current }, now);
  }
  // Standby.
  s.phase = 'standby';
  // Woken by `eligible` (or `defer`); a retired pod never acquires (L2), a deferring one not while it defers (Y1).
  if (s.retired || s.deferring || !isEligible(s)) return;
  if (s.lease.is === 'unknown' || s.stale) return read(d, 'read', now);
  if (s.lease.is === 'absent') {
    // A Lease that vanished while someone may still hold it in memory: wait one lease duration (S1), so a
    // leader whose Lease was deleted recreates it first. A Lease never seen is created at once.
    const createAt = s.lease.since + cfg.leaseDurationMs;
    if (s.lease.deleted && now < createAt) return void wake(createAt);
    // S2: a new Lease after a deletion carries an epoch above every one seen.
    const record = sealed({ ...acquiredRecord(undefined, cfg.identity, cfg, wallNow), leaseTransitions: s.maxEpoch + 1 }, cfg);
    return request(d, { kind: 'create', op: 'create', record }, now);
  }
  const current = s.lease.observed;
  const r = current.record;
  const ownRecord = isOwnRecord(s, r, cfg);
  // W1: a proven word about this very version is as good as a release written over it.
  if (!provesPause(r, ownRecord) && s.takeoverVersion !== current.resourceVersion) {
    // S1: otherwise only the expiry proves it, a lease duration after this pod saw the current version.
    const expiry = expiresAt(r, s.lease.observedAt, cfg);
    if (now < expiry) return void wake(expiry);
    // Expired by local observation: read it fresh first (as client-go reads every attempt), so a watch that
    // stalled cannot make us take a Lease being renewed. The write then uses what that read found (S1).
    if (s.verifiedVersion !== current.resourceVersion) return read(d, 'verify', now);
  }
  // S2: every change of holder writes an epoch above every epoch seen.
  const taken = { ...acquiredRecord(r, cfg.identity, cfg, wallNow), leaseTransitions: Math.max(s.maxEpoch, r.leaseTransitions) + 1 };
  if (ownRecord) taken.acquireTime = wallNow;
  const record = sealed(taken, cfg);
  // S1: taking back our own record continues our claim, if its lease duration has not passed yet.
  const claimFrom = ownRecord ? s.claimFrom : undefined;
  request(d, { kind: 'acquire', op: 'update', record, base: current }, now, { freeSince: s.freeSince, claimFrom });
}

/**
 * S1 — a record naming this pod is its own only if it is the last record this process wrote (`written`, an
 * unanswered write seen landed included): then its worker was paused by this process. A record naming this pod
 * that it did not write — edited by hand, or written by an earlier run of this container — is someone else's.
 */
function isOwnRecord(s: ElectionState, r: LeaderRecord, cfg: DecideConfig): boolean {
  return r.holderIdentity === cfg.identity && s.written !== undefined && sameRecord(r, s.written);
}

/**
 * S1 — the record itself proves the previous holder's pause, so a standby may take the Lease at once: it was
 * released (a release is written only after its worker paused), or it is this process's own (`isOwnRecord`).
 * Any other record is taken only once it has expired by local observation (`expiresAt`), and read fresh.
 */
function provesPause(r: LeaderRecord, ownRecord: boolean): boolean {
  return isReleased(r) || ownRecord;
}

/**
 * Unanswered writes remembered (S1, `unanswered`): the oldest and the last seven. Not only the newest can land. While the API
 * server is frozen, a leader's renew retries, and then its acquires as a standby, are all based on the one
 * resourceVersion it last saw; when the server resumes, the first it carries out lands — usually the oldest,
 * queued first — and the rest conflict. A create may land whenever the Lease is absent. So any write sent since
 * the last version this pod saw may be the one seen landed, and a write forgotten here, seen landed, is taken
 * for someone else's record: waited out a lease duration (S1 holds; only liveness pays). The oldest is kept
 * however long the freeze: the model tests' fixed seed froze a server through nine lost writes, and with only the
 * last eight the leader waited 15 s for the oldest, its own record, to expire. The last seven cover a server that
 * carries out a later one first.
 */
const MAX_UNANSWERED = 8;

/** W1: a record this pod writes as holder carries its term's hash when it has a key, and no other's hash ever. */
function sealed(record: LeaderRecord, cfg: DecideConfig): LeaderRecord {
  if (cfg.takeover) return withTakeoverHash(record, cfg.takeover.key);
  const { takeoverHash: _none, ...plain } = record;
  return plain;
}

function read(d: Decision, kind: 'read' | 'verify', now: number): void {
  request(d, { kind, op: 'get' }, now);
}

type Unsent<R> = R extends Request ? Omit<R, 'id'> : never;

function request(d: Decision, r: Unsent<Request>, now: number, carried: Pick<InFlight, 'freeSince' | 'claimFrom'> = {}): void {
  const s = d.state;
  const id = s.nextId++;
  s.inflight = {
    id,
    kind: r.kind,
    startedAt: now,
    aborted: false,
    record: 'record' in r ? r.record : undefined,
    ...('base' in r ? { base: r.base.resourceVersion } : {}),
    ...carried,
  };
  d.request = { ...r, id };
}

/**
 * resourceVersions are opaque to clients in general, but every API server backed by etcd issues them
 * as increasing integers; compare only when both are, and otherwise treat the new one as newer.
 */
function olderVersion(candidate: string, current: string): boolean {
  if (!/^\d+$/.test(candidate) || !/^\d+$/.test(current)) return false;
  return BigInt(candidate) < BigInt(current);
}
