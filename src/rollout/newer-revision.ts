// Rule Y1 (docs/protocol.md): which peer, if any, this pod yields the Lease to. A rolling update brings up
// pods of a new revision next to the old ones; the leader that hands over to one of them once it is Ready,
// before its own Pod is deleted, hands over once per rollout and on a node that is not busy deleting it.
// Pure: the peer watch (src/kube/peer-watch.ts) feeds it what the API server says of the pods.

/** The label a Deployment's ReplicaSet puts on its pods: one value per revision of the pod template. */
export const REVISION_LABEL = 'pod-template-hash';

/** What Y1 reads from a Pod of the same Lease. */
export interface PeerPod {
  name: string;
  /** The `pod-template-hash` label; undefined for a pod no Deployment made. */
  revision: string | undefined;
  /** `metadata.creationTimestamp` (whole seconds). */
  createdAt: Date | undefined;
  /** The Pod's `Ready` condition is `True`: every container, this sidecar included, is ready. */
  ready: boolean;
  /** `metadata.deletionTimestamp` is set. */
  deleting: boolean;
  /** `status.podIP`, where its sidecar hears a leader's word (W1); undefined until the pod has one. */
  ip?: string | undefined;
}

/**
 * Y1: the newest peer this pod yields to, or undefined. A peer qualifies when it is Ready, not being
 * deleted, of another revision than this pod, and created strictly later (a rollback's pods are created
 * later too, so "newer" follows the way the Deployment is moving, not a revision number). Pods created in
 * the same second are not ordered: no yield, and the handoff waits for the deletion as before. A pod with
 * no revision (not from a Deployment) never yields.
 */
export function newerPeer(self: PeerPod, peers: Iterable<PeerPod>): PeerPod | undefined {
  if (self.revision === undefined || self.createdAt === undefined) return undefined;
  let best: PeerPod | undefined;
  for (const p of peers) {
    if (p.name === self.name || !p.ready || p.deleting || p.revision === undefined || p.revision === self.revision) continue;
    if (p.createdAt === undefined || p.createdAt.getTime() <= self.createdAt.getTime()) continue;
    if (!best || p.createdAt.getTime() > best.createdAt!.getTime() || (p.createdAt.getTime() === best.createdAt!.getTime() && p.name > best.name)) best = p;
  }
  return best;
}
