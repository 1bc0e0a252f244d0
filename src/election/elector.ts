// The election loop: validate, acquire, renew, release — client-go's tools/leaderelection, made
// watch-driven. A standby reacts to what the Lease watch delivers (`observe`) instead of polling, so
// a released Lease is taken within one API round trip; timers remain as the backstop and for expiry.
// All I/O goes through the LeaseLock; all time through the Clock. No signals, no HTTP: the sidecar
// listens to the events and acts on them.
import type { Clock, TimerHandle } from './clock.ts';
import { LockConflictError, LockNotFoundError, type LeaseLock } from './lock.ts';
import { sameRecord, type LeaderRecord, type ObservedLease } from './record.ts';
import {
  acquiredRecord,
  expiresAt,
  isReleased,
  jittered,
  releasedRecord,
  renewedRecord,
  requestTimeoutMs,
  type ElectionTimings,
} from './rules.ts';

export interface ElectorOptions extends ElectionTimings {
  identity: string;
  lock: LeaseLock;
  clock: Clock;
  /** Random source for jitter; injectable for deterministic tests. */
  random?: () => number;
}

/** Why leadership ended without a release. */
export type LossReason = 'renew-deadline' | 'taken' | 'stopped';

export type ElectorEvent =
  /** This pod now holds the Lease. `waitedMs` is the time from seeing the Lease free to holding it, when it was seen free. */
  | { type: 'acquired'; record: LeaderRecord; waitedMs: number | undefined }
  /** Leadership ended without a release. Emitted before anything else happens, so the worker is paused first. */
  | { type: 'lost'; reason: LossReason; error?: unknown }
  /** This pod released the Lease (graceful handoff). */
  | { type: 'released'; record: LeaderRecord }
  | { type: 'renewed'; record: LeaderRecord; durationMs: number }
  | { type: 'renew-failed'; result: 'conflict' | 'error'; durationMs: number; error: unknown }
  /** The observed record changed (holder, epoch or renew time), or the Lease disappeared (`lease` undefined). */
  | { type: 'observed'; lease: ObservedLease | undefined }
  /** An API call failed; the loop retries by itself. */
  | { type: 'error'; op: string; error: unknown };

type Listener = (e: ElectorEvent) => void;

/** What the elector knows of the Lease right now. */
export interface ElectorSnapshot {
  isLeader: boolean;
  observed: ObservedLease | undefined;
  /** Monotonic time the observed record last changed. */
  observedAt: number | undefined;
  /** Monotonic start time of the last successful acquire or renew. */
  lastRenewAt: number | undefined;
  retired: boolean;
  /** The Lease has been read (or seen by the watch) at least once, present or absent. */
  leaseKnown: boolean;
}

/**
 * Leader election over one Lease. Call `start()`, feed it watch events with `observe()`, tell it whether
 * this pod may lead with `setEligible()`, and on shutdown call `retire()` then `release()`.
 */
export class Elector {
  private readonly opts: ElectorOptions;
  private readonly random: () => number;
  private readonly listeners: Listener[] = [];

  private observed: ObservedLease | undefined;
  private observedAt: number | undefined;
  /** The Lease's existence is known (read at least once, or seen by the watch). */
  private known = false;
  /** What we hold of the Lease is known to be out of date (a write conflicted): read it before acting. */
  private stale = false;
  /** When the Lease was seen deleted; creating it waits a lease duration (see `step`). */
  private deletedAt: number | undefined;
  /** When the Lease was first seen free (released), for the acquire-after-release figure. */
  private freeSince: number | undefined;

  private leader = false;
  private lastRenewAt: number | undefined;
  private deadlineTimer: TimerHandle | undefined;
  private retired = false;
  private eligible = true;
  private stopped = true;

  private wakeTimer: TimerHandle | undefined;
  private stepping = false;
  private again = false;
  private inflight: AbortController | undefined;
  private releaseWaiters: Array<(released: boolean) => void> = [];
  private releaseRequested = false;
  /** A renew conflict found the Lease still ours: renew again at once instead of waiting the retry period. */
  private renewNow = false;
  /** A release write is in flight. */
  private releasing = false;

  constructor(opts: ElectorOptions) {
    this.opts = opts;
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
    return { isLeader: this.leader, observed: this.observed, observedAt: this.observedAt, lastRenewAt: this.lastRenewAt, retired: this.retired, leaseKnown: this.known };
  }

  isLeader(): boolean {
    return this.leader;
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.wake();
  }

  /** Stops all timers and requests. A leader that stops without `release()` simply lets the Lease expire. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.wakeTimer?.cancel();
    this.inflight?.abort();
    if (this.leader) this.lose('stopped');
    this.settleRelease(false);
  }

  /** Whether this pod may take the Lease (its worker is found with handlers installed). A leader keeps the Lease regardless. */
  setEligible(eligible: boolean): void {
    if (this.eligible === eligible) return;
    this.eligible = eligible;
    if (eligible) this.wake();
  }

