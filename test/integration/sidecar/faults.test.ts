// Faults survived: the API server stopped and started again, missing RBAC, bad settings.
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TestApiServer, type KubeEndpoint } from '../../kube/apiserver.ts';
import { adminKubeConfig, freshNamespace, serviceAccountKubeconfig, sidecarRules } from '../../kube/cluster.ts';
import { CLI, SimPod } from '../../harness/sim-pod.ts';
import { describeIntervals, overlap, pollIntervals, readWorkerLog } from '../../harness/timeline.ts';
import { sleep, waitFor } from '../../harness/wait.ts';

const FAST = { BATON_LEASE_DURATION: '4s', BATON_RENEW_DEADLINE: '3s', BATON_RETRY_PERIOD: '1s', BATON_DRAIN: '1s', BATON_PAUSE_ACK_TIMEOUT: '5s' };
let pods: SimPod[] = [];
let seq = 0;
const dir = mkdtempSync(join(tmpdir(), 'baton-faults-'));

afterEach(async () => {
  for (const p of pods) p.kill();
  await Promise.all(pods.map((p) => p.exited().catch(() => undefined)));
  pods = [];
});

function expectNoOverlap(list: SimPod[]): void {
  const intervals = pollIntervals(
    list.flatMap((p) => readWorkerLog(p.workerLog)),
    performance.timeOrigin + performance.now(),
    new Map(list.flatMap((p) => [...p.deaths])),
  );
  expect(overlap(intervals).totalMs, describeIntervals(intervals)).toBe(0);
}

async function startPod(endpoint: KubeEndpoint, namespace: string, lease: string, kubeconfig = endpoint.adminKubeconfig): Promise<SimPod> {
  const p = new SimPod({
    name: `${lease}-${++seq}`,
    namespace,
    leaseName: lease,
    kubeconfig,
    kc: adminKubeConfig(endpoint),
    dir,
    env: FAST,
    preStopMs: 300,
    graceMs: 20_000,
  });
  pods.push(p);
  await p.start();
  return p;
}

describe('API server stopped and started', () => {
  // A private API server: stopping the shared one would disturb the other test files.
  const server = new TestApiServer();
  let endpoint: KubeEndpoint;
  let namespace: string;

  beforeAll(async () => {
    endpoint = await server.start();
    namespace = await freshNamespace(endpoint, 'outage');
  });
  afterAll(async () => {
    await server.stop();
  });

  it('the leader pauses before its Lease could expire, nobody polls while the API is gone, and work resumes after', async () => {
    const a = await startPod(endpoint, namespace, 'outage');
    await waitFor('a to poll', () => a.polling());
    const b = await startPod(endpoint, namespace, 'outage');
    await waitFor('b ready', () => b.ready());

    await server.stopApiServer();
    const downAt = performance.timeOrigin + performance.now();
    await waitFor('a to pause', () => !a.polling(), 6000);
    const pausedAt = readWorkerLog(a.workerLog)
      .filter((l) => l.event === 'polling-stop')
      .at(-1)!.mono;
    // Renew deadline 3 s from the last renew (at most 1 s before the outage), well before the 4 s lease could expire.
    expect(pausedAt - downAt).toBeLessThan(3000 + 200);
    await waitFor('both not ready', async () => !(await a.ready()) && !(await b.ready()), 10_000);
    const body = (await a.readyBody()) as { missing: string[] };
    expect(body.missing.join(' ')).toMatch(/API server at https:\/\/127\.0\.0\.1:\d+ is not answering/);
    await sleep(3000);
    expect(a.polling() || b.polling()).toBe(false);

    await server.startApiServer();
    await waitFor('someone polls again', () => a.polling() || b.polling(), 30_000);
    await waitFor('both ready again', async () => (await a.ready()) && (await b.ready()), 15_000);
    expectNoOverlap([a, b]);
  });
});

describe('bad input and missing RBAC', () => {
  const kube = inject('kube');
  let namespace: string;
  beforeAll(async () => {
    namespace = await freshNamespace(kube, 'rbac');
  });

  it('without update on its Lease, stays not Ready and says which verb and resource to grant', async () => {
    const rules = sidecarRules('rbac').map((r) => (r.resourceNames ? { ...r, verbs: ['get', 'list', 'watch'] } : r));
    const kubeconfig = await serviceAccountKubeconfig(kube, namespace, 'baton-readonly', rules);
    // Someone else holds the Lease and let it expire: this pod must try to take it and be refused.
    await adminKubeConfig(kube)
      .makeApiClient((await import('@kubernetes/client-node')).CoordinationV1Api)
      .createNamespacedLease({ namespace, body: { metadata: { name: 'rbac' }, spec: { holderIdentity: '', leaseDurationSeconds: 1, leaseTransitions: 3 } } });
    const p = await startPod(kube, namespace, 'rbac', kubeconfig);
    await waitFor(
      'the refusal to show in /readyz',
      async () => {
        const body = (await p.readyBody().catch(() => ({ missing: [] }))) as { missing: string[] };
        return body.missing.some((m) => /may not update leases\.coordination\.k8s\.io in namespace/.test(m));
      },
      15_000,
    );
    expect(await p.ready()).toBe(false);
    expect(p.polling()).toBe(false);
  });

  it('exits 2 with one line naming the variable and the fix, starting nothing', () => {
    const run = (env: Record<string, string>) =>
      spawnSync(process.execPath, [CLI], { env: { PATH: process.env.PATH ?? '', ...env }, encoding: 'utf8', timeout: 20_000 });
    const missing = run({ BATON_TARGET_COMMAND: 'x', BATON_NAMESPACE: 'default' });
    expect(missing.status).toBe(2);
    expect(missing.stderr.trim()).toBe(
      'baton: BATON_LEASE_NAME is required: set it (or --lease-name) to the name of the Lease the replicas share, e.g. my-bot',
    );
    const timings = run({ BATON_LEASE_NAME: 'x', BATON_NAMESPACE: 'default', BATON_TARGET_COMMAND: 'x', BATON_RENEW_DEADLINE: '15s' });
    expect(timings.status).toBe(2);
    expect(timings.stderr).toMatch(/BATON_LEASE_DURATION .* must be greater than BATON_RENEW_DEADLINE/);
    const noCluster = run({ BATON_LEASE_NAME: 'x', BATON_NAMESPACE: 'default', BATON_TARGET_COMMAND: 'x' });
    expect(noCluster.status).toBe(2);
    expect(noCluster.stderr).toMatch(/KUBECONFIG/);
    expect(noCluster.stdout).toBe('');
    const help = spawnSync(process.execPath, [CLI, '--help'], { encoding: 'utf8' });
    expect(help.status).toBe(0);
    expect(help.stdout).toContain('--pause-ack-timeout');
  });
});
