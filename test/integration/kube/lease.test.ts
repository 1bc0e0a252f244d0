// KubeLeaseLock and LeaseWatcher against the real API server: optimistic concurrency, MicroTime, and a
// watch that follows the Lease across server-side watch ends.
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import type { V1Lease } from '@kubernetes/client-node';
import { LockConflictError, LockNotFoundError } from '../../../src/election/lock.ts';
import type { LeaderRecord } from '../../../src/election/record.ts';
import { loadConnection } from '../../../src/kube/connection.ts';
import { leasePath } from '../../../src/kube/lease-convert.ts';
import { KubeLeaseLock } from '../../../src/kube/lease-lock.ts';
import { LeaseWatcher, type LeaseEvent } from '../../../src/kube/lease-watch.ts';
import { KubeClient } from '../../../src/kube/rest.ts';
import { Elector } from '../../../src/election/elector.ts';
import { systemClock } from '../../../src/election/clock.ts';
import { freshNamespace } from '../../kube/cluster.ts';
import { sleep } from '../../harness/wait.ts';

const kube = inject('kube');
let namespace: string;
let client: KubeClient;
const calls: string[] = [];

beforeAll(async () => {
  namespace = await freshNamespace(kube, 'kube-lease');
  client = new KubeClient(await loadConnection({ env: { KUBECONFIG: kube.adminKubeconfig } }), {
    onRequest: (verb, resource, code) => calls.push(`${verb} ${resource} ${code}`),
  });
});
afterAll(() => client.close());

const signal = (): AbortSignal => AbortSignal.timeout(5000);
const record = (holder: string, transitions = 0): LeaderRecord => ({
  holderIdentity: holder,
  leaseDurationSeconds: 15,
  acquireTime: new Date('2026-11-23T12:00:00.123Z'),
  renewTime: new Date(Date.now()),
  leaseTransitions: transitions,
});
const del = (name: string): Promise<unknown> =>
  client.request({ verb: 'delete', resource: 'leases.coordination.k8s.io', method: 'DELETE', path: leasePath(namespace, name), timeoutMs: 5000 });

describe('KubeLeaseLock', () => {
  it('creates, reads and updates a Lease, keeping MicroTime to the millisecond', async () => {
    const lock = new KubeLeaseLock({ client, namespace, name: 'crud' });
    expect(lock.describe()).toBe(`${namespace}/crud`);
    expect(await lock.get(signal())).toBeUndefined();
    const r = record('pod-a');
    const created = await lock.create(r, signal());
    expect(created.record).toEqual(r);
    expect(created.resourceVersion).toMatch(/^\d+$/);
    const raw = await client.request<V1Lease>({
      verb: 'get',
      resource: 'leases.coordination.k8s.io',
      method: 'GET',
      path: leasePath(namespace, 'crud'),
      timeoutMs: 5000,
    });
    expect(String(raw.spec?.renewTime)).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}000Z$/);
    const read = await lock.get(signal());
    expect(read).toEqual(created);
    const next = { ...r, renewTime: new Date(r.renewTime!.getTime() + 2001) };
    const updated = await lock.update(next, read!, signal());
    expect(updated.record).toEqual(next);
    expect(updated.resourceVersion).not.toBe(read!.resourceVersion);
  });

  it('keeps the labels and annotations the Lease had when last read', async () => {
    const lock = new KubeLeaseLock({ client, namespace, name: 'meta' });
    await lock.create(record('pod-a'), signal());
    await client.request({
      verb: 'patch',
      resource: 'leases.coordination.k8s.io',
      method: 'PATCH',
      path: leasePath(namespace, 'meta'),
      body: { metadata: { labels: { team: 'bots' }, annotations: { note: 'kept' } } },
      contentType: 'application/merge-patch+json',
      timeoutMs: 5000,
    });
    const read = await lock.get(signal());
    await lock.update(record('pod-b', 1), read!, signal());
    const raw = await client.request<V1Lease>({
      verb: 'get',
      resource: 'leases.coordination.k8s.io',
      method: 'GET',
      path: leasePath(namespace, 'meta'),
      timeoutMs: 5000,
    });
    expect(raw.metadata?.labels).toEqual({ team: 'bots' });
    expect(raw.metadata?.annotations).toEqual({ note: 'kept' });
    expect(raw.spec?.holderIdentity).toBe('pod-b');
  });

  it('reports a stale resourceVersion and a second create as LockConflictError', async () => {
    const a = new KubeLeaseLock({ client, namespace, name: 'occ' });
    const b = new KubeLeaseLock({ client, namespace, name: 'occ' });
    const created = await a.create(record('pod-a'), signal());
    await expect(b.create(record('pod-b'), signal())).rejects.toBeInstanceOf(LockConflictError);
    const seenByB = await b.get(signal());
    await a.update(record('pod-a'), created, signal());
    const stale = b.update(record('pod-b', 1), seenByB!, signal());
    await expect(stale).rejects.toBeInstanceOf(LockConflictError);
    await expect(stale).rejects.toThrow(/409/);
    expect((await a.get(signal()))?.record.holderIdentity).toBe('pod-a');
  });

  it('never recreates a deleted Lease by update: 409 when it was read (uid precondition), else LockNotFoundError', async () => {
    const lock = new KubeLeaseLock({ client, namespace, name: 'gone' });
    const created = await lock.create(record('pod-a'), signal());
    await del('gone');
    // Leases allow create-on-update: only the uid carried from the last read stops a stale PUT from recreating it.
    await expect(lock.update(record('pod-a'), created, signal())).rejects.toBeInstanceOf(LockConflictError);
    const fresh = new KubeLeaseLock({ client, namespace, name: 'gone' });
    await expect(fresh.update(record('pod-a'), { record: created.record, resourceVersion: created.resourceVersion }, signal())).rejects.toBeInstanceOf(
      LockNotFoundError,
    );
    expect(await lock.get(signal())).toBeUndefined();
    // A base without the object it was read from (built by hand) is read first: the Lease is gone.
    await expect(lock.update(record('pod-a'), { record: created.record, resourceVersion: created.resourceVersion }, signal())).rejects.toBeInstanceOf(
      LockNotFoundError,
    );
    expect(await lock.get(signal())).toBeUndefined();
  });
});