  /** This pod has begun to hand over: from now on it never acquires again. A leader keeps renewing until `release()`. */
  retire(): void {
    this.retired = true;
  }

  /**
   * Releases the Lease (after the worker has paused): writes no holder and a 1 s duration, so a watching
   * standby can take it at once. Resolves true when the release was written, false when this pod was not
   * the leader or the write failed (the Lease then expires on its own). Implies `retire()`.
   */
  release(): Promise<boolean> {
    this.retired = true;
    if (!this.leader) return Promise.resolve(false);
    return new Promise((resolve) => {
      this.releaseWaiters.push(resolve);
      this.releaseRequested = true;
      this.wake();
    });
  }

  /** Feeds what the Lease watch saw: the Lease (ADDED/MODIFIED/list), or `undefined` (DELETED, or absent at list). */
  observe(lease: ObservedLease | undefined): void {
    this.record(lease);
    this.wake();
  }

  // ---- the loop -------------------------------------------------------------------------------

  /** Runs `step` now; steps never overlap, a wake during a step runs another step after it. */
  private wake(): void {
    if (this.stopped) return;
    if (this.stepping) {
      this.again = true;
      return;
    }
    this.wakeTimer?.cancel();
    this.wakeTimer = undefined;
    this.stepping = true;
    void (async () => {
      try {
        do {
          this.again = false;
          await this.step();
        } while (this.again && !this.stopped);
      } finally {
        this.stepping = false;
      }
    })();
  }

  private wakeAt(at: number): void {
    if (this.stopped) return;
    this.wakeTimer?.cancel();
    this.wakeTimer = this.opts.clock.setTimer(() => {
      this.wakeTimer = undefined;
      this.wake();
    }, at - this.opts.clock.now());
  }

  private retryLater(): void {
    this.wakeAt(this.opts.clock.now() + jittered(this.opts.retryPeriodMs, this.random));
  }

  private async step(): Promise<void> {
    const now = this.opts.clock.now();
    if (this.leader) {
      if (this.releaseRequested) return this.doRelease();
      // client-go renews every retryPeriod, measured from the start of the previous successful attempt.
      const due = this.renewNow ? now : (this.lastRenewAt ?? now) + this.opts.retryPeriodMs;
      if (now < due) return this.wakeAt(due);
      this.renewNow = false;
      return this.doRenew();
    }
    this.settleRelease(false);
    if (this.retired || !this.eligible) return; // woken again by setEligible(true); a retired pod never acquires
    if (!this.known || this.stale) return this.doGet();
    const current = this.observed;
    if (current === undefined) {
      // A Lease that vanished while someone may still hold it in memory: wait one lease duration, so a
      // leader whose Lease was deleted by hand notices at its next renew (and recreates it) before anyone
      // else starts. A Lease that was simply never there is created at once.
      if (this.deletedAt !== undefined && now < this.deletedAt + this.opts.leaseDurationMs) {
        return this.wakeAt(this.deletedAt + this.opts.leaseDurationMs);
      }
      return this.doCreate();
    }
    const r = current.record;
    if (isReleased(r) || r.holderIdentity === this.opts.identity) return this.doAcquire(current, false);
    const expiry = expiresAt(r, this.observedAt ?? now, this.opts);
    if (now < expiry) return this.wakeAt(expiry);
    // Expired by local observation: read it fresh first (as client-go does every attempt), so a watch that
    // silently stalled cannot make us take a Lease that is being renewed.
    return this.doAcquire(current, true);
  }

  // ---- operations -----------------------------------------------------------------------------

  private async call<T>(op: string, fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
    const controller = new AbortController();
    this.inflight = controller;
    const timer = this.opts.clock.setTimer(() => controller.abort(new Error(`${op} timed out after ${requestTimeoutMs(this.opts)} ms`)), requestTimeoutMs(this.opts));
    try {
      return await fn(controller.signal);
    } finally {
      timer.cancel();
      if (this.inflight === controller) this.inflight = undefined;
    }
  }

  private async doGet(): Promise<void> {
    try {
      const lease = await this.call('get', (s) => this.opts.lock.get(s));
      this.record(lease);
      this.again = true;
    } catch (error) {
      this.emit({ type: 'error', op: 'get', error });
      this.retryLater();
    }
  }

  private async doCreate(): Promise<void> {
    const started = this.opts.clock.now();
    const record = acquiredRecord(undefined, this.opts.identity, this.opts, this.opts.clock.wallClock());
    try {
      const created = await this.call('create', (s) => this.opts.lock.create(record, s));
      this.becomeLeader(created, started, undefined);
    } catch (error) {
      if (error instanceof LockConflictError) {
        // Someone created it first: read it and judge it like any other record.
        this.stale = true;
        this.again = true;
        return;
      }
      this.emit({ type: 'error', op: 'create', error });
      this.retryLater();
    }
  }

