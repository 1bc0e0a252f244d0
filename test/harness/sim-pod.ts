// A pod made of real processes: the baton sidecar (the real CLI) and a fixture worker, plus the Pod
// object in the real API server. The harness plays the kubelet: it runs preStop, sends SIGTERM in the
// order of a regular or a native sidecar, and SIGKILLs at the grace period.
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as k8s from '@kubernetes/client-node';
import { freePort } from '../kube/ports.ts';
import { readWorkerLog } from './timeline.ts';
import { sleep } from './wait.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const CLI = join(root, 'src', 'cli.ts');
export const WORKER = join(root, 'test', 'fixtures', 'worker.ts');
export const WORKER_PY = join(root, 'test', 'fixtures', 'worker.py');
/**
 * The V8 flags the image runs the sidecar with (Dockerfile ENTRYPOINT; a unit test keeps the two in
 * agreement): no optimizing compiler and a 1 MB young generation cut idle RSS from ~78 MB to ~63 MB,
 * and a sidecar that does a few requests a second has no hot code to optimize.
 */
export const SIDECAR_NODE_FLAGS = ['--lite-mode', '--max-semi-space-size=1'];

export interface SimPodOptions {
  name: string;
  /** Where the Pod object and the Lease live; omitted for a peer that never looks at the API server. */
  namespace?: string;
  leaseName?: string;
  kubeconfig?: string;
  /** The admin client, to create and delete the Pod object. */
  kc?: k8s.KubeConfig;
  dir: string;
  /** Sidecar environment overrides (timings and so on). */
  env?: Record<string, string>;
  /** Worker confirms pauses with POST /paused. */
  ack?: boolean;
  /** Simulated time to finish the batch in hand after a pause. */
  workerPauseMs?: number;
  workerHandlerDelayMs?: number;
  /** The worker program: the TypeScript fixture (default) or its Python twin on python/baton_worker.py. */
  workerKind?: 'node' | 'python';
  /** Extra worker environment (e.g. WORKER_NO_HANDLERS=1). */
  workerEnv?: Record<string, string>;
  /** Native sidecar: SIGTERM reaches the sidecar only after the worker exits. */
  native?: boolean;
  /** preStop sleep on the worker, in ms (regular order). */
  preStopMs?: number;
  graceMs?: number;
  /** Use a sidecar binary other than the source CLI (the benchmark runs the compiled one). */
  cli?: string;
  /** Node flags for the sidecar (the benchmark and the demo use the image's, `SIDECAR_NODE_FLAGS`). */
  nodeArgs?: string[];
  /** The sidecar's whole command line in place of this Node with `nodeArgs` and `cli` (the arm64 image's entrypoint under qemu-user). */
  sidecarCommand?: string[];
  /**
   * Another leader-election agent in place of baton (the benchmark's peers: client-go, the seeds'
   * Postgres locks). It gets PEER_IDENTITY, PEER_TARGET_COMMAND and PEER_LOG, and has no probes:
   * it counts as ready once its worker has installed its handlers.
   */
  agent?: { kind: string; command: string; args: string[]; env: Record<string, string> };
  /** Another worker program in place of the fixture (the end-to-end sample bot); `--pod=NAME` is appended. */
  worker?: { command: string; args: string[]; env: Record<string, string> };
  /** More fields of the Pod object's spec (e.g. `serviceAccountName`, for a token bound to the Pod). */
  podSpec?: Partial<k8s.V1PodSpec>;
  /** Runs once the Pod object exists, before any process starts (e.g. to mint a token bound to it). */
  beforeProcesses?: (pod: k8s.V1Pod) => Promise<void>;
  /** A command the sidecar's / the worker's command line is appended to, e.g. `setpriv --reuid=1000 ...` (a container's user). */
  runAs?: { sidecar?: string[]; worker?: string[] };
}

/** `[command, args]` with `prefix` (a wrapper such as setpriv) in front, when given. */
function prefixed(prefix: string[] | undefined, command: string, args: string[]): [string, string[]] {
  return prefix && prefix.length > 0 ? [prefix[0]!, [...prefix.slice(1), command, ...args]] : [command, args];
}

export class SimPod {
  readonly opts: SimPodOptions;
  readonly workerLog: string;
  readonly sidecarLog: string;
  sidecar: ChildProcess | undefined;
  worker: ChildProcess | undefined;
  listenPort = 0;
  probePort = 0;
  /** pid → epoch ms (performance.timeOrigin-based) at which the harness SIGKILLed it. */
  readonly deaths = new Map<number, number>();
  private sidecarExit: Promise<number | null> | undefined;
  private workerExit: Promise<number | null> | undefined;

  constructor(opts: SimPodOptions) {
    this.opts = opts;
    mkdirSync(opts.dir, { recursive: true });
    this.workerLog = join(opts.dir, `${opts.name}.worker.jsonl`);
    this.sidecarLog = join(opts.dir, `${opts.name}.sidecar.log`);
  }

  get baseUrl(): string {
    return `http://127.0.0.1:${this.listenPort}`;
  }