describe('LeaseWatcher', () => {
  it('sees ABSENT, ADDED, MODIFIED and DELETED, and keeps watching across server-side watch ends', async () => {
    const events: LeaseEvent[] = [];
    const watcher = new LeaseWatcher({ client, namespace, name: 'watched', timeoutSeconds: 1, onEvent: (e) => events.push(e) }).start();
    try {
      await vi.waitFor(() => expect(events.map((e) => e.type)).toEqual(['ABSENT']));
      const lock = new KubeLeaseLock({ client, namespace, name: 'watched' });
      const created = await lock.create(record('pod-a'), signal());
      await vi.waitFor(() => expect(events.at(-1)).toEqual({ type: 'ADDED', lease: created }));
      const updated = await lock.update(record('pod-b', 1), created, signal());
      await vi.waitFor(() => expect(events.at(-1)).toEqual({ type: 'MODIFIED', lease: updated }));

      // timeoutSeconds=1: the server ends each watch after a second; the watcher resumes from its version.
      const watchesBefore = calls.filter((c) => c.startsWith('watch leases.coordination.k8s.io 200')).length;
      await sleep(2500);
      expect(calls.filter((c) => c.startsWith('watch leases.coordination.k8s.io 200')).length).toBeGreaterThanOrEqual(watchesBefore + 2);
      expect(calls.filter((c) => c.startsWith('list leases')).length).toBe(1); // resumed, never relisted
      const again = await lock.update(record('', 2), updated, signal());
      await vi.waitFor(() => expect(events.at(-1)).toEqual({ type: 'MODIFIED', lease: again }));
      await del('watched');
      await vi.waitFor(() => expect(events.at(-1)?.type).toBe('DELETED'));
      expect(watcher.lastError).toBeUndefined();
      expect(performance.now() - watcher.lastContact!).toBeLessThan(2000);
      expect(events.map((e) => e.type)).toEqual(['ABSENT', 'ADDED', 'MODIFIED', 'MODIFIED', 'DELETED']);
    } finally {
      await watcher.stop();
    }
  });
});

describe('Elector on a real Lease (issue 9, item 7, rule C1)', () => {
  it("a renew changes only the election's spec fields: labels, annotations and owners written meanwhile survive", async () => {
    const name = 'c1';
    const lock = new KubeLeaseLock({ client, namespace, name });
    const elector = new Elector({ leaseDurationMs: 3000, renewDeadlineMs: 2000, retryPeriodMs: 500, identity: 'pod-a', lock, clock: systemClock });
    const watcher = new LeaseWatcher({
      client,
      namespace,
      name,
      onEvent: (e) => (e.type === 'DELETED' || e.type === 'ABSENT' ? elector.observe(undefined) : e.lease && elector.observe(e.lease)),
    }).start();
    try {
      elector.start();
      await vi.waitFor(() => expect(elector.isLeader()).toBe(true), { timeout: 10_000 });
      // Reads for the test go through another lock: the elector's lock must know only what it read itself.
      const reader = new KubeLeaseLock({ client, namespace, name });
      expect((await reader.get(signal()))?.record.holderIdentity).toBe('pod-a');
      const ns = await client.request<{ metadata: { uid: string } }>({
        verb: 'get',
        resource: 'namespaces',
        method: 'GET',
        path: `/api/v1/namespaces/${namespace}`,
        timeoutMs: 5000,
      });
      await client.request({
        verb: 'patch',
        resource: 'leases.coordination.k8s.io',
        method: 'PATCH',
        path: leasePath(namespace, name),
        body: {
          metadata: {
            labels: { team: 'bots' },
            annotations: { 'example.com/owner': 'gitops' },
            ownerReferences: [{ apiVersion: 'v1', kind: 'Namespace', name: namespace, uid: ns.metadata.uid }],
          },
        },
        contentType: 'application/merge-patch+json',
        timeoutMs: 5000,
      });
      const renewsBefore = (await reader.get(signal()))!.record.renewTime!.getTime();
      // Several renews later, the edits are still there and the Lease is still pod-a's.
      await vi.waitFor(async () => expect((await reader.get(signal()))!.record.renewTime!.getTime()).toBeGreaterThan(renewsBefore + 1000), { timeout: 10_000 });
      const raw = await client.request<V1Lease>({
        verb: 'get',
        resource: 'leases.coordination.k8s.io',
        method: 'GET',
        path: leasePath(namespace, name),
        timeoutMs: 5000,
      });
      expect(raw.metadata?.labels).toEqual({ team: 'bots' });
      expect(raw.metadata?.annotations).toEqual({ 'example.com/owner': 'gitops' });
      expect(raw.metadata?.ownerReferences?.map((o) => o.name)).toEqual([namespace]);
      expect(raw.spec?.holderIdentity).toBe('pod-a');
      expect(elector.isLeader()).toBe(true);
    } finally {
      elector.stop();
      await watcher.stop();
    }
  });
});
