// The host settings a real node changes, recorded before it starts and put back when it stops: sysctls the
// kubelet sets, iptables chains and rules the kubelet (and the node's own Service DNAT) adds, the bridge,
// mounts, cgroups and network namespaces. Everything here touches only what this node created: chains and
// namespaces that did not exist before, mounts under the node's own folders, cgroups under its own root.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** sysctls the kubelet (setupKernelTunables) and the bridge plugin (ip_forward) may change. */
export const SYSCTLS = [
  'vm.overcommit_memory',
  'vm.panic_on_oom',
  'kernel.panic',
  'kernel.panic_on_oops',
  'kernel.keys.root_maxkeys',
  'kernel.keys.root_maxbytes',
  'net.ipv4.ip_forward',
];

const IPTABLES = ['iptables', 'ip6tables'] as const;
const TABLES = ['filter', 'nat', 'mangle'] as const;

/** What the host looked like before the node started. */
export interface HostSnapshot {
  sysctls: Record<string, string>;
  /** `<binary> <table>` → user chains that existed. */
  chains: Record<string, string[]>;
  netns: string[];
}

function sysctlPath(key: string): string {
  return join('/proc/sys', ...key.split('.'));
}

function run(cmd: string, args: string[]): string {
  return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

function tryRun(cmd: string, args: string[]): string | undefined {
  try {
    return run(cmd, args);
  } catch {
    return undefined;
  }
}

function userChains(bin: string, table: string): string[] {
  const out = tryRun(bin, ['-w', '-t', table, '-S']) ?? '';
  return out
    .split('\n')
    .filter((l) => l.startsWith('-N '))
    .map((l) => l.slice(3).trim());
}

export function netnsNames(): string[] {
  return existsSync('/var/run/netns') ? readdirSync('/var/run/netns') : [];
}

export function snapshotHost(): HostSnapshot {
  const sysctls: Record<string, string> = {};
  for (const k of SYSCTLS) if (existsSync(sysctlPath(k))) sysctls[k] = readFileSync(sysctlPath(k), 'utf8').trim();
  const chains: Record<string, string[]> = {};
  for (const bin of IPTABLES) for (const t of TABLES) chains[`${bin} ${t}`] = userChains(bin, t);
  return { sysctls, chains, netns: netnsNames() };
}

/** Puts back every recorded sysctl; returns what was changed ("key a→b"). */
export function restoreSysctls(snap: HostSnapshot): string[] {
  const changed: string[] = [];
  for (const [k, v] of Object.entries(snap.sysctls)) {
    const now = readFileSync(sysctlPath(k), 'utf8').trim();
    if (now !== v) {
      run('sysctl', ['-q', '-w', `${k}=${v}`]);
      changed.push(`${k} ${now}→${v}`);
    }
  }
  return changed;
}

/**
 * Removes the iptables chains that did not exist before (the kubelet's KUBE-FIREWALL, KUBE-KUBELET-CANARY,
 * KUBE-IPTABLES-HINT…, the node's BATON-NODE-SERVICES) and every rule that jumps to them.
 */
export function restoreIptables(snap: HostSnapshot): string[] {
  const removed: string[] = [];
  for (const bin of IPTABLES) {
    for (const t of TABLES) {
      const before = new Set(snap.chains[`${bin} ${t}`] ?? []);
      const added = userChains(bin, t).filter((c) => !before.has(c));
      if (added.length === 0) continue;
      const rules = (tryRun(bin, ['-w', '-t', t, '-S']) ?? '').split('\n').filter((l) => l.startsWith('-A '));
      for (const r of rules) {
        const jump = / -j (\S+)/.exec(r)?.[1];
        if (jump && added.includes(jump)) tryRun(bin, ['-w', '-t', t, ...splitRule(r.replace(/^-A /, '-D '))]);
      }
      for (const c of added) tryRun(bin, ['-w', '-t', t, '-F', c]);
      for (const c of added) {
        tryRun(bin, ['-w', '-t', t, '-X', c]);
        removed.push(`${bin} -t ${t} ${c}`);
      }
    }
  }
  return removed;
}

/** Splits an `iptables -S` rule into arguments (quoted comments stay one argument). */
function splitRule(rule: string): string[] {
  const out: string[] = [];
  const re = /"((?:[^"\\]|\\.)*)"|(\S+)/g;
  for (let m = re.exec(rule); m; m = re.exec(rule)) out.push(m[1] ?? m[2]!);
  return out;
}

