// The figures a user asks for after a rollout: how long did nobody poll, did two ever poll at once,
// was anything handled twice or never, and how late were updates handled. Computed from the bots'
// own logs (polling-start/stop, handled) and the Telegram double's accounting.
import { gaps, overlap, type PollInterval } from '../../test/harness/timeline.ts';

export interface HandledRecord {
  update: number;
  name: string;
  mono: number;
}

export interface Injected {
  updateId: number;
  at: number;
}

export interface Figures {
  handoffs: number;
  /** Stretches with no poller, outside intended downtime (scale to 0). */
  gapMs: { max: number; p95: number; p50: number; total: number; count: number };
  /** Time with two or more pollers. */
  twoPollersMs: number;
  /** 409s a live poller received: two pollers at once (what users see as "Conflict" errors). */
  conflicts409: number;
  /**
   * 409s the double decided for a poll nobody was waiting for any more: a paused bot's aborted long
   * poll stays parked at Telegram until the next poller evicts it. Harmless; shown for transparency.
   */
  conflicts409Unseen: number;
  /**
   * Extra handlings (an update handled n times counts n − 1), whatever the cause: this analysis knows no faults.
   * The fault suite and the real node count a killed or frozen bot's redelivered batch apart
   * (`redeliveredAfterKill`, `redeliveredAfterFreeze`) and keep the rest as their `handledTwice`.
   */
  handledTwice: number;
  lost: number;
  latencyMs: { p50: number; p99: number; max: number };
  /** The graceful rolling updates alone (before any SIGKILL or scaling): what users see on every deploy. */
  rollouts: { gapMaxMs: number; gapP50Ms: number; latencyP99Ms: number };
  /** The gap after the SIGKILL, if the scenario had one. */
  crashFailoverMs: number | undefined;
  handled: number;
  injected: number;
}

export function percentile(xs: number[], p: number): number {
  if (xs.length === 0) return 0;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
}

const r1 = (x: number) => Math.round(x * 10) / 10;

export interface FigureInput {
  intervals: PollInterval[];
  handled: HandledRecord[];
  injected: Injected[];
  conflicts409: number;
  conflicts409Unseen: number;
  /** From the first poll to this instant is measured. */
  end: number;
  /** Windows of intended downtime (scale to 0), excluded from gaps. */
  downtime: Array<{ from: number; to: number }>;
  handoffs: number;
  /** When the rolling updates ended (the SIGKILL, if any, comes after). */
  rolloutsEnd?: number;
  /** When the leader was SIGKILLed. */
  killedAt?: number;
}

export function figures(i: FigureInput): Figures {
  const start = Math.min(...i.intervals.map((x) => x.from));
  // Intended downtime counts as if someone polled: it is no gap of the handoff machinery.
  const covering = [...i.intervals, ...i.downtime.map((d) => ({ name: 'downtime', pid: 0, from: d.from, to: d.to, cut: false }))];
  const spans = gaps(covering, start, i.end);
  const holes = spans.map((g) => g.ms);
  const rolloutsEnd = i.rolloutsEnd ?? i.end;
  const rolloutHoles = spans.filter((g) => g.to <= rolloutsEnd).map((g) => g.ms);
  const crash = i.killedAt === undefined ? undefined : spans.find((g) => g.to > i.killedAt! && g.from <= i.killedAt! + 1000);
  const seen = new Map<number, number>();
  for (const h of i.handled) seen.set(h.update, (seen.get(h.update) ?? 0) + 1);
  const firstHandled = new Map<number, number>();
  for (const h of [...i.handled].sort((a, b) => a.mono - b.mono)) if (!firstHandled.has(h.update)) firstHandled.set(h.update, h.mono);
  const latencyOf = (u: Injected) => firstHandled.get(u.updateId)! - u.at;
  const latencies = i.injected.filter((u) => firstHandled.has(u.updateId)).map(latencyOf);
  const rolloutLatencies = i.injected.filter((u) => firstHandled.has(u.updateId) && u.at < rolloutsEnd).map(latencyOf);
  return {
    handoffs: i.handoffs,
    gapMs: {
      max: r1(Math.max(0, ...holes)),
      p95: r1(percentile(holes, 95)),
      p50: r1(percentile(holes, 50)),
      total: r1(holes.reduce((a, b) => a + b, 0)),
      count: holes.length,
    },
    twoPollersMs: r1(overlap(i.intervals).totalMs),
    conflicts409: i.conflicts409,
    conflicts409Unseen: i.conflicts409Unseen,
    handledTwice: [...seen.values()].filter((n) => n > 1).reduce((a, n) => a + n - 1, 0),
    lost: i.injected.filter((u) => !seen.has(u.updateId)).length,
    latencyMs: { p50: r1(percentile(latencies, 50)), p99: r1(percentile(latencies, 99)), max: r1(Math.max(0, ...latencies)) },
    rollouts: { gapMaxMs: r1(Math.max(0, ...rolloutHoles)), gapP50Ms: r1(percentile(rolloutHoles, 50)), latencyP99Ms: r1(percentile(rolloutLatencies, 99)) },
    crashFailoverMs: crash === undefined ? undefined : r1(crash.ms),
    handled: seen.size,
    injected: i.injected.length,
  };
}
