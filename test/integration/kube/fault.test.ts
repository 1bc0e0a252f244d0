// The watcher survives the API server disappearing: connections cut (reset) and then a half-open phase
// (stall) through a TCP proxy, while the Lease keeps changing behind its back.
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { loadConnection, type KubeConnection } from '../../../src/kube/connection.ts';
import { KubeLeaseLock } from '../../../src/kube/lease-lock.ts';
import { LeaseWatcher, type LeaseEvent } from '../../../src/kube/lease-watch.ts';
import { KubeClient } from '../../../src/kube/rest.ts';
import { FaultProxy } from '../../kube/fault-proxy.ts';
import { freshNamespace } from '../../kube/cluster.ts';
import { sleep } from '../../harness/wait.ts';

const kube = inject('kube');
let namespace: string;
let direct: KubeClient;
let proxied: KubeClient;
let proxy: FaultProxy;

beforeAll(async () => {
  namespace = await freshNamespace(kube, 'kube-fault');
  const connection = await loadConnection({ env: { KUBECONFIG: kube.adminKubeconfig } });
  direct = new KubeClient(connection);
  proxy = new FaultProxy(kube.server);
  const viaProxy: KubeConnection = { ...connection, server: await proxy.start() };
  proxied = new KubeClient(viaProxy);
});
afterAll(async () => {
  direct.close();
  proxied.close();
  await proxy.stop();
});

const signal = (): AbortSignal => AbortSignal.timeout(5000);
const record = (holder: string, transitions: number) => ({
  holderIdentity: holder,
  leaseDurationSeconds: 15,
  acquireTime: new Date(),
  renewTime: new Date(),
  leaseTransitions: transitions,
});

describe('LeaseWatcher behind a failing network', () => {
  it('reports the outage, then resumes and delivers what changed meanwhile', async () => {
    const lock = new KubeLeaseLock({ client: direct, namespace, name: 'bot' });
    let current = await lock.create(record('pod-a', 0), signal());
    const events: LeaseEvent[] = [];
    const errors: Error[] = [];
    const watcher = new LeaseWatcher({
      client: proxied,
      namespace,
      name: 'bot',
      timeoutSeconds: 30,
      requestTimeoutMs: 1000,
      backoff: { initialMs: 100, maxMs: 500 },
      onEvent: (e) => events.push(e),
      onError: (e) => errors.push(e),
    }).start();
    try {
      await vi.waitFor(() =>
        expect(events.at(-1)).toMatchObject({ type: 'SYNCED', lease: { record: current.record, resourceVersion: current.resourceVersion } }),
      );

      // Phase 1: connections reset, new ones refused, for 2 s; the Lease changes meanwhile.
      proxy.pause('reset');
      await vi.waitFor(() => expect(watcher.lastError).toBeDefined());
      const contactAtOutage = watcher.lastContact!;
      current = await lock.update(record('pod-b', 1), current, signal());
      await sleep(2000);
      // Phase 2: connections accepted but never answered (half-open) for 2 s: the connect timeout ends them.
      proxy.pause('stall');
      await sleep(2000);
      expect(events.at(-1)?.lease?.record.holderIdentity).toBe('pod-a');
      expect(watcher.lastContact).toBe(contactAtOutage);
      expect(errors.some((e) => e.name === 'KubeTransportError' && (e as { code?: string }).code === 'timeout')).toBe(true);
      expect(errors.some((e) => e.name === 'KubeTransportError' && (e as { code?: string }).code === 'error')).toBe(true);

      proxy.resume();
      await vi.waitFor(
        () => expect(events.at(-1)).toMatchObject({ type: 'MODIFIED', lease: { record: current.record, resourceVersion: current.resourceVersion } }),
        { timeout: 5000 },
      );
      expect(watcher.lastError).toBeUndefined();
      expect(watcher.lastContact!).toBeGreaterThan(contactAtOutage);
      // Resumed from its resourceVersion: one list at start, none after the outage.
      expect(events.filter((e) => e.type === 'SYNCED')).toHaveLength(1);
      current = await lock.update(record('pod-c', 2), current, signal());
      await vi.waitFor(() =>
        expect(events.at(-1)).toMatchObject({ type: 'MODIFIED', lease: { record: current.record, resourceVersion: current.resourceVersion } }),
      );
    } finally {
      await watcher.stop();
    }
  });
});
