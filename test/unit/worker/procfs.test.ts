import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ProcFs, parseSignalMask, parseStat, signalNumber } from '../../../src/worker/procfs.ts';
import { TargetFinder, type TargetSelector } from '../../../src/worker/target.ts';

// SigCgt masks: bit N-1 is signal N. SIGUSR1 = 10, SIGUSR2 = 12 on Linux.
const BOTH = '0000000000000a00';
const NODE_DEFAULT = '0000000100004602'; // a Node process without listeners: SIGUSR1 only (its inspector)
const NONE = '0000000000000000';

interface FakeProcess {
  cmdline?: string[];
  comm?: string;
  state?: string;
  /** Field 9 of stat: the kernel's PF_* flags (a user process: PF_RANDOMIZE, 0x400000). */
  flags?: number;
  ppid?: number;
  startTime?: number;
  sigCgt?: string;
  cgroup?: string;
}

let root: string;

/** Writes `/proc/PID/{cmdline,stat,status,cgroup}` the way the kernel formats them. */
function addProcess(pid: number, p: FakeProcess = {}): void {
  const dir = join(root, String(pid));
  mkdirSync(dir, { recursive: true });
  const cmdline = p.cmdline ?? ['node', `app${pid}.js`];
  const ppid = p.ppid ?? 1;
  writeFileSync(join(dir, 'cmdline'), cmdline.map((a) => `${a}\0`).join(''));
  const fields5to21 = Array.from({ length: 17 }, (_, i) => String(i === 4 ? (p.flags ?? 0x400000) : i));
  const stat = [`${pid}`, `(${p.comm ?? 'node'})`, p.state ?? 'S', String(ppid), ...fields5to21, String(p.startTime ?? 1000 + pid), '4096', '77'];
  writeFileSync(join(dir, 'stat'), `${stat.join(' ')}\n`);
  writeFileSync(
    join(dir, 'status'),
    `Name:\t${p.comm ?? 'node'}\nState:\tS (sleeping)\nPid:\t${pid}\nPPid:\t${ppid}\nSigQ:\t0/63\nSigBlk:\t0000000000000000\nSigIgn:\t0000000001001000\nSigCgt:\t${p.sigCgt ?? BOTH}\n`,
  );
  writeFileSync(join(dir, 'cgroup'), p.cgroup ?? '0::/\n');
}

/** baton itself (pid 50) under pid 1. */
function finder(selector: TargetSelector, extra: Partial<ConstructorParameters<typeof TargetFinder>[0]> = {}): TargetFinder {
  return new TargetFinder({ selector, proc: new ProcFs(root), selfPid: 50, ...extra });
}

function found(f: TargetFinder): { pid: number; ambiguity?: string } {
  const r = f.find();
  if (!r.found) throw new Error(`expected a target, got: ${r.problem}`);
  return r.ambiguity === undefined ? { pid: r.target.pid } : { pid: r.target.pid, ambiguity: r.ambiguity };
}

function problem(f: TargetFinder): string {
  const r = f.find();
  if (r.found) throw new Error(`expected a problem, got pid ${r.target.pid}`);
  return r.problem;
}

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'baton-proc-'));
  addProcess(1, { cmdline: ['/pause'], comm: 'pause', ppid: 0, sigCgt: NONE });
  addProcess(50, { cmdline: ['node', 'baton.js'], comm: 'node', ppid: 1 });
  mkdirSync(join(root, 'self'));
  writeFileSync(join(root, 'uptime'), '1.0 1.0\n');
});

afterEach(() => rmSync(root, { recursive: true, force: true }));

