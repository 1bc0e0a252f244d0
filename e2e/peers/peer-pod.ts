// A pod made of real processes for a benchmark peer: the fixture worker plus a peer process (client-go,
// or one of the seeds' Postgres locks) in place of the baton sidecar. Modelled on SimPod: the harness
// plays the kubelet, sending SIGTERM to the peer at once and to the worker after its preStop sleep, and
// SIGKILL at the grace period. No Pod object: the peers never look at their Pod.
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readWorkerLog } from '../../test/harness/timeline.ts';

const here = dirname(fileURLToPath(import.meta.url));
/** The fixture worker (as SimPod runs it), without loading SimPod's Kubernetes client. */
export const WORKER = join(here, '..', '..', 'test', 'fixtures', 'worker.ts');
export const PG_ADVISORY = join(here, 'pg-advisory.ts');
export const PG_TTL = join(here, 'pg-ttl.ts');

export type PeerKind = 'client-go' | 'pg-advisory' | 'pg-ttl';

/** How to start one peer process; the pod adds PEER_IDENTITY, PEER_TARGET_COMMAND and PEER_LOG. */
export interface PeerCommand {
  kind: PeerKind;
  command: string;
  args: string[];
  env: Record<string, string>;
}

/** client-go's leaderelection (the binary from `ensureClientGoPeer`). Timings are Go durations; unset = client-go's defaults 15s/10s/2s. */
export function clientGoPeer(o: { binary: string; kubeconfig: string; namespace: string; leaseName: string; leaseDuration?: string; renewDeadline?: string; retryPeriod?: string }): PeerCommand {
  const env: Record<string, string> = { KUBECONFIG: o.kubeconfig, PEER_NAMESPACE: o.namespace, PEER_LEASE_NAME: o.leaseName };
  if (o.leaseDuration) env.PEER_LEASE_DURATION = o.leaseDuration;
  if (o.renewDeadline) env.PEER_RENEW_DEADLINE = o.renewDeadline;
  if (o.retryPeriod) env.PEER_RETRY_PERIOD = o.retryPeriod;
  return { kind: 'client-go', command: o.binary, args: [], env };
}

/** Seed 001: a session advisory lock, retried every `retryMs` (2000), released first thing on SIGTERM. */
export function pgAdvisoryPeer(o: { url: string; key: number | bigint; retryMs?: number }): PeerCommand {
  const env: Record<string, string> = { PEER_PG_URL: o.url, PEER_LOCK_KEY: String(o.key) };
  if (o.retryMs !== undefined) env.PEER_RETRY_MS = String(o.retryMs);
  return { kind: 'pg-advisory', command: process.execPath, args: [PG_ADVISORY], env };
}

/** Seed 000: a row with a `ttlMs` (30000) TTL, checked every `checkMs` (10000), deleted on SIGTERM. */
export function pgTtlPeer(o: { url: string; lockName: string; ttlMs?: number; checkMs?: number }): PeerCommand {
  const env: Record<string, string> = { PEER_PG_URL: o.url, PEER_LOCK_NAME: o.lockName };
  if (o.ttlMs !== undefined) env.PEER_TTL_MS = String(o.ttlMs);
  if (o.checkMs !== undefined) env.PEER_CHECK_MS = String(o.checkMs);
  return { kind: 'pg-ttl', command: process.execPath, args: [PG_TTL], env };
}

export interface PeerPodOptions {
  name: string;
  dir: string;
  peer: PeerCommand;
  /** Simulated time to finish the batch in hand after a pause (the worker's WORKER_PAUSE_MS, default 50). */
  workerPauseMs?: number;
  workerHandlerDelayMs?: number;
  /** preStop sleep on the worker, in ms (default 1000). */
  preStopMs?: number;
  graceMs?: number;
}

export interface PeerLogLine {
  t: number;
  mono: number;
  event: string;
  [field: string]: unknown;
}

export class PeerPod {
  readonly opts: PeerPodOptions;
  readonly workerLog: string;
  /** The peer's own JSON-lines events (PEER_LOG). */
  readonly peerLog: string;
  /** The peer's stdout and stderr. */
  readonly peerOut: string;
  peer: ChildProcess | undefined;
  worker: ChildProcess | undefined;
  /** pid → epoch ms at which the harness SIGKILLed it. */
  readonly deaths = new Map<number, number>();
  private peerExit: Promise<number | null> | undefined;
  private workerExit: Promise<number | null> | undefined;

