// Rule Y1 end to end on the real API server, with the chart's Role: two real sidecars (startBaton), each over
// a worker process of its own; the old pod leads; a pod of a newer revision turns Ready (the test plays the
// kubelet: no kubelet runs here) and the old leader hands over to it, pausing its worker first, and stays as a
// standby. The handoff is a takeover on the leader's word (W1): the pods' addresses are loopback addresses of
// their own (127.0.0.2, 127.0.0.3: the whole 127/8 is this host), so both probe servers share one port, as pods
// of one Deployment do, and the Lease goes from the old holder to the new one in one write, no release between.
// With BATON_TAKEOVER=off the same handoff is a release and an acquire. And with a Role that may list only the
// own Pod by name, Y1 and W1 turn themselves off with one warning while /readyz stays true.
//   npx vitest run --project integration test/integration/sidecar/yield.test.ts
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { pino } from 'pino';
import * as k8s from '@kubernetes/client-node';
import { startBaton, type RunningBaton } from '../../../src/app.ts';
import { loadConfig } from '../../../src/config.ts';
import { loadConnection } from '../../../src/kube/connection.ts';
import { adminKubeConfig, freshNamespace, serviceAccountKubeconfig, sidecarRules } from '../../kube/cluster.ts';
import { freePort } from '../../kube/ports.ts';
import { sleep, waitForValue, type WaitOptions } from '../../harness/wait.ts';

const kube = inject('kube');
let namespace: string;
let core: k8s.CoreV1Api;
const workers: ChildProcess[] = [];
const EVERY_50_MS: WaitOptions = { everyMs: 50 };

type Line = {
  level: number;
  event?: string;
  phase?: string;
  change?: string;
  signal?: string;
  state?: string;
  takenOver?: boolean;
  taking?: string[];
  msg: string;
};

/** A worker with both signal handlers that logs each signal to the test; returns its pid file. */
function worker(name: string, signals: string[]): string {
  const child = spawn(
    process.execPath,
    ['-e', "for (const s of ['SIGUSR1','SIGUSR2']) process.on(s, () => process.stdout.write(s + '\\n')); setInterval(() => {}, 1e6)"],
    { stdio: ['ignore', 'pipe', 'ignore'] },
  );
  child.stdout.on('data', (d: Buffer) => signals.push(...d.toString().trim().split('\n')));
  workers.push(child);
  const file = join(kube.dir, `${namespace}-${name}.pid`);
  writeFileSync(file, `${child.pid}\n`);
  return file;
}

function env(lease: string, pod: string, pidFile: string, probe = '127.0.0.1:0', takeover = '300ms'): Record<string, string> {
  return {
    BATON_TAKEOVER: takeover,
    BATON_LEASE_NAME: lease,
    BATON_NAMESPACE: namespace,
    POD_NAME: pod,
    BATON_POD_LABEL: 'false',
    BATON_TARGET_PID_FILE: pidFile,
    BATON_LISTEN: '127.0.0.1:0',
    BATON_PROBE_LISTEN: probe,
    BATON_LEASE_DURATION: '3s',
    BATON_RENEW_DEADLINE: '2s',
    BATON_RETRY_PERIOD: '500ms',
    BATON_YIELD_TO_NEWER: '200ms',
  };
}

async function createPod(name: string, lease: string, revision: string): Promise<void> {
  await core.createNamespacedPod({
    namespace,
    body: {
      metadata: { name, labels: { 'baton/lease': lease, 'pod-template-hash': revision } },
      spec: { nodeName: 'fake-node', containers: [{ name: 'bot', image: 'example/bot' }] },
    },
  });
}

async function setReady(name: string, podIP?: string): Promise<void> {
  await core.patchNamespacedPodStatus(
    { name, namespace, body: { status: { conditions: [{ type: 'Ready', status: 'True' }], ...(podIP ? { podIP } : {}) } } },
    k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.StrategicMergePatch),
  );
}