describe('procfs', () => {
  it('lists numeric entries only, ascending', () => {
    addProcess(300);
    addProcess(7);
    expect(new ProcFs(root).pids()).toEqual([1, 7, 50, 300]);
  });

  it('splits cmdline on NUL, keeping empty and spaced arguments', () => {
    addProcess(7, { cmdline: ['sh', '-c', 'node bot.js', ''] });
    expect(new ProcFs(root).cmdline(7)).toEqual(['sh', '-c', 'node bot.js', '']);
  });

  it('parses SigCgt masks into signal numbers, 64 bits wide', () => {
    expect([...parseSignalMask(BOTH)]).toEqual([10, 12]);
    expect([...parseSignalMask(NODE_DEFAULT)]).toEqual([2, 10, 11, 15, 33]);
    expect([...parseSignalMask('8000000000000001')]).toEqual([1, 64]);
    expect(parseSignalMask(NONE).size).toBe(0);
    expect(parseSignalMask('zz').size).toBe(0);
    expect(signalNumber('SIGUSR1')).toBe(10);
    expect(signalNumber('SIGNOPE')).toBeUndefined();
  });

  it('reads PPid and SigCgt from status', () => {
    addProcess(7, { ppid: 3, sigCgt: '0000000000000800' });
    const s = new ProcFs(root).status(7)!;
    expect(s.ppid).toBe(3);
    expect([...s.caught]).toEqual([12]);
  });

  it('parses stat after the last parenthesis, whatever comm contains', () => {
    const line = '123 ((weird) name)) S 45 123 123 0 -1 4194560 1 0 0 0 0 0 0 0 20 0 1 0 987654 1000 10 18446744073709551615\n';
    expect(parseStat(line)).toEqual({ comm: '(weird) name)', state: 'S', flags: 4194560, ppid: 45, startTime: 987654 });
    addProcess(8, { comm: 'a) (b c', state: 'R', ppid: 7, startTime: 42 });
    expect(new ProcFs(root).stat(8)).toEqual({ comm: 'a) (b c', state: 'R', flags: 0x400000, ppid: 7, startTime: 42 });
    expect(parseStat('garbage')).toBeUndefined();
  });

  it('returns undefined for a vanished process instead of throwing', () => {
    const proc = new ProcFs(root);
    addProcess(9);
    rmSync(join(root, '9'), { recursive: true });
    expect(proc.cmdline(9)).toBeUndefined();
    expect(proc.stat(9)).toBeUndefined();
    expect(proc.status(9)).toBeUndefined();
    expect(proc.cgroup(9)).toBeUndefined();
  });
});

describe('TargetFinder by command', () => {
  it('matches the pattern against the cmdline joined by spaces', () => {
    addProcess(100, { cmdline: ['node', '--enable-source-maps', 'dist/bot.js'] });
    addProcess(101, { cmdline: ['node', 'dist/other.js'] });
    const f = finder({ kind: 'command', pattern: /source-maps dist\/bot\.js/ });
    const r = f.find();
    expect(r).toMatchObject({
      found: true,
      target: { pid: 100, startTime: 1100, cmdline: ['node', '--enable-source-maps', 'dist/bot.js'], catchesStart: true, catchesPause: true },
    });
    expect(r.found && r.ambiguity).toBeFalsy();
  });

  it('works with a global regex on every scan (no stale lastIndex)', () => {
    addProcess(100, { cmdline: ['node', 'bot.js'] });
    const f = finder({ kind: 'command', pattern: /bot\.js/g });
    expect(found(f).pid).toBe(100);
    expect(found(f).pid).toBe(100);
  });

  it('names the fix when nothing matches', () => {
    addProcess(100, { cmdline: ['node', 'other.js'] });
    const p = problem(finder({ kind: 'command', pattern: /bot\.js/ }));
    expect(p).toContain('BATON_TARGET_COMMAND /bot\\.js/');
    expect(p).toContain('shareProcessNamespace: true');
  });

  it('never picks baton itself or its ancestors', () => {
    addProcess(40, { cmdline: ['node', 'supervisor', 'bot.js'], ppid: 1 });
    addProcess(50, { cmdline: ['node', 'baton.js', '--target', 'bot.js'], ppid: 40 });
    const f = finder({ kind: 'command', pattern: /bot\.js/ });
    expect(problem(f)).toContain('no process matches');
    addProcess(200, { cmdline: ['node', 'bot.js'] });
    expect(found(f).pid).toBe(200);
  });

  it('skips zombies and processes that vanish mid-scan', () => {
    addProcess(100, { cmdline: ['node', 'bot.js'], state: 'Z' });
    mkdirSync(join(root, '101'));
    writeFileSync(join(root, '101', 'cmdline'), 'node\0bot.js\0'); // stat/status already gone
    const f = finder({ kind: 'command', pattern: /bot\.js/ });
    expect(problem(f)).toContain('no process matches');
  });
});

