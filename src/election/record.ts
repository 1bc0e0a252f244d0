/**
 * The leader election record as it lives in a Lease's spec — the same fields client-go's
 * `resourcelock.LeaderElectionRecord` maps onto `coordination.k8s.io/v1` Lease.
 */
export interface LeaderRecord {
  /** Who holds the Lease; `""` once the holder has released it. */
  holderIdentity: string;
  /** How long a holder's claim lasts after its last renew, in seconds (1 on a released Lease, as client-go writes). */
  leaseDurationSeconds: number;
  acquireTime: Date | undefined;
  renewTime: Date | undefined;
  /** Incremented every time the holder changes: baton's epoch and fencing token. */
  leaseTransitions: number;
  /**
   * Rule W1: the hash of the holder's term secret (the Lease's `baton/takeover-hash` annotation), which lets a
   * standby check the holder's word (`takeover.ts`). Absent on records of other writers and on releases.
   * Not part of the claim (`sameRecord`).
   */
  takeoverHash?: string;
}

/**
 * A record together with the resourceVersion it was read at (optimistic concurrency) and, opaque to the
 * election, the whole object it was read from: a write starts from that object, so it changes only the
 * election's fields (rule C1) and always matches its resourceVersion.
 */
export interface ObservedLease {
  record: LeaderRecord;
  resourceVersion: string;
  /** The lock's own copy of what it read (a V1Lease for the Kubernetes lock). */
  object?: unknown;
}

/** True when two records describe the same claim; used to decide whether the holder made progress. */
export function sameRecord(a: LeaderRecord, b: LeaderRecord): boolean {
  return (
    a.holderIdentity === b.holderIdentity &&
    a.leaseDurationSeconds === b.leaseDurationSeconds &&
    a.leaseTransitions === b.leaseTransitions &&
    a.acquireTime?.getTime() === b.acquireTime?.getTime() &&
    a.renewTime?.getTime() === b.renewTime?.getTime()
  );
}
