// Every default value of baton, written once: the settings' defaults (what `--help` shows and what
// src/config.ts fills in when a variable is unset), the sidecar's own cadences, and client-go's jitter.
// The code, the test fakes, the model and the fault suites import them from here.

/** BATON_LEASE_DURATION, BATON_RENEW_DEADLINE, BATON_RETRY_PERIOD: client-go's defaults, in ms. */
export const DEFAULT_TIMINGS = { leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 } as const;

/** BATON_PAUSE_ACK_TIMEOUT: how long a handoff waits for a worker that confirms its pauses. */
export const DEFAULT_PAUSE_ACK_TIMEOUT_MS = 15_000;

/** BATON_DRAIN: how long a handoff waits for a worker that has never confirmed a pause. */
export const DEFAULT_DRAIN_MS = 5_000;

/** BATON_WORKER_GRACE: how long a leader's worker may be gone before the leader steps aside (rule L1). */
export const DEFAULT_WORKER_GRACE_MS = 5_000;

/** BATON_START_SIGNAL and BATON_PAUSE_SIGNAL. */
export const DEFAULT_START_SIGNAL = 'SIGUSR1';
export const DEFAULT_PAUSE_SIGNAL = 'SIGUSR2';

/** BATON_LISTEN (the local API, loopback only) and BATON_PROBE_LISTEN (the kubelet's probes and /metrics). */
export const DEFAULT_LISTEN = '127.0.0.1:4040';
export const DEFAULT_PROBE_LISTEN = '0.0.0.0:4041';

/** BATON_LOG_LEVEL. */
export const DEFAULT_LOG_LEVEL = 'info';

/**
 * BATON_YIELD_TO_NEWER (rule Y1): how long after a pod of a newer revision turns Ready the leader hands over
 * to it. The new pod has just started (its bot, its sidecar, the kubelet's status writes): a second lets that
 * settle. The chart's `deployment.minReadySeconds` must be longer, so that the old Pod is deleted after.
 */
export const DEFAULT_YIELD_DELAY_MS = 1_000;

/**
 * BATON_TAKEOVER (rule W1): how long a leader's word waits for a standby to take over before the leader releases
 * as before. A takeover lands within a write's round trip (10–20 ms on a busy node); the bound only matters when
 * a standby that said it takes over never does, or an answer is lost. Refused above `MAX_TAKEOVER_OFFER_MS`.
 */
export const DEFAULT_TAKEOVER_OFFER_MS = 300;
/** The leader does not renew while its word waits: a second leaves the renew deadline far away. */
export const MAX_TAKEOVER_OFFER_MS = 1_000;

/** BATON_POD_LABEL: keep the label `baton/role` (and the deletion cost, rule C5) on the own Pod. */
export const DEFAULT_POD_LABEL = true;

/**
 * How often the worker controller looks for the worker in /proc. Rule L1: a healthy standby's worker
 * starts within the worker grace + one scan + one round trip.
 */
export const SCAN_INTERVAL_MS = 500;

/** How often the worker controller sends the current state again: signals are edges and can be missed. */
export const RESYNC_MS = 30_000;

/**
 * Rule E1: the release's Event waits until the Lease shows the successor's acquire, at most this long. Sent
 * with the release, it hit the API server beside the successor's acquire, on the gap's path (README, "Where
 * a real-pod handoff's time goes"); with no successor (the last replica) it goes out after this bound.
 */
export const RELEASE_EVENT_WAIT_MS = 1_000;

/** How often the sidecar re-evaluates eligibility and readiness (the worker scan publishes changes too). */
export const EVALUATE_EVERY_MS = 1_000;

/** client-go's JitterFactor: a standby's retry waits retryPeriod × [1, 1 + JITTER_FACTOR). */
export const JITTER_FACTOR = 1.2;

/** The longest a standby's jittered retry waits, in retry periods: 1 + JITTER_FACTOR = 2.2 (the "2.2·RP" of the bounds). */
export const JITTER_MAX = 1 + JITTER_FACTOR;
