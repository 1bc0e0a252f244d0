// The election's view of its Lease, pushed by a watch: the standby learns of a release within one
// round trip instead of client-go's polling period.
import type { V1Lease } from '@kubernetes/client-node';
import type { ObservedLease } from '../election/record.ts';
import type { BackoffOptions } from './backoff.ts';
import { LEASE_RESOURCE, leasePath, observedLeaseOf } from './lease-convert.ts';
import { ObjectWatcher, type ObjectEventType } from './object-watcher.ts';
import type { KubeClient } from './rest.ts';

/** A Lease observation: `lease` is set for SYNCED/ADDED/MODIFIED (and DELETED: the last state), unset for ABSENT. */
export interface LeaseEvent {
  type: ObjectEventType;
  lease?: ObservedLease;
}

/** Options of `LeaseWatcher` (see `ObjectWatcherOptions` for the tuning fields). */
export interface LeaseWatcherOptions {
  client: KubeClient;
  namespace: string;
  name: string;
  onEvent: (event: LeaseEvent) => void;
  onError?: (err: Error) => void;
  timeoutSeconds?: number;
  idleTimeoutMs?: number;
  requestTimeoutMs?: number;
  backoff?: BackoffOptions;
}

/** Watches the Lease `namespace/name`. */
export class LeaseWatcher {
  private readonly watcher: ObjectWatcher<V1Lease>;

  constructor(options: LeaseWatcherOptions) {
    const { client, namespace, name, onEvent, ...rest } = options;
    this.watcher = new ObjectWatcher<V1Lease>({
      ...rest,
      client,
      name,
      resource: LEASE_RESOURCE,
      collectionPath: leasePath(namespace),
      onEvent: (e) => onEvent(e.object ? { type: e.type, lease: observedLeaseOf(e.object) } : { type: e.type }),
    });
  }

  /** `performance.now()` of the last answer or stream byte from the API server. */
  get lastContact(): number | undefined {
    return this.watcher.lastContact;
  }

  /** The last failure, cleared by the next success; for readiness. */
  get lastError(): Error | undefined {
    return this.watcher.lastError;
  }

  /** True once a list succeeded. */
  get synced(): boolean {
    return this.watcher.synced;
  }

  /** Starts listing and watching; idempotent. */
  start(): this {
    this.watcher.start();
    return this;
  }

  /** Ends the watch; resolves when no request is in flight. */
  stop(): Promise<void> {
    return this.watcher.stop();
  }
}
