// Everything baton does, with the chart's least-privilege Role (`sidecarRules`): list and watch of ONE
// Lease are authorised by resourceName through fieldSelector=metadata.name; the Pod watch asks for its
// own Pod the same way (a Role naming the Pod suffices). Anything else is a 403 whose message says what to grant.
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import type { V1Pod } from '@kubernetes/client-node';
import { LockForbiddenError } from '../../../src/election/lock.ts';
import { loadConnection } from '../../../src/kube/connection.ts';
import { KubeApiError } from '../../../src/kube/errors.ts';
import { EventRecorder } from '../../../src/kube/events.ts';
import { leasePath } from '../../../src/kube/lease-convert.ts';
import { KubeLeaseLock } from '../../../src/kube/lease-lock.ts';
import { LeaseWatcher, type LeaseEvent } from '../../../src/kube/lease-watch.ts';
import { PodLabeler } from '../../../src/kube/pod-label.ts';
import { PodWatcher, podPath, type PodEvent } from '../../../src/kube/pod-watch.ts';
import { KubeClient } from '../../../src/kube/rest.ts';
import { freshNamespace, serviceAccountKubeconfig, sidecarRules } from '../../kube/cluster.ts';

const kube = inject('kube');
let namespace: string;
let admin: KubeClient;
let sa: KubeClient;

beforeAll(async () => {
  namespace = await freshNamespace(kube, 'kube-rbac');
  admin = new KubeClient(await loadConnection({ env: { KUBECONFIG: kube.adminKubeconfig } }));
  const path = await serviceAccountKubeconfig(kube, namespace, 'baton', sidecarRules('bot'));
  const connection = await loadConnection({ env: { KUBECONFIG: path } });
  expect(connection.namespace).toBe(namespace);
  sa = new KubeClient(connection);
  await admin.request({
    verb: 'create',
    resource: 'pods',
    method: 'POST',
    path: podPath(namespace),
    body: {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'me' },
      spec: { nodeName: 'fake-node', automountServiceAccountToken: false, containers: [{ name: 'worker', image: 'busybox' }] },
    },
    timeoutMs: 5000,
  });
});
afterAll(async () => {
  await admin.request({
    verb: 'delete',
    resource: 'pods',
    method: 'DELETE',
    path: podPath(namespace, 'me'),
    query: { gracePeriodSeconds: 0 },
    timeoutMs: 5000,
  });
  admin.close();
  sa.close();
});

const signal = (): AbortSignal => AbortSignal.timeout(5000);
const record = (holder: string) => ({ holderIdentity: holder, leaseDurationSeconds: 15, acquireTime: new Date(), renewTime: new Date(), leaseTransitions: 0 });

describe('the Pod watch is by name', () => {
  it("works with pods list/watch granted for the own Pod's name only (as a StatefulSet's Role could), and is refused other pods", async () => {
    // Deployments cannot name their pods in advance, so the chart grants list/watch on all pods; this shows the
    // watch itself asks for nothing more than its own Pod (fieldSelector=metadata.name on list and watch).
    const rules = sidecarRules('bot').map((r) => (r.resources?.includes('pods') ? { ...r, resourceNames: ['me'] } : r));
    const path = await serviceAccountKubeconfig(kube, namespace, 'by-name', rules);
    const byName = new KubeClient(await loadConnection({ env: { KUBECONFIG: path } }));
    const events: PodEvent[] = [];
    const own = new PodWatcher({ client: byName, namespace, name: 'me', onEvent: (e) => events.push(e) }).start();
    const other = new PodWatcher({ client: byName, namespace, name: 'someone-else', backoff: { initialMs: 50, maxMs: 100 }, onEvent: () => undefined }).start();
    try {
      await vi.waitFor(() => expect(events[0]?.type).toBe('SYNCED'));
      expect(events[0]!.pod?.name).toBe('me');
      await vi.waitFor(() => expect(other.lastError).toMatchObject({ status: 403, verb: 'list' }));
      const all = await byName.request({ verb: 'list', resource: 'pods', method: 'GET', path: podPath(namespace), timeoutMs: 5000 }).catch((e: unknown) => e);
      expect(all).toMatchObject({ status: 403, verb: 'list' });
      // The watch connection (not only the list) is authorised by name: a label change arrives through it.
      await admin.request({
        verb: 'patch',
        resource: 'pods',
        method: 'PATCH',
        path: podPath(namespace, 'me'),
        body: { metadata: { labels: { seen: 'yes' } } },
        contentType: 'application/merge-patch+json',
        timeoutMs: 5000,
      });
      await vi.waitFor(() => expect(events.at(-1)).toMatchObject({ type: 'MODIFIED', pod: { labels: { seen: 'yes' } } }));
      expect(own.lastError).toBeUndefined();
    } finally {
      await own.stop();
      await other.stop();
      byName.close();
    }
  });
});

