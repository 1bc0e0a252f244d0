// Which processes of the host used the CPU while the handoffs' gaps were open (`npm run e2e:node -- --cpu`):
// the sampler (e2e/node/cpu-sampler.ts) reads each process's CPU time every few ms; this sums, per kind of
// process, what it used between the samples that frame each gap (old bot paused → new bot polling).

import type { HandoffTimeline } from './handoff-timeline.ts';

/** One reading: ms since the epoch, and each process's CPU time so far (user + system, ms) by pid. */
export interface CpuSample {
  t: number;
  cpuMs: Record<string, number>;
}

/** A span of host time, ms since the epoch. */
export interface Window {
  from: number;
  to: number;
}

export interface CpuDuringGaps {
  /** The gaps' total length as the samples frame them (each from the last sample at or before its start to the first at or after its end). */
  windowMs: number;
  /** CPU time the host had in those windows: `windowMs` × its CPUs. */
  capacityMs: number;
  /** CPU time used in the windows, per kind of process, most first. */
  rows: Array<{ process: string; cpuMs: number }>;
}

/** Each handoff's gap on the host's clock: its old bot paused → its new bot polling (handoffs missing either are left out). */
export function gapWindows(handoffs: readonly HandoffTimeline[]): Window[] {
  return handoffs.flatMap((h) => {
    const { 'bot-paused': paused, 'polling-start': polling } = h.steps;
    return paused !== undefined && polling !== undefined ? [{ from: h.at + paused, to: h.at + polling }] : [];
  });
}

/** The index of the first sample at or after `t` (samples.length: none). */
function firstIndexAtOrAfter(samples: readonly CpuSample[], t: number): number {
  let lo = 0;
  let hi = samples.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (samples[mid]!.t < t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * Sums each kind of process's CPU time over the windows. `kindOf` names a pid's kind (pids of one kind —
 * the sidecars of several pods — add up); a pid absent from either framing sample (started or ended inside
 * the window) counts from its first or to its last reading inside it, 0 if it has none. A window the samples
 * do not frame is left out.
 */
export function cpuDuringGaps(samples: readonly CpuSample[], windows: readonly Window[], kindOf: (pid: string) => string, cpus: number): CpuDuringGaps {
  const used = new Map<string, number>();
  let windowMs = 0;
  for (const w of windows) {
    const i = firstIndexAtOrAfter(samples, w.from);
    const a = samples[i]?.t === w.from ? samples[i] : samples[i - 1];
    const b = samples[firstIndexAtOrAfter(samples, w.to)];
    if (!a || !b || b.t <= a.t) continue;
    windowMs += b.t - a.t;
    const inside = samples.filter((s) => s.t >= a.t && s.t <= b.t);
    const pids = new Set(inside.flatMap((s) => Object.keys(s.cpuMs)));
    for (const pid of pids) {
      const seen = inside.filter((s) => s.cpuMs[pid] !== undefined);
      const ms = seen.at(-1)!.cpuMs[pid]! - seen[0]!.cpuMs[pid]!;
      if (ms <= 0) continue;
      const kind = kindOf(pid);
      used.set(kind, (used.get(kind) ?? 0) + ms);
    }
  }
  const rows = [...used].map(([process, cpuMs]) => ({ process, cpuMs })).sort((x, y) => y.cpuMs - x.cpuMs);
  return { windowMs, capacityMs: windowMs * cpus, rows };
}

/** The figures as a Markdown table, with each kind's share of the host's CPU in the windows. */
export function cpuTable(c: CpuDuringGaps, gaps: number): string {
  const pct = (ms: number) => (c.capacityMs > 0 ? `${((100 * ms) / c.capacityMs).toFixed(0)} %` : '-');
  const total = c.rows.reduce((s, r) => s + r.cpuMs, 0);
  return [
    `CPU used on the host while the gaps were open (${gaps} gaps, ${c.windowMs.toFixed(0)} ms in all, ${c.capacityMs.toFixed(0)} ms of CPU)`,
    '| process | CPU ms | share of the host |',
    '|---|---|---|',
    ...c.rows.map((r) => `| ${r.process} | ${r.cpuMs.toFixed(0)} | ${pct(r.cpuMs)} |`),
    `| all sampled | ${total.toFixed(0)} | ${pct(total)} |`,
  ].join('\n');
}
