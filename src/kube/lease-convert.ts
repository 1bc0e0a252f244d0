// The one conversion between a coordination.k8s.io/v1 Lease on the wire and baton's election record,
// shared by the lock (reads and writes) and the watcher (observations).
import type { V1Lease, V1LeaseSpec } from '@kubernetes/client-node';
import type { LeaderRecord, ObservedLease } from '../election/record.ts';
import { formatMicroTime, parseMicroTime } from './micro-time.ts';

/** The resource as RBAC and error messages name it. */
export const LEASE_RESOURCE = 'leases.coordination.k8s.io';

/** The Lease collection path in a namespace, or one Lease's path. */
export function leasePath(namespace: string, name?: string): string {
  const base = `/apis/coordination.k8s.io/v1/namespaces/${encodeURIComponent(namespace)}/leases`;
  return name === undefined ? base : `${base}/${encodeURIComponent(name)}`;
}

/** A Lease spec as JSON carries it: MicroTimes are strings (client-node's types say Date). */
export type LeaseSpecWire = Omit<V1LeaseSpec, 'acquireTime' | 'renewTime'> & { acquireTime?: string; renewTime?: string };

/** The spec that stores `record`, with six-digit MicroTimes. */
export function leaseSpecOf(record: LeaderRecord): LeaseSpecWire {
  const spec: LeaseSpecWire = {
    holderIdentity: record.holderIdentity,
    leaseDurationSeconds: record.leaseDurationSeconds,
    leaseTransitions: record.leaseTransitions,
  };
  if (record.acquireTime) spec.acquireTime = formatMicroTime(record.acquireTime);
  if (record.renewTime) spec.renewTime = formatMicroTime(record.renewTime);
  return spec;
}

/** The spec fields the election owns (rule C1): a write replaces these and keeps every other field. */
export const ELECTION_SPEC_FIELDS = ['holderIdentity', 'leaseDurationSeconds', 'acquireTime', 'renewTime', 'leaseTransitions'] as const;

/** Rule W1: the annotation that carries the holder's takeover hash (`LeaderRecord.takeoverHash`). */
export const TAKEOVER_HASH_ANNOTATION = 'baton/takeover-hash';

/**
 * The Lease's annotations with the record's takeover hash set, or removed when the record has none (a release,
 * a writer without W1): a hash left from an earlier term would not prove anything (it is bound to holder and
 * epoch), but it is noise. Undefined when there are none.
 */
export function annotationsOf(record: LeaderRecord, current: Record<string, string> | undefined): Record<string, string> | undefined {
  const { [TAKEOVER_HASH_ANNOTATION]: _old, ...rest } = current ?? {};
  const next = record.takeoverHash === undefined ? rest : { ...rest, [TAKEOVER_HASH_ANNOTATION]: record.takeoverHash };
  return Object.keys(next).length === 0 ? undefined : next;
}

/** Reads the record out of a Lease as the API returned it; absent fields read as client-go reads them ("" and 0). */
export function observedLeaseOf(lease: V1Lease): ObservedLease {
  const spec = lease.spec ?? {};
  return {
    record: {
      holderIdentity: spec.holderIdentity ?? '',
      leaseDurationSeconds: spec.leaseDurationSeconds ?? 0,
      acquireTime: parseMicroTime(spec.acquireTime),
      renewTime: parseMicroTime(spec.renewTime),
      leaseTransitions: spec.leaseTransitions ?? 0,
      ...takeoverHashIn(lease),
    },
    resourceVersion: lease.metadata?.resourceVersion ?? '',
    object: lease,
  };
}

function takeoverHashIn(lease: V1Lease): { takeoverHash?: string } {
  const hash = lease.metadata?.annotations?.[TAKEOVER_HASH_ANNOTATION];
  return hash === undefined ? {} : { takeoverHash: hash };
}
