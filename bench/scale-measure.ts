// The arithmetic of `npm run bench:scale`, kept pure so it is unit-tested (test/unit/bench/scale-measure.test.ts):
// reading the API server's own request counters, a process's CPU and memory from /proc, and percentiles.
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

/** `apiserver_request_total` summed by verb (GET, LIST, WATCH, PUT, POST, …) over every resource and code. */
export type VerbCounts = Record<string, number>;

/**
 * Sums `apiserver_request_total` samples of a Prometheus text exposition by their `verb` label. Only
 * `resource` values in `resources` count when given (e.g. `['leases']`): the bench's own scrapes of
 * /metrics and the harness' set-up calls are then left out.
 */
export function requestsByVerb(metricsText: string, resources?: readonly string[]): VerbCounts {
  const out: VerbCounts = {};
  for (const m of metricsText.matchAll(/^apiserver_request_total\{([^}]*)\} (\S+)$/gm)) {
    const labels = parseLabels(m[1]!);
    if (resources && !resources.includes(labels.resource ?? '')) continue;
    const verb = labels.verb ?? '?';
    out[verb] = (out[verb] ?? 0) + Number(m[2]);
  }
  return out;
}

/** Codes of `apiserver_request_total` summed over the given resources: shows 429s (APF) and 5xx at a glance. */
export function requestsByCode(metricsText: string, resources: readonly string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const m of metricsText.matchAll(/^apiserver_request_total\{([^}]*)\} (\S+)$/gm)) {
    const labels = parseLabels(m[1]!);
    if (!resources.includes(labels.resource ?? '')) continue;
    const code = labels.code ?? '?';
    out[code] = (out[code] ?? 0) + Number(m[2]);
  }
  return out;
}

/** The value of one unlabelled-or-labelled gauge sample, summed when several label sets match `filter`. */
export function gaugeSum(metricsText: string, name: string, filter: (labels: Record<string, string>) => boolean = () => true): number {
  let sum = 0;
  const re = new RegExp(`^${name}(?:\\{([^}]*)\\})? (\\S+)$`, 'gm');
  for (const m of metricsText.matchAll(re)) if (filter(parseLabels(m[1] ?? ''))) sum += Number(m[2]);
  return sum;
}

/** `a − b` per key (keys missing from `b` count from 0). */
export function delta(a: VerbCounts, b: VerbCounts): VerbCounts {
  const out: VerbCounts = {};
  for (const [k, v] of Object.entries(a)) out[k] = v - (b[k] ?? 0);
  return out;
}

function parseLabels(text: string): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const m of text.matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[m[1]!] = m[2]!;
  return labels;
}

/**
 * utime + stime of a process, in clock ticks, from the text of `/proc/PID/stat`. The command name (field 2)
 * may hold spaces and parentheses, so fields are counted after its last `)`.
 */
export function cpuTicks(statText: string): number {
  const rest = statText.slice(statText.lastIndexOf(')') + 2).split(' ');
  // After ")": state is field 3, so utime (14) and stime (15) are at 11 and 12 of the rest.
  return Number(rest[11]) + Number(rest[12]);
}

/** VmRSS in MB from the text of `/proc/PID/status`. */
export function rssMB(statusText: string): number {
  const m = /^VmRSS:\s+(\d+) kB$/m.exec(statusText);
  if (!m) throw new Error('no VmRSS line (the process has exited?)');
  return Number(m[1]) / 1024;
}

/** CPU used between two tick readings over `seconds`, as % of one core (USER_HZ is 100 on Linux). */
export function cpuPercent(ticksBefore: number, ticksAfter: number, seconds: number, hz = 100): number {
  return ((ticksAfter - ticksBefore) / hz / seconds) * 100;
}

/** Nearest-rank percentile (`p` in 0–100) of `xs`; NaN when empty. */
export function percentile(xs: readonly number[], p: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
}

/** A process's CPU ticks and RSS, read from /proc. */
export function readProc(pid: number): { ticks: number; rssMB: number } {
  return { ticks: cpuTicks(readFileSync(`/proc/${pid}/stat`, 'utf8')), rssMB: rssMB(readFileSync(`/proc/${pid}/status`, 'utf8')) };
}

