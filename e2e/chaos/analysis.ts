// The verdict's raw material, computed the way `npm run e2e` computes its figures: polling intervals from
// the bots' own logs (test/harness/timeline.ts), gaps/two pollers/handled twice/lost by e2e/report/figures.ts,
// plus what a fault run must also know: start signals that reached a bot while another polled, the
// updates a SIGKILLed bot had in hand (Telegram redelivers an unconfirmed batch by design), the same for a bot
// whose whole pod was frozen, the largest batch the double handed out, 409s a live poller saw, and the Lease's
// epoch history.
import type { SimPod } from '../../test/harness/sim-pod.ts';
import { gaps, pollIntervals, readWorkerLog, type PollInterval, type WorkerLogLine } from '../../test/harness/timeline.ts';
import { figures, type Figures } from '../report/figures.ts';
import type { TelegramDouble } from '../telegram/server.ts';
import type { PollEvent, PollStart } from '../telegram/accounting.ts';
import type { LeaseVersion } from './lease-recorder.ts';
import { inFlightAt, repeats, unconfirmedOffset, type Freeze } from '../report/redelivery.ts';
import { withoutFrozen, type FrozenProcess } from '../report/frozen.ts';

/** A pod frozen whole from `from` to `to` (ms; Infinity while frozen); `pid` is its bot's at the freeze. */
export interface FrozenSpan extends FrozenProcess {
  pod: SimPod;
}

/**
 * What a frozen pod's bot did after its thaw. By rule F1 nothing, but for the end of the handler that was running
 * when it froze (F1's residual window: the fence is checked before each update, not inside a handler).
 */
export interface AfterThaw {
  /** getUpdates its pod sent after the thaw (the double's ledger; the pod's path prefix names it). */
  getUpdates: PollStart[];
  /** Updates the frozen process handled after the thaw (its own log), the one in flight included. */
  handled: number[];
  /** The update whose handler was running at the freeze, if any: the first of the batch in hand not handled before. */
  inFlight: number | undefined;
  /** Updates of the batch in hand at the freeze, and how many the bot had handled before it. */
  batch: readonly number[];
  handledBefore: number;
}

const updateOf = (l: WorkerLogLine): number => (l as unknown as { update: number }).update;

/** What `f`'s bot did after the thaw, from the double's ledger and the bots' log lines. */
export function afterThaw(f: FrozenSpan, lines: readonly WorkerLogLine[], requests: readonly PollEvent[], token: string): AfterThaw {
  const mine = requests.filter((r) => r.token === token && r.client === f.pod.opts.name);
  const last = mine.filter((r) => r.type === 'end' && r.written && r.at < f.from).at(-1);
  const batch = last?.type === 'end' ? last.updateIds : [];
  const before = new Set(lines.filter((l) => l.pid === f.pid && l.event === 'handled' && l.mono < f.from).map(updateOf));
  return {
    getUpdates: mine.filter((r): r is PollStart => r.type === 'start' && r.at >= f.to),
    handled: lines.filter((l) => l.pid === f.pid && l.event === 'handled' && l.mono >= f.to).map(updateOf),
    inFlight: inFlightAt(batch, before),
    batch,
    handledBefore: batch.filter((u) => before.has(u)).length,
  };
}

export interface AnalysisInput {
  pods: SimPod[];
  double: TelegramDouble;
  token: string;
  end: number;
  leaseVersions: LeaseVersion[];
  /** Pods frozen whole during the run (scenario pod-freeze). */
  freezes?: readonly FrozenSpan[];
}

export interface Analysis {
  end: number;
  intervals: PollInterval[];
  figures: Figures;
  /** ms with two or more bots polling. */
  twoPollersMs: number;
  /**
   * Extra handlings (from the bots' logs) baton answers for: every repeat but {@link redeliveredAfterKill} and
   * {@link redeliveredAfterFreeze}.
   */
  handledTwice: number;
  /** Extra handlings Telegram had to repeat: the unconfirmed batch of a bot that was SIGKILLed. */
  redeliveredAfterKill: number;
  /**
   * Extra handlings Telegram had to repeat: what a frozen bot handled before its freeze and never confirmed,
   * and the handler in flight at the freeze (e2e/report/redelivery.ts).
   */
  redeliveredAfterFreeze: number;
  lost: number;
  injected: number;
  /** Start signals (SIGUSR1) a bot received while another bot was polling. */
  startsWhileAnotherPolls: Array<{ name: string; pid: number; at: number; other: string }>;
  /** Stretches with no poller, from the first poll to the end. */
  gaps: Array<{ from: number; to: number; ms: number }>;
  /** Largest batch the double wrote to a live poller (updates). */
  maxBatch: number;
  /** 409s a live poller received: Telegram's own view of two pollers. */
  conflictsSeen: number;
  /** Where leaseTransitions fell between two versions of the Lease (S2), e.g. "5 → 0". */
  epochFalls: string[];
  leaseVersions: LeaseVersion[];
}

