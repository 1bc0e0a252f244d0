import { readFileSync } from 'node:fs';
import { ProcFs, signalNumber, type ProcStat } from './procfs.ts';

/** Which process is the worker: by container (recommended), by command line, or by a pid file. */
export type TargetSelector = { kind: 'container'; name: string } | { kind: 'command'; pattern: RegExp } | { kind: 'pidFile'; path: string };

/** A process that matches the selector, as seen in one scan. */
export interface Target {
  pid: number;
  /** `/proc/PID/stat` field 22: with `pid`, tells a restarted worker from the old one (PID reuse). */
  startTime: number;
  cmdline: string[];
  /** `SigCgt` has the start signal. Node always catches SIGUSR1 (its inspector), so this alone proves nothing. */
  catchesStart: boolean;
  catchesPause: boolean;
}

/** The outcome of a scan: a target, or a sentence that says what is wrong and how to fix it. */
export type FindResult = { found: true; target: Target; ambiguity?: string } | { found: false; problem: string };

/** A fresh look at a known target just before it is signalled. */
export type TargetCheck = 'ready' | 'no-handlers' | 'gone';

/** What the controller needs from a finder; a stub in unit tests. */
export interface TargetSource {
  /** The signals the target must catch, and the ones the controller sends. */
  readonly startSignal: NodeJS.Signals;
  readonly pauseSignal: NodeJS.Signals;
  find(): FindResult;
  check(target: Pick<Target, 'pid' | 'startTime'>): TargetCheck;
}

export interface TargetFinderOptions {
  selector: TargetSelector;
  /** Default `SIGUSR1`. */
  startSignal?: NodeJS.Signals;
  /** Default `SIGUSR2`. */
  pauseSignal?: NodeJS.Signals;
  proc?: ProcFs;
  /** `status.containerStatuses[].containerID` of the selected container (`containerd://…`), once known. */
  containerId?: () => string | undefined;
  /** baton's own pid: it and its ancestors are never a target. */
  selfPid?: number;
}

interface Candidate extends Target {
  ppid: number;
}

/** Finds the worker process in the shared process namespace. */
export class TargetFinder implements TargetSource {
  readonly startSignal: NodeJS.Signals;
  readonly pauseSignal: NodeJS.Signals;
  private readonly selector: TargetSelector;
  private readonly proc: ProcFs;
  private readonly containerId: () => string | undefined;
  private readonly selfPid: number;
  private readonly startNo: number;
  private readonly pauseNo: number;
  /** A copy without `g`/`y`: a stateful `lastIndex` would make every other `test()` fail. */
  private readonly pattern: RegExp | undefined;

  constructor(opts: TargetFinderOptions) {
    this.selector = opts.selector;
    this.proc = opts.proc ?? new ProcFs();
    this.containerId = opts.containerId ?? (() => undefined);
    this.selfPid = opts.selfPid ?? process.pid;
    this.startSignal = opts.startSignal ?? 'SIGUSR1';
    this.pauseSignal = opts.pauseSignal ?? 'SIGUSR2';
    this.startNo = requireSignal(this.startSignal);
    this.pauseNo = requireSignal(this.pauseSignal);
    if (this.startNo === this.pauseNo) throw new Error(`the start and pause signals must differ (both are ${this.startSignal})`);
    const sel = opts.selector;
    this.pattern = sel.kind === 'command' ? new RegExp(sel.pattern.source, sel.pattern.flags.replace(/[gy]/g, '')) : undefined;
  }

  find(): FindResult {
    const excluded = this.selfAndAncestors();
    switch (this.selector.kind) {
      case 'pidFile':
        return this.findByPidFile(this.selector.path, excluded);
      case 'command':
        return this.findByCommand(this.selector.pattern, excluded);
      case 'container':
        return this.findByContainer(this.selector.name, excluded);
    }
  }

  check(target: Pick<Target, 'pid' | 'startTime'>): TargetCheck {
    const stat = this.proc.stat(target.pid);
    if (!stat || stat.startTime !== target.startTime || isDead(stat)) return 'gone';
    const status = this.proc.status(target.pid);
    if (!status) return 'gone';
    return status.caught.has(this.startNo) && status.caught.has(this.pauseNo) ? 'ready' : 'no-handlers';
  }

