// Rule W1 (docs/protocol.md): which peers a leader tells its word to. Pure, like newer-revision.ts.
import type { PeerPod } from './newer-revision.ts';

/**
 * Every other pod of the Lease that could take over: Ready (its sidecar runs and its worker can start),
 * not being deleted, with an address. When Y1 names a newer pod (`newer`), that pod alone: every other one
 * defers to it and would only refuse, woken on the gap's path for nothing. Sorted by name, so the order
 * never depends on the watch's.
 */
export function wordTargets(selfName: string, peers: Iterable<PeerPod>, newer?: string): Array<{ name: string; ip: string }> {
  const targets: Array<{ name: string; ip: string }> = [];
  for (const p of peers) {
    if (p.name === selfName || !p.ready || p.deleting || !p.ip || (newer !== undefined && p.name !== newer)) continue;
    targets.push({ name: p.name, ip: p.ip });
  }
  return targets.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}
