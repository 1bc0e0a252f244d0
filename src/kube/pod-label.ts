// Keeps the Pod label `baton/role` in line with leadership, so Services and `kubectl get pods -L`
// can select the leader, and, in the same patch, the Pod's deletion cost (rule C5): a ReplicaSet scaling
// down removes its standbys before its leader. Only the latest wanted value matters: a burst of changes
// costs one request.
import type { V1Pod } from '@kubernetes/client-node';
import { backoffDelay, sleep, type BackoffOptions } from './backoff.ts';
import { KubeApiError } from './errors.ts';
import { silentLogger, type KubeLogger } from './logger.ts';
import { POD_RESOURCE, podPath } from './pod-watch.ts';
import type { KubeClient } from './rest.ts';

/** The values of the role label. */
export type PodRole = 'leader' | 'standby';

/** The label that tells the leader apart (`kubectl get pods -L baton/role`). */
export const ROLE_LABEL = 'baton/role';

/**
 * The annotation a ReplicaSet ranks its pods by when it scales down: lower cost goes first.
 * https://kubernetes.io/docs/concepts/workloads/controllers/replicaset/#pod-deletion-cost
 */
export const DELETION_COST_ANNOTATION = 'controller.kubernetes.io/pod-deletion-cost';

/**
 * Rule C5, the leader is deleted last: the deletion cost written with each role. A rolling update scales
 * the old ReplicaSet down one pod at a time, and a `kubectl scale` down picks pods too; with the leader
 * dearer than every standby, the old revision's standbys go first and the leader goes last, so a rolling
 * update hands over once (to a pod of the new revision, the only standbys left), and a scale-down that
 * keeps one pod hands over never. The chart's admission policy allows exactly these two values.
 */
export const DELETION_COST: Readonly<Record<PodRole, string>> = { leader: '1000', standby: '0' };

/** The merge patch that marks the own Pod with `role`: the label and the deletion cost, together. */
export function rolePatch(key: string, role: PodRole): { metadata: { labels: Record<string, string>; annotations: Record<string, string> } } {
  return { metadata: { labels: { [key]: role }, annotations: { [DELETION_COST_ANNOTATION]: DELETION_COST[role] } } };
}

/** The labeler also logs a refusal (error) and its end (info); a logger without those levels gets warn instead. */
export interface PodLabelLogger extends KubeLogger {
  error?(obj: object, msg: string): void;
  info?(obj: object, msg: string): void;
}

/** Which label of which Pod: what the labeler and the start-up proof of its right share. */
export interface OwnPodLabel {
  client: KubeClient;
  namespace: string;
  podName: string;
  /** Default `baton/role`. */
  labelKey?: string;
  /** Per request (default 10 s). */
  requestTimeoutMs?: number;
}

/** Options of `PodLabeler`. */
export interface PodLabelerOptions extends OwnPodLabel {
  /** Between failed attempts (default 250 ms → 10 s). */
  backoff?: BackoffOptions;
  logger?: PodLabelLogger;
  /** Called with every value the API server confirmed. */
  onApplied?: (value: string | undefined) => void;
}

/** Sets the role label on one Pod with merge patches: coalescing, retrying, and reporting what is really applied. */
export class PodLabeler {
  private readonly client: KubeClient;
  private readonly path: string;
  private readonly key: string;
  private readonly timeoutMs: number;
  private readonly backoff: BackoffOptions;
  private readonly logger: PodLabelLogger;
  private readonly onApplied: ((value: string | undefined) => void) | undefined;
  private readonly stopper = new AbortController();
  private wantedValue: PodRole | undefined;
  private appliedValue: string | undefined;
  /** The deletion cost as the API server last confirmed it. */
  private appliedCost: string | undefined;
  private appliedVersion: bigint | undefined;
  private loop: Promise<void> | undefined;
  /** Wakes a retry's backoff when a new value is wanted. */
  private wake = new AbortController();
  /** The last failure; cleared by the next success. */
  lastError: Error | undefined;
  /** The API server refuses the patch (the right was revoked, or a policy denies it) since the last success. */
  private refused = false;

  constructor(options: PodLabelerOptions) {
    this.client = options.client;
    this.path = podPath(options.namespace, options.podName);
    this.key = options.labelKey ?? ROLE_LABEL;
    this.timeoutMs = options.requestTimeoutMs ?? 10_000;
    this.backoff = options.backoff ?? { initialMs: 250, maxMs: 10_000 };
    this.logger = options.logger ?? silentLogger;
    this.onApplied = options.onApplied;
  }

  /** The value last asked for. */
  get wanted(): PodRole | undefined {
    return this.wantedValue;
  }

  /** The label's value as the API server last confirmed it (a patch response or an observed Pod). */
  get applied(): string | undefined {
    return this.appliedValue;
  }

  /** Asks for `value`; returns at once. No request is made when the API already confirmed it. */
  set(value: PodRole): void {
    if (this.stopper.signal.aborted) return;
    this.wantedValue = value;
    this.wake.abort();
    this.kick();
  }

  /**
   * Feeds in the label and the deletion cost as seen on the Pod (from `PodWatcher`), so that either one
   * changed by someone else is put back. Observations older than the last confirmed patch are ignored.
   */
  observe(value: string | undefined, resourceVersion: string, cost?: string): void {
    if (this.stopper.signal.aborted) return;
    const rv = toVersion(resourceVersion);
    if (rv !== undefined && this.appliedVersion !== undefined && rv < this.appliedVersion) return;
    if (rv !== undefined) this.appliedVersion = rv;
    this.appliedValue = value;
    this.appliedCost = cost;
    this.kick();
  }