/** Every holder the Lease `name` shows, in order, from now until `stop()` (a release shows as ""). */
async function holdersOf(name: string): Promise<{ seen: string[]; stop: () => void }> {
  const seen: string[] = [];
  const req = await new k8s.Watch(adminKubeConfig(kube)).watch(
    `/apis/coordination.k8s.io/v1/namespaces/${namespace}/leases`,
    { fieldSelector: `metadata.name=${name}` },
    (_type: string, lease: k8s.V1Lease) => void (seen.at(-1) !== (lease.spec?.holderIdentity ?? '') && seen.push(lease.spec?.holderIdentity ?? '')),
    () => {},
  );
  return { seen, stop: () => req.abort() };
}

async function holder(lease: string): Promise<string | undefined> {
  const coordination = adminKubeConfig(kube).makeApiClient(k8s.CoordinationV1Api);
  return (await coordination.readNamespacedLease({ name: lease, namespace })).spec?.holderIdentity;
}

function logger(lines: Line[]) {
  return pino({ level: 'debug' }, { write: (s: string) => void lines.push(JSON.parse(s) as Line) });
}

beforeAll(async () => {
  namespace = await freshNamespace(kube, 'yield');
  core = adminKubeConfig(kube).makeApiClient(k8s.CoreV1Api);
});

afterAll(() => {
  for (const w of workers) w.kill('SIGKILL');
});

