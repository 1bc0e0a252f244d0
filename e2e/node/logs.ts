// The bots' own logs from real pods, through `kubectl logs` only: a pod's logs vanish with the pod (every
// rollout deletes pods) and a restarted container keeps only its previous instance's, so every container
// instance is followed (`kubectl logs -f`) from the moment it runs, and one that ended before it could be
// followed is read with `kubectl logs --previous` (or without -f when it is the current, terminated one).
import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync, createWriteStream } from 'node:fs';
import { join } from 'node:path';
import type * as k8s from '@kubernetes/client-node';
import type { WorkerLogLine } from '../../test/harness/timeline.ts';
import { runTool } from '../../test/kube/helm.ts';
import { sleep } from '../../test/harness/wait.ts';

export interface LogCollectorOptions {
  kubectl: string;
  kubeconfig: string;
  namespace: string;
  core: k8s.CoreV1Api;
  /** Containers to collect (the bot's, and the sidecar's for the record). */
  containers: string[];
  dir: string;
  log?: (line: string) => void;
}

/** Follows every instance of the given containers of every pod in a namespace. */
export class LogCollector {
  private readonly o: LogCollectorOptions;
  private readonly seen = new Set<string>();
  private readonly followers = new Map<string, ChildProcess>();
  private timer: NodeJS.Timeout | undefined;
  private polling: Promise<void> | undefined;
  private stopped = false;

  constructor(o: LogCollectorOptions) {
    this.o = o;
    mkdirSync(o.dir, { recursive: true });
  }

  start(): void {
    const tick = () => {
      if (this.stopped) return;
      this.polling = this.poll()
        .catch((err: unknown) => this.o.log?.(`log collector: ${String(err)}`))
        .finally(() => {
          if (!this.stopped) this.timer = setTimeout(tick, 300);
        });
    };
    tick();
  }

  private file(pod: string, container: string, id: string): string {
    return join(this.o.dir, `${pod}.${container}.${id.replace(/^\w+:\/\//, '').slice(0, 12)}.log`);
  }

  private async poll(): Promise<void> {
    const pods = await this.o.core.listNamespacedPod({ namespace: this.o.namespace });
    for (const pod of pods.items) {
      const name = pod.metadata!.name!;
      for (const s of [...(pod.status?.containerStatuses ?? []), ...(pod.status?.initContainerStatuses ?? [])]) {
        if (!this.o.containers.includes(s.name)) continue;
        const current = s.containerID;
        if (current && s.state?.running && !this.seen.has(current)) {
          this.seen.add(current);
          this.follow(name, s.name, current);
        } else if (current && s.state?.terminated && !this.seen.has(current)) {
          this.seen.add(current);
          await this.once(name, s.name, current, false);
        }
        const previous = s.lastState?.terminated?.containerID;
        if (previous && !this.seen.has(previous)) {
          this.seen.add(previous);
          await this.once(name, s.name, previous, true);
        }
      }
    }
  }

  private follow(pod: string, container: string, id: string): void {
    const out = createWriteStream(this.file(pod, container, id));
    const child = spawn(this.o.kubectl, ['--kubeconfig', this.o.kubeconfig, '-n', this.o.namespace, 'logs', '-f', pod, '-c', container], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout.pipe(out);
    child.stderr.on('data', (d: Buffer) => this.o.log?.(`kubectl logs -f ${pod} -c ${container}: ${d.toString().trim()}`));
    this.followers.set(id, child);
    child.on('exit', () => this.followers.delete(id));
  }

  private async once(pod: string, container: string, id: string, previous: boolean): Promise<void> {
    const r = await runTool(this.o.kubectl, [
      '--kubeconfig',
      this.o.kubeconfig,
      '-n',
      this.o.namespace,
      'logs',
      pod,
      '-c',
      container,
      ...(previous ? ['--previous'] : []),
    ]);
    if (r.code === 0) appendFileSync(this.file(pod, container, id), r.stdout);
    else this.o.log?.(`kubectl logs ${previous ? '--previous ' : ''}${pod} -c ${container}: ${r.stderr.trim()}`);
  }

  /** Stops polling; waits (up to `graceMs`) for followers whose containers still run to be cut off. */
  async stop(graceMs = 3000): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.polling;
    await this.poll().catch(() => undefined);
    const deadline = Date.now() + graceMs;
    while (this.followers.size > 0 && Date.now() < deadline) await sleep(100);
    for (const c of this.followers.values()) c.kill('SIGTERM');
  }

  /** Whether the container instance `id` (containerd://…) is being followed. */
  following(id: string): boolean {
    return this.followers.has(id);
  }

  /** The first line the process of container instance `id` logged with event `event`, if any yet. */
  firstLine(pod: string, container: string, id: string, event: string): WorkerLogLine | undefined {
    const f = this.file(pod, container, id);
    if (!existsSync(f)) return undefined;
    for (const l of readFileSync(f, 'utf8').split('\n')) {
      if (!l.startsWith('{')) continue;
      try {
        const j = JSON.parse(l) as WorkerLogLine;
        if (j.event === event) return j;
      } catch {
        // a partial line
      }
    }
    return undefined;
  }

  /** Every JSON object line of `container` collected so far, as logged (the sidecar's pino lines), each once. */
  records(container: string): Array<Record<string, unknown>> {
    return jsonRecords(this.o.dir, container);
  }

  /** Every JSON log line of `container` collected so far, each once. */
  lines(container: string): WorkerLogLine[] {
    const out = new Map<string, WorkerLogLine>();
    if (!existsSync(this.o.dir)) return [];
    // Files are <pod>.<container>.<id>.log (pod names have no dots).
    for (const f of readdirSync(this.o.dir).filter((x) => x.split('.').at(-3) === container)) {
      for (const l of readFileSync(join(this.o.dir, f), 'utf8').split('\n')) {
        if (!l.startsWith('{')) continue;
        try {
          const j = JSON.parse(l) as WorkerLogLine & { update?: number };
          if (typeof j.event !== 'string' || typeof j.mono !== 'number') continue;
          out.set(`${j.name}/${j.pid}/${j.mono}/${j.event}/${j.update ?? ''}`, j);
        } catch {
          // a line cut by a container's death
        }
      }
    }
    return [...out.values()].sort((a, b) => a.mono - b.mono);
  }
}

/**
 * Every JSON object line of `container` in a folder of collected logs (<pod>.<container>.<id>.log), each once:
 * a line may be in two files when a container's logs were both followed and read after its end.
 */
export function jsonRecords(dir: string, container: string): Array<Record<string, unknown>> {
  const out = new Map<string, Record<string, unknown>>();
  if (!existsSync(dir)) return [];
  for (const f of readdirSync(dir).filter((x) => x.endsWith('.log') && x.split('.').at(-3) === container)) {
    for (const l of readFileSync(join(dir, f), 'utf8').split('\n')) {
      if (!l.startsWith('{')) continue;
      try {
        const j = JSON.parse(l) as unknown;
        if (typeof j === 'object' && j !== null && !Array.isArray(j)) out.set(l, j as Record<string, unknown>);
      } catch {
        // a line cut by a container's death
      }
    }
  }
  return [...out.values()];
}
