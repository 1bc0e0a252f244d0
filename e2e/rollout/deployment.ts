// Plays the Deployment controller and the kubelet for pods made of real processes: a rolling update
// with maxSurge 1 and maxUnavailable 0 (create the new pod, wait until it is Ready for
// `successThreshold` probes in a row, then delete an old one), graceful termination with a preStop
// sleep on the bot and SIGKILL at the grace period (SimPod.terminate), scaling, and a pod SIGKILLed.
import { SimPod, type SimPodOptions } from '../../test/harness/sim-pod.ts';
import { sleep, waitFor } from '../../test/harness/wait.ts';

export interface DeploymentOptions {
  /** Builds the options of the n-th pod (name, agent, worker, env...). */
  podOptions(n: number): SimPodOptions;
  replicas?: number;
  readiness?: { periodMs: number; successThreshold: number };
  log?: (line: string) => void;
}

export class SimDeployment {
  readonly pods: SimPod[] = [];
  /** Pods the controller still counts (not yet deleted). */
  private live: SimPod[] = [];
  private seq = 0;
  private readonly o: DeploymentOptions;
  private readonly terminating: Array<Promise<unknown>> = [];
  /** Instants worth marking on the timeline. */
  readonly marks: Array<{ at: number; label: string }> = [];
  /** Windows in which zero replicas were intended. */
  readonly downtime: Array<{ from: number; to: number }> = [];

  constructor(o: DeploymentOptions) {
    this.o = o;
  }

  private now(): number {
    return performance.timeOrigin + performance.now();
  }

  private mark(label: string): void {
    this.marks.push({ at: this.now(), label });
    this.o.log?.(label);
  }

  /** Creates a pod and waits until its readiness probe succeeded `successThreshold` times in a row. */
  private async createReady(): Promise<SimPod> {
    const pod = new SimPod(this.o.podOptions(++this.seq));
    this.pods.push(pod);
    this.live.push(pod);
    await pod.start();
    const { periodMs, successThreshold } = this.o.readiness ?? { periodMs: 1000, successThreshold: 1 };
    let streak = 0;
    await waitFor(
      `${pod.opts.name} Ready`,
      async () => {
        streak = (await pod.ready()) ? streak + 1 : 0;
        if (streak >= successThreshold) return true;
        await sleep(periodMs);
        return false;
      },
      120_000,
    );
    return pod;
  }

  /** Scales up to the replica count. */
  async deploy(): Promise<void> {
    while (this.live.length < (this.o.replicas ?? 1)) await this.createReady();
  }

  /** One rolling update: surge a new pod, wait Ready, delete the oldest (its termination runs on). */
  async rollout(label = 'rollout'): Promise<SimPod> {
    const old = this.live[0];
    const fresh = await this.createReady();
    if (old) this.remove(old, label);
    return fresh;
  }

  private remove(pod: SimPod, label: string): void {
    this.live = this.live.filter((p) => p !== pod);
    this.mark(`${label}: delete ${pod.opts.name}`);
    this.terminating.push(pod.terminate().catch((err: unknown) => this.o.log?.(`terminate ${pod.opts.name}: ${String(err)}`)));
  }

  /** Scales to zero (graceful), waits for the pods to go, then back to the replica count. */
  async scaleToZeroAndBack(pauseMs: number): Promise<void> {
    const from = this.now();
    for (const p of [...this.live]) this.remove(p, 'scale 0');
    await this.settle();
    await sleep(pauseMs);
    this.mark('scale 1');
    const p = new SimPod(this.o.podOptions(++this.seq));
    this.pods.push(p);
    this.live.push(p);
    await p.start();
    await this.waitReady(p);
    // Until the new pod is Ready the downtime is intended; from then on a gap counts as usual.
    this.downtime.push({ from, to: this.now() });
  }

  private async waitReady(pod: SimPod): Promise<void> {
    await waitFor(`${pod.opts.name} Ready`, () => pod.ready(), 120_000);
  }

  /** SIGKILLs the pod whose bot polls (node lost): the ReplicaSet replaces it at once. */
  async killLeader(isPolling: (p: SimPod) => boolean): Promise<void> {
    const victim = this.live.find(isPolling) ?? this.live[0];
    if (!victim) return;
    this.mark(`SIGKILL: ${victim.opts.name}`);
    victim.kill();
    this.live = this.live.filter((p) => p !== victim);
    await victim.forgetPod();
    await this.deploy();
  }

  /** Waits for every termination in flight. */
  async settle(): Promise<void> {
    await Promise.all(this.terminating);
  }

  /** Kills whatever still runs. */
  async teardown(): Promise<void> {
    for (const p of this.pods) p.kill();
    await Promise.all(this.pods.map((p) => p.exited().catch(() => undefined)));
    await Promise.all(this.pods.map((p) => p.forgetPod().catch(() => undefined)));
  }
}