describe('TargetFinder choosing among several', () => {
  const sel: TargetSelector = { kind: 'command', pattern: /bot\.js/ };

  it('prefers the process that catches both signals: sh -c "node bot.js" → node', () => {
    addProcess(100, { cmdline: ['sh', '-c', 'node bot.js'], sigCgt: NONE, startTime: 10 });
    addProcess(101, { cmdline: ['node', 'bot.js'], ppid: 100, sigCgt: BOTH, startTime: 11 });
    expect(found(finder(sel))).toEqual({ pid: 101 });
  });

  it('without handlers anywhere, picks the top-most, unambiguously', () => {
    addProcess(100, { cmdline: ['sh', '-c', 'node bot.js'], sigCgt: NONE, startTime: 10 });
    addProcess(101, { cmdline: ['node', 'bot.js'], ppid: 100, sigCgt: NODE_DEFAULT, startTime: 11 });
    const r = finder(sel).find();
    expect(r).toMatchObject({ found: true, target: { pid: 100, catchesStart: false, catchesPause: false } });
    expect(r.found && r.ambiguity).toBeFalsy();
  });

  it('picks the top-most of a tree of ready processes (cluster primary over its workers)', () => {
    addProcess(100, { cmdline: ['node', 'bot.js'], startTime: 10 });
    addProcess(101, { cmdline: ['node', 'bot.js', 'child'], ppid: 100, startTime: 5 });
    expect(found(finder(sel))).toEqual({ pid: 100 });
  });

  it('picks the oldest of unrelated matches, prefers ready over older, and reports the ambiguity', () => {
    addProcess(100, { cmdline: ['node', 'bot.js', 'a'], startTime: 30 });
    addProcess(101, { cmdline: ['node', 'bot.js', 'b'], startTime: 20 });
    addProcess(102, { cmdline: ['node', 'bot.js', 'c'], startTime: 5, sigCgt: NODE_DEFAULT });
    const r = found(finder(sel));
    expect(r.pid).toBe(101);
    expect(r.ambiguity).toMatch(
      /^2 unrelated processes match BATON_TARGET_COMMAND \/bot\\.js\/: 101 \(node bot\.js b\), 100 \(node bot\.js a\); chose 101 \(the oldest\)/,
    );
  });
});

describe('TargetFinder by pid file', () => {
  it('reads a trimmed decimal pid', () => {
    addProcess(321);
    const path = join(root, 'bot.pid');
    writeFileSync(path, ' 321\n');
    expect(found(finder({ kind: 'pidFile', path }))).toEqual({ pid: 321 });
  });

  it('names the path when the file is missing or garbled, or the pid is not running or is baton', () => {
    const path = join(root, 'bot.pid');
    const f = finder({ kind: 'pidFile', path });
    expect(problem(f)).toMatch(new RegExp(`cannot read the pid file ${path} .*ENOENT`));
    writeFileSync(path, '12ab\n');
    expect(problem(f)).toBe(`the pid file ${path} (BATON_TARGET_PID_FILE) does not hold a decimal pid (it holds "12ab")`);
    writeFileSync(path, '');
    expect(problem(f)).toContain('does not hold a decimal pid');
    writeFileSync(path, '999');
    expect(problem(f)).toContain(`pid 999 from the pid file ${path} is not running`);
    writeFileSync(path, '50');
    expect(problem(f)).toContain('baton itself');
  });
});

