// The own-Pod side against the real API server: PodWatcher (deletionTimestamp, container IDs), the role
// label, and Events. No kubelet runs: a Pod bound to `fake-node` keeps its deletionTimestamp until a
// delete with gracePeriodSeconds 0.
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import type { V1Pod } from '@kubernetes/client-node';
import { loadConnection } from '../../../src/kube/connection.ts';
import { EventRecorder } from '../../../src/kube/events.ts';
import { PodLabeler } from '../../../src/kube/pod-label.ts';
import { PodWatcher, podPath, type PodEvent } from '../../../src/kube/pod-watch.ts';
import { KubeClient } from '../../../src/kube/rest.ts';
import { freshNamespace } from '../../kube/cluster.ts';

const kube = inject('kube');
let namespace: string;
let client: KubeClient;

beforeAll(async () => {
  namespace = await freshNamespace(kube, 'kube-pod');
  client = new KubeClient(await loadConnection({ env: { KUBECONFIG: kube.adminKubeconfig } }));
});
afterAll(() => client.close());

async function createPod(name: string): Promise<V1Pod> {
  return client.request<V1Pod>({
    verb: 'create',
    resource: 'pods',
    method: 'POST',
    path: podPath(namespace),
    body: {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name },
      spec: {
        nodeName: 'fake-node',
        automountServiceAccountToken: false,
        initContainers: [{ name: 'init', image: 'busybox' }],
        containers: [
          { name: 'worker', image: 'busybox' },
          { name: 'baton', image: 'baton' },
        ],
      },
    },
    timeoutMs: 5000,
  });
}

function deletePod(name: string, gracePeriodSeconds?: number): Promise<unknown> {
  return client.request({
    verb: 'delete',
    resource: 'pods',
    method: 'DELETE',
    path: podPath(namespace, name),
    query: { gracePeriodSeconds },
    timeoutMs: 5000,
  });
}

describe('PodWatcher', () => {
  it('reports uid, container IDs and the deletionTimestamp of a graceful delete', async () => {
    const created = await createPod('watched');
    const events: PodEvent[] = [];
    const watcher = new PodWatcher({ client, namespace, name: 'watched', onEvent: (e) => events.push(e) }).start();
    try {
      await vi.waitFor(() => expect(events[0]?.type).toBe('SYNCED'));
      expect(events[0]!.pod).toMatchObject({ name: 'watched', uid: created.metadata!.uid, deletionTimestamp: undefined });
      expect(events[0]!.pod!.containerIDs.size).toBe(0);

      // Play the kubelet: report container IDs.
      const status = (name: string, id: string) => ({
        name,
        containerID: id,
        image: 'busybox',
        imageID: '',
        ready: false,
        restartCount: 0,
        state: { running: {} },
      });
      await client.request({
        verb: 'patch',
        resource: 'pods',
        method: 'PATCH',
        path: `${podPath(namespace, 'watched')}/status`,
        body: {
          status: {
            initContainerStatuses: [status('init', 'containerd://i1')],
            containerStatuses: [status('worker', 'containerd://w1'), status('baton', 'containerd://b1')],
          },
        },
        contentType: 'application/merge-patch+json',
        timeoutMs: 5000,
      });
      await vi.waitFor(() => expect(events.at(-1)?.pod?.containerIDs.get('worker')).toBe('containerd://w1'));
      expect(Object.fromEntries(events.at(-1)!.pod!.containerIDs)).toEqual({ init: 'containerd://i1', worker: 'containerd://w1', baton: 'containerd://b1' });

      const before = Date.now();
      await deletePod('watched');
      await vi.waitFor(() => expect(events.at(-1)?.pod?.deletionTimestamp).toBeInstanceOf(Date));
      expect(events.at(-1)!.type).toBe('MODIFIED');
      // RFC 3339 seconds: the timestamp is now plus the default 30 s grace period, within a second.
      expect(events.at(-1)!.pod!.deletionTimestamp!.getTime()).toBeGreaterThan(before + 28_000);

      await deletePod('watched', 0);
      await vi.waitFor(() => expect(events.at(-1)?.type).toBe('DELETED'));
      expect(watcher.lastError).toBeUndefined();
    } finally {
      await watcher.stop();
    }
  });
});

describe('PodLabeler', () => {
  it('sets baton/role with a merge patch, and confirms what the API applied', async () => {
    await createPod('labelled');
    const labeler = new PodLabeler({ client, namespace, podName: 'labelled' });
    labeler.set('standby');
    labeler.set('leader');
    await labeler.settled();
    expect(labeler.applied).toBe('leader');
    const pod = await client.request<V1Pod>({ verb: 'get', resource: 'pods', method: 'GET', path: podPath(namespace, 'labelled'), timeoutMs: 5000 });
    expect(pod.metadata?.labels).toEqual({ 'baton/role': 'leader' });
    labeler.set('standby');
    await labeler.settled();
    const again = await client.request<V1Pod>({ verb: 'get', resource: 'pods', method: 'GET', path: podPath(namespace, 'labelled'), timeoutMs: 5000 });
    expect(again.metadata?.labels?.['baton/role']).toBe('standby');
    labeler.stop();
    await deletePod('labelled', 0);
  });
});

describe('EventRecorder', () => {
  it('creates events.k8s.io/v1 Events that can be listed', async () => {
    const pod = await createPod('evented');
    const logger = { warn: vi.fn(), debug: vi.fn() };
    const recorder = new EventRecorder({ client, identity: 'evented', logger, namespace });
    recorder.record({
      regarding: { apiVersion: 'v1', kind: 'Pod', name: 'evented', namespace, uid: pod.metadata!.uid! },
      related: { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', name: 'bot', namespace },
      type: 'Normal',
      reason: 'LeaderElected',
      action: 'Acquire',
      note: 'evented became the leader of Lease bot (epoch 1)',
    });
    recorder.record({
      regarding: { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', name: 'bot', namespace },
      type: 'Warning',
      reason: 'RenewFailed',
      action: 'Renew',
      note: 'é'.repeat(600),
    });
    await recorder.flush();
    expect(logger.warn).not.toHaveBeenCalled();
    const list = await client.request<{
      items: {
        reason: string;
        type: string;
        reportingController: string;
        reportingInstance: string;
        regarding: { kind: string; uid?: string };
        eventTime: string;
      }[];
    }>({
      verb: 'list',
      resource: 'events.events.k8s.io',
      method: 'GET',
      path: `/apis/events.k8s.io/v1/namespaces/${namespace}/events`,
      timeoutMs: 5000,
    });
    const byReason = Object.fromEntries(list.items.map((e) => [e.reason, e]));
    expect(byReason.LeaderElected).toMatchObject({
      type: 'Normal',
      reportingController: 'baton.dev/sidecar',
      reportingInstance: 'evented',
      regarding: { kind: 'Pod', uid: pod.metadata!.uid },
    });
    expect(byReason.LeaderElected!.eventTime).toMatch(/\.\d{6}Z$/);
    expect(byReason.RenewFailed).toMatchObject({ type: 'Warning', regarding: { kind: 'Lease' } });
    await deletePod('evented', 0);
  });
});
