// The sidecar's local API as the worker sees it: the answer of GET /leader and of POST /paused.
// The sidecar's own definition (baton's src/status.ts) must stay assignable to these (a test checks).

/** The Lease's timings, as the sidecar is configured (milliseconds). */
export interface LeaseTimings {
  /** How long a standby waits, since it last saw the Lease change, before it may take it. */
  leaseDurationMs: number;
  /** How long the leader keeps trying to renew before it gives up and pauses its worker. */
  renewDeadlineMs: number;
  /** How often the leader renews. */
  retryPeriodMs: number;
}

/** The latest pause the sidecar sent. */
export interface PauseStatus {
  /** Increments with every pause signal sent; 0 before the first. */
  id: number;
  /** When it was sent (ISO 8601), or null. */
  sentAt: string | null;
  /** When its confirmation was accepted (ISO 8601), or null. */
  confirmedAt: string | null;
}

/** `GET /leader`: what the sidecar knows at this moment. */
export interface LeaderStatus {
  /** This pod's identity. */
  identity: string;
  /** True while this pod holds the Lease and its worker has been told to run. */
  isLeader: boolean;
  /** The Lease's current holder as last observed; `""` when released or unknown. */
  holder: string;
  /** The Lease's `leaseTransitions`: rises on every change of holder; a fencing token for writes. */
  epoch: number;
  /** When the current holder acquired the Lease (ISO 8601), or null. */
  since: string | null;
  /**
   * The Lease's last renew time (ISO 8601), or null. For the leader it is written by this pod's
   * sidecar with the node's clock, which the pod's containers share: the dead-man's switch reads it.
   */
  renewedAt: string | null;
  /** The Lease's timings; absent from sidecars older than this kit. */
  timings?: LeaseTimings;
  /** The Lease object. */
  lease: {
    /** The Lease's name. */
    name: string;
    /** The Lease's namespace. */
    namespace: string;
  };
  /** The latest pause this sidecar sent; confirm it with `POST /paused {"pause": id}`. */
  pause: PauseStatus;
  /** True once this pod has begun to hand over: it will never take the Lease again. */
  handingOver: boolean;
}

/** The answer to `POST /paused`. Only `accepted` (or `duplicate`) means the sidecar took it. */
export type PauseConfirmation = 'accepted' | 'duplicate' | 'stale' | 'early' | 'not-paused';