describe('with the sidecar Role', () => {
  it('creates, reads, updates and watches its Lease, watches and labels its Pod, and records Events', async () => {
    const leaseEvents: LeaseEvent[] = [];
    const podEvents: PodEvent[] = [];
    const leases = new LeaseWatcher({ client: sa, namespace, name: 'bot', onEvent: (e) => leaseEvents.push(e) }).start();
    const pods = new PodWatcher({ client: sa, namespace, name: 'me', onEvent: (e) => podEvents.push(e) }).start();
    try {
      await vi.waitFor(() => expect(leaseEvents[0]?.type).toBe('ABSENT'));
      const lock = new KubeLeaseLock({ client: sa, namespace, name: 'bot' });
      const created = await lock.create(record('me'), signal());
      const read = await lock.get(signal());
      const updated = await lock.update(record('me'), read!, signal());
      await vi.waitFor(() => expect(leaseEvents.map((e) => e.type)).toEqual(['ABSENT', 'ADDED', 'MODIFIED']));
      expect(leaseEvents[1]!.lease).toEqual(created);
      expect(leaseEvents[2]!.lease).toEqual(updated);

      await vi.waitFor(() => expect(podEvents[0]?.type).toBe('SYNCED'));
      const labeler = new PodLabeler({ client: sa, namespace, podName: 'me' });
      labeler.set('leader');
      await labeler.settled();
      expect(labeler.applied).toBe('leader');
      expect(labeler.lastError).toBeUndefined();
      await vi.waitFor(() => expect(podEvents.at(-1)?.pod?.labels['baton/role']).toBe('leader'));
      labeler.stop();

      const logger = { warn: vi.fn(), debug: vi.fn() };
      const recorder = new EventRecorder({ client: sa, identity: 'me', logger, namespace });
      recorder.record({
        regarding: { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', name: 'bot', namespace },
        type: 'Normal',
        reason: 'LeaderElected',
        action: 'Acquire',
        note: 'me leads',
      });
      await recorder.flush();
      expect(logger.warn).not.toHaveBeenCalled();
      expect(leases.lastError).toBeUndefined();
      expect(pods.lastError).toBeUndefined();
    } finally {
      await leases.stop();
      await pods.stop();
    }
  });

  it('is refused another Lease with a 403 that names the verb, the resource and the fix', async () => {
    await admin.request({
      verb: 'create',
      resource: 'leases.coordination.k8s.io',
      method: 'POST',
      path: leasePath(namespace),
      body: { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: 'other' }, spec: {} },
      timeoutMs: 5000,
    });
    const err = await sa
      .request({ verb: 'get', resource: 'leases.coordination.k8s.io', method: 'GET', path: leasePath(namespace, 'other'), timeoutMs: 5000 })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KubeApiError);
    expect(err).toMatchObject({ status: 403, verb: 'get', resource: 'leases.coordination.k8s.io', namespace });
    expect((err as Error).message).toMatch(
      /^forbidden to get leases\.coordination\.k8s\.io "other" in namespace "kube-rbac-[0-9a-f]+": grant it in the ServiceAccount's Role/,
    );

    const lock = new KubeLeaseLock({ client: sa, namespace, name: 'other' });
    const denied = await lock.get(signal()).catch((e: unknown) => e);
    expect(denied).toBeInstanceOf(LockForbiddenError);
    expect(denied).toMatchObject({ verb: 'get', resource: 'leases.coordination.k8s.io' });

    // A watch of another Lease is refused the same way (list is authorised by resourceName too).
    const watcher = new LeaseWatcher({ client: sa, namespace, name: 'other', backoff: { initialMs: 50, maxMs: 100 }, onEvent: () => undefined }).start();
    try {
      await vi.waitFor(() => expect(watcher.lastError).toMatchObject({ status: 403, verb: 'list' }));
      expect(watcher.synced).toBe(false);
    } finally {
      await watcher.stop();
    }

    const pod = await sa
      .request<V1Pod>({ verb: 'list', resource: 'secrets', method: 'GET', path: `/api/v1/namespaces/${namespace}/secrets`, timeoutMs: 5000 })
      .catch((e: unknown) => e);
    expect((pod as Error).message).toContain('forbidden to list secrets in namespace');
    expect((pod as Error).message).toContain('apiGroups: [""], resources: ["secrets"], verbs: ["list"]');
  });
});
