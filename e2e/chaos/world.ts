// The stage of one fault scenario: a fresh namespace and Lease, the Telegram double under steady load,
// pods made of real processes (the baton sidecar from source and the end-to-end sample bot), an
// independent recorder of every Lease version, and at the end the same timeline analysis as
// `npm run e2e` (test/harness/timeline.ts, e2e/report/figures.ts) from the bots' own logs and the
// double's ledger.
import { once } from 'node:events';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import type { KubeEndpoint } from '../../test/kube/apiserver.ts';
import { adminKubeConfig, freshNamespace, serviceAccountKubeconfig, sidecarRules } from '../../test/kube/cluster.ts';
import { SimPod } from '../../test/harness/sim-pod.ts';
import { waitFor } from '../../test/harness/wait.ts';
import { readWorkerLog, type WorkerLogLine } from '../../test/harness/timeline.ts';
import { TelegramDouble } from '../telegram/server.ts';
import type { LoadHandle } from '../telegram/load.ts';
import { BOT } from '../rollout/scenario.ts';
import { LeaseRecorder } from './lease-recorder.ts';
import { analyze, type Analysis, type FrozenSpan } from './analysis.ts';
import { processTree } from './process-tree.ts';
import { requestTimeoutMs } from '../../src/election/rules.ts';
import * as defaults from '../../src/defaults.ts';

/** Election timings of a scenario, in ms (the sidecar's BATON_LEASE_DURATION and friends). */
export interface Timings {
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
  /** BATON_PAUSE_ACK_TIMEOUT and BATON_DRAIN. */
  pauseAckTimeoutMs: number;
  drainMs: number;
}

/** baton's defaults. */
export const DEFAULT_TIMINGS: Timings = {
  ...defaults.DEFAULT_TIMINGS,
  pauseAckTimeoutMs: defaults.DEFAULT_PAUSE_ACK_TIMEOUT_MS,
  drainMs: defaults.DEFAULT_DRAIN_MS,
};
/**
 * Shorter timings for the scenarios in `npm test`: the same margin LD − RD (5 s) between a leader's
 * deadline and a standby's earliest start as the defaults, shorter waits everywhere else.
 */
export const FAST_TIMINGS: Timings = { leaseDurationMs: 10_000, renewDeadlineMs: 5_000, retryPeriodMs: 1_000, pauseAckTimeoutMs: 5_000, drainMs: 5_000 };

/**
 * The chart's rule for the bot's preStop sleep: the longest wait for the pause (confirmation or drain)
 * plus one request timeout for the release. A shorter sleep SIGTERMs the bot mid-batch.
 */
export function preStopMs(t: Timings): number {
  return Math.max(t.pauseAckTimeoutMs, t.drainMs) + requestTimeoutMs(t);
}

export interface WorldOptions {
  endpoint: KubeEndpoint;
  /** Scenario id: names the namespace, the Lease and the pods. */
  id: string;
  dir: string;
  timings: Timings;
  /** Updates per second (≥ 20 in the suite). */
  rate: number;
  /** Handler time per update: a burst of N updates is a batch of N × handlerMs in hand. */
  handlerMs: number;
  log: (line: string) => void;
}

export interface PodSpec {
  /** Another kubeconfig (a Role without some verb, or a proxy in between). */
  kubeconfig?: string;
  env?: Record<string, string>;
  preStopMs?: number;
  graceMs?: number;
}

export const now = (): number => performance.timeOrigin + performance.now();

export class ChaosWorld {
  readonly o: WorldOptions;
  readonly double = new TelegramDouble();
  readonly token = '123456:chaos-token';
  readonly pods: SimPod[] = [];
  readonly marks: Array<{ at: number; label: string }> = [];
  /** Pods frozen whole (`freezePod`), with the bot process that was frozen; `to` is set by the thaw. */
  readonly freezes: Array<FrozenSpan & { pids: number[] }> = [];
  namespace = '';
  lease = '';
  kubeconfig = '';
  kc!: k8s.KubeConfig;
  recorder!: LeaseRecorder;
  private url = '';
  private load: LoadHandle | undefined;
  private seq = 0;
  readonly started = now();

  private constructor(o: WorldOptions) {
    this.o = o;
  }

  static async create(o: WorldOptions): Promise<ChaosWorld> {
    const w = new ChaosWorld(o);
    w.lease = `chaos-${o.id}`;
    w.namespace = await freshNamespace(o.endpoint, `chaos-${o.id}`);
    w.kc = adminKubeConfig(o.endpoint);
    w.kubeconfig = await w.serviceAccount('baton', sidecarRules(w.lease));
    ({ url: w.url } = await w.double.start({ tokens: [w.token] }));
    w.recorder = new LeaseRecorder(w.kc, w.namespace, w.lease);
    w.recorder.start();
    return w;
  }