/** The pid of the process whose command line starts with a path ending in `/name` and mentions `marker`. */
export function findPid(name: string, marker: string): number {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let argv: string[];
    try {
      argv = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
    } catch {
      continue; // gone meanwhile
    }
    if ((argv[0] === name || argv[0]!.endsWith(`/${name}`)) && argv.some((a) => a.includes(marker))) return Number(entry);
  }
  throw new Error(`no ${name} process mentioning ${marker}`);
}

/**
 * Time a task ran and time it sat runnable waiting for a CPU, in ns, from the text of
 * `/proc/PID/task/TID/schedstat` ("run_ns wait_ns timeslices"). Waiting time is what a shared machine
 * steals: a process that waits as long as it runs got half the CPU it asked for.
 */
export function schedstat(text: string): { runNs: number; waitNs: number } {
  const [run, wait] = text.trim().split(/\s+/).map(Number);
  return { runNs: run!, waitNs: wait! };
}

/** Run and wait time summed over a process's threads (threads that exited in between are not counted). */
export function readSchedstat(pid: number): { runNs: number; waitNs: number } {
  let runNs = 0;
  let waitNs = 0;
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const s = schedstat(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8'));
      runNs += s.runNs;
      waitNs += s.waitNs;
    } catch {
      // the thread exited meanwhile
    }
  }
  return { runNs, waitNs };
}

/**
 * The `q` quantile (0–1) of the observations a Prometheus histogram gained between two scrapes, over the
 * series of `name` whose labels pass `filter`, interpolated linearly inside the bucket as PromQL's
 * histogram_quantile does. NaN when nothing was observed.
 */
export function histogramQuantile(before: string, after: string, name: string, filter: (labels: Record<string, string>) => boolean, q: number): number {
  const buckets = (text: string) => {
    const byLe = new Map<number, number>();
    for (const m of text.matchAll(new RegExp(`^${name}_bucket\\{([^}]*)\\} (\\S+)$`, 'gm'))) {
      const labels = parseLabels(m[1]!);
      if (!filter(labels)) continue;
      const le = labels.le === '+Inf' ? Infinity : Number(labels.le);
      byLe.set(le, (byLe.get(le) ?? 0) + Number(m[2]));
    }
    return byLe;
  };
  const b0 = buckets(before);
  const rows = [...buckets(after)].map(([le, n]) => ({ le, n: n - (b0.get(le) ?? 0) })).sort((a, b) => a.le - b.le);
  const total = rows.at(-1)?.n ?? 0;
  if (total <= 0) return NaN;
  const rank = q * total;
  let lower = 0;
  let below = 0;
  for (const { le, n } of rows) {
    if (n >= rank) {
      // In the +Inf bucket the answer is the highest finite bound, as in PromQL.
      if (le === Infinity) return lower;
      return lower + (le - lower) * ((rank - below) / Math.max(n - below, 1e-12));
    }
    lower = le;
    below = n;
  }
  return lower;
}

/** How many sockets a process holds open (its fds that link to `socket:[…]`): its TCP connections and IPC. */
export function socketCount(pid: number): number {
  let n = 0;
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      if (readlinkSync(`/proc/${pid}/fd/${fd}`).startsWith('socket:')) n++;
    } catch {
      // closed meanwhile
    }
  }
  return n;
}

/**
 * How bunched a stream of events is: counts per `binMs` bin from the first to the last event, as the mean,
 * the 99th percentile and the largest bin. Renewals spread evenly over the retry period give a p99 near the
 * mean; renewals that fire together (timers made late by one stall, then kept in step) give peaks.
 */
export function bunching(times: readonly number[], binMs: number): { mean: number; p99: number; max: number } {
  if (times.length === 0) return { mean: NaN, p99: NaN, max: NaN };
  const first = Math.min(...times);
  const bins = new Array<number>(Math.floor((Math.max(...times) - first) / binMs) + 1).fill(0);
  for (const t of times) bins[Math.floor((t - first) / binMs)]!++;
  return { mean: times.length / bins.length, p99: percentile(bins, 99), max: Math.max(...bins) };
}