describe('TargetFinder by container', () => {
  const id = '0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef';

  it('finds the processes whose cgroup holds the container id, for any runtime scheme', () => {
    addProcess(100, { cmdline: ['node', 'bot.js'], cgroup: `0::/kubepods.slice/kubepods-pod1.slice/cri-containerd-${id}.scope\n` });
    addProcess(101, { cmdline: ['node', 'bot.js'], cgroup: '0::/kubepods.slice/kubepods-pod1.slice/cri-containerd-ffff.scope\n' });
    for (const scheme of ['containerd', 'cri-o', 'docker']) {
      expect(found(finder({ kind: 'container', name: 'bot' }, { containerId: () => `${scheme}://${id}` }))).toEqual({ pid: 100 });
    }
  });

  it('says so while the id is unknown, and when no process is in the container', () => {
    const status: { containerID?: string } = {};
    const f = finder({ kind: 'container', name: 'bot' }, { containerId: () => status.containerID });
    expect(problem(f)).toContain('the id of container "bot" is not known yet');
    status.containerID = `containerd://${id}`;
    expect(problem(f)).toBe(
      `no process in container "bot" (no /proc/PID/cgroup contains ${id.slice(0, 12)}); check BATON_TARGET_CONTAINER and that the pod has shareProcessNamespace: true`,
    );
  });

  it('excludes baton even if its cgroup matched', () => {
    addProcess(50, { cmdline: ['node', 'baton.js'], cgroup: `0::/../cri-containerd-${id}.scope\n` });
    expect(problem(finder({ kind: 'container', name: 'bot' }, { containerId: () => id }))).toContain('no process in container');
  });
});

describe('TargetFinder.check', () => {
  it('is ready only with both signals caught, and gone when the pid was reused', () => {
    addProcess(100, { cmdline: ['node', 'bot.js'], sigCgt: NODE_DEFAULT, startTime: 7 });
    const f = finder({ kind: 'command', pattern: /bot/ });
    expect(f.check({ pid: 100, startTime: 7 })).toBe('no-handlers');
    addProcess(100, { cmdline: ['node', 'bot.js'], sigCgt: BOTH, startTime: 7 });
    expect(f.check({ pid: 100, startTime: 7 })).toBe('ready');
    expect(f.check({ pid: 100, startTime: 8 })).toBe('gone');
    expect(f.check({ pid: 999, startTime: 7 })).toBe('gone');
  });

  it('is gone once the process has begun to exit (PF_EXITING), before it is a zombie', () => {
    // Seen in the handoff test under load: a worker exiting on SIGTERM had lost its cmdline (so the scan no longer
    // matched it) but was not a zombie yet and still showed its handlers; judged alive, its handoff waited out the
    // whole drain instead of releasing at once.
    addProcess(100, { cmdline: [], state: 'R', flags: 0x400000 | 0x4, startTime: 7 });
    const f = finder({ kind: 'command', pattern: /bot/ });
    expect(f.check({ pid: 100, startTime: 7 })).toBe('gone');
    addProcess(100, { cmdline: ['node', 'bot.js'], state: 'S', flags: 0x400000, startTime: 7 });
    expect(f.check({ pid: 100, startTime: 7 })).toBe('ready');
  });

  it('uses the configured signals', () => {
    addProcess(100, { cmdline: ['python', 'bot.py'], sigCgt: '0000000000004002' }); // SIGINT (2), SIGTERM (15)
    const f = finder({ kind: 'command', pattern: /bot/ }, { startSignal: 'SIGINT', pauseSignal: 'SIGTERM' });
    expect(f.check({ pid: 100, startTime: 1100 })).toBe('ready');
    expect(() => finder({ kind: 'command', pattern: /x/ }, { startSignal: 'SIGUSR1', pauseSignal: 'SIGUSR1' })).toThrow(/must differ/);
    expect(() => finder({ kind: 'command', pattern: /x/ }, { startSignal: 'SIGNOPE' as NodeJS.Signals })).toThrow(/unknown signal SIGNOPE/);
  });
});
