// The bounds the rules predict, each computed from a scenario's timings together with the formula a verdict
// prints beside it ("≤ 20.40 s (LD + 2.2·RP + 1 s)"): the value and its text come from the same terms, so they
// cannot drift apart.
import { DEFAULT_WORKER_GRACE_MS, JITTER_MAX } from '../../src/defaults.ts';
import { defaultRenewIntervalMs, requestTimeoutMs } from '../../src/election/rules.ts';
import { fmt, secs } from './verdict.ts';
import type { Timings } from './world.ts';

/** client-go's JitterFactor as a multiplier: a standby's backstop retry waits retryPeriod × [1, 2.2). */
export { JITTER_MAX };
/** Time for a signal, a worker's start and one scheduling hiccup on a loaded 2-core machine. */
export const SLACK_MS = 1000;
/** `BATON_WORKER_GRACE`'s default (rule L1). */
export const WORKER_GRACE_MS = DEFAULT_WORKER_GRACE_MS;

/** One term of a bound: its value, and its name in the formula (subtracted when `minus`). */
export interface Term {
  ms: number;
  name: string;
  minus?: boolean;
}

/** A bound: the sum of its terms, and the formula that says so ("LD + 2.2·RP + 1 s"). */
export interface Bound {
  ms: number;
  formula: string;
}

export function bound(...terms: Term[]): Bound {
  return {
    ms: terms.reduce((sum, x) => (x.minus ? sum - x.ms : sum + x.ms), 0),
    formula: terms.map((x, i) => (i === 0 ? x.name : `${x.minus ? '−' : '+'} ${x.name}`)).join(' '),
  };
}

/** `x` subtracted: `bound(LD, minus(RD))` is "LD − RD". */
export const minus = (x: Term): Term => ({ ...x, minus: true });

/** A standby's backstop: the longest wait of its jittered retry, 2.2·RP. */
export const backstop = (retryPeriodMs: number): Term => ({ ms: JITTER_MAX * retryPeriodMs, name: `${JITTER_MAX}·RP` });
/** The slack every bound allows ({@link SLACK_MS}). */
export const SLACK: Term = { ms: SLACK_MS, name: '1 s' };

/** The terms of a scenario's timings, named as docs/protocol.md names them. */
export function terms(t: Timings) {
  const rt = requestTimeoutMs(t);
  return {
    LD: { ms: t.leaseDurationMs, name: 'LD' },
    RD: { ms: t.renewDeadlineMs, name: 'RD' },
    backstop: backstop(t.retryPeriodMs),
    RI: { ms: defaultRenewIntervalMs(t), name: 'RI' },
    RT: { ms: rt, name: 'RT' },
    requestTimeout: { ms: rt, name: 'request timeout' },
    pauseAck: { ms: t.pauseAckTimeoutMs, name: 'pause-ack timeout' },
    grace: { ms: WORKER_GRACE_MS, name: 'grace' },
    slack: SLACK,
  } satisfies Record<string, Term>;
}

/** "≤ 20.40 s after the freeze (LD + 2.2·RP + 1 s)": a bound as a check prints it (`where` is optional). */
export function atMost(b: Bound, where?: string): string {
  return `≤ ${fmt(b.ms)}${where ? ` ${where}` : ''} (${b.formula})`;
}

/** "≥ 15 s (LD)": a lower bound as a check prints it. */
export function atLeast(b: Bound): string {
  return `≥ ${secs(b.ms)} (${b.formula})`;
}
