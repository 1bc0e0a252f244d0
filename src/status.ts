/**
 * What baton knows at this moment, in the shape `GET /leader` serves it. One object, produced by the
 * sidecar (`src/sidecar.ts`) and read by the local API, the probes, the pod label and the metrics, so that
 * they can never disagree (rule C2).
 */
export interface LeaderStatus {
  /** This pod's identity (`BATON_IDENTITY`). */
  identity: string;
  /** True while this pod holds the Lease and its worker has been told to run. */
  isLeader: boolean;
  /** The Lease's current holder as last observed; `""` when released or unknown. */
  holder: string;
  /** The Lease's `leaseTransitions`: increments on every change of holder; a fencing token for writes. */
  epoch: number;
  /** When the current holder acquired the Lease (ISO 8601), or null. */
  since: string | null;
  /**
   * The Lease's last renew time (ISO 8601), or null. For the leader it is written by this pod with the
   * node's clock, which the pod's containers share: the worker kits' dead-man's switch compares it
   * with their own clock (`renewedAt + timings.renewDeadlineMs`).
   */
  renewedAt: string | null;
  /** The Lease's timings as configured, so the worker can pause before any standby may start. */
  timings?: LeaseTimings;
  lease: { name: string; namespace: string };
  /** The latest pause this sidecar sent; a worker confirms it with `POST /paused {"pause": id}`. */
  pause: PauseStatus;
  /** True once this pod has begun to hand over: it will never take the Lease again. */
  handingOver: boolean;
}

/** The Lease's timings (BATON_LEASE_DURATION, BATON_RENEW_DEADLINE, BATON_RETRY_PERIOD), in ms. */
export interface LeaseTimings {
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
}

export interface PauseStatus {
  /** Increments with every pause signal sent; 0 before the first. */
  id: number;
  sentAt: string | null;
  confirmedAt: string | null;
}

/** `/readyz`: ready, or the list of what is missing, each a sentence that names the fix. */
export interface Readiness {
  ready: boolean;
  missing: string[];
}

/** `/healthz`: fails only when the process is stuck. */
export interface Health {
  healthy: boolean;
  reason?: string;
}

/** The answer to a worker's `POST /paused`. Only `accepted` ends a handoff's wait. */
export type PauseConfirmation = 'accepted' | 'duplicate' | 'stale' | 'early' | 'not-paused';