  /** A ServiceAccount with these rules; returns its kubeconfig. */
  serviceAccount(name: string, rules: k8s.V1PolicyRule[]): Promise<string> {
    return serviceAccountKubeconfig(this.o.endpoint, this.namespace, name, rules);
  }

  /** A copy of `kubeconfig` that talks to `server` (a fault proxy) instead. */
  via(kubeconfig: string, server: string, tag: string): string {
    const path = join(this.o.dir, `${this.lease}-${tag}.kubeconfig`);
    writeFileSync(path, readFileSync(kubeconfig, 'utf8').replace(/server: .*/, `server: ${server}`));
    return path;
  }

  mark(label: string): number {
    const at = now();
    this.marks.push({ at, label });
    this.o.log(`${this.o.id}: ${label}`);
    return at;
  }

  timingEnv(): Record<string, string> {
    const t = this.o.timings;
    return {
      BATON_LEASE_DURATION: `${t.leaseDurationMs / 1000}s`,
      BATON_RENEW_DEADLINE: `${t.renewDeadlineMs}ms`,
      BATON_RETRY_PERIOD: `${t.retryPeriodMs}ms`,
      BATON_PAUSE_ACK_TIMEOUT: `${t.pauseAckTimeoutMs}ms`,
      BATON_DRAIN: `${t.drainMs}ms`,
    };
  }

  /** Creates and starts a pod (sidecar + bot); does not wait for anything. */
  async addPod(spec: PodSpec = {}): Promise<SimPod> {
    const name = `${this.lease}-${++this.seq}`;
    const pod = new SimPod({
      name,
      namespace: this.namespace,
      leaseName: this.lease,
      kubeconfig: spec.kubeconfig ?? this.kubeconfig,
      kc: this.kc,
      dir: this.o.dir,
      env: { ...this.timingEnv(), ...spec.env },
      preStopMs: spec.preStopMs ?? preStopMs(this.o.timings),
      graceMs: spec.graceMs ?? preStopMs(this.o.timings) + 30_000,
      worker: {
        command: process.execPath,
        args: [BOT],
        env: {
          TELEGRAM_BOT_TOKEN: this.token,
          // The path prefix names the pod in the double's ledger.
          TELEGRAM_API_ROOT: `${this.url}/${name}`,
          BOT_NAME: name,
          BOT_LOG: join(this.o.dir, `${name}.worker.jsonl`),
          BOT_FRAMEWORK: 'plain',
          BOT_HANDLER_MS: String(this.o.handlerMs),
          BOT_LIMIT: '100',
        },
      },
    });
    this.pods.push(pod);
    await pod.start();
    return pod;
  }

  /** Starts a pod and waits until its sidecar is Ready. */
  async addReadyPod(spec: PodSpec = {}): Promise<SimPod> {
    const pod = await this.addPod(spec);
    await waitFor(`${pod.opts.name} Ready`, () => pod.ready(), 60_000);
    return pod;
  }

  /** The pod whose bot polls now, if exactly one does. */
  poller(): SimPod | undefined {
    const p = this.pods.filter((x) => x.polling());
    return p.length === 1 ? p[0] : undefined;
  }

  async waitPoller(what: string, timeoutMs = 60_000): Promise<SimPod> {
    await waitFor(what, () => this.poller() !== undefined, timeoutMs);
    return this.poller()!;
  }

  startLoad(): void {
    this.load = this.double.startLoad({ ratePerSecond: this.o.rate, token: this.token });
  }

  /** `n` updates at once: the next poll takes them as one batch of n × handlerMs. */
  burst(n: number): void {
    for (let i = 0; i < n; i++) this.double.inject(`burst #${i + 1}`, { token: this.token });
  }

  /**
   * A burst of `n` updates, then waits until `pod` holds a batch of at least ¾ of it: the fault that follows
   * comes with work in hand. Returns the batch's size.
   */
  async burstInHand(pod: SimPod, n: number): Promise<number> {
    this.burst(n);
    return this.batchInHand(pod, Math.floor(n * 0.75), now() - 100);
  }

  /** Waits until the ledger shows a batch of at least `n` updates delivered to `pod` after `since`. */
  async batchInHand(pod: SimPod, n: number, since: number, timeoutMs = 15_000): Promise<number> {
    let size = 0;
    await waitFor(
      `${pod.opts.name} holds a batch of ${n}`,
      () => {
        const mine = this.double.requests().filter((r) => r.type === 'end' && r.client === pod.opts.name && r.at >= since && r.written);
        size = Math.max(0, ...mine.map((r) => (r.type === 'end' ? r.updateIds.length : 0)));
        return size >= n;
      },
      timeoutMs,
    );
    return size;
  }