/** Mount points at or under `root`, deepest first. */
export function mountsUnder(root: string): string[] {
  const points = readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[4])
    .filter((p): p is string => !!p)
    .map((p) => p.replace(/\\040/g, ' '))
    .filter((p) => p === root || p.startsWith(`${root}/`));
  return [...new Set(points)].sort((a, b) => b.length - a.length);
}

/** Unmounts everything under the given folders (lazily, so a busy mount cannot block the cleanup). */
export function unmountUnder(roots: string[]): string[] {
  const done: string[] = [];
  for (const root of roots) {
    for (let pass = 0; pass < 5; pass++) {
      const points = mountsUnder(root);
      if (points.length === 0) break;
      for (const p of points) if (tryRun('umount', ['-l', p]) !== undefined) done.push(p);
    }
  }
  return done;
}

/** Network namespaces created since the snapshot (containerd's cni-…): unmounted and removed. */
export function removeNewNetns(snap: HostSnapshot): string[] {
  const before = new Set(snap.netns);
  const removed: string[] = [];
  for (const n of netnsNames().filter((x) => !before.has(x) && x.startsWith('cni-'))) {
    const p = join('/var/run/netns', n);
    tryRun('umount', ['-l', p]);
    rmSync(p, { force: true });
    removed.push(n);
  }
  return removed;
}

/** The cgroup v1 hierarchies (and the unified one) the node's pods may use. */
function cgroupHierarchies(): string[] {
  if (!existsSync('/sys/fs/cgroup')) return [];
  return readdirSync('/sys/fs/cgroup')
    .map((d) => join('/sys/fs/cgroup', d))
    .filter((d) => {
      try {
        return statSync(d).isDirectory() && existsSync(join(d, 'cgroup.procs'));
      } catch {
        return false;
      }
    });
}

/** Processes in the node's cgroup tree `rel` (e.g. "/baton-node") in any hierarchy. */
export function cgroupPids(rel: string): number[] {
  const pids = new Set<number>();
  const walk = (dir: string) => {
    if (!existsSync(dir)) return;
    try {
      for (const l of readFileSync(join(dir, 'cgroup.procs'), 'utf8').split('\n')) if (l.trim()) pids.add(Number(l));
      for (const e of readdirSync(dir, { withFileTypes: true })) if (e.isDirectory()) walk(join(dir, e.name));
    } catch {
      // a cgroup removed while walking
    }
  };
  for (const h of cgroupHierarchies()) walk(join(h, rel));
  return [...pids];
}

/** Removes the cgroup tree `rel` in every hierarchy, deepest first (only empty cgroups can go). */
export function removeCgroups(rel: string): string[] {
  const left: string[] = [];
  const rm = (dir: string) => {
    if (!existsSync(dir)) return;
    for (const e of readdirSync(dir, { withFileTypes: true })) if (e.isDirectory()) rm(join(dir, e.name));
    try {
      rmdirSync(dir);
    } catch {
      left.push(dir);
    }
  };
  for (const h of cgroupHierarchies()) rm(join(h, rel));
  return left;
}

export function linkExists(name: string): boolean {
  return existsSync(`/sys/class/net/${name}`);
}

/** `ip link del` of the node's bridge and of veths left on it. */
export function removeBridge(name: string): boolean {
  if (!linkExists(name)) return false;
  const brif = `/sys/class/net/${name}/brif`;
  if (existsSync(brif)) for (const veth of readdirSync(brif)) tryRun('ip', ['link', 'del', veth]);
  tryRun('ip', ['link', 'del', name]);
  return true;
}

export { run, tryRun };