describe('Y1 with real sidecars', () => {
  it.each([
    ['on the leader’s word, in one write (W1)', '300ms'],
    ['by a release and an acquire (BATON_TAKEOVER=off)', 'off'],
  ])('the old leader hands over to a Ready pod of a newer revision, pausing its worker first, and stays a standby: %s', async (_how, takeover) => {
    const lease = takeover === 'off' ? 'bot-off' : 'bot';
    const kubeconfig = await serviceAccountKubeconfig(kube, namespace, lease, sidecarRules(lease));
    const port = await freePort();
    const connection = await loadConnection({ env: { KUBECONFIG: kubeconfig } });
    const oldSignals: string[] = [];
    const newSignals: string[] = [];
    const oldLines: Line[] = [];
    const newLines: Line[] = [];
    let old: RunningBaton | undefined;
    let next: RunningBaton | undefined;
    try {
      await createPod(`${lease}-old`, lease, 'rev1');
      await setReady(`${lease}-old`, '127.0.0.2');
      old = await startBaton(
        loadConfig({ argv: [], env: env(lease, `${lease}-old`, worker(`${lease}-old`, oldSignals), `127.0.0.2:${port}`, takeover) }),
        connection,
        logger(oldLines),
      );
      // A first install claims the Lease: its worker starts a lease duration (3 s) after the create.
      await waitForValue(
        'the old pod leads',
        () => Promise.resolve(oldSignals.at(-1)),
        (s) => s === 'SIGUSR1',
        15_000,
        EVERY_50_MS,
      );
      // creationTimestamp has whole seconds: the new pod is created in a later second.
      await sleep(1_100);
      await createPod(`${lease}-new`, lease, 'rev2');
      next = await startBaton(
        loadConfig({ argv: [], env: env(lease, `${lease}-new`, worker(`${lease}-new`, newSignals), `127.0.0.3:${port}`, takeover) }),
        connection,
        logger(newLines),
      );
      await sleep(1_000);
      expect(await holder(lease)).toBe(`${lease}-old`); // not Ready yet: nothing moves
      const holders = await holdersOf(lease);
      await setReady(`${lease}-new`, '127.0.0.3');
      await waitForValue(
        'the new pod leads',
        () => holder(lease),
        (h) => h === `${lease}-new`,
        10_000,
        EVERY_50_MS,
      );
      await waitForValue(
        'its worker started',
        () => Promise.resolve(newSignals.at(-1)),
        (s) => s === 'SIGUSR1',
        5_000,
        EVERY_50_MS,
      );
      // The old worker was paused, and the release came after the pause was sent (the drain: this worker never confirms).
      expect(oldSignals.at(-1)).toBe('SIGUSR2');
      const at = (lines: Line[], p: (l: Line) => boolean) => lines.findIndex(p);
      expect(at(oldLines, (l) => l.event === 'yield' && l.phase === 'newer-ready')).toBeGreaterThanOrEqual(0);
      const paused = at(oldLines, (l) => l.event === 'handoff' && l.phase === 'pause');
      const released = at(oldLines, (l) => l.event === 'leadership' && l.change === 'released');
      expect(paused).toBeGreaterThanOrEqual(0);
      expect(released).toBeGreaterThan(paused);
      // It stays, as a standby that does not contend while the newer pod is Ready.
      await waitForValue('rejoined', () => Promise.resolve(oldLines.some((l) => l.event === 'yield' && l.phase === 'rejoined')), Boolean, 5_000, EVERY_50_MS);
      expect(old.sidecar.status()).toMatchObject({ isLeader: false, handingOver: false, holder: `${lease}-new` });
      await sleep(2_000);
      expect(await holder(lease)).toBe(`${lease}-new`);
      holders.stop();
      const handedOver = oldLines.find((l) => l.event === 'leadership' && l.change === 'released');
      if (takeover === 'off') {
        // A release ("" holds the Lease between the two pods), then the acquire.
        expect(holders.seen).toEqual([`${lease}-old`, '', `${lease}-new`]);
        expect(handedOver?.takenOver).toBeUndefined();
      } else {
        // W1: one write from the old holder to the new, no release between; the old pod heard who took over.
        expect(holders.seen).toEqual([`${lease}-old`, `${lease}-new`]);
        expect(handedOver?.takenOver).toBe(true);
        expect(oldLines.find((l) => l.event === 'handoff' && l.phase === 'offer')?.taking).toEqual([`${lease}-new`]);
      }
      expect(oldSignals.filter((s) => s === 'SIGUSR1').length).toBeGreaterThan(0);
      expect(oldSignals.at(-1)).toBe('SIGUSR2');
    } finally {
      await next?.close();
      await old?.close();
    }
  });

  it('a Role that may list only the own Pod turns Y1 off with one warning; /readyz stays true', async () => {
    const byName = sidecarRules('solo').map((r) => (r.resources?.includes('pods') ? { ...r, resourceNames: ['solo-pod'], verbs: ['list', 'watch'] } : r));
    const kubeconfig = await serviceAccountKubeconfig(kube, namespace, 'solo', byName);
    const connection = await loadConnection({ env: { KUBECONFIG: kubeconfig } });
    const lines: Line[] = [];
    let baton: RunningBaton | undefined;
    try {
      await createPod('solo-pod', 'solo', 'rev1');
      baton = await startBaton(loadConfig({ argv: [], env: env('solo', 'solo-pod', worker('solo', [])) }), connection, logger(lines));
      await waitForValue(
        'the warning',
        () => Promise.resolve(lines.filter((l) => l.event === 'yield' && l.phase === 'off')),
        (l) => l.length > 0,
        10_000,
        EVERY_50_MS,
      );
      const readyz = async () => (await fetch(`${baton!.listen.probe}/readyz`)).json() as Promise<{ ready: boolean; missing: string[] }>;
      await waitForValue('ready (the worker found with its handlers)', readyz, (r) => r.ready, 10_000, EVERY_50_MS);
      for (let i = 0; i < 10; i++) {
        expect(await readyz()).toEqual({ ready: true, missing: [] });
        await sleep(200);
      }
      const off = lines.filter((l) => l.event === 'yield' && l.phase === 'off');
      expect(off).toHaveLength(1);
      expect(off[0]).toMatchObject({ level: 40 });
      expect(off[0]!.msg).toContain('BATON_YIELD_TO_NEWER=off');
    } finally {
      await baton?.close();
    }
  });
});
