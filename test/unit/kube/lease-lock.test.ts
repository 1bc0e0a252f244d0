// KubeLeaseLock's update (issue 9, item 7, rule C1): the PUT is the object the base was read from —
// metadata and resourceVersion together — with only the election's spec fields replaced.
import { describe, expect, it } from 'vitest';
import type { V1Lease } from '@kubernetes/client-node';
import { KubeLeaseLock } from '../../../src/kube/lease-lock.ts';
import { annotationsOf, observedLeaseOf, TAKEOVER_HASH_ANNOTATION } from '../../../src/kube/lease-convert.ts';
import type { KubeClient, KubeRequest } from '../../../src/kube/rest.ts';

function fakeClient(answers: V1Lease[]) {
  const sent: KubeRequest[] = [];
  const client = {
    request: (req: KubeRequest) => {
      sent.push(req);
      return Promise.resolve(req.method === 'PUT' ? (req.body as V1Lease) : answers.shift());
    },
  } as unknown as KubeClient;
  return { client, sent };
}

const lease = (rv: string, labels: Record<string, string>): V1Lease => ({
  apiVersion: 'coordination.k8s.io/v1',
  kind: 'Lease',
  metadata: {
    name: 'bot',
    namespace: 'ns',
    uid: 'u-1',
    resourceVersion: rv,
    labels,
    annotations: { a: '1' },
    ownerReferences: [{ apiVersion: 'v1', kind: 'ConfigMap', name: 'owner', uid: 'o-1' }],
    managedFields: [{ manager: 'kubectl' }],
  },
  spec: {
    holderIdentity: 'pod-a',
    leaseDurationSeconds: 15,
    leaseTransitions: 3,
    renewTime: '2026-11-30T00:00:00.000000Z' as unknown as Date,
    strategy: 'Custom',
  },
});

describe('KubeLeaseLock update', () => {
  it('writes the metadata of the object it is given, not of an older read (a label added since survives)', async () => {
    const { client, sent } = fakeClient([lease('5', { team: 'bots' })]);
    const lock = new KubeLeaseLock({ client, namespace: 'ns', name: 'bot' });
    await lock.get(AbortSignal.timeout(1000)); // the lock's own read, at rv 5
    const watched = observedLeaseOf(lease('7', { team: 'bots', 'added-by': 'kubectl' })); // the watch, at rv 7
    const record = { ...watched.record, renewTime: new Date('2026-11-30T00:00:02Z') };
    await lock.update(record, watched, AbortSignal.timeout(1000));
    const put = sent.at(-1)!.body as V1Lease;
    expect(put.metadata).toEqual({
      name: 'bot',
      namespace: 'ns',
      uid: 'u-1',
      resourceVersion: '7',
      labels: { team: 'bots', 'added-by': 'kubectl' },
      annotations: { a: '1' },
      ownerReferences: [{ apiVersion: 'v1', kind: 'ConfigMap', name: 'owner', uid: 'o-1' }],
    });
    // Spec fields the election does not own are kept; its own are replaced.
    expect(put.spec).toMatchObject({ holderIdentity: 'pod-a', leaseTransitions: 3, strategy: 'Custom', renewTime: '2026-11-30T00:00:02.000000Z' });
  });

  it("W1: writes the holder record's takeover hash as the election's one annotation, keeps the others, and removes it with a release", async () => {
    const { client, sent } = fakeClient([]);
    const lock = new KubeLeaseLock({ client, namespace: 'ns', name: 'bot' });
    const base = observedLeaseOf(lease('7', {}));
    const sealed = { ...base.record, renewTime: new Date('2026-11-30T00:00:02Z'), takeoverHash: 'ab'.repeat(32) };
    const written = await lock.update(sealed, base, AbortSignal.timeout(1000));
    expect((sent.at(-1)!.body as V1Lease).metadata?.annotations).toEqual({ a: '1', [TAKEOVER_HASH_ANNOTATION]: 'ab'.repeat(32) });
    // Read back, the record carries it.
    expect(written.record.takeoverHash).toBe('ab'.repeat(32));
    const released = { ...base.record, holderIdentity: '' };
    await lock.update(released, observedLeaseOf(sent.at(-1)!.body as V1Lease), AbortSignal.timeout(1000));
    expect((sent.at(-1)!.body as V1Lease).metadata?.annotations).toEqual({ a: '1' });
    expect(annotationsOf(released, { [TAKEOVER_HASH_ANNOTATION]: 'x' })).toBeUndefined();
  });
});
