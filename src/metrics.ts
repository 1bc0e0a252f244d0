// baton's Prometheus metrics. One registry per instance (never prom-client's global one), so tests and
// embedders can hold several without name clashes, and `/metrics` shows exactly what this sidecar owns.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { WATCH_START_REASONS, type WatchStartReason } from './kube/object-watcher.ts';

/** How a leadership change happened, from this pod's point of view. */
export type TransitionChange = 'acquired' | 'released' | 'lost';
/** How a handoff's wait for the worker's pause ended. */
export type PauseOutcome = 'confirmed' | 'timeout' | 'drained' | 'exited';
/** The result of one renew attempt. */
export type RenewResult = 'success' | 'conflict' | 'error';
/** Whether a signal reached the worker process. */
export type SignalResult = 'sent' | 'failed';

const TRANSITION_CHANGES: readonly TransitionChange[] = ['acquired', 'released', 'lost'];
const PAUSE_OUTCOMES: readonly PauseOutcome[] = ['confirmed', 'timeout', 'drained', 'exited'];
const RENEW_RESULTS: readonly RenewResult[] = ['success', 'conflict', 'error'];
const SIGNAL_RESULTS: readonly SignalResult[] = ['sent', 'failed'];

/**
 * Buckets for everything baton times: a graceful handoff takes milliseconds, a renew must finish
 * within the renew deadline (10 s by default), and 30 s catches the pathological tail.
 */
export const DURATION_BUCKETS: readonly number[] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/** Every metric name baton exports (besides prom-client's process and Node.js defaults). */
export const METRIC_NAMES = [
  'baton_info',
  'baton_leader',
  'baton_lease_epoch',
  'baton_leader_transitions_total',
  'baton_handoff_pause_seconds',
  'baton_handoff_acquire_seconds',
  'baton_lease_renew_duration_seconds',
  'baton_kube_requests_total',
  'baton_worker_signals_total',
  'baton_worker_restarts_total',
  'baton_ready',
  'baton_lease_last_renew_timestamp_seconds',
  'baton_watch_starts_total',
] as const;

/** One of {@link METRIC_NAMES}. */
export type MetricName = (typeof METRIC_NAMES)[number];

/** Options for {@link BatonMetrics}. */
export interface BatonMetricsOptions {
  /**
   * The signals this sidecar is configured to send (start and pause). Their `sent`/`failed` series are
   * created at 0 up front, so a dashboard sees them before the first signal.
   */
  signals?: readonly string[];
  /** The watches this sidecar runs (`lease`, `pod`, `peers`): their `baton_watch_starts_total` series start at 0. */
  watches?: readonly string[];
  /** Collect prom-client's process and Node.js metrics too (default true). */
  defaultMetrics?: boolean;
}

/** baton's metrics, on a registry of their own. Methods are cheap and never throw for valid input. */
export class BatonMetrics {
  /** The registry `/metrics` serves. */
  readonly registry: Registry;
  readonly #info: Gauge<'identity' | 'lease' | 'namespace' | 'version'>;
  readonly #leader: Gauge;
  readonly #epoch: Gauge;
  readonly #transitions: Counter<'change'>;
  readonly #pauseWait: Histogram<'outcome'>;
  readonly #acquireAfterRelease: Histogram;
  readonly #renew: Histogram<'result'>;
  readonly #kubeRequests: Counter<'verb' | 'resource' | 'code'>;
  readonly #signals: Counter<'signal' | 'result'>;
  readonly #workerRestarts: Counter;
  readonly #ready: Gauge;
  readonly #lastRenew: Gauge;
  readonly #watchStarts: Counter<'watch' | 'reason'>;

