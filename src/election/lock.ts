import type { LeaderRecord, ObservedLease } from './record.ts';

/**
 * Storage for the election record, as narrow as client-go's `resourcelock.Interface`.
 * Implementations: `src/kube/lease-lock.ts` (a real Lease) and an in-memory one for unit tests.
 * Every call takes an AbortSignal: the elector bounds each request with a timeout.
 */
export interface LeaseLock {
  /** Reads the record; `undefined` when the Lease does not exist. */
  get(signal: AbortSignal): Promise<ObservedLease | undefined>;
  /** Creates the Lease; throws `LockConflictError` when it already exists. */
  create(record: LeaderRecord, signal: AbortSignal): Promise<ObservedLease>;
  /**
   * Replaces the record in the Lease as `base` found it, if it is still at `base.resourceVersion`: the
   * write is `base`'s whole object (its metadata, and spec fields the election does not own) with only the
   * election's spec fields changed (rule C1), as client-go's LeaseLock updates the object it read. Throws
   * `LockConflictError` when the Lease changed since (409) — also when it was deleted since: the API server
   * would recreate a Lease on update, so the write carries the uid read as a precondition and gets 409 —
   * and `LockNotFoundError` when `base` carries no object and the Lease is gone.
   */
  update(record: LeaderRecord, base: ObservedLease, signal: AbortSignal): Promise<ObservedLease>;
  /** `namespace/name`, for logs and errors. */
  describe(): string;
}

/** The Lease changed since it was read (HTTP 409), or was created by someone else first. */
export class LockConflictError extends Error {
  override name = 'LockConflictError';
}

/** The Lease does not exist (HTTP 404). */
export class LockNotFoundError extends Error {
  override name = 'LockNotFoundError';
}

/** The API refused this identity the verb (HTTP 403): RBAC is missing. `verb` and `resource` name what to grant. */
export class LockForbiddenError extends Error {
  override name = 'LockForbiddenError';
  readonly verb: string;
  readonly resource: string;
  constructor(verb: string, resource: string, message: string) {
    super(message);
    this.verb = verb;
    this.resource = resource;
  }
}
