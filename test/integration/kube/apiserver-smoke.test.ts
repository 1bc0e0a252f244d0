// The facts baton relies on, checked against the real API server through @kubernetes/client-node:
// MicroTime on Leases, optimistic concurrency, single-object watches, and RBAC.
import { beforeAll, describe, expect, inject, it } from 'vitest';
import * as k8s from '@kubernetes/client-node';
import { adminKubeConfig, freshNamespace, serviceAccountKubeconfig, sidecarRules } from '../../kube/cluster.ts';

const kube = inject('kube');
let namespace: string;
let kc: k8s.KubeConfig;
let leases: k8s.CoordinationV1Api;

beforeAll(async () => {
  namespace = await freshNamespace(kube, 'smoke');
  kc = adminKubeConfig(kube);
  leases = kc.makeApiClient(k8s.CoordinationV1Api);
});

function leaseBody(name: string, holder: string): k8s.V1Lease {
  const now = new k8s.V1MicroTime();
  return {
    metadata: { name },
    spec: { holderIdentity: holder, leaseDurationSeconds: 15, acquireTime: now, renewTime: now, leaseTransitions: 0 },
  };
}

describe('real kube-apiserver', () => {
  it('stores a Lease with MicroTime times and returns them with microseconds', async () => {
    const created = await leases.createNamespacedLease({ namespace, body: leaseBody('micro', 'pod-a') });
    expect(created.spec?.holderIdentity).toBe('pod-a');
    expect(created.metadata?.resourceVersion).toMatch(/^\d+$/);
    const read = await leases.readNamespacedLease({ name: 'micro', namespace });
    // client-node 2.x hands MicroTime back as the wire string, not a Date: baton's Lease lock parses it.
    expect(String(read.spec?.renewTime)).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
    // The wire form keeps six fractional digits; a plain ISO string (three) would have been rejected.
    const raw = await fetchRaw(`/apis/coordination.k8s.io/v1/namespaces/${namespace}/leases/micro`);
    expect(raw.spec.renewTime).toMatch(/\.\d{6}Z$/);
  });

  it('rejects a plain toISOString() time on a Lease (why baton uses V1MicroTime)', async () => {
    const res = await fetchRaw(`/apis/coordination.k8s.io/v1/namespaces/${namespace}/leases`, 'POST', {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { name: 'plain-iso' },
      spec: { holderIdentity: 'x', renewTime: new Date().toISOString() },
    });
    expect(res.code).toBe(400);
  });

  it('answers 409 Conflict to a replace with a stale resourceVersion', async () => {
    const created = await leases.createNamespacedLease({ namespace, body: leaseBody('occ', 'pod-a') });
    const staleVersion = created.metadata!.resourceVersion!;
    const renewed = await leases.replaceNamespacedLease({
      name: 'occ',
      namespace,
      body: { ...created, spec: { ...created.spec, renewTime: new k8s.V1MicroTime() } },
    });
    expect(renewed.metadata!.resourceVersion).not.toBe(staleVersion);
    const stale = leases.replaceNamespacedLease({
      name: 'occ',
      namespace,
      body: { ...created, metadata: { ...created.metadata, resourceVersion: staleVersion }, spec: { ...created.spec, holderIdentity: 'pod-b' } },
    });
    await expect(stale).rejects.toMatchObject({ code: 409 });
    const after = await leases.readNamespacedLease({ name: 'occ', namespace });
    expect(after.spec?.holderIdentity).toBe('pod-a');
  });

  it('delivers MODIFIED to a watch on one Lease by fieldSelector=metadata.name', async () => {
    const created = await leases.createNamespacedLease({ namespace, body: leaseBody('watched', 'pod-a') });
    await leases.createNamespacedLease({ namespace, body: leaseBody('other', 'pod-a') });
    const seen: { type: string; name: string; holder: string }[] = [];
    const watch = new k8s.Watch(kc);
    const gotModified = new Promise<void>((resolve, reject) => {
      void watch
        .watch(
          `/apis/coordination.k8s.io/v1/namespaces/${namespace}/leases`,
          { fieldSelector: 'metadata.name=watched', resourceVersion: created.metadata!.resourceVersion },
          (type: string, obj: k8s.V1Lease) => {
            seen.push({ type, name: obj.metadata!.name!, holder: obj.spec!.holderIdentity ?? '' });
            if (type === 'MODIFIED') resolve();
          },
          (err: unknown) => (err ? reject(err as Error) : undefined),
        )
        .then((controller) => {
          // Change both Leases once the watch is open; only the watched one may arrive.
          void leases.replaceNamespacedLease({ name: 'other', namespace, body: leaseBody('other', 'pod-c') }).catch(() => undefined);
          void leases.replaceNamespacedLease({
            name: 'watched',
            namespace,
            body: { ...created, spec: { ...created.spec, holderIdentity: 'pod-b', renewTime: new k8s.V1MicroTime() } },
          });
          gotModified.finally(() => controller.abort()).catch(() => undefined);
        }, reject);
    });
    await gotModified;
    expect(seen).toEqual([{ type: 'MODIFIED', name: 'watched', holder: 'pod-b' }]);
  });

  it('refuses a least-privilege ServiceAccount token anything beyond its Role (403 on secrets)', async () => {
    const path = await serviceAccountKubeconfig(kube, namespace, 'baton-least', sidecarRules('granted'));
    const sa = new k8s.KubeConfig();
    sa.loadFromFile(path);
    const saLeases = sa.makeApiClient(k8s.CoordinationV1Api);
    const saCore = sa.makeApiClient(k8s.CoreV1Api);
    // Allowed: create, then read the Lease named in the Role.
    await saLeases.createNamespacedLease({ namespace, body: leaseBody('granted', 'pod-a') });
    const read = await saLeases.readNamespacedLease({ name: 'granted', namespace });
    expect(read.spec?.holderIdentity).toBe('pod-a');
    // Refused: secrets, and any other Lease by name.
    await expect(saCore.listNamespacedSecret({ namespace })).rejects.toMatchObject({ code: 403 });
    await expect(saCore.readNamespacedSecret({ name: 'anything', namespace })).rejects.toMatchObject({ code: 403 });
    await expect(saLeases.readNamespacedLease({ name: 'micro', namespace })).rejects.toMatchObject({ code: 403 });
  });
});

interface RawAnswer {
  code?: number;
  spec: { renewTime: string };
}

/** A raw HTTPS call with the admin token, for wire-level checks that the typed client would hide. */
async function fetchRaw(path: string, method = 'GET', body?: unknown): Promise<RawAnswer> {
  const { request } = await import('node:https');
  const { readFileSync } = await import('node:fs');
  return new Promise((resolve, reject) => {
    const req = request(
      `${kube.server}${path}`,
      {
        method,
        ca: readFileSync(kube.caFile),
        headers: { authorization: `Bearer ${kube.adminToken}`, 'content-type': 'application/json' },
      },
      (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString()));
        res.on('end', () => resolve(JSON.parse(text) as RawAnswer));
      },
    );
    req.on('error', reject);
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}
