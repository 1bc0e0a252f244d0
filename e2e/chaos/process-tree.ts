// A pod's processes as the kernel sees them: the given processes and every descendant, from /proc. Freezing a
// whole pod (scenario pod-freeze) must stop the children a sidecar or a bot may have started too, as a frozen
// cgroup would.
import { readdirSync, readFileSync } from 'node:fs';

/** The parent pid of `pid` (field 4 of /proc/PID/stat, after the command name in parentheses), if it exists. */
function parentOf(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return undefined;
  }
}

/** `roots` and all their living descendants, parents before children. */
export function processTree(roots: readonly number[]): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid)) continue;
    const ppid = parentOf(pid);
    if (ppid !== undefined) children.set(ppid, [...(children.get(ppid) ?? []), pid]);
  }
  const out: number[] = [];
  const queue = [...roots];
  while (queue.length > 0) {
    const pid = queue.shift()!;
    if (out.includes(pid)) continue;
    out.push(pid);
    queue.push(...(children.get(pid) ?? []));
  }
  return out;
}
