// The stdlib-only Python helper (python/baton_worker.py), run with plain python3 under the real sidecar.
import { afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type * as k8s from '@kubernetes/client-node';
import { adminKubeConfig, freshNamespace } from '../../kube/cluster.ts';
import { SimPod } from '../../harness/sim-pod.ts';
import { waitFor } from '../../harness/wait.ts';
import { describeIntervals, overlap, pollIntervals, readWorkerLog } from '../../harness/timeline.ts';

const kube = inject('kube');
const FAST = { BATON_LEASE_DURATION: '4s', BATON_RENEW_DEADLINE: '3s', BATON_RETRY_PERIOD: '1s', BATON_DRAIN: '3s', BATON_PAUSE_ACK_TIMEOUT: '5s' };
let namespace: string;
let kc: k8s.KubeConfig;
const dir = mkdtempSync(join(tmpdir(), 'baton-python-'));
let pods: SimPod[] = [];
let seq = 0;

beforeAll(async () => {
  namespace = await freshNamespace(kube, 'python');
  kc = adminKubeConfig(kube);
});
afterEach(async () => {
  for (const p of pods) p.kill();
  await Promise.all(pods.map((p) => p.exited().catch(() => undefined)));
  pods = [];
});

async function pod(workerEnv: Record<string, string> = {}): Promise<SimPod> {
  const p = new SimPod({
    name: `py-${++seq}`,
    namespace,
    leaseName: 'python',
    kubeconfig: kube.adminKubeconfig,
    kc,
    dir,
    env: FAST,
    preStopMs: 300,
    graceMs: 20_000,
    workerKind: 'python',
    workerEnv,
  });
  pods.push(p);
  await p.start();
  return p;
}

describe('python/baton_worker.py under the real sidecar', () => {
  it('hands over with a confirmation: the sidecar waits for it, not for the drain', async () => {
    const a = await pod();
    await waitFor('a to poll', () => a.polling(), 15_000);
    const b = await pod();
    await waitFor('b ready', () => b.ready(), 15_000);
    await a.terminate();
    await waitFor('b to poll', () => b.polling(), 10_000);
    const intervals = pollIntervals([...readWorkerLog(a.workerLog), ...readWorkerLog(b.workerLog)], Date.now());
    expect(overlap(intervals).totalMs, describeIntervals(intervals)).toBe(0);
    const aStop = intervals.find((i) => i.name === a.opts.name)!.to;
    const bStart = intervals.find((i) => i.name === b.opts.name)!.from;
    expect(bStart - aStop).toBeLessThan(1000); // well under the 3 s drain: the confirmation ended the wait
    expect(readFileSync(a.sidecarLog, 'utf8')).toMatch(/"outcome":"confirmed"/);
  });

  it("pauses by itself when its sidecar dies (dead-man's switch)", async () => {
    const a = await pod({ WORKER_DEAD_MAN_S: '2' });
    await waitFor('a to poll', () => a.polling(), 15_000);
    a.sidecar!.kill('SIGKILL');
    await waitFor('the worker to pause itself', () => !a.polling(), 6000);
    expect(readWorkerLog(a.workerLog).some((l) => l.event === 'kit' && /dead-man/.test(String((l as unknown as { message: string }).message)))).toBe(true);
  });
});
