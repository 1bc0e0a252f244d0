// The timing rules of leader election, as pure functions. They follow client-go's
// tools/leaderelection and say why each rule is safe.
import { JITTER_FACTOR } from '../defaults.ts';
import type { LeaderRecord } from './record.ts';

/** Timings in milliseconds, validated by `timingProblems`. */
export interface ElectionTimings {
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
  /**
   * How long after a successful renew the leader renews again (BATON_RENEW_INTERVAL); after a failed one it
   * retries every retry period until the renew deadline. Absent: the retry period, client-go's cadence.
   */
  renewIntervalMs?: number;
}

/**
 * The least time a leader that gives up at the renew deadline must have for its pause to land before
 * any standby may acquire (leaseDuration − renewDeadline): a signal, the worker's handler, and an HTTP
 * call that is aborted. Below this, a crash of the API server could leave two workers polling.
 */
export const MIN_PAUSE_MARGIN_MS = 1000;

/**
 * Returns a list of problems (empty when valid). client-go rejects leaseDuration <= renewDeadline and
 * renewDeadline <= JitterFactor × retryPeriod; baton also insists on room for the pause to land.
 */
export function timingProblems(t: ElectionTimings): string[] {
  const problems: string[] = [];
  if (!(t.retryPeriodMs > 0)) problems.push('BATON_RETRY_PERIOD must be greater than zero');
  if (!(t.leaseDurationMs > t.renewDeadlineMs)) {
    problems.push(
      `BATON_LEASE_DURATION (${t.leaseDurationMs} ms) must be greater than BATON_RENEW_DEADLINE (${t.renewDeadlineMs} ms): ` +
        'a leader must give up before a standby may take over',
    );
  }
  if (!(t.renewDeadlineMs > JITTER_FACTOR * t.retryPeriodMs)) {
    problems.push(
      `BATON_RENEW_DEADLINE (${t.renewDeadlineMs} ms) must be greater than ${JITTER_FACTOR} × BATON_RETRY_PERIOD (${t.retryPeriodMs} ms): ` +
        'the leader needs at least one retry before its deadline',
    );
  }
  if (t.leaseDurationMs - t.renewDeadlineMs < MIN_PAUSE_MARGIN_MS && t.leaseDurationMs > t.renewDeadlineMs) {
    problems.push(
      `BATON_LEASE_DURATION − BATON_RENEW_DEADLINE is ${t.leaseDurationMs - t.renewDeadlineMs} ms; it must be at least ${MIN_PAUSE_MARGIN_MS} ms ` +
        'so that a leader that cannot renew pauses its worker before another pod may acquire (for example 15s and 10s)',
    );
  }
  if (t.leaseDurationMs % 1000 !== 0) {
    problems.push(`BATON_LEASE_DURATION (${t.leaseDurationMs} ms) must be whole seconds: the Lease stores leaseDurationSeconds`);
  }
  if (t.renewIntervalMs !== undefined) problems.push(...renewIntervalProblems({ ...t, renewIntervalMs: t.renewIntervalMs }));
  return problems;
}

/**
 * The room the renew interval leaves before the renew deadline beyond one retry period: the worker kits take
 * their last look at the Lease (one quick read of GET /leader, a quarter of leaseDuration − renewDeadline,
 * at most 1 s) before the renew deadline, and from there on pause a worker that sees no fresher renewal. A
 * retry of a failed renew must land before that look, or the worker pauses while its sidecar still leads.
 */
export const KIT_LAST_LOOK_MS = 1000;

/**
 * R1 — the renew interval's rules (docs/protocol.md). Safety (S1, F1) does not depend on it — the deadline counts
 * from the last successful renew and a standby's expiry from the last change it saw — so these keep the
 * leader's own footing: no renew less often than a retry, a first attempt before the deadline, and, for an
 * interval longer than the retry period, one retry after a failed renew that still lands before the kit's
 * last look (`KIT_LAST_LOOK_MS`). An interval equal to the retry period is client-go's cadence: accepted
 * whenever client-go's own rules hold.
 */
