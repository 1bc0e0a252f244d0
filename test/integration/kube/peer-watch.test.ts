// Rule Y1's peer watch against the real API server: the pods labelled baton/lease=<lease> (and no other),
// their revision, creation time, readiness and deletion, kept up to date by one list-and-watch; and
// newerPeer() on what it shows. No kubelet runs: the test plays it by writing the Ready condition.
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { loadConnection } from '../../../src/kube/connection.ts';
import { PeerWatcher } from '../../../src/kube/peer-watch.ts';
import { podPath } from '../../../src/kube/pod-watch.ts';
import { KubeClient } from '../../../src/kube/rest.ts';
import { newerPeer, type PeerPod } from '../../../src/rollout/newer-revision.ts';
import { freshNamespace } from '../../kube/cluster.ts';

const kube = inject('kube');
let namespace: string;
let client: KubeClient;

beforeAll(async () => {
  namespace = await freshNamespace(kube, 'kube-peers');
  client = new KubeClient(await loadConnection({ env: { KUBECONFIG: kube.adminKubeconfig } }));
});
afterAll(() => client.close());

function createPod(name: string, labels: Record<string, string>): Promise<unknown> {
  return client.request({
    verb: 'create',
    resource: 'pods',
    method: 'POST',
    path: podPath(namespace),
    body: {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name, labels },
      spec: { nodeName: 'fake-node', automountServiceAccountToken: false, containers: [{ name: 'bot', image: 'busybox' }] },
    },
    timeoutMs: 5000,
  });
}

function setReady(name: string, ready: boolean): Promise<unknown> {
  return client.request({
    verb: 'patch',
    resource: 'pods',
    method: 'PATCH',
    path: `${podPath(namespace, name)}/status`,
    body: { status: { conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }] } },
    contentType: 'application/strategic-merge-patch+json',
    timeoutMs: 5000,
  });
}

function deletePod(name: string, gracePeriodSeconds?: number): Promise<unknown> {
  return client.request({ verb: 'delete', resource: 'pods', method: 'DELETE', path: podPath(namespace, name), query: { gracePeriodSeconds }, timeoutMs: 5000 });
}

describe('PeerWatcher', () => {
  it("sees the Lease's pods only, with revision, readiness and deletion; newerPeer picks the Ready newer one", async () => {
    await createPod('bot-old', { 'baton/lease': 'bot', 'pod-template-hash': 'old' });
    await createPod('other-lease', { 'baton/lease': 'other', 'pod-template-hash': 'x' });
    let view: ReadonlyMap<string, PeerPod> = new Map();
    const watcher = new PeerWatcher({ client, namespace, leaseName: 'bot', onChange: (pods) => (view = new Map(pods)) }).start();
    try {
      await vi.waitFor(() => expect([...view.keys()]).toEqual(['bot-old']));
      expect(view.get('bot-old')).toMatchObject({ revision: 'old', ready: false, deleting: false });
      const self = () => view.get('bot-old')!;
      // creationTimestamp has whole seconds: the new pod must be created in a later second to be newer.
      await new Promise((r) => setTimeout(r, 1_100));
      await createPod('bot-new', { 'baton/lease': 'bot', 'pod-template-hash': 'new' });
      await vi.waitFor(() => expect(view.has('bot-new')).toBe(true));
      expect(newerPeer(self(), view.values())).toBeUndefined(); // not Ready yet
      await setReady('bot-new', true);
      await vi.waitFor(() => expect(newerPeer(self(), view.values())?.name).toBe('bot-new'));
      await setReady('bot-new', false);
      await vi.waitFor(() => expect(newerPeer(self(), view.values())).toBeUndefined());
      await setReady('bot-new', true);
      await vi.waitFor(() => expect(newerPeer(self(), view.values())?.name).toBe('bot-new'));
      // Being deleted, it is no one to yield to; gone, it is out of the view.
      await deletePod('bot-new');
      await vi.waitFor(() => expect(view.get('bot-new')?.deleting).toBe(true));
      expect(newerPeer(self(), view.values())).toBeUndefined();
      await deletePod('bot-new', 0);
      await vi.waitFor(() => expect(view.has('bot-new')).toBe(false));
      expect(view.has('other-lease')).toBe(false);
    } finally {
      await watcher.stop();
      await Promise.allSettled(['bot-old', 'other-lease', 'bot-new'].map((n) => deletePod(n, 0)));
    }
  });
});
