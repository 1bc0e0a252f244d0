// Each graceful handoff as the user feels it, from the bots' own logs: from the pause signal the old
// bot received to the new bot's polling-start (the "handoff"), and how much of it the old bot's pause
// took (stop fetching, finish the batch, confirm the offset). An idle bot and a loaded one are
// measured apart: an idle bot's pause used to wait on Telegram's 3 s same-offset rule.
import { percentile } from './figures.ts';
import type { WorkerLogLine } from '../../test/harness/timeline.ts';

/** One graceful handoff. */
export interface Handoff {
  /** The old bot received its pause signal (ms, performance.timeOrigin + now()). */
  signalAt: number;
  /** Pause signal → the old bot's pause finished (polling-stop). */
  pauseMs: number;
  /** Pause signal → the new bot's polling-start. */
  handoffMs: number;
}

/** Figures over several handoffs. */
export interface HandoffFigures {
  n: number;
  p50: number;
  p95: number;
  max: number;
  /** The old bot's pause alone. */
  pauseP50: number;
  pauseMax: number;
}

/** The handoffs found in `lines` (all bots' logs together) whose pause signal falls in [from, to). */
export function handoffs(lines: WorkerLogLine[], from = -Infinity, to = Infinity): Handoff[] {
  const out: Handoff[] = [];
  let polling: number | undefined;
  let pending: { pid: number; at: number; stoppedAt?: number } | undefined;
  for (const l of [...lines].sort((a, b) => a.mono - b.mono)) {
    if (l.event === 'signal' && l.signal === 'SIGUSR2' && l.pid === polling && pending === undefined) pending = { pid: l.pid, at: l.mono };
    else if (l.event === 'polling-stop' && l.pid === polling) {
      polling = undefined;
      if (pending?.pid === l.pid) pending.stoppedAt = l.mono;
    } else if (l.event === 'polling-start') {
      if (pending && l.pid !== pending.pid && pending.stoppedAt !== undefined && pending.at >= from && pending.at < to) {
        out.push({ signalAt: pending.at, pauseMs: pending.stoppedAt - pending.at, handoffMs: l.mono - pending.at });
      }
      pending = undefined;
      polling = l.pid;
    }
  }
  return out;
}

const r1 = (x: number) => Math.round(x * 10) / 10;

/** p50/p95/max of the handoffs, and of their pauses. */
export function handoffFigures(hs: Handoff[]): HandoffFigures {
  const h = hs.map((x) => x.handoffMs);
  const p = hs.map((x) => x.pauseMs);
  return {
    n: hs.length,
    p50: r1(percentile(h, 50)),
    p95: r1(percentile(h, 95)),
    max: r1(h.length ? Math.max(...h) : 0),
    pauseP50: r1(percentile(p, 50)),
    pauseMax: r1(p.length ? Math.max(...p) : 0),
  };
}
