// The election's LeaseLock on a real coordination.k8s.io/v1 Lease, with optimistic concurrency on
// resourceVersion exactly as client-go's LeaseLock does it (GET, then PUT carrying the version read).
import type { V1Lease, V1ObjectMeta } from '@kubernetes/client-node';
import { LockConflictError, LockForbiddenError, LockNotFoundError, type LeaseLock } from '../election/lock.ts';
import type { LeaderRecord, ObservedLease } from '../election/record.ts';
import { KubeApiError } from './errors.ts';
import { annotationsOf, ELECTION_SPEC_FIELDS, LEASE_RESOURCE, leasePath, leaseSpecOf, observedLeaseOf } from './lease-convert.ts';
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

  constructor(options: KubeLeaseLockOptions) {
    this.client = options.client;
    this.namespace = options.namespace;
    this.name = options.name;
    this.timeoutMs = options.requestTimeoutMs ?? 10_000;
  }

  async get(signal: AbortSignal): Promise<ObservedLease | undefined> {
    try {
      return observedLeaseOf(await this.call('get', 'GET', leasePath(this.namespace, this.name), undefined, signal));
    } catch (err) {
      if (err instanceof LockNotFoundError) return undefined;
      throw err;
    }
  }

  async create(record: LeaderRecord, signal: AbortSignal): Promise<ObservedLease> {
    const annotations = annotationsOf(record, undefined);
    const metadata = { name: this.name, namespace: this.namespace, ...(annotations ? { annotations } : {}) };
    const body = { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata, spec: leaseSpecOf(record) };
    return observedLeaseOf(await this.call('create', 'POST', leasePath(this.namespace), body, signal));
  }

  /**
   * PUT of the object `base` was read from — its metadata with `resourceVersion` and `uid`, and the spec
   * fields the election does not own — with the election's fields replaced (rule C1). Metadata and version
   * come from the same read, so a label, annotation or ownerReference written since makes the PUT conflict
   * (409) instead of being reverted. The uid matters too: Leases allow create-on-update, so a PUT without
   * it would silently recreate a deleted Lease; with it the API answers 409 (a UID precondition). A base
   * without its object (built by hand) is read first, so a deleted Lease gives `LockNotFoundError`.
   */
  async update(record: LeaderRecord, base: ObservedLease, signal: AbortSignal): Promise<ObservedLease> {
    let object = base.object as V1Lease | undefined;
    if (object === undefined) {
      const current = await this.get(signal);
      if (current === undefined) throw new LockNotFoundError(`Lease ${this.describe()} does not exist`);
      if (current.resourceVersion !== base.resourceVersion) {
        throw new LockConflictError(`Lease ${this.describe()} is at resourceVersion ${current.resourceVersion}, not ${base.resourceVersion}`);
      }
      object = current.object as V1Lease;
    }
    // managedFields are left out: the server keeps the existing ones when an update carries none.
    const { managedFields: _managed, annotations: current, ...kept }: V1ObjectMeta = object.metadata ?? {};
    // W1: the takeover hash is the election's one annotation (C1): set with the record, or removed.
    const annotations = annotationsOf(record, current);
    const spec: Record<string, unknown> = { ...(object.spec as Record<string, unknown> | undefined) };
    for (const field of ELECTION_SPEC_FIELDS) delete spec[field];
    const body = {
      ...object,
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { ...kept, ...(annotations ? { annotations } : {}), name: this.name, namespace: this.namespace, resourceVersion: base.resourceVersion },
      spec: { ...spec, ...leaseSpecOf(record) },
    };
    return observedLeaseOf(await this.call('update', 'PUT', leasePath(this.namespace, this.name), body, signal));
  }

  describe(): string {
    return `${this.namespace}/${this.name}`;
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