  constructor(options: BatonMetricsOptions = {}) {
    const registry = new Registry();
    this.registry = registry;
    if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: registry });
    const buckets = [...DURATION_BUCKETS];

    this.#info = new Gauge({
      name: 'baton_info',
      help: 'Always 1; its labels name this sidecar, the Lease it competes for, and the baton version.',
      labelNames: ['identity', 'lease', 'namespace', 'version'],
      registers: [registry],
    });
    this.#leader = new Gauge({
      name: 'baton_leader',
      help: 'Whether this pod holds the Lease and its worker has been told to run (1) or not (0).',
      registers: [registry],
    });
    this.#epoch = new Gauge({
      name: 'baton_lease_epoch',
      help: 'The Lease leaseTransitions value last observed, which increases with every change of holder.',
      registers: [registry],
    });
    this.#transitions = new Counter({
      name: 'baton_leader_transitions_total',
      help: 'Changes of leadership in this pod, by how they happened: acquired, released after a handoff, or lost.',
      labelNames: ['change'],
      registers: [registry],
    });
    this.#pauseWait = new Histogram({
      name: 'baton_handoff_pause_seconds',
      help: 'Time from sending the pause signal to the worker confirming it, or to the end of the wait when it did not.',
      labelNames: ['outcome'],
      buckets,
      registers: [registry],
    });
    this.#acquireAfterRelease = new Histogram({
      name: 'baton_handoff_acquire_seconds',
      help: 'Time from observing the Lease free to holding it, as seen by the pod that takes over.',
      buckets,
      registers: [registry],
    });
    this.#renew = new Histogram({
      name: 'baton_lease_renew_duration_seconds',
      help: 'Duration of each attempt to renew the Lease, by result.',
      labelNames: ['result'],
      buckets,
      registers: [registry],
    });
    this.#kubeRequests = new Counter({
      name: 'baton_kube_requests_total',
      help: 'Requests to the Kubernetes API, by verb, resource and HTTP status code (or timeout or error).',
      labelNames: ['verb', 'resource', 'code'],
      registers: [registry],
    });
    this.#signals = new Counter({
      name: 'baton_worker_signals_total',
      help: 'Signals sent to the worker process, by signal name and whether sending succeeded.',
      labelNames: ['signal', 'result'],
      registers: [registry],
    });
    this.#workerRestarts = new Counter({
      name: 'baton_worker_restarts_total',
      help: 'Times the worker process was seen with a new process ID and was sent the current state again.',
      registers: [registry],
    });
    this.#ready = new Gauge({
      name: 'baton_ready',
      help: 'Whether this sidecar reports ready (1) or not (0); readiness does not depend on leadership.',
      registers: [registry],
    });
    this.#lastRenew = new Gauge({
      name: 'baton_lease_last_renew_timestamp_seconds',
      help: 'Unix time of the last successful renew of the Lease by this pod, or 0 if it never renewed.',
      registers: [registry],
    });

    this.#watchStarts = new Counter({
      name: 'baton_watch_starts_total',
      help:
        'List-and-watch (re)starts of the Lease, own-Pod and peer-Pod (Y1) watches (every retry too), by why: initial, closed (the server ended the watch, ' +
        'normally once a minute), expired (410 Gone, relisted), timeout (no answer, or a silent watch) or error (refused, reset, an error status).',
      labelNames: ['watch', 'reason'],
      registers: [registry],
    });

    // Series known up front start at 0, so rate() and dashboards work before the first event.
    for (const change of TRANSITION_CHANGES) this.#transitions.inc({ change }, 0);
    for (const outcome of PAUSE_OUTCOMES) this.#pauseWait.zero({ outcome });
    for (const result of RENEW_RESULTS) this.#renew.zero({ result });
    for (const signal of options.signals ?? []) {
      for (const result of SIGNAL_RESULTS) this.#signals.inc({ signal, result }, 0);
    }
    for (const watch of options.watches ?? []) {
      for (const reason of WATCH_START_REASONS) this.#watchStarts.inc({ watch, reason }, 0);
    }
  }

  /** Sets `baton_info`; a later call replaces the earlier labels rather than adding a second series. */
  info(identity: string, leaseName: string, namespace: string, version: string): void {
    this.#info.reset();
    this.#info.set({ identity, lease: leaseName, namespace, version }, 1);
  }

  /** Sets `baton_leader` to 1 or 0. */
  setLeader(isLeader: boolean): void {
    this.#leader.set(isLeader ? 1 : 0);
  }

  /** Sets `baton_lease_epoch` (the Lease's `leaseTransitions`). */
  setEpoch(epoch: number): void {
    this.#epoch.set(epoch);
  }

  /** Counts one leadership change in `baton_leader_transitions_total`. */
  transition(change: TransitionChange): void {
    this.#transitions.inc({ change });
  }

  /** Observes a handoff's wait from the pause signal to its end in `baton_handoff_pause_seconds`. */
  pauseWait(seconds: number, outcome: PauseOutcome): void {
    this.#pauseWait.observe({ outcome }, seconds);
  }

  /** Observes the time from seeing the Lease free to holding it in `baton_handoff_acquire_seconds`. */
  acquireAfterRelease(seconds: number): void {
    this.#acquireAfterRelease.observe(seconds);
  }

  /** Observes one renew attempt in `baton_lease_renew_duration_seconds`. */
  renew(seconds: number, result: RenewResult): void {
    this.#renew.observe({ result }, seconds);
  }

  /** Counts one Kubernetes API request; `code` is the HTTP status ('200', '409') or 'timeout' / 'error'. */
  kubeRequest(verb: string, resource: string, code: string): void {
    this.#kubeRequests.inc({ verb, resource, code });
  }

  /** Counts one signal sent (or attempted) to the worker in `baton_worker_signals_total`. */
  signal(signal: string, result: SignalResult): void {
    this.#signals.inc({ signal, result });
  }

  /** Counts one worker restart (a new PID) in `baton_worker_restarts_total`. */
  workerRestart(): void {
    this.#workerRestarts.inc();
  }

  /** Sets `baton_ready` to 1 or 0. */
  setReady(ready: boolean): void {
    this.#ready.set(ready ? 1 : 0);
  }

  /** Sets `baton_lease_last_renew_timestamp_seconds` (Unix seconds) after a successful renew. */
  setLastRenew(unixSeconds: number): void {
    this.#lastRenew.set(unixSeconds);
  }

  /** Counts one (re)start of a watch (`lease`, `pod`) in `baton_watch_starts_total`. */
  watchStart(watch: string, reason: WatchStartReason): void {
    this.#watchStarts.inc({ watch, reason });
  }

  /** The `content-type` of {@link BatonMetrics.text}'s output (Prometheus text format). */
  get contentType(): string {
    return this.registry.contentType;
  }

  /** The metrics in Prometheus text format, as `/metrics` serves them. */
  async text(): Promise<string> {
    return this.registry.metrics();
  }
}
