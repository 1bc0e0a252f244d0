// Reads the fixture workers' logs and answers the questions every scenario asks: who polled when,
// did two ever poll at once (overlap), and how long did nobody poll (gap).
import { existsSync, readFileSync } from 'node:fs';

export interface WorkerLogLine {
  t: number;
  mono: number;
  pid: number;
  name: string;
  event: string;
  signal?: string;
  pause?: number | null;
  status?: number;
}

export interface PollInterval {
  name: string;
  pid: number;
  /** Epoch milliseconds with sub-millisecond precision (performance.timeOrigin + now()). */
  from: number;
  to: number;
  /** The interval ended because the process died (SIGKILL), not by a pause. */
  cut: boolean;
}

/**
 * The log's complete lines. The bot may be writing while this reads (a scenario waits on its log): what follows
 * the last newline is a line still being written, left for the next read — parsed, it threw, and the chaos
 * verdict's wait for the backlog ended early and counted the rest of the backlog lost (datastore-stopped, ci-local).
 */
export function readWorkerLog(path: string): WorkerLogLine[] {
  if (!existsSync(path)) return [];
  const lines = readFileSync(path, 'utf8').split('\n');
  lines.pop(); // '' after the last newline, or the line being written
  return lines.filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as WorkerLogLine);
}

/**
 * Polling intervals from log lines. A process that was killed while polling is closed at `deaths[pid]`
 * (when the harness killed it), or at `end` when still polling.
 */
export function pollIntervals(lines: WorkerLogLine[], end: number, deaths: Map<number, number> = new Map()): PollInterval[] {
  const open = new Map<number, WorkerLogLine>();
  const out: PollInterval[] = [];
  for (const l of [...lines].sort((a, b) => a.mono - b.mono)) {
    if (l.event === 'polling-start' && !open.has(l.pid)) open.set(l.pid, l);
    if ((l.event === 'polling-stop' || l.event === 'exit') && open.has(l.pid)) {
      const s = open.get(l.pid)!;
      out.push({ name: s.name, pid: s.pid, from: s.mono, to: l.mono, cut: false });
      open.delete(l.pid);
    }
  }
  for (const [pid, s] of open) {
    const death = deaths.get(pid);
    out.push({ name: s.name, pid, from: s.mono, to: death ?? end, cut: death !== undefined });
  }
  return out.sort((a, b) => a.from - b.from);
}

/** Total time (ms) during which two or more workers polled at once, and the pairs involved. */
export function overlap(intervals: PollInterval[]): { totalMs: number; pairs: Array<[PollInterval, PollInterval, number]> } {
  const pairs: Array<[PollInterval, PollInterval, number]> = [];
  let totalMs = 0;
  for (let i = 0; i < intervals.length; i++) {
    for (let j = i + 1; j < intervals.length; j++) {
      const a = intervals[i]!;
      const b = intervals[j]!;
      const o = Math.min(a.to, b.to) - Math.max(a.from, b.from);
      if (o > 0) {
        pairs.push([a, b, o]);
        totalMs += o;
      }
    }
  }
  return { totalMs, pairs };
}

/** The stretches (ms) with no worker polling between `from` and `to`. */
export function gaps(intervals: PollInterval[], from: number, to: number): Array<{ from: number; to: number; ms: number }> {
  const sorted = [...intervals].sort((a, b) => a.from - b.from);
  const out: Array<{ from: number; to: number; ms: number }> = [];
  let cursor = from;
  for (const iv of sorted) {
    if (iv.from > cursor) out.push({ from: cursor, to: Math.min(iv.from, to), ms: Math.min(iv.from, to) - cursor });
    cursor = Math.max(cursor, iv.to);
    if (cursor >= to) break;
  }
  if (cursor < to) out.push({ from: cursor, to, ms: to - cursor });
  return out.filter((g) => g.ms > 0);
}

/** A readable one-line-per-interval description, for assertion messages. */
export function describeIntervals(intervals: PollInterval[]): string {
  const t0 = intervals[0]?.from ?? 0;
  return intervals.map((i) => `${i.name}(${i.pid}) ${(i.from - t0).toFixed(1)}→${(i.to - t0).toFixed(1)} ms${i.cut ? ' (killed)' : ''}`).join('\n');
}
