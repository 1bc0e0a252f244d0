// The election loop's shell: it feeds what happens (watch events, answers, timers, the sidecar's calls)
// to the one decider (decide.ts) and carries out what it decides — one request at a time through the
// LeaseLock, one wake timer through the Clock. No rule lives here; see docs/protocol.md for them.
import { DEFAULT_WORKER_GRACE_MS } from '../defaults.ts';
import type { Clock, TimerHandle } from './clock.ts';
import {
  currentLease,
  decide,
  holds,
  initialState,
  isEligible,
  phaseOf,
  type DecideConfig,
  type ElectionState,
  type ElectorEvent,
  type Input,
  type Outcome,
  type Phase,
  type Request,
} from './decide.ts';
import { LockConflictError, LockNotFoundError, type LeaseLock } from './lock.ts';
import type { ObservedLease } from './record.ts';
import type { TakeoverWord } from './takeover.ts';
import { requestTimeoutMs, type ElectionTimings } from './rules.ts';

export type { ElectorEvent, LossReason, Phase, ReleaseReason } from './decide.ts';

export interface ElectorOptions extends ElectionTimings {
  identity: string;
  lock: LeaseLock;
  clock: Clock;
  /** Rule L1: how long a leader's worker may be gone before the leader steps aside (default `DEFAULT_WORKER_GRACE_MS`). */
  workerGraceMs?: number;
  /** Random source for jitter; injectable for deterministic tests. */
  random?: () => number;
  /** W1: the key that seals this process's records, and how long a leader's word waits for a takeover before it releases. */
  takeover?: { key: string; offerMs: number };
}

/** W1: what a standby made of a word: `taking`, its acquire over the word's version is on its way; otherwise why not. */
export type WordAnswer = { taking: true } | { taking: false; reason: 'not-proven' | 'not-standby' | 'retired' | 'deferring' | 'ineligible' | 'busy' };

type Listener = (e: ElectorEvent) => void;

/** What the elector knows of the Lease right now. */
export interface ElectorSnapshot {
  phase: Phase;
  isLeader: boolean;
  observed: ObservedLease | undefined;
  /** Monotonic time the observed record last changed. */
  observedAt: number | undefined;
  /** Monotonic start time of the last successful acquire or renew. */
  lastRenewAt: number | undefined;
  retired: boolean;
  /** The Lease has been read (or seen by the watch) at least once, present or absent. */
  leaseKnown: boolean;
  /** S2: the highest epoch this process has seen or written (−1 before any). */
  maxEpoch: number;
  /** Rule L4: monotonic start of the request in flight, if any — a step that never settles shows here. */
  busySince: number | undefined;
}

/**
 * Leader election over one Lease. Call `start()`, feed it watch events with `observe()`, tell it whether
 * this pod may lead with `setEligible()`; on shutdown `retire()` (and wait), then `release()`.
 */
export class Elector {
  private readonly cfg: DecideConfig;
  private readonly lock: LeaseLock;
  private readonly clock: Clock;
  private readonly random: () => number;
  private readonly listeners: Listener[] = [];
  private state: ElectionState = initialState();
  private wakeTimer: TimerHandle | undefined;
  private inflight: AbortController | undefined;
  private releaseWaiters: Array<(released: boolean) => void> = [];
  private idleWaiters: Array<() => void> = [];
  private queue: Input[] = [];
  private dispatching = false;

  constructor(opts: ElectorOptions) {
    this.cfg = {
      identity: opts.identity,
      leaseDurationMs: opts.leaseDurationMs,
      renewDeadlineMs: opts.renewDeadlineMs,
      retryPeriodMs: opts.retryPeriodMs,
      ...(opts.renewIntervalMs === undefined ? {} : { renewIntervalMs: opts.renewIntervalMs }),
      workerGraceMs: opts.workerGraceMs ?? DEFAULT_WORKER_GRACE_MS,
      ...(opts.takeover === undefined ? {} : { takeover: opts.takeover }),
    };
    this.lock = opts.lock;
    this.clock = opts.clock;
    this.random = opts.random ?? Math.random;
  }