  private async doAcquire(current: ObservedLease, readFirst: boolean): Promise<void> {
    const started = this.opts.clock.now();
    const freeSince = this.freeSince;
    let base = current;
    try {
      if (readFirst) {
        const fresh = await this.call('get', (s) => this.opts.lock.get(s));
        const changed = this.record(fresh);
        if (changed || fresh === undefined) {
          this.again = true;
          return;
        }
        base = fresh;
      }
      if (this.retired || !this.eligible || this.stopped) return;
      const record = acquiredRecord(base.record, this.opts.identity, this.opts, this.opts.clock.wallClock());
      const updated = await this.call('update', (s) => this.opts.lock.update(record, base.resourceVersion, s));
      this.becomeLeader(updated, started, freeSince);
    } catch (error) {
      if (error instanceof LockConflictError) {
        // Another candidate won the race (or the holder renewed): re-read and judge again.
        this.stale = true;
        this.again = true;
        return;
      }
      if (error instanceof LockNotFoundError) {
        this.record(undefined);
        this.again = true;
        return;
      }
      this.emit({ type: 'error', op: 'acquire', error });
      this.retryLater();
    }
  }

  /** `freeSince` is captured before the write: our own write may reach us through the watch before its response. */
  private becomeLeader(lease: ObservedLease, attemptStartedAt: number, freeSince: number | undefined): void {
    const now = this.opts.clock.now();
    const waitedMs = freeSince === undefined ? undefined : now - freeSince;
    this.record(lease);
    this.freeSince = undefined;
    if (this.stopped) return;
    this.leader = true;
    this.lastRenewAt = attemptStartedAt;
    this.armDeadline();
    this.emit({ type: 'acquired', record: lease.record, waitedMs });
    this.wakeAt(attemptStartedAt + this.opts.retryPeriodMs);
  }

  private async doRenew(): Promise<void> {
    const started = this.opts.clock.now();
    const current = this.observed;
    if (!current) {
      // The Lease was deleted under us: recreate it as ours (the deletion left no other holder).
      return this.recreateAsLeader(started);
    }
    const record = renewedRecord(current.record, this.opts, this.opts.clock.wallClock());
    try {
      const renewed = await this.call('renew', (s) => this.opts.lock.update(record, current.resourceVersion, s));
      if (!this.leader) return; // lost at the deadline while the request was in flight
      this.record(renewed);
      this.lastRenewAt = started;
      this.armDeadline();
      this.emit({ type: 'renewed', record: renewed.record, durationMs: this.opts.clock.now() - started });
      this.again = true;
    } catch (error) {
      if (!this.leader) return;
      const durationMs = this.opts.clock.now() - started;
      if (error instanceof LockNotFoundError) {
        this.emit({ type: 'renew-failed', result: 'error', durationMs, error });
        return this.recreateAsLeader(started);
      }
      if (error instanceof LockConflictError) {
        this.emit({ type: 'renew-failed', result: 'conflict', durationMs, error });
        return this.reconcileAfterConflict();
      }
      this.emit({ type: 'renew-failed', result: 'error', durationMs, error });
      // Retry at the retry period; the deadline timer ends leadership if no retry succeeds in time.
      this.wakeAt(this.opts.clock.now() + this.opts.retryPeriodMs);
    }
  }

  /** A renew conflict: someone wrote the Lease. If it is still ours (a label edited, say) renew again; else it was taken. */
  private async reconcileAfterConflict(): Promise<void> {
    try {
      const fresh = await this.call('get', (s) => this.opts.lock.get(s));
      if (!this.leader) return;
      this.record(fresh);
      if (fresh !== undefined && fresh.record.holderIdentity !== this.opts.identity) {
        this.lose('taken');
        this.again = true;
        return;
      }
      // Still ours (a label edited, say): renew again at once with the fresh resourceVersion (or recreate).
      this.renewNow = true;
      this.again = true;
    } catch (error) {
      this.emit({ type: 'error', op: 'get', error });
      this.wakeAt(this.opts.clock.now() + this.opts.retryPeriodMs);
    }
  }

  private async recreateAsLeader(started: number): Promise<void> {
    const previous = this.observed?.record;
    const record: LeaderRecord = {
      ...acquiredRecord(undefined, this.opts.identity, this.opts, this.opts.clock.wallClock()),
      leaseTransitions: previous?.leaseTransitions ?? 0,
    };
    try {
      const created = await this.call('create', (s) => this.opts.lock.create(record, s));
      if (!this.leader) return;
      this.record(created);
      this.lastRenewAt = started;
      this.armDeadline();
      this.emit({ type: 'renewed', record: created.record, durationMs: this.opts.clock.now() - started });
      this.again = true;
    } catch (error) {
      if (!this.leader) return;
      if (error instanceof LockConflictError) return this.reconcileAfterConflict();
      this.emit({ type: 'error', op: 'create', error });
      this.wakeAt(this.opts.clock.now() + this.opts.retryPeriodMs);
    }
  }

