// Freezing a whole pod on a real node, as a checkpoint, a paused VM or a stalled host does to it: the pod's cgroup
// is frozen, so every process of every container in it (the sidecar, the bot, the pause container) stops at once
// and resumes at once. The pod's cgroup is found from one of its
// container's processes (/proc/PID/cgroup: the container's cgroup, whose parent is the pod's `pod<uid>`):
// cgroup v2 writes `cgroup.freeze` (1, then 0) and waits for `frozen 1` in `cgroup.events`; on a cgroup v1 host
// (this project's machines are hybrid, REALNODE.md) the v1 freezer writes `freezer.state` (FROZEN, then THAWED).
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { sleep } from '../../test/harness/wait.ts';

/** A pod's cgroup, in the hierarchy that can freeze it. */
export interface PodCgroup {
  version: 1 | 2;
  /** The pod's cgroup directory, e.g. /sys/fs/cgroup/freezer/baton-node/kubepods/besteffort/pod<uid>. */
  dir: string;
}

/** Where the cgroup v2 hierarchy is mounted: /sys/fs/cgroup on a v2 host, /sys/fs/cgroup/unified on a hybrid one. */
function unifiedRoot(): string | undefined {
  if (existsSync('/sys/fs/cgroup/cgroup.controllers')) return '/sys/fs/cgroup';
  if (existsSync('/sys/fs/cgroup/unified/cgroup.controllers')) return '/sys/fs/cgroup/unified';
  return undefined;
}

/**
 * The pod cgroup of the container whose process is `pid` (host pid namespace) and whose id is `containerId`.
 * Prefers cgroup v2 (`cgroup.freeze`) when the process has a pod cgroup there; else the v1 freezer.
 */
export function podCgroupOf(pid: number, containerId: string): PodCgroup {
  const lines = readFileSync(`/proc/${pid}/cgroup`, 'utf8').trim().split('\n');
  const podDir = (path: string): string | undefined => {
    // The container's own cgroup is named after its id (cgroupfs driver: the id; systemd: cri-containerd-<id>.scope).
    if (!basename(path).includes(containerId)) return undefined;
    const pod = dirname(path);
    return /(^|[-_])pod[0-9a-f_-]+(\.slice)?$/.test(basename(pod)) ? pod : undefined;
  };
  const v2 = lines.find((l) => l.startsWith('0::'));
  const root = unifiedRoot();
  const v2Pod = v2 && podDir(v2.slice(3));
  if (root && v2Pod && existsSync(join(root, v2Pod, 'cgroup.freeze'))) return { version: 2, dir: join(root, v2Pod) };
  const v1 = lines.map((l) => l.split(':')).find((f) => f[1]?.split(',').includes('freezer'));
  const v1Pod = v1 && podDir(v1.slice(2).join(':'));
  if (v1Pod && existsSync(join('/sys/fs/cgroup/freezer', v1Pod, 'freezer.state'))) return { version: 1, dir: join('/sys/fs/cgroup/freezer', v1Pod) };
  throw new Error(`no freezable pod cgroup for process ${pid} (container ${containerId.slice(0, 12)}):\n${lines.join('\n')}`);
}

/** Whether the cgroup is frozen now (v2: `frozen 1` in cgroup.events; v1: freezer.state FROZEN, not FREEZING). */
export function isFrozen(c: PodCgroup): boolean {
  return c.version === 2
    ? /^frozen 1$/m.test(readFileSync(join(c.dir, 'cgroup.events'), 'utf8'))
    : readFileSync(join(c.dir, 'freezer.state'), 'utf8').trim() === 'FROZEN';
}

async function settle(c: PodCgroup, frozen: boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (isFrozen(c) !== frozen) {
    if (Date.now() > deadline) throw new Error(`${c.dir} did not become ${frozen ? 'frozen' : 'thawed'} within ${timeoutMs} ms`);
    await sleep(10);
  }
}

/** Freezes every process of the pod and waits until the kernel says they all are. */
export async function freeze(c: PodCgroup, timeoutMs = 5000): Promise<void> {
  writeFileSync(join(c.dir, c.version === 2 ? 'cgroup.freeze' : 'freezer.state'), c.version === 2 ? '1' : 'FROZEN');
  await settle(c, true, timeoutMs);
}

/** Thaws the pod and waits until the kernel says it is running again. */
export async function thaw(c: PodCgroup, timeoutMs = 5000): Promise<void> {
  writeFileSync(join(c.dir, c.version === 2 ? 'cgroup.freeze' : 'freezer.state'), c.version === 2 ? '0' : 'THAWED');
  await settle(c, false, timeoutMs);
}