  on(listener: Listener): () => void {
    this.listeners.push(listener);
    return () => {
      const i = this.listeners.indexOf(listener);
      if (i >= 0) this.listeners.splice(i, 1);
    };
  }

  snapshot(): ElectorSnapshot {
    const s = this.state;
    return {
      phase: phaseOf(s),
      isLeader: holds(s),
      observed: currentLease(s),
      observedAt: s.lease.is === 'present' ? s.lease.observedAt : s.lease.is === 'absent' ? s.lease.since : undefined,
      lastRenewAt: s.lastRenewAt,
      retired: s.retired,
      leaseKnown: s.lease.is !== 'unknown',
      maxEpoch: s.maxEpoch,
      busySince: s.inflight?.startedAt,
    };
  }

  /** True while this pod holds the Lease (until its release is written). */
  isLeader(): boolean {
    return holds(this.state);
  }

  start(): void {
    this.dispatch({ type: 'start' });
  }

  /** Stops all timers and requests. A leader that stops without `release()` simply lets the Lease expire. */
  stop(): void {
    this.dispatch({ type: 'stop' });
  }

  /**
   * Judges now — the renew deadline included — and says whether this pod still holds the Lease. Asked
   * before every start signal (S1): a resumed process's overdue timers run in due order, not all at once.
   */
  confirmLeadership(): boolean {
    this.dispatch({ type: 'tick' });
    return holds(this.state);
  }

  /** Whether this pod's worker is found with handlers. A standby acquires only when eligible; a leader steps aside after the grace (L1). */
  setEligible(eligible: boolean): void {
    if (isEligible(this.state) !== eligible) this.dispatch({ type: 'eligible', eligible });
  }

  /**
   * This pod has begun to hand over: it never acquires again. Resolves once no acquire is in flight — and,
   * when one in flight won, once that Lease has been released again (L2) — so the caller then knows
   * whether it holds the Lease.
   */
  retire(): Promise<void> {
    this.dispatch({ type: 'retire' });
    return new Promise((resolve) => {
      this.idleWaiters.push(resolve);
      this.settleIdle();
    });
  }

  /** Y1: while true this pod takes no Lease (a Ready pod of a newer revision is there); what it holds it keeps. */
  setDeferring(defer: boolean): void {
    if (this.state.deferring !== defer) this.dispatch({ type: 'defer', defer });
  }

  /**
   * Y1: ends a retirement that was not for good (a handoff to a pod of a newer revision, with this pod
   * staying): a standby with nothing in flight may acquire again. Returns whether it may; false while a
   * request is still in flight (ask again later) or while it holds the Lease.
   */
  rejoin(): boolean {
    this.dispatch({ type: 'rejoin' });
    return !this.state.retired;
  }

  /**
   * Releases the Lease (after the worker has paused): writes no holder and a 1 s duration, so a watching
   * standby can take it at once. Resolves true when the release was written, false when this pod was not
   * the leader or the write failed (the Lease then expires on its own). Implies `retire()`.
   */
  release(): Promise<boolean> {
    return new Promise((resolve) => {
      this.releaseWaiters.push(resolve);
      this.dispatch({ type: 'release' });
    });
  }

  /**
   * W1: a word heard from the holder. Judged against the Lease as last seen; a proven one is taken as a
   * release of that version would be. The answer says whether this pod's acquire over it is on its way.
   */
  word(word: TakeoverWord): WordAnswer {
    this.dispatch({ type: 'word', word });
    const s = this.state;
    const op = s.inflight;
    if (op && !op.aborted && op.kind === 'acquire' && op.base === word.resourceVersion) return { taking: true };
    if (s.takeoverVersion !== word.resourceVersion) return { taking: false, reason: 'not-proven' };
    if (s.phase !== 'standby') return { taking: false, reason: 'not-standby' };
    if (s.retired) return { taking: false, reason: 'retired' };
    if (s.deferring) return { taking: false, reason: 'deferring' };
    if (!isEligible(s)) return { taking: false, reason: 'ineligible' };
    return { taking: false, reason: 'busy' };
  }