  get probeUrl(): string {
    return `http://127.0.0.1:${this.probePort}`;
  }

  async start(): Promise<void> {
    const created = await this.podApi()?.createNamespacedPod({
      namespace: this.opts.namespace!,
      body: {
        metadata: { name: this.opts.name, labels: { app: this.opts.leaseName ?? this.opts.name } },
        spec: {
          // A node name makes deletion graceful (deletionTimestamp first), as with a real kubelet.
          nodeName: 'sim-node',
          terminationGracePeriodSeconds: Math.round((this.opts.graceMs ?? 60_000) / 1000),
          containers: [
            { name: 'bot', image: 'example/bot' },
            { name: 'baton', image: 'example/baton' },
          ],
          ...this.opts.podSpec,
        },
      },
    });
    if (this.opts.beforeProcesses) {
      if (!created) throw new Error('SimPod: beforeProcesses needs a Pod object (kc and namespace)');
      await this.opts.beforeProcesses(created);
    }
    this.listenPort = await freePort();
    this.probePort = await freePort();
    this.startWorker();
    this.startSidecar();
  }

  startWorker(): void {
    const env = {
      ...process.env,
      WORKER_LOG: this.workerLog,
      WORKER_NAME: this.opts.name,
      BATON_URL: this.baseUrl,
      WORKER_ACK: this.opts.ack === false ? '0' : '1',
      WORKER_PAUSE_MS: String(this.opts.workerPauseMs ?? 50),
      WORKER_HANDLER_DELAY_MS: String(this.opts.workerHandlerDelayMs ?? 0),
      ...this.opts.workerEnv,
    };
    const [cmd, args] = this.opts.worker
      ? [this.opts.worker.command, this.opts.worker.args]
      : this.opts.workerKind === 'python'
        ? ['python3', [WORKER_PY]]
        : [process.execPath, [WORKER]];
    const [command, argv] = prefixed(this.opts.runAs?.worker, cmd, [...args, this.podArg]);
    const child = spawn(command, argv, {
      env: { ...env, ...(this.opts.agent ? { BATON_URL: '' } : {}), ...this.opts.worker?.env },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    this.worker = child;
    this.workerExit = new Promise((r) => child.once('exit', (code) => r(code)));
  }

  /**
   * The worker's last argument. The sidecar finds its worker by command line among all processes of the
   * machine, and another test run on the same machine uses the same pod names: the test process's pid
   * makes the argument unique to this run (a concurrent run's sidecar signalled this run's worker).
   */
  get podArg(): string {
    return `--pod=${this.opts.name}@${process.pid}`;
  }

  /** The regular expression the agent finds this pod's worker by: only its own (names differ per pod and run). */
  get targetCommand(): string {
    return `\\s${this.podArg}$`;
  }

  startSidecar(): void {
    if (this.opts.agent) return this.startAgent(this.opts.agent);
    const { kubeconfig, namespace, leaseName } = this.opts;
    if (!kubeconfig || !namespace || !leaseName) throw new Error('SimPod: the baton sidecar needs kubeconfig, namespace and leaseName');
    const env: Record<string, string> = {
      PATH: process.env.PATH ?? '',
      KUBECONFIG: kubeconfig,
      POD_NAME: this.opts.name,
      POD_NAMESPACE: namespace,
      BATON_LEASE_NAME: leaseName,
      BATON_TARGET_COMMAND: this.targetCommand,
      BATON_LISTEN: `127.0.0.1:${this.listenPort}`,
      BATON_PROBE_LISTEN: `127.0.0.1:${this.probePort}`,
      BATON_LOG_LEVEL: 'debug',
      ...this.opts.env,
    };
    const out = createWriteStream(this.sidecarLog, { flags: 'a' });
    const [command, argv] = this.opts.sidecarCommand?.length
      ? [this.opts.sidecarCommand[0]!, this.opts.sidecarCommand.slice(1)]
      : prefixed(this.opts.runAs?.sidecar, process.execPath, [...(this.opts.nodeArgs ?? []), this.opts.cli ?? CLI]);
    const child = spawn(command, argv, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout?.pipe(out);
    child.stderr?.pipe(out);
    this.sidecar = child;
    this.sidecarExit = new Promise((r) => child.once('exit', (code) => r(code)));
  }

  private startAgent(agent: NonNullable<SimPodOptions['agent']>): void {
    const env: Record<string, string> = {
      PATH: process.env.PATH ?? '',
      PEER_IDENTITY: this.opts.name,
      PEER_TARGET_COMMAND: this.targetCommand,
      PEER_LOG: this.agentLog,
      ...agent.env,
    };
    const out = createWriteStream(this.sidecarLog, { flags: 'a' });
    const child = spawn(agent.command, agent.args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout?.pipe(out);
    child.stderr?.pipe(out);
    this.sidecar = child;
    this.sidecarExit = new Promise((r) => {
      child.once('error', () => r(null));
      child.once('exit', (code) => r(code));
    });
  }

  async leader(): Promise<{ isLeader: boolean; holder: string; epoch: number; pause: { id: number } } | undefined> {
    try {
      const res = await fetch(`${this.baseUrl}/leader`, { signal: AbortSignal.timeout(2000) });
      return (await res.json()) as never;
    } catch {
      return undefined;
    }
  }

  async ready(): Promise<boolean> {
    if (this.opts.agent) {
      // No probes: ready once the agent runs and the worker has its handlers (the kubelet would probe the bot).
      const alive = this.sidecar?.exitCode === null && this.sidecar.signalCode === null;
      return alive && readWorkerLog(this.workerLog).some((l) => l.pid === this.worker?.pid && (l.event === 'handlers' || l.event === 'boot'));
    }
    try {
      const res = await fetch(`${this.probeUrl}/readyz`, { signal: AbortSignal.timeout(2000) });
      return res.status === 200;
    } catch {
      return false;
    }
  }

  async readyBody(): Promise<unknown> {
    const res = await fetch(`${this.probeUrl}/readyz`, { signal: AbortSignal.timeout(2000) });
    return res.json();
  }

  /**
   * Graceful termination as the kubelet does it: the Pod gets its deletionTimestamp; then, for a regular
   * sidecar, SIGTERM to the sidecar at once and to the worker after its preStop sleep; for a native
   * sidecar, the worker first and the sidecar after the worker has exited. SIGKILL at the grace period.
   * Resolves with the sidecar's exit code.
   */
  async terminate(): Promise<number | null> {
    const graceMs = this.opts.graceMs ?? 60_000;
    const deadline = Date.now() + graceMs;
    await this.podApi()?.deleteNamespacedPod({ name: this.opts.name, namespace: this.opts.namespace!, gracePeriodSeconds: Math.round(graceMs / 1000) });
    const killAtGrace = setTimeout(() => this.kill(), graceMs);
    try {
      const preStop = sleep(this.opts.preStopMs ?? 1000);
      if (this.opts.native) {
        await preStop;
        this.worker?.kill('SIGTERM');
        await this.workerExit;
        this.sidecar?.kill('SIGTERM');
      } else {
        this.sidecar?.kill('SIGTERM');
        await preStop;
        this.worker?.kill('SIGTERM');
      }
      const code = (await this.sidecarExit) ?? null;
      await this.workerExit;
      if (Date.now() > deadline) throw new Error(`${this.opts.name} outlived its grace period`);
      return code;
    } finally {
      clearTimeout(killAtGrace);
      await this.forgetPod();
    }
  }

  /** SIGKILL of both containers (node lost, OOM): no handoff, no release. */
  kill(): void {
    for (const child of [this.sidecar, this.worker]) {
      if (child && child.exitCode === null && child.signalCode === null && child.pid) {
        this.deaths.set(child.pid, performance.timeOrigin + performance.now());
        child.kill('SIGKILL');
      }
    }
  }

  /** The worker process dies and the kubelet restarts the container: a new PID in the same pod. */
  async restartWorker(): Promise<void> {
    const w = this.worker;
    if (w?.pid) {
      this.deaths.set(w.pid, performance.timeOrigin + performance.now());
      w.kill('SIGKILL');
      await this.workerExit;
    }
    this.startWorker();
  }

  /** The Pod object's API, when this pod has one (`kc` and `namespace` given). */
  private podApi(): k8s.CoreV1Api | undefined {
    return this.opts.kc && this.opts.namespace ? this.opts.kc.makeApiClient(k8s.CoreV1Api) : undefined;
  }

  /** The current worker is alive and polls, by its own log (a killed worker's last line still says it polls). */
  polling(): boolean {
    const w = this.worker;
    if (!w || w.exitCode !== null || w.signalCode !== null || (w.pid !== undefined && this.deaths.has(w.pid))) return false;
    const last = readWorkerLog(this.workerLog)
      .filter((l) => l.pid === this.worker?.pid && (l.event === 'polling-start' || l.event === 'polling-stop'))
      .at(-1);
    return last?.event === 'polling-start';
  }

  /** The events a peer agent logged (PEER_LOG); none for baton, whose log is `sidecarLog`. */
  agentEvents(): Array<{ t: number; mono: number; event: string; [field: string]: unknown }> {
    return readWorkerLog(this.agentLog) as unknown as Array<{ t: number; mono: number; event: string }>;
  }

  get agentLog(): string {
    return join(this.opts.dir, `${this.opts.name}.peer.jsonl`);
  }

  /** Resolves with the sidecar's exit code. */
  sidecarExited(): Promise<number | null> {
    return this.sidecarExit ?? Promise.resolve(null);
  }

  async exited(): Promise<void> {
    await this.sidecarExit;
    await this.workerExit;
  }

  async forgetPod(): Promise<void> {
    await this.podApi()
      ?.deleteNamespacedPod({ name: this.opts.name, namespace: this.opts.namespace!, gracePeriodSeconds: 0 })
      .catch(() => undefined);
  }
}