  private async doRelease(): Promise<void> {
    const current = this.observed;
    if (!current || current.record.holderIdentity !== this.opts.identity) {
      this.endLeadership();
      return this.settleRelease(false);
    }
    this.releasing = true;
    try {
      const released = await this.call('release', (s) => this.opts.lock.update(releasedRecord(current.record, this.opts.clock.wallClock()), current.resourceVersion, s));
      this.endLeadership();
      this.record(released);
      this.emit({ type: 'released', record: released.record });
      this.settleRelease(true);
    } catch (error) {
      if (error instanceof LockConflictError && this.leader) {
        // Written since we read it (a label edit): read again and retry the release.
        try {
          const fresh = await this.call('get', (s) => this.opts.lock.get(s));
          this.record(fresh);
          if (fresh?.record.holderIdentity === this.opts.identity) {
            this.again = true;
            return;
          }
        } catch (getError) {
          this.emit({ type: 'error', op: 'get', error: getError });
        }
      } else {
        this.emit({ type: 'error', op: 'release', error });
      }
      // Could not write the release: stop renewing, the Lease expires by itself after its duration.
      this.endLeadership();
      this.settleRelease(false);
    } finally {
      this.releasing = false;
    }
  }

  // ---- state helpers --------------------------------------------------------------------------

  /**
   * Records an observation; returns true when the claim changed (which restarts the expiry clock).
   * A Lease seen before and absent now was deleted, however we learned it (watch, read, or a conflict:
   * the API server answers an update of a deleted Lease with 409, because of the uid precondition).
   */
  private record(lease: ObservedLease | undefined): boolean {
    const now = this.opts.clock.now();
    this.known = true;
    const before = this.observed;
    if (lease === undefined) {
      this.stale = false;
      if (before !== undefined) this.deletedAt = now;
      this.observed = undefined;
      this.observedAt = now;
      if (before !== undefined) this.emit({ type: 'observed', lease: undefined });
      return before !== undefined;
    }
    // The leader hears of its own writes twice (the response and the watch), in either order: an older
    // version arriving late must not replace a newer one, or the next renew would conflict for nothing.
    if (before !== undefined && olderVersion(lease.resourceVersion, before.resourceVersion)) return false;
    this.stale = false;
    this.deletedAt = undefined;
    const changed = before === undefined || !sameRecord(before.record, lease.record);
    this.observed = lease;
    if (changed) {
      this.observedAt = now;
      if (isReleased(lease.record)) this.freeSince ??= now;
      else this.freeSince = undefined;
      this.emit({ type: 'observed', lease });
    }
    // Our own release may come back through the watch before its response does: that is no loss.
    const ownRelease = this.releasing && isReleased(lease.record);
    if (this.leader && lease.record.holderIdentity !== this.opts.identity && !ownRelease) this.lose('taken');
    return changed;
  }

  private armDeadline(): void {
    this.deadlineTimer?.cancel();
    if (this.lastRenewAt === undefined) return;
    // Give up at the renew deadline, measured from the start of the last successful renew: the record was
    // written after that instant, so every standby's observed time is later and its expiry later still.
    this.deadlineTimer = this.opts.clock.setTimer(() => {
      this.deadlineTimer = undefined;
      if (this.leader) this.lose('renew-deadline');
    }, this.lastRenewAt + this.opts.renewDeadlineMs - this.opts.clock.now());
  }

  private lose(reason: LossReason, error?: unknown): void {
    if (!this.leader) return;
    this.endLeadership();
    this.inflight?.abort(new Error(`leadership lost: ${reason}`));
    this.emit({ type: 'lost', reason, ...(error === undefined ? {} : { error }) });
    this.settleRelease(false);
    this.wake();
  }

  private endLeadership(): void {
    this.leader = false;
    this.releaseRequested = false;
    this.deadlineTimer?.cancel();
    this.deadlineTimer = undefined;
  }

  private settleRelease(released: boolean): void {
    this.releaseRequested = false;
    const waiters = this.releaseWaiters;
    this.releaseWaiters = [];
    for (const w of waiters) w(released);
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

/**
 * resourceVersions are opaque to clients in general, but every API server backed by etcd issues them
 * as increasing integers; compare only when both are, and otherwise treat the new one as newer.
 */
function olderVersion(candidate: string, current: string): boolean {
  if (!/^\d+$/.test(candidate) || !/^\d+$/.test(current)) return false;
  return BigInt(candidate) < BigInt(current);
}