  /** SIGKILLs the pod's bot (a crash); the container stays dead until `restartWorker`. */
  async killWorker(pod: SimPod): Promise<number> {
    const w = pod.worker;
    if (!w?.pid || w.exitCode !== null || w.signalCode !== null) throw new Error(`${pod.opts.name}: no live worker to kill`);
    const at = now();
    pod.deaths.set(w.pid, at);
    const exited = once(w, 'exit');
    w.kill('SIGKILL');
    await exited;
    return at;
  }

  /** The kubelet restarts the bot's container: a new process in the same pod. */
  restartWorker(pod: SimPod): void {
    pod.startWorker();
  }

  /**
   * Freezes the whole pod: SIGSTOP to its sidecar, its bot and their children at once, as a frozen cgroup or a
   * paused VM would (scenario pod-freeze). Returns the time of the freeze.
   */
  freezePod(pod: SimPod): number {
    const bot = pod.worker?.pid;
    const sidecar = pod.sidecar?.pid;
    if (bot === undefined || sidecar === undefined) throw new Error(`${pod.opts.name}: no processes to freeze`);
    const pids = processTree([sidecar, bot]);
    const from = this.mark(`SIGSTOP ${pod.opts.name} (sidecar, bot${pids.length > 2 ? ` and ${pids.length - 2} children` : ''})`);
    for (const pid of pids) process.kill(pid, 'SIGSTOP');
    this.freezes.push({ pod, pid: bot, from, to: Infinity, pids });
    return from;
  }

  /** Thaws what `freezePod` froze (SIGCONT, children first); returns the time of the thaw. */
  thawPod(pod: SimPod): number {
    const f = this.freezes.find((x) => x.pod === pod && x.to === Infinity);
    if (!f) throw new Error(`${pod.opts.name} is not frozen`);
    // The time before the first SIGCONT: whatever the pod does once it runs again counts as after the thaw.
    const to = this.mark(`SIGCONT ${pod.opts.name}`);
    for (const pid of [...f.pids].reverse()) {
      try {
        process.kill(pid, 'SIGCONT');
      } catch {
        // gone meanwhile (a child that exited is not an error)
      }
    }
    f.to = to;
    return to;
  }

  /** Log lines of every bot, with their pod. */
  workerLines(): Array<WorkerLogLine & { pod: SimPod }> {
    return this.pods.flatMap((p) => readWorkerLog(p.workerLog).map((l) => ({ ...l, pod: p })));
  }

  /** First polling-start by any bot after `t` (ms), or undefined. */
  firstStartAfter(t: number): (WorkerLogLine & { pod: SimPod }) | undefined {
    return this.workerLines()
      .filter((l) => l.event === 'polling-start' && l.mono > t)
      .sort((a, b) => a.mono - b.mono)[0];
  }

  /** Stops the load, lets the last bot work off the queue, and analyses the whole run. */
  async finish(): Promise<Analysis> {
    await this.load?.stop();
    const injected = () => this.double.injectedUpdates();
    const handled = () =>
      new Set(
        this.workerLines()
          .filter((l) => l.event === 'handled')
          .map((l) => (l as unknown as { update: number }).update),
      ).size;
    // An update still queued now is late, not lost: wait until the queue is worked off, as long as the
    // bots make progress (a long outage leaves a long backlog); give up after 10 s without any.
    let last = -1;
    let lastProgress = now();
    await waitFor(
      `${this.o.id}: the queue is worked off`,
      () => {
        const n = handled();
        if (n !== last) {
          last = n;
          lastProgress = now();
        }
        return n >= injected() || now() - lastProgress > 10_000;
      },
      300_000,
    ).catch(() => undefined);
    return analyze({
      pods: this.pods,
      double: this.double,
      token: this.token,
      end: now(),
      leaseVersions: this.recorder.versions,
      freezes: this.freezes,
    });
  }

  async teardown(): Promise<void> {
    await this.load?.stop();
    for (const p of this.pods) if (this.freezes.some((f) => f.pod === p && f.to === Infinity)) this.thawPod(p);
    for (const p of this.pods) {
      for (const c of [p.sidecar, p.worker]) if (c?.pid && c.exitCode === null && c.signalCode === null) c.kill('SIGCONT');
      p.kill();
    }
    await Promise.all(this.pods.map((p) => p.exited().catch(() => undefined)));
    await Promise.all(this.pods.map((p) => p.forgetPod().catch(() => undefined)));
    this.recorder.stop();
    await this.double.stop();
  }
}
