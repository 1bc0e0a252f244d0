// The election's LeaseLock on a real coordination.k8s.io/v1 Lease, with optimistic concurrency on
// resourceVersion exactly as client-go's LeaseLock does it (GET, then PUT carrying the version read).
import type { V1Lease, V1ObjectMeta } from '@kubernetes/client-node';
import { LockConflictError, LockForbiddenError, LockNotFoundError, type LeaseLock } from '../election/lock.ts';
import type { LeaderRecord, ObservedLease } from '../election/record.ts';
import { KubeApiError } from './errors.ts';
import { LEASE_RESOURCE, leasePath, leaseSpecOf, observedLeaseOf } from './lease-convert.ts';
import type { KubeClient } from './rest.ts';

/** Options of `KubeLeaseLock`. */
export interface KubeLeaseLockOptions {
  client: KubeClient;
  namespace: string;
  name: string;
  /** Upper bound per request on top of the caller's signal (default 10 s). */
  requestTimeoutMs?: number;
}

/** A `LeaseLock` backed by the Lease `namespace/name`. */
export class KubeLeaseLock implements LeaseLock {
  private readonly client: KubeClient;
  private readonly namespace: string;
  private readonly name: string;
  private readonly timeoutMs: number;
  /** Metadata as last read: an update keeps the Lease's labels, annotations and owners. */
  private metadata: V1ObjectMeta | undefined;

  constructor(options: KubeLeaseLockOptions) {
    this.client = options.client;
    this.namespace = options.namespace;
    this.name = options.name;
    this.timeoutMs = options.requestTimeoutMs ?? 10_000;
  }

  async get(signal: AbortSignal): Promise<ObservedLease | undefined> {
    try {
      const lease = await this.call('get', 'GET', leasePath(this.namespace, this.name), undefined, signal);
      return this.remember(lease);
    } catch (err) {
      if (err instanceof LockNotFoundError) {
        this.metadata = undefined;
        return undefined;
      }
      throw err;
    }
  }

  async create(record: LeaderRecord, signal: AbortSignal): Promise<ObservedLease> {
    const body = { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: this.name, namespace: this.namespace }, spec: leaseSpecOf(record) };
    return this.remember(await this.call('create', 'POST', leasePath(this.namespace), body, signal));
  }

  /**
   * PUT with `metadata.resourceVersion` and the metadata last read, including `uid`. The uid matters: Leases
   * allow create-on-update, so a PUT without it would silently recreate a deleted Lease; with it the API
   * answers 409 (a UID precondition), which surfaces as `LockConflictError`. Without metadata (never read,
   * or last seen absent) the Lease is read first, so a deleted Lease gives `LockNotFoundError`.
   */
  async update(record: LeaderRecord, resourceVersion: string, signal: AbortSignal): Promise<ObservedLease> {
    if (this.metadata === undefined) {
      const current = await this.get(signal);
      if (current === undefined) throw new LockNotFoundError(`Lease ${this.describe()} does not exist`);
      if (current.resourceVersion !== resourceVersion) {
        throw new LockConflictError(`Lease ${this.describe()} is at resourceVersion ${current.resourceVersion}, not ${resourceVersion}`);
      }
    }
    // managedFields are left out: the server keeps the existing ones when an update carries none.
    const { managedFields: _managed, ...kept } = this.metadata ?? {};
    const body = {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { ...kept, name: this.name, namespace: this.namespace, resourceVersion },
      spec: leaseSpecOf(record),
    };
    return this.remember(await this.call('update', 'PUT', leasePath(this.namespace, this.name), body, signal));
  }

  describe(): string {
    return `${this.namespace}/${this.name}`;
  }

  private remember(lease: V1Lease): ObservedLease {
    this.metadata = lease.metadata;
    return observedLeaseOf(lease);
  }

  private async call(verb: string, method: 'GET' | 'POST' | 'PUT', path: string, body: unknown, signal: AbortSignal): Promise<V1Lease> {
    try {
      return await this.client.request<V1Lease>({ verb, resource: LEASE_RESOURCE, method, path, body, timeoutMs: this.timeoutMs, signal });
    } catch (err) {
      throw lockError(err, verb);
    }
  }
}

/** Maps API answers onto the election's error types; anything else (timeouts, 5xx) passes through. */
function lockError(err: unknown, verb: string): unknown {
  if (!(err instanceof KubeApiError)) return err;
  const options = { cause: err };
  if (err.status === 409) return new LockConflictError(err.message, options);
  if (err.status === 404) return new LockNotFoundError(err.message, options);
  if (err.status === 403) {
    const forbidden = new LockForbiddenError(verb, LEASE_RESOURCE, err.message);
    forbidden.cause = err;
    return forbidden;
  }
  return err;
}
