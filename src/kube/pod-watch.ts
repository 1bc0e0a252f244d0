// The sidecar's own Pod: its deletionTimestamp is the earliest sign of termination for a native sidecar
// (which gets SIGTERM only after the worker exits), and container IDs tell when the worker restarted.
import type { V1ContainerStatus, V1Pod } from '@kubernetes/client-node';
import type { BackoffOptions } from './backoff.ts';
import { parseMicroTime } from './micro-time.ts';
import { ConvertingWatcher, type ObjectEventType, type WatchStart } from './object-watcher.ts';
import type { KubeClient } from './rest.ts';

/** What baton reads from its Pod. */
export interface ObservedPod {
  name: string;
  uid: string;
  resourceVersion: string;
  /** Set once the Pod is being deleted. */
  deletionTimestamp: Date | undefined;
  /** Container name → `containerID` (`containerd://...`), from `containerStatuses` and `initContainerStatuses`; containers without an ID yet are left out. */
  containerIDs: ReadonlyMap<string, string>;
  labels: Readonly<Record<string, string>>;
  annotations: Readonly<Record<string, string>>;
}

/** A Pod observation: `pod` is unset for ABSENT. */
export interface PodEvent {
  type: ObjectEventType;
  pod?: ObservedPod;
}

/** Options of `PodWatcher` (see `ObjectWatcherOptions` for the tuning fields). */
export interface PodWatcherOptions {
  client: KubeClient;
  namespace: string;
  name: string;
  onEvent: (event: PodEvent) => void;
  onError?: (err: Error) => void;
  onStart?: (start: WatchStart) => void;
  onRecovered?: (failures: number) => void;
  timeoutSeconds?: number;
  idleTimeoutMs?: number;
  requestTimeoutMs?: number;
  backoff?: BackoffOptions;
}

/** The resource as RBAC names it (core group). */
export const POD_RESOURCE = 'pods';

/** The Pod collection path in a namespace, or one Pod's path. */
export function podPath(namespace: string, name?: string): string {
  const base = `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods`;
  return name === undefined ? base : `${base}/${encodeURIComponent(name)}`;
}

/** Reads the fields baton needs out of a Pod. */
export function observedPodOf(pod: V1Pod): ObservedPod {
  const ids = new Map<string, string>();
  const add = (statuses: V1ContainerStatus[] | undefined): void => {
    for (const s of statuses ?? []) if (s.containerID) ids.set(s.name, s.containerID);
  };
  add(pod.status?.initContainerStatuses);
  add(pod.status?.containerStatuses);
  return {
    name: pod.metadata?.name ?? '',
    uid: pod.metadata?.uid ?? '',
    resourceVersion: pod.metadata?.resourceVersion ?? '',
    deletionTimestamp: parseMicroTime(pod.metadata?.deletionTimestamp),
    containerIDs: ids,
    labels: pod.metadata?.labels ?? {},
    annotations: pod.metadata?.annotations ?? {},
  };
}

/**
 * Watches one Pod (normally the sidecar's own). Both the list and the watch carry
 * `fieldSelector=metadata.name=<pod>`, so the API server authorises them per name: a Role with
 * `resourceNames: [<pod>]` is enough, and the sidecar never receives another pod. (A Deployment's Role
 * cannot name its pods in advance, so the chart grants list/watch on all of them: docs/security.md.)
 */
export class PodWatcher extends ConvertingWatcher<V1Pod> {
  constructor(options: PodWatcherOptions) {
    const { client, namespace, name, onEvent, ...rest } = options;
    super({
      ...rest,
      client,
      name,
      resource: POD_RESOURCE,
      collectionPath: podPath(namespace),
      onEvent: (e) => onEvent(e.object ? { type: e.type, pod: observedPodOf(e.object) } : { type: e.type }),
    });
  }
}
