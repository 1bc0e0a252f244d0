// npm run demo — baton on this machine, no cluster needed: a real kube-apiserver + etcd on loopback
// (kine on SQLite with BATON_TEST_DATASTORE=kine), a Telegram Bot API double under steady load, pods
// made of real processes (the compiled sidecar + a sample bot on the worker kit), and rolling updates
// played the way the Deployment controller and the kubelet play them (maxSurge 1, maxUnavailable 0,
// readiness, preStop, SIGTERM). Prints who polled when, the gaps, and whether anything was doubled, lost
// or polled twice.
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TestApiServer } from '../test/kube/apiserver.ts';
import { adminKubeConfig, freshNamespace, serviceAccountKubeconfig, sidecarRules } from '../test/kube/cluster.ts';
import { runScenario } from './rollout/scenario.ts';
import { timelineSvg } from './report/timeline-svg.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const ROLLOUTS = Number(process.env.DEMO_ROLLOUTS ?? 3);
const t0 = Date.now();
const say = (s: string) => console.log(`${((Date.now() - t0) / 1000).toFixed(1).padStart(6)} s  ${s}`);

say('starting a real kube-apiserver and its datastore on loopback (built from their Go modules on first use)');
const server = new TestApiServer({ log: say });
const endpoint = await server.start();
const namespace = await freshNamespace(endpoint, 'demo');
const kubeconfig = await serviceAccountKubeconfig(endpoint, namespace, 'baton', sidecarRules('e2e-my-bot'));
const dir = mkdtempSync(join(tmpdir(), 'baton-demo-'));
say(`API server ${endpoint.server} on ${endpoint.datastore}; the sidecars use a least-privilege ServiceAccount; Telegram double + 20 updates/s`);

try {
  const r = await runScenario({
    contender: { name: 'my-bot', description: 'baton sidecar with its defaults (lease 15 s, renew deadline 10 s, retry 2 s)' },
    namespace,
    kubeconfig,
    kc: adminKubeConfig(endpoint),
    dir,
    rollouts: ROLLOUTS,
    rate: 20,
    handlerMs: 20,
    limit: 100,
    compiled: true,
    settleMs: 2000,
    log: (l) => say(l.replace(/^my-bot: /, '')),
  });
  const p = r.panel;
  const first = p.start;
  const sec = (t: number) => `${((t - first) / 1000).toFixed(3).padStart(8)} s`;
  console.log('\nwho polled when (seconds since the first bot started polling):');
  for (const iv of p.intervals) console.log(`  ${iv.name.padEnd(16)} ${sec(iv.from)} → ${sec(iv.to)}`);
  console.log('\nrolling updates:');
  for (const m of p.marks) console.log(`  ${sec(m.at)}  ${m.label}`);
  const f = r.figures;
  console.log(`\n${f.handoffs} handoffs under load; time with no bot polling at each: median ${f.rollouts.gapP50Ms} ms, longest ${f.rollouts.gapMaxMs} ms`);
  console.log(`time with two bots polling at once: ${f.twoPollersMs} ms; 409 Conflicts: ${f.conflicts409}`);
  console.log(
    `updates: ${f.injected} sent, ${f.handled} handled, ${f.handledTwice} handled twice, ${f.lost} lost; latency p50 ${f.latencyMs.p50} ms, p99 ${f.latencyMs.p99} ms`,
  );
  const results = join(root, 'e2e', 'results');
  mkdirSync(results, { recursive: true });
  writeFileSync(join(results, 'demo-timeline.svg'), timelineSvg([p]));
  console.log(`\ntimeline picture: e2e/results/demo-timeline.svg; logs: ${dir}`);
  if (f.twoPollersMs > 0 || f.handledTwice > 0 || f.lost > 0) process.exitCode = 1;
} finally {
  await server.stop();
}
