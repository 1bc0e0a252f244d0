// Assembles one pod's sidecar: the elector on a Lease lock, the worker controller on a process finder, the
// pause tracker, and the sidecar that ties them to the reports. src/app.ts assembles the real pod with it,
// and the unit tests' fakes and the model assemble theirs the same way, so they test what runs.
import type { Logger } from 'pino';
import type { ApiHealth } from './api-health.ts';
import type { ChangeReporters } from './change-reporters.ts';
import type { Clock } from './election/clock.ts';
import { Elector } from './election/elector.ts';
import type { LeaseLock } from './election/lock.ts';
import { requestTimeoutMs, type ElectionTimings } from './election/rules.ts';
import type { BatonMetrics } from './metrics.ts';
import { PauseTracker } from './pause-tracker.ts';
import { Sidecar, type WordChannel } from './sidecar.ts';
import { WorkerController } from './worker/controller.ts';
import type { TargetSource } from './worker/target.ts';

/** What differs from one pod to the next: the settings, the Lease, the worker, the clock and the reports. */
export interface SidecarParts {
  identity: string;
  leaseName: string;
  namespace: string;
  /** BATON_LEASE_DURATION, BATON_RENEW_DEADLINE, BATON_RETRY_PERIOD and BATON_RENEW_INTERVAL. */
  timings: ElectionTimings;
  /** BATON_PAUSE_ACK_TIMEOUT and BATON_DRAIN. */
  pauseAckTimeoutMs: number;
  drainMs: number;
  /** BATON_WORKER_GRACE (rule L1): the elector keeps the rule, the sidecar reports it. */
  workerGraceMs: number;
  /** How often the worker is looked for in /proc, and how often the sidecar re-evaluates eligibility and readiness. */
  scanIntervalMs: number;
  evaluateEveryMs: number;
  /** BATON_YIELD_TO_NEWER (rule Y1); undefined: off. */
  yieldDelayMs?: number | undefined;
  /** Rule W1: the key that seals this process's records and how long its word waits (BATON_TAKEOVER); undefined: off. */
  takeover?: { key: string; offerMs: number } | undefined;
  /** W1: how the word reaches the standbys; with `takeover` only. */
  wordChannel?: WordChannel | undefined;
  lock: LeaseLock;
  /** The worker process, and how it is signalled (`process.kill` when absent). */
  finder: TargetSource;
  kill?: (pid: number, signal: NodeJS.Signals) => void;
  clock: Clock;
  /** Jitter of a standby's retries. */
  random: () => number;
  logger: Logger;
  metrics: BatonMetrics;
  api: ApiHealth;
  reporters: ChangeReporters;
}

/** One pod's sidecar and the parts it drives, not yet started (`sidecar.start()`). */
export interface AssembledSidecar {
  sidecar: Sidecar;
  elector: Elector;
  worker: WorkerController;
  pauses: PauseTracker;
}

export function assembleSidecar(p: SidecarParts): AssembledSidecar {
  const { clock } = p;
  const elector = new Elector({
    ...p.timings,
    identity: p.identity,
    lock: p.lock,
    clock,
    workerGraceMs: p.workerGraceMs,
    random: p.random,
    ...(p.takeover ? { takeover: p.takeover } : {}),
  });
  const worker = new WorkerController({ finder: p.finder, clock, scanIntervalMs: p.scanIntervalMs, ...(p.kill ? { kill: p.kill } : {}) });
  const pauses = new PauseTracker({ clock, ackTimeoutMs: p.pauseAckTimeoutMs, drainMs: p.drainMs, workerPaused: () => worker.status().desired === 'paused' });
  const { leaseDurationMs, renewDeadlineMs, retryPeriodMs } = p.timings;
  const sidecar = new Sidecar({
    identity: p.identity,
    leaseName: p.leaseName,
    namespace: p.namespace,
    timings: { leaseDurationMs, renewDeadlineMs, retryPeriodMs },
    requestTimeoutMs: requestTimeoutMs(p.timings),
    workerGraceMs: p.workerGraceMs,
    evaluateEveryMs: p.evaluateEveryMs,
    yieldDelayMs: p.yieldDelayMs,
    wordChannel: p.takeover ? p.wordChannel : undefined,
    clock,
    logger: p.logger,
    metrics: p.metrics,
    elector,
    worker,
    pauses,
    api: p.api,
    reporters: p.reporters,
  });
  return { sidecar, elector, worker, pauses };
}
