// Rule Y1's eyes: the pods of the same Lease (label `baton/lease=<name>`, which the chart puts on every pod),
// kept up to date by one list-and-watch, reduced to what Y1 reads (src/rollout/newer-revision.ts).
import type { V1Pod } from '@kubernetes/client-node';
import { REVISION_LABEL, type PeerPod } from '../rollout/newer-revision.ts';
import type { BackoffOptions } from './backoff.ts';
import { parseMicroTime } from './micro-time.ts';
import { ObjectWatcher, type WatchStart } from './object-watcher.ts';
import { POD_RESOURCE, podPath } from './pod-watch.ts';
import type { KubeClient } from './rest.ts';

/** The label the chart puts on every pod of a Lease (`baton.podLabels`); the peer watch selects on it. */
export const LEASE_LABEL = 'baton/lease';

/** Reads what Y1 needs out of a Pod. */
export function peerPodOf(pod: V1Pod): PeerPod {
  const created = pod.metadata?.creationTimestamp;
  return {
    name: pod.metadata?.name ?? '',
    revision: pod.metadata?.labels?.[REVISION_LABEL],
    createdAt: created === undefined ? undefined : created instanceof Date ? created : new Date(created),
    ready: pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false,
    deleting: parseMicroTime(pod.metadata?.deletionTimestamp) !== undefined,
    ip: pod.status?.podIP,
  };
}

/** Options of `PeerWatcher`. */
export interface PeerWatcherOptions {
  client: KubeClient;
  namespace: string;
  /** The Lease's name: the pods labelled `baton/lease=<leaseName>` are the peers. */
  leaseName: string;
  /** Every pod of the Lease as now known, after each change. */
  onChange: (pods: ReadonlyMap<string, PeerPod>) => void;
  onError?: (err: Error) => void;
  onStart?: (start: WatchStart) => void;
  onRecovered?: (failures: number) => void;
  requestTimeoutMs?: number;
  backoff?: BackoffOptions;
}

/**
 * Lists and watches the pods of one Lease (the chart's Role already allows list and watch on pods; the
 * label selector keeps every other pod out of the answer). A relist replaces the whole view.
 */
export class PeerWatcher {
  private readonly pods = new Map<string, PeerPod>();
  private readonly watcher: ObjectWatcher<V1Pod>;

  constructor(options: PeerWatcherOptions) {
    const { client, namespace, leaseName, onChange, ...rest } = options;
    this.watcher = new ObjectWatcher<V1Pod>({
      ...rest,
      client,
      resource: POD_RESOURCE,
      collectionPath: podPath(namespace),
      name: { labelSelector: `${LEASE_LABEL}=${leaseName}` },
      onEvent: (e) => {
        if (e.type === 'LISTED') {
          this.pods.clear();
          for (const p of e.objects ?? []) this.pods.set(p.metadata?.name ?? '', peerPodOf(p));
        } else if (e.object?.metadata?.name !== undefined) {
          if (e.type === 'DELETED') this.pods.delete(e.object.metadata.name);
          else this.pods.set(e.object.metadata.name, peerPodOf(e.object));
        } else return;
        onChange(this.pods);
      },
    });
  }

  start(): this {
    this.watcher.start();
    return this;
  }

  stop(): Promise<void> {
    return this.watcher.stop();
  }
}
