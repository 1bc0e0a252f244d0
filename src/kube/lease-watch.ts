// The election's view of its Lease, pushed by a watch: the standby learns of a release within one
// round trip instead of client-go's polling period.
import type { V1Lease } from '@kubernetes/client-node';
import type { ObservedLease } from '../election/record.ts';
import type { BackoffOptions } from './backoff.ts';
import { LEASE_RESOURCE, leasePath, observedLeaseOf } from './lease-convert.ts';
import { ConvertingWatcher, type ObjectEventType, type WatchStart } from './object-watcher.ts';
import type { KubeClient } from './rest.ts';

/** A Lease observation: `lease` is set for SYNCED/ADDED/MODIFIED (and DELETED: the last state), unset for ABSENT. */
export interface LeaseEvent {
  type: ObjectEventType;
  lease?: ObservedLease;
  /** ABSENT: the list's resourceVersion (when the server gave one). */
  resourceVersion?: string;
}

/** Options of `LeaseWatcher` (see `ObjectWatcherOptions` for the tuning fields). */
export interface LeaseWatcherOptions {
  client: KubeClient;
  namespace: string;
  name: string;
  onEvent: (event: LeaseEvent) => void;
  onError?: (err: Error) => void;
  onStart?: (start: WatchStart) => void;
  onRecovered?: (failures: number) => void;
  timeoutSeconds?: number;
  idleTimeoutMs?: number;
  requestTimeoutMs?: number;
  backoff?: BackoffOptions;
}

/** Watches the Lease `namespace/name`. */
export class LeaseWatcher extends ConvertingWatcher<V1Lease> {
  constructor(options: LeaseWatcherOptions) {
    const { client, namespace, name, onEvent, ...rest } = options;
    super({
      ...rest,
      client,
      name,
      resource: LEASE_RESOURCE,
      collectionPath: leasePath(namespace),
      onEvent: (e) =>
        onEvent(
          e.object
            ? { type: e.type, lease: observedLeaseOf(e.object) }
            : e.resourceVersion === undefined
              ? { type: e.type }
              : { type: e.type, resourceVersion: e.resourceVersion },
        ),
    });
  }
}
