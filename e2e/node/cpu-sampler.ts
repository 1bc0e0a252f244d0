// The host's CPU by process for `npm run e2e:node -- --cpu`: a child process that reads the CPU time
// (utime + stime of /proc/PID/stat) of the control plane, the node's daemons and the pods' Node processes every
// 10 ms and appends it to a file, so that e2e/report/cpu-during-gaps.ts can say who used the 2 cores while a
// handoff's gap was open. A child of its own, not a timer in the runner: the runner is the Telegram double too.
//
//   node e2e/node/cpu-sampler.ts OUT [EVERY_MS]    (stops on SIGTERM)
import { spawn } from 'node:child_process';
import { closeSync, openSync, readdirSync, readFileSync, writeSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { CpuSample } from '../report/cpu-during-gaps.ts';

/** USER_HZ: the unit of utime/stime in /proc, 100 on every Linux ABI. */
const TICKS_PER_SECOND = 100;
const RESCAN_MS = 500;

/** The kind of a process by its comm and command line; undefined: not sampled. Node 24 names its main thread `MainThread`. */
export function processKind(comm: string, cmdline: string, self: number, pid: number): string | undefined {
  if (pid === self) return 'the sampler itself';
  if (comm === 'MainThread' || comm === 'node') {
    if (cmdline.includes('/app/baton.mjs')) return 'baton sidecars (pods)';
    if (cmdline.includes('bots/bot.ts')) return 'sample bots (pods)';
    if (cmdline.includes('e2e/node/run.ts')) return 'e2e runner and Telegram double';
    return 'other Node processes';
  }
  if (comm.startsWith('containerd-shim')) return 'containerd-shim';
  if (comm.startsWith('kube-controller')) return 'kube-controller-manager';
  if (['kube-apiserver', 'etcd', 'kubelet', 'containerd', 'kube-scheduler', 'runc', 'buildah'].includes(comm)) return comm;
  return undefined;
}

function scan(self: number): Map<string, string> {
  const kinds = new Map<string, string>();
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      const comm = readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
      const kind = processKind(comm, cmdline, self, Number(pid));
      if (kind) kinds.set(pid, kind);
    } catch {
      // gone meanwhile
    }
  }
  return kinds;
}

function cpuMs(pid: string): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(f[11]) + Number(f[12])) * 1000) / TICKS_PER_SECOND;
  } catch {
    return undefined;
  }
}

/** The child: samples until SIGTERM. Lines: `{"kinds":{pid:kind}}` at each rescan, `{"t":…,"cpuMs":{pid:ms}}` each sample. */
function sample(out: string, everyMs: number): void {
  const fd = openSync(out, 'w');
  let buffer: string[] = [];
  const flush = () => {
    if (buffer.length) writeSync(fd, buffer.join(''));
    buffer = [];
  };
  let kinds = new Map<string, string>();
  let scanned = 0;
  const tick = () => {
    const now = Date.now();
    if (now - scanned >= RESCAN_MS) {
      kinds = scan(process.pid);
      scanned = now;
      buffer.push(`${JSON.stringify({ kinds: Object.fromEntries(kinds) })}\n`);
    }
    const s: CpuSample = { t: now, cpuMs: {} };
    for (const pid of kinds.keys()) {
      const ms = cpuMs(pid);
      if (ms !== undefined) s.cpuMs[pid] = ms;
    }
    buffer.push(`${JSON.stringify(s)}\n`);
    if (buffer.length > 200) flush();
  };
  const timer = setInterval(tick, everyMs);
  process.on('SIGTERM', () => {
    clearInterval(timer);
    flush();
    closeSync(fd);
    process.exit(0);
  });
}

/** What a sampler wrote: the samples, and the kind of every pid it sampled. */
export function readCpuSamples(file: string): { samples: CpuSample[]; kinds: Map<string, string> } {
  const samples: CpuSample[] = [];
  const kinds = new Map<string, string>();
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (!line) continue;
    const o = JSON.parse(line) as CpuSample | { kinds: Record<string, string> };
    if ('kinds' in o) for (const [pid, kind] of Object.entries(o.kinds)) kinds.set(pid, kind);
    else samples.push(o);
  }
  return { samples, kinds };
}

/** Starts the sampler as a child process writing to `file`; `stop()` ends it and reads what it wrote. */
export function startCpuSampler(file: string, everyMs = 10): { stop(): Promise<{ samples: CpuSample[]; kinds: Map<string, string> }> } {
  const child = spawn(process.execPath, [fileURLToPath(import.meta.url), file, String(everyMs)], { stdio: 'ignore' });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    async stop() {
      child.kill('SIGTERM');
      await exited;
      return readCpuSamples(file);
    },
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [out, every] = process.argv.slice(2);
  if (!out) {
    process.stderr.write('usage: node e2e/node/cpu-sampler.ts OUT [EVERY_MS]\n');
    process.exit(2);
  }
  sample(out, Number(every ?? 10));
}