  /** Whether the Pod still lacks what is wanted: the role label or its deletion cost (C5). */
  private pending(): boolean {
    const wanted = this.wantedValue;
    return wanted !== undefined && (wanted !== this.appliedValue || DELETION_COST[wanted] !== this.appliedCost);
  }

  /** Resolves when no patch is pending (applied === wanted) or the labeler stopped. For tests and shutdown. */
  async settled(): Promise<void> {
    while (this.loop) await this.loop;
  }

  /** Stops retrying and cancels a request in flight. */
  stop(): void {
    this.stopper.abort();
    this.wake.abort();
  }

  /**
   * Rule C4: a right lost at runtime is one error line (then debug while it lasts) and the request metric's
   * `code="403"`; it never touches readiness — the worker's job does not depend on the label, and a pod that
   * is never ready stalls `maxUnavailable: 0` rollouts. Retrying goes on at the backoff's pace, so a right
   * granted again heals the label without a restart.
   */
  private reportRefusal(err: KubeApiError, value: PodRole, retryInMs: number): void {
    const fields = { event: 'pod-label-refused', label: this.key, value, status: err.status, err, retryInMs };
    if (this.refused) {
      this.logger.debug(fields, 'pod label still refused; retrying');
      return;
    }
    this.refused = true;
    (this.logger.error ?? this.logger.warn).call(
      this.logger,
      fields,
      `the API server refuses the pod label ${this.key}=${value} (${err.status}): the label on this Pod is stale until it is accepted again; ` +
        "grant `patch` on pods to the sidecar's ServiceAccount, or set BATON_POD_LABEL=false — readiness is not affected; " +
        err.message,
    );
  }

  private kick(): void {
    // Rule L3: after stop() nothing runs again — without this, an aborted run's `finally` would kick a
    // new run that returns at once, forever (a microtask loop at 100 % CPU that never lets the process exit).
    if (this.stopper.signal.aborted) return;
    if (this.loop || !this.pending()) return;
    this.loop = this.run().finally(() => {
      this.loop = undefined;
      this.kick(); // an observation during the last request may have changed what is needed
    });
  }

  private async run(): Promise<void> {
    let failures = 0;
    while (!this.stopper.signal.aborted && this.pending()) {
      const value = this.wantedValue!;
      this.wake = new AbortController();
      try {
        const pod = await this.client.request<V1Pod>({
          verb: 'patch',
          resource: POD_RESOURCE,
          method: 'PATCH',
          path: this.path,
          body: rolePatch(this.key, value),
          contentType: 'application/merge-patch+json',
          timeoutMs: this.timeoutMs,
          signal: this.stopper.signal,
        });
        this.lastError = undefined;
        this.appliedValue = pod.metadata?.labels?.[this.key];
        this.appliedCost = pod.metadata?.annotations?.[DELETION_COST_ANNOTATION];
        this.appliedVersion = toVersion(pod.metadata?.resourceVersion) ?? this.appliedVersion;
        if (this.refused) {
          this.refused = false;
          (this.logger.info ?? this.logger.warn).call(
            this.logger,
            { event: 'pod-label-restored', label: this.key, value: this.appliedValue },
            `pod label ${this.key}=${this.appliedValue} applied again: the API server accepts the patch again`,
          );
        }
        this.logger.debug({ label: this.key, value: this.appliedValue, deletionCost: this.appliedCost }, 'pod label applied');
        this.onApplied?.(this.appliedValue);
        if (this.pending() && this.wantedValue === value) {
          // The patch succeeded but the Pod does not carry it (a mutating webhook rewrote it): asking again
          // at once would spin; ask again at the backoff's pace, saying what differs.
          const delay = backoffDelay(++failures, this.backoff);
          this.logger.warn(
            { event: 'pod-label-mismatch', label: this.key, value, applied: this.appliedValue, deletionCost: this.appliedCost, retryInMs: delay },
            `the API server accepted the pod label patch but the Pod carries ${this.key}=${this.appliedValue} and deletion cost ${this.appliedCost}; retrying`,
          );
          await sleep(delay, AbortSignal.any([this.stopper.signal, this.wake.signal]));
        } else {
          failures = 0;
        }
      } catch (err) {
        if (this.stopper.signal.aborted) return;
        this.lastError = err instanceof Error ? err : new Error(String(err));
        const delay = backoffDelay(++failures, this.backoff);
        if (isLabelRefusal(err)) this.reportRefusal(err, value, delay);
        else this.logger.warn({ err: this.lastError, label: this.key, value, retryInMs: delay }, 'pod label not applied; retrying');
        await sleep(delay, AbortSignal.any([this.stopper.signal, this.wake.signal]));
      }
    }
  }
}

/** Answers that refuse the patch itself — RBAC (403) or an admission policy or webhook (403, 422, 400): only a change of rights or policy helps. */
const REFUSALS: ReadonlySet<number> = new Set([400, 403, 422]);

/**
 * Whether `err` is the API server refusing the label patch, as opposed to not answering or a missing Pod.
 * At start `provePodLabelRight` turns it into an exit; at runtime the labeler reports it.
 */
export function isLabelRefusal(err: unknown): err is KubeApiError {
  return err instanceof KubeApiError && REFUSALS.has(err.status);
}

/** resourceVersions are opaque, but etcd's are integers: compare them when they are. */
function toVersion(rv: string | undefined): bigint | undefined {
  return rv !== undefined && /^\d+$/.test(rv) ? BigInt(rv) : undefined;
}
