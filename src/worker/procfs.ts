import { readdirSync, readFileSync } from 'node:fs';
import { constants } from 'node:os';
import { join } from 'node:path';

/** The parts of `/proc/PID/stat` baton needs. */
export interface ProcStat {
  /** The process name (field 2), without the parentheses; may contain spaces and parentheses itself. */
  comm: string;
  /** Field 3: `R`, `S`, `D`, `Z` (zombie), `X` (dead), … */
  state: string;
  /** Field 9: the kernel's `PF_*` flags (`PF_EXITING`, 0x4: the process has begun to exit). */
  flags: number;
  /** Field 4. */
  ppid: number;
  /** Field 22, in clock ticks since boot: with the pid, it identifies a process across PID reuse. */
  startTime: number;
}

/** The parts of `/proc/PID/status` baton needs. */
export interface ProcStatus {
  ppid: number;
  /** Signal numbers with a handler installed (`SigCgt`). */
  caught: ReadonlySet<number>;
}

/**
 * Reads one process namespace's `/proc`. Synchronous on purpose: these are tiny in-memory files, and
 * the controller must check a target and signal it in the same tick as a leadership change. Every
 * per-process read returns `undefined` when the process is gone (it can vanish between any two reads).
 */
export class ProcFs {
  /** The mount point; a temp dir in unit tests. */
  readonly root: string;

  constructor(root = '/proc') {
    this.root = root;
  }

  /** The numeric entries of the root, ascending. */
  pids(): number[] {
    const pids: number[] = [];
    for (const name of readdirSync(this.root)) {
      if (/^\d+$/.test(name)) pids.push(Number(name));
    }
    return pids.sort((a, b) => a - b);
  }

  /** `/proc/PID/cmdline` split on NUL; empty for zombies and kernel threads. */
  cmdline(pid: number): string[] | undefined {
    const text = this.read(pid, 'cmdline');
    return text === undefined ? undefined : parseCmdline(text);
  }

  stat(pid: number): ProcStat | undefined {
    const text = this.read(pid, 'stat');
    return text === undefined ? undefined : parseStat(text);
  }

  status(pid: number): ProcStatus | undefined {
    const text = this.read(pid, 'status');
    return text === undefined ? undefined : parseStatus(text);
  }

  /** `/proc/PID/cgroup` as text: it names the container (by id) the process runs in. */
  cgroup(pid: number): string | undefined {
    return this.read(pid, 'cgroup');
  }

  private read(pid: number, file: string): string | undefined {
    try {
      return readFileSync(join(this.root, String(pid), file), 'utf8');
    } catch (err) {
      if (isGone(err)) return undefined;
      throw err;
    }
  }
}

/** ENOENT/ESRCH: the process exited (or never existed) between listing and reading. */
export function isGone(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  return code === 'ENOENT' || code === 'ESRCH';
}

export function parseCmdline(text: string): string[] {
  const parts = text.split('\0');
  // The kernel terminates every argument with NUL, so the last element is an empty artefact.
  if (parts.at(-1) === '') parts.pop();
  return parts;
}

/**
 * Parses `/proc/PID/stat`. `comm` is free text in parentheses (a process may call itself `a) (b`), so
 * the numeric fields are read after the LAST `)`; returns `undefined` for text that is not a stat line.
 */
export function parseStat(text: string): ProcStat | undefined {
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  if (open < 0 || close < open) return undefined;
  // After `)`: field 3 (state) is index 0, so field N is index N - 3.
  const rest = text
    .slice(close + 1)
    .trim()
    .split(/\s+/);
  const state = rest[0];
  const ppid = Number(rest[1]);
  const flags = Number(rest[6]);
  const startTime = Number(rest[19]);
  if (!state || !Number.isSafeInteger(ppid) || !Number.isSafeInteger(flags) || !Number.isSafeInteger(startTime)) return undefined;
  return { comm: text.slice(open + 1, close), state, flags, ppid, startTime };
}

/** Parses `/proc/PID/status`; a missing `SigCgt` line means no handlers. */
export function parseStatus(text: string): ProcStatus {
  let ppid = 0;
  let caught: ReadonlySet<number> = new Set();
  for (const line of text.split('\n')) {
    const colon = line.indexOf(':');
    if (colon < 0) continue;
    const key = line.slice(0, colon);
    const value = line.slice(colon + 1).trim();
    if (key === 'PPid') ppid = Number(value) || 0;
    else if (key === 'SigCgt') caught = parseSignalMask(value);
  }
  return { ppid, caught };
}

/** A `Sig*` hex mask → signal numbers: bit N-1 set means signal N. Garbled text → empty set. */
export function parseSignalMask(hex: string): Set<number> {
  const signals = new Set<number>();
  if (!/^[0-9a-fA-F]+$/.test(hex)) return signals;
  // Masks are 64 bits (real-time signals included): too wide for a JS number's bit operators.
  let mask = BigInt(`0x${hex}`);
  for (let n = 1; mask > 0n; n++, mask >>= 1n) {
    if (mask & 1n) signals.add(n);
  }
  return signals;
}

/** `SIGUSR1` → 10 on Linux; `undefined` for a name this platform does not know. */
export function signalNumber(name: string): number | undefined {
  return (constants.signals as Record<string, number | undefined>)[name];
}
