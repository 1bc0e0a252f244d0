// npm run demo — baton on this machine, no cluster needed: a real kube-apiserver + etcd on loopback,
// pods made of real processes (the compiled sidecar + a stand-in bot), and a rolling update played the
// way the Deployment controller and the kubelet play it (maxSurge 1, maxUnavailable 0, preStop, SIGTERM).
// Prints who polled when, the gaps, and proof that two bots never polled at once.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TestApiServer } from '../test/kube/apiserver.ts';
import { adminKubeConfig, freshNamespace, serviceAccountKubeconfig, sidecarRules } from '../test/kube/cluster.ts';
import { SIDECAR_NODE_FLAGS, SimPod, waitFor } from '../test/harness/sim-pod.ts';
import { gaps, overlap, pollIntervals, readWorkerLog } from '../test/harness/timeline.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const ROLLOUTS = Number(process.env.DEMO_ROLLOUTS ?? 3);
const t0 = performance.timeOrigin + performance.now();
const stamp = () => `${((performance.timeOrigin + performance.now() - t0) / 1000).toFixed(3).padStart(8)} s`;
const say = (s: string) => console.log(`${stamp()}  ${s}`);

say('starting a real kube-apiserver and etcd on loopback (built from their Go modules on first use)');
const server = new TestApiServer({ log: (l) => say(l) });
const endpoint = await server.start();
const namespace = await freshNamespace(endpoint, 'demo');
const kc = adminKubeConfig(endpoint);
const kubeconfig = await serviceAccountKubeconfig(endpoint, namespace, 'baton', sidecarRules('my-bot'));
const dir = mkdtempSync(join(tmpdir(), 'baton-demo-'));
say(`API server ${endpoint.server}; namespace ${namespace}; the sidecars use a least-privilege ServiceAccount`);

const pods: SimPod[] = [];
let revision = 0;
let seq = 0;
async function createPod(): Promise<SimPod> {
  const p = new SimPod({
    name: `my-bot-r${revision}-${++seq}`,
    namespace,
    leaseName: 'my-bot',
    kubeconfig,
    kc,
    dir,
    env: { BATON_LOG_LEVEL: 'info' },
    preStopMs: 1000,
    graceMs: 60_000,
    cli: join(root, 'dist', 'cli.js'),
    nodeArgs: SIDECAR_NODE_FLAGS,
  });
  pods.push(p);
  await p.start();
  await waitFor(`${p.opts.name} Ready`, () => p.ready(), 30_000);
  return p;
}

function polling(p: SimPod): boolean {
  const last = readWorkerLog(p.workerLog)
    .filter((l) => l.pid === p.worker?.pid && (l.event === 'polling-start' || l.event === 'polling-stop'))
    .at(-1);
  return last?.event === 'polling-start';
}

try {
  let current = await createPod();
  await waitFor('the first pod to lead', () => polling(current), 30_000);
  say(`${current.opts.name} holds the Lease and its bot polls (kubectl get pods -L baton/role would show: leader)`);

  for (let i = 0; i < ROLLOUTS; i++) {
    revision++;
    say(`rolling update ${i + 1}/${ROLLOUTS}: surge pod created (maxSurge 1, maxUnavailable 0)`);
    const next = await createPod();
    say(`${next.opts.name} is Ready as a standby, watching the Lease; the Deployment controller now deletes ${current.opts.name}`);
    const old = current;
    await old.terminate();
    await waitFor('the new pod to poll', () => polling(next), 30_000);
    const lines = readWorkerLog(old.workerLog);
    const stop = lines.filter((l) => l.event === 'polling-stop').at(-1)!.mono;
    const start = readWorkerLog(next.workerLog).find((l) => l.event === 'polling-start')!.mono;
    say(`${old.opts.name}: pause → confirmed → Lease released → ${next.opts.name} acquired and started: no bot polled for ${(start - stop).toFixed(1)} ms`);
    current = next;
  }

  const end = performance.timeOrigin + performance.now();
  const intervals = pods.flatMap((p) => pollIntervals(readWorkerLog(p.workerLog), end, p.deaths));
  const first = intervals[0]!.from;
  console.log('\nwho polled when (seconds since the first bot started):');
  for (const iv of intervals) {
    console.log(`  ${iv.name.padEnd(16)} ${((iv.from - first) / 1000).toFixed(3).padStart(8)} → ${((iv.to - first) / 1000).toFixed(3).padStart(8)}`);
  }
  const holes = gaps(intervals, first, end);
  const o = overlap(intervals);
  console.log(`\nhandoffs: ${ROLLOUTS}; gaps with no poller: ${holes.map((h) => `${h.ms.toFixed(1)} ms`).join(', ') || 'none'}`);
  console.log(`time with two bots polling at once: ${o.totalMs.toFixed(1)} ms${o.totalMs === 0 ? ' (none)' : ''}`);
  console.log(`logs: ${dir}`);
  if (o.totalMs > 0) process.exitCode = 1;
} finally {
  for (const p of pods) p.kill();
  await Promise.all(pods.map((p) => p.exited().catch(() => undefined)));
  await server.stop();
}