  /** W1: nobody takes over on the word about `resourceVersion`: the leader releases now instead of at the offer's end. */
  offerDeclined(resourceVersion: string): void {
    this.dispatch({ type: 'offer-declined', resourceVersion });
  }

  /**
   * Feeds what the Lease watch saw: the Lease (ADDED/MODIFIED/list), or `undefined` (DELETED, or absent at
   * list) with `absentAt`, the resourceVersion of that deletion or list when known (an older one is old news).
   */
  observe(lease: ObservedLease | undefined, absentAt?: string): void {
    this.dispatch(absentAt === undefined ? { type: 'observed', lease } : { type: 'observed', lease, absentAt });
  }

  // ---- running the decider --------------------------------------------------------------------

  /** Inputs are decided one at a time, in order; a listener that calls back in is queued, not nested. */
  private dispatch(input: Input): void {
    this.queue.push(input);
    if (this.dispatching) return;
    this.dispatching = true;
    try {
      for (let next = this.queue.shift(); next; next = this.queue.shift()) this.apply(next);
    } finally {
      this.dispatching = false;
    }
  }

  private apply(input: Input): void {
    const d = decide(this.state, input, this.cfg, this.clock.now(), this.clock.wallClock(), this.random());
    this.state = d.state;
    if (d.abort) this.inflight?.abort(new Error(`abandoned: ${this.state.phase}`));
    if (d.request) this.send(d.request);
    this.wakeTimer?.cancel();
    this.wakeTimer = undefined;
    if (d.wakeAt !== undefined) {
      this.wakeTimer = this.clock.setTimer(() => {
        this.wakeTimer = undefined;
        this.dispatch({ type: 'tick' });
      }, d.wakeAt - this.clock.now());
    }
    if (d.releaseSettled !== undefined) {
      const waiters = this.releaseWaiters;
      this.releaseWaiters = [];
      for (const w of waiters) w(d.releaseSettled);
    }
    for (const e of d.events) this.emit(e);
    this.settleIdle();
  }

  private settleIdle(): void {
    // Idle: no acquire in flight, and a Lease taken while retiring has been released again (L2).
    const phase = phaseOf(this.state);
    const busy = phase === 'acquiring' || phase === 'releasing';
    if (busy || this.idleWaiters.length === 0) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }

  /** One request, bounded by the request timeout (client-go's max(1 s, renewDeadline / 2)). */
  private send(req: Request): void {
    const controller = new AbortController();
    this.inflight = controller;
    const timeoutMs = requestTimeoutMs(this.cfg);
    const timer = this.clock.setTimer(() => controller.abort(new Error(`${req.kind} timed out after ${timeoutMs} ms`)), timeoutMs);
    const { signal } = controller;
    const call: Promise<ObservedLease | undefined> =
      req.op === 'get' ? this.lock.get(signal) : req.op === 'create' ? this.lock.create(req.record, signal) : this.lock.update(req.record, req.base, signal);
    void call
      .then(
        (lease): Outcome => ({ ok: true, lease }),
        (cause: unknown): Outcome => ({
          ok: false,
          error: cause instanceof LockConflictError ? 'conflict' : cause instanceof LockNotFoundError ? 'not-found' : 'failed',
          cause,
        }),
      )
      .then((outcome) => {
        timer.cancel();
        if (this.inflight === controller) this.inflight = undefined;
        this.dispatch({ type: 'result', id: req.id, outcome });
      });
  }

  private emit(e: ElectorEvent): void {
    for (const l of [...this.listeners]) {
      try {
        l(e);
      } catch {
        // a listener's failure must never break the election loop
      }
    }
  }
}