export function analyze(i: AnalysisInput): Analysis {
  const deaths = new Map(i.pods.flatMap((p) => [...p.deaths]));
  const lines = i.pods.flatMap((p) => readWorkerLog(p.workerLog));
  const requests = i.double.requests();
  const freezes = i.freezes ?? [];
  const intervals = withoutFrozen(
    i.pods.flatMap((p) => pollIntervals(readWorkerLog(p.workerLog), i.end, p.deaths)),
    freezes,
    (f) => {
      // The end of the handler in flight at the freeze is not polling (F1's residual window, counted apart).
      const after = afterThaw(f, lines, requests, i.token);
      return after.getUpdates.length > 0 || after.handled.some((u) => u !== after.inFlight);
    },
  );
  const handled = lines
    .filter((l) => l.event === 'handled')
    .map((l) => ({ update: (l as unknown as { update: number }).update, name: l.name, pid: l.pid, mono: l.mono }))
    .sort((a, b) => a.mono - b.mono);
  const injected = i.double.injected().filter((r) => r.updateId !== null && r.token === i.token);
  const conflicts = i.double.conflicts({ token: i.token });
  const f = figures({
    intervals,
    handled,
    injected: injected.map((r) => ({ updateId: r.updateId!, at: r.at })),
    conflicts409: conflicts.seen,
    conflicts409Unseen: conflicts.total - conflicts.seen,
    end: i.end,
    downtime: [],
    handoffs: 0,
  });

  // A SIGKILLed bot's last batch was never confirmed: Telegram hands it out again (e2e/report/redelivery.ts).
  const unconfirmedFloor = new Map<number, number>();
  for (const [pid, diedAt] of deaths) {
    const pod = i.pods.find((p) => readWorkerLog(p.workerLog).some((l) => l.pid === pid));
    const offset = pod && unconfirmedOffset(requests, i.token, pod.opts.name, diedAt);
    if (offset !== undefined) unconfirmedFloor.set(pid, offset);
  }
  // So was what a frozen bot handled before the freeze.
  const frozen = new Map<number, Freeze>();
  for (const f of freezes) {
    const offset = unconfirmedOffset(requests, i.token, f.pod.opts.name, f.from);
    if (offset !== undefined) frozen.set(f.pid, { offset, at: f.from, inFlight: afterThaw(f, lines, requests, i.token).inFlight });
  }
  const r = repeats(
    handled.map((h) => ({ update: h.update, process: h.pid, mono: h.mono })),
    unconfirmedFloor,
    frozen,
  );

  const startsWhileAnotherPolls: Analysis['startsWhileAnotherPolls'] = [];
  for (const l of lines) {
    if (l.event !== 'signal' || l.signal !== 'SIGUSR1') continue;
    const other = intervals.find((iv) => iv.pid !== l.pid && iv.from < l.mono && l.mono < iv.to);
    if (other) startsWhileAnotherPolls.push({ name: l.name, pid: l.pid, at: l.mono, other: `${other.name}(${other.pid})` });
  }

  const ends = i.double.requests().filter((r) => r.type === 'end' && r.token === i.token && r.written);
  const maxBatch = Math.max(0, ...ends.map((r) => (r.type === 'end' ? r.updateIds.length : 0)));

  const epochFalls: string[] = [];
  let highest = -1;
  for (const v of i.leaseVersions) {
    if (v.type === 'DELETED') continue;
    if (v.transitions < highest) epochFalls.push(`${highest} → ${v.transitions} (holder ${v.holder || '""'})`);
    highest = Math.max(highest, v.transitions);
  }

  const start = Math.min(...intervals.map((x) => x.from));
  return {
    end: i.end,
    intervals,
    figures: f,
    twoPollersMs: f.twoPollersMs,
    handledTwice: r.extra.length - r.afterKill.length - r.afterFreeze.length,
    redeliveredAfterKill: r.afterKill.length,
    redeliveredAfterFreeze: r.afterFreeze.length,
    lost: f.lost,
    injected: injected.length,
    startsWhileAnotherPolls,
    gaps: Number.isFinite(start) ? gaps(intervals, start, i.end) : [],
    maxBatch,
    conflictsSeen: conflicts.seen,
    epochFalls,
    leaseVersions: i.leaseVersions,
  };
}

/** The longest stretch without a poller that overlaps [from, to]. */
export function longestGapIn(a: Analysis, from: number, to = a.end): { from: number; to: number; ms: number } | undefined {
  return a.gaps.filter((g) => g.to > from && g.from < to).sort((x, y) => y.ms - x.ms)[0];
}