export function renewIntervalProblems(t: Required<ElectionTimings>): string[] {
  const { renewIntervalMs: ri, retryPeriodMs: rp, renewDeadlineMs: rd } = t;
  if (!(ri >= rp)) {
    return [
      `BATON_RENEW_INTERVAL (${ri} ms) must be at least BATON_RETRY_PERIOD (${rp} ms): ` +
        `a failed renew is retried at the retry period, a successful one need not come sooner; ` +
        `set BATON_RENEW_INTERVAL to ${rp}ms or more`,
    ];
  }
  if (!(ri < rd)) {
    return [
      `BATON_RENEW_INTERVAL (${ri} ms) must be less than BATON_RENEW_DEADLINE (${rd} ms): the leader must try to renew before it gives up; ` +
        `leave BATON_RENEW_INTERVAL unset (a third of the lease duration)`,
    ];
  }
  const max = maxRenewIntervalMs(t);
  if (ri > rp && ri > max) {
    return [
      `BATON_RENEW_INTERVAL (${ri} ms) + BATON_RETRY_PERIOD (${rp} ms) + ${KIT_LAST_LOOK_MS} ms must not exceed BATON_RENEW_DEADLINE (${rd} ms): ` +
        `a failed renew needs one retry that lands before the worker kit's last look at the Lease; set BATON_RENEW_INTERVAL to at most ${Math.max(rp, max)}ms`,
    ];
  }
  return [];
}

/** The longest renew interval above the retry period that `renewIntervalProblems` accepts: one retry and the kit's last look before the deadline. */
function maxRenewIntervalMs(t: ElectionTimings): number {
  return t.renewDeadlineMs - t.retryPeriodMs - KIT_LAST_LOOK_MS;
}

/**
 * BATON_RENEW_INTERVAL's default: a third of the lease duration (5 s of 15 s; whole milliseconds, rounded
 * down), kept inside the valid range — at most what leaves one retry before the deadline, at least the retry
 * period — so that timings valid without it stay valid.
 */
export function defaultRenewIntervalMs(t: ElectionTimings): number {
  return Math.max(t.retryPeriodMs, Math.min(Math.floor(t.leaseDurationMs / 3), maxRenewIntervalMs(t)));
}

/** The renew interval in effect: the configured one, or the retry period (client-go's cadence). */
export function renewIntervalOf(t: ElectionTimings): number {
  return t.renewIntervalMs ?? t.retryPeriodMs;
}

/** Per-request timeout: client-go's max(1 s, renewDeadline / 2), so one slow call cannot eat the whole deadline. */
export function requestTimeoutMs(t: ElectionTimings): number {
  return Math.max(1000, t.renewDeadlineMs / 2);
}

/** A record with no holder has been released (client-go writes holderIdentity ""): anyone may take it at once. */
export function isReleased(r: LeaderRecord): boolean {
  return r.holderIdentity === '';
}

/**
 * When a held Lease expires, judged by the local monotonic time at which this process last saw the record
 * change (`observedAt`), never by comparing renewTime with the local clock: clocks of different nodes may
 * disagree, but durations measured on one node do not. The record's own leaseDurationSeconds counts, but
 * never less than this pod's configured lease duration, so a record edited by hand to a short duration
 * cannot let a standby start while the leader still believes it holds the Lease.
 */
export function expiresAt(r: LeaderRecord, observedAt: number, t: ElectionTimings): number {
  return observedAt + Math.max(r.leaseDurationSeconds * 1000, t.leaseDurationMs);
}

/** The record a candidate writes to take (or keep) the Lease. The epoch moves only when the holder changes. */
export function acquiredRecord(previous: LeaderRecord | undefined, identity: string, t: ElectionTimings, wallNow: Date): LeaderRecord {
  const keeps = previous !== undefined && previous.holderIdentity === identity;
  return {
    holderIdentity: identity,
    leaseDurationSeconds: Math.round(t.leaseDurationMs / 1000),
    acquireTime: keeps ? previous.acquireTime : wallNow,
    renewTime: wallNow,
    leaseTransitions: previous === undefined ? 0 : keeps ? previous.leaseTransitions : previous.leaseTransitions + 1,
  };
}

/** The renewed record: only renewTime moves. */
export function renewedRecord(current: LeaderRecord, t: ElectionTimings, wallNow: Date): LeaderRecord {
  return { ...current, leaseDurationSeconds: Math.round(t.leaseDurationMs / 1000), renewTime: wallNow };
}

/** The released record, as client-go's release() writes it: no holder, 1 s duration, fresh times, same epoch. */
export function releasedRecord(current: LeaderRecord, wallNow: Date): LeaderRecord {
  return { holderIdentity: '', leaseDurationSeconds: 1, acquireTime: wallNow, renewTime: wallNow, leaseTransitions: current.leaseTransitions };
}

/** client-go's wait.Jitter: duration + random × factor × duration. */
export function jittered(durationMs: number, random: () => number, factor = JITTER_FACTOR): number {
  return durationMs + random() * factor * durationMs;
}