  constructor(opts: PeerPodOptions) {
    this.opts = opts;
    mkdirSync(opts.dir, { recursive: true });
    this.workerLog = join(opts.dir, `${opts.name}.worker.jsonl`);
    this.peerLog = join(opts.dir, `${opts.name}.peer.jsonl`);
    this.peerOut = join(opts.dir, `${opts.name}.peer.log`);
  }

  /** The regexp the peer finds its worker by (and only its own: names differ per pod). */
  get targetCommand(): string {
    return `worker\\.ts --pod=${this.opts.name}$`;
  }

  start(): void {
    this.startWorker();
    this.startPeer();
  }

  startWorker(): void {
    const env = {
      ...process.env,
      WORKER_LOG: this.workerLog,
      WORKER_NAME: this.opts.name,
      // No BATON_URL: the peers have no /leader; the worker waits for signals. No pause confirmations.
      BATON_URL: '',
      WORKER_ACK: '0',
      WORKER_PAUSE_MS: String(this.opts.workerPauseMs ?? 50),
      WORKER_HANDLER_DELAY_MS: String(this.opts.workerHandlerDelayMs ?? 0),
    };
    const child = spawn(process.execPath, [WORKER, `--pod=${this.opts.name}`], { env, stdio: ['ignore', 'ignore', 'inherit'] });
    this.worker = child;
    this.workerExit = new Promise((r) => child.once('exit', (code) => r(code)));
  }

  startPeer(): void {
    const env: Record<string, string> = {
      PATH: process.env.PATH ?? '',
      PEER_IDENTITY: this.opts.name,
      PEER_TARGET_COMMAND: this.targetCommand,
      PEER_LOG: this.peerLog,
      ...this.opts.peer.env,
    };
    const out = createWriteStream(this.peerOut, { flags: 'a' });
    const child = spawn(this.opts.peer.command, this.opts.peer.args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout?.pipe(out);
    child.stderr?.pipe(out);
    this.peer = child;
    this.peerExit = new Promise((r) => {
      child.once('error', () => r(null));
      child.once('exit', (code) => r(code));
    });
  }

  /**
   * Graceful termination as the kubelet does it for a regular sidecar: SIGTERM to the peer at once and to
   * the worker after its preStop sleep; SIGKILL at the grace period. Resolves with the peer's exit code.
   */
  async terminate(): Promise<number | null> {
    const graceMs = this.opts.graceMs ?? 60_000;
    const deadline = Date.now() + graceMs;
    const killAtGrace = setTimeout(() => this.kill(), graceMs);
    try {
      this.peer?.kill('SIGTERM');
      await new Promise((r) => setTimeout(r, this.opts.preStopMs ?? 1000));
      this.worker?.kill('SIGTERM');
      const code = (await this.peerExit) ?? null;
      await this.workerExit;
      if (Date.now() > deadline) throw new Error(`${this.opts.name} outlived its grace period`);
      return code;
    } finally {
      clearTimeout(killAtGrace);
    }
  }

  /** SIGKILL of both containers: no release. */
  kill(): void {
    for (const child of [this.peer, this.worker]) {
      if (child && child.exitCode === null && child.signalCode === null && child.pid) {
        this.deaths.set(child.pid, performance.timeOrigin + performance.now());
        child.kill('SIGKILL');
      }
    }
  }

  async exited(): Promise<void> {
    await this.peerExit;
    await this.workerExit;
  }

  /** The current worker polls (from its own log). */
  polling(): boolean {
    const lines = readWorkerLog(this.workerLog).filter((l) => l.pid === this.worker?.pid);
    const last = lines.filter((l) => l.event === 'polling-start' || l.event === 'polling-stop').at(-1);
    return last?.event === 'polling-start';
  }

  /** The peer's events (PEER_LOG). */
  events(): PeerLogLine[] {
    return readWorkerLog(this.peerLog) as unknown as PeerLogLine[];
  }

  hasEvent(event: string): boolean {
    return this.events().some((e) => e.event === event);
  }
}