  private findByPidFile(path: string, excluded: ReadonlySet<number>): FindResult {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? String(err);
      return {
        found: false,
        problem: `cannot read the pid file ${path} (BATON_TARGET_PID_FILE): ${code}; the worker must write its pid there, on a volume shared with the sidecar`,
      };
    }
    const trimmed = text.trim();
    if (!/^\d+$/.test(trimmed) || Number(trimmed) <= 0 || !Number.isSafeInteger(Number(trimmed))) {
      return {
        found: false,
        problem: `the pid file ${path} (BATON_TARGET_PID_FILE) does not hold a decimal pid (it holds ${JSON.stringify(trimmed.slice(0, 40))})`,
      };
    }
    const pid = Number(trimmed);
    if (excluded.has(pid)) {
      return { found: false, problem: `the pid file ${path} names ${pid}, which is baton itself or its parent; it must name the worker` };
    }
    const c = this.candidate(pid);
    if (!c) {
      return { found: false, problem: `pid ${pid} from the pid file ${path} is not running (or not visible: the pod needs shareProcessNamespace: true)` };
    }
    return { found: true, target: toTarget(c) };
  }

  private findByCommand(pattern: RegExp, excluded: ReadonlySet<number>): FindResult {
    const matched: Candidate[] = [];
    for (const pid of this.proc.pids()) {
      if (excluded.has(pid)) continue;
      const cmdline = this.proc.cmdline(pid);
      if (!cmdline?.length || !this.pattern!.test(cmdline.join(' '))) continue;
      const c = this.candidate(pid, cmdline);
      if (c) matched.push(c);
    }
    if (matched.length === 0) {
      return {
        found: false,
        problem:
          `no process matches BATON_TARGET_COMMAND ${String(pattern)} (matched against /proc/PID/cmdline joined by spaces); ` +
          `check the pattern and that the pod has shareProcessNamespace: true`,
      };
    }
    return this.choose(matched, `BATON_TARGET_COMMAND ${String(pattern)}`);
  }

  private findByContainer(name: string, excluded: ReadonlySet<number>): FindResult {
    const raw = this.containerId();
    // `containerd://0123…`, `cri-o://…`, `docker://…`: the cgroup path holds only the bare id.
    const id = raw?.replace(/^[a-z][a-z0-9+.-]*:\/\//i, '').trim();
    if (!id) {
      return {
        found: false,
        problem: `the id of container "${name}" is not known yet (status.containerStatuses[].containerID is empty until it starts); waiting`,
      };
    }
    const matched: Candidate[] = [];
    for (const pid of this.proc.pids()) {
      if (excluded.has(pid)) continue;
      if (!this.proc.cgroup(pid)?.includes(id)) continue;
      const c = this.candidate(pid);
      if (c) matched.push(c);
    }
    if (matched.length === 0) {
      return {
        found: false,
        problem:
          `no process in container "${name}" (no /proc/PID/cgroup contains ${id.slice(0, 12)}); ` +
          `check BATON_TARGET_CONTAINER and that the pod has shareProcessNamespace: true`,
      };
    }
    return this.choose(matched, `container "${name}"`);
  }

  /**
   * Several matches: prefer those that catch both signals; among them the top-most (whose parent is
   * not one of them: `sh -c "node bot.js"` → node once only node has handlers, else sh); then the oldest.
   * Only unrelated top-most processes are ambiguous, and that is reported, never fatal.
   */
  private choose(matched: Candidate[], what: string): FindResult {
    const ready = matched.filter((c) => c.catchesStart && c.catchesPause);
    const pool = ready.length > 0 ? ready : matched;
    const pids = new Set(pool.map((c) => c.pid));
    const top = pool.filter((c) => !pids.has(c.ppid));
    // A cycle is impossible in a real tree; keep the whole pool if a fake one has no root.
    const finalists = (top.length > 0 ? top : pool).sort((a, b) => a.startTime - b.startTime || a.pid - b.pid);
    const chosen = finalists[0]!;
    if (finalists.length === 1) return { found: true, target: toTarget(chosen) };
    const list = finalists.map(describeProcess).join(', ');
    return {
      found: true,
      target: toTarget(chosen),
      ambiguity: `${finalists.length} unrelated processes match ${what}: ${list}; chose ${chosen.pid} (the oldest). Narrow the selector`,
    };
  }

  private candidate(pid: number, cmdline?: string[]): Candidate | undefined {
    const stat = this.proc.stat(pid);
    if (!stat || isDead(stat)) return undefined;
    const status = this.proc.status(pid);
    const args = cmdline ?? this.proc.cmdline(pid);
    if (!status || !args) return undefined;
    return {
      pid,
      ppid: status.ppid,
      startTime: stat.startTime,
      cmdline: args,
      catchesStart: status.caught.has(this.startNo),
      catchesPause: status.caught.has(this.pauseNo),
    };
  }

  /** Recomputed every scan: cheap, and baton could be re-parented. */
  private selfAndAncestors(): Set<number> {
    const out = new Set<number>();
    let pid = this.selfPid;
    while (pid > 0 && !out.has(pid) && out.size < 256) {
      out.add(pid);
      pid = this.proc.status(pid)?.ppid ?? 0;
    }
    return out;
  }
}

/** `123 (node bot.js)`, the command line cut at 80 characters: for logs and problems. */
export function describeProcess(t: Pick<Target, 'pid' | 'cmdline'>): string {
  const cmd = t.cmdline.join(' ');
  return `${t.pid} (${cmd.length > 80 ? `${cmd.slice(0, 79)}…` : cmd})`;
}

function toTarget(c: Candidate): Target {
  return { pid: c.pid, startTime: c.startTime, cmdline: c.cmdline, catchesStart: c.catchesStart, catchesPause: c.catchesPause };
}

/** The kernel's PF_EXITING: set as a process begins to exit, before its memory (and cmdline) go and it turns zombie. */
const PF_EXITING = 0x4;

/**
 * A zombie, dead, or exiting process: it can't handle a signal, polls nothing more, and a new worker will
 * replace it. Exiting counts (L1, and a handoff's drain ends on it): in between, its cmdline is already empty
 * (so no scan matches it) while it still shows its handlers.
 */
function isDead(stat: ProcStat): boolean {
  return stat.state === 'Z' || stat.state === 'X' || stat.state === 'x' || (stat.flags & PF_EXITING) !== 0;
}

function requireSignal(name: NodeJS.Signals): number {
  const n = signalNumber(name);
  if (n === undefined) throw new Error(`unknown signal ${name}: use a name such as SIGUSR1`);
  return n;
}
