// npm run e2e — the comparison a user needs: during rolling updates under steady load, how long does
// nobody poll, does anyone poll twice, is anything handled twice or lost? The same bots and the same
// signals, driven by baton (regular and native sidecar), client-go's leaderelection with its defaults,
// and the two Postgres-lock designs of the seeds. Prints a table; writes e2e/results/latest.json and
// e2e/results/timeline.svg.
//
//   npm run e2e -- [--idle-rollouts 3] [--rollouts 5] [--rate 20] [--only baton,client-go]
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { TestApiServer } from '../test/kube/apiserver.ts';
import { adminKubeConfig, freshNamespace, serviceAccountKubeconfig, sidecarRules } from '../test/kube/cluster.ts';
import { startPostgres } from '../test/harness/postgres.ts';
import { ensureClientGoPeer } from './peers/client-go.ts';
import { clientGoPeer, pgAdvisoryPeer, pgTtlPeer } from './peers/commands.ts';
import { runScenario, type Contender, type RolloutResult } from './rollout/scenario.ts';
import { timelineSvg } from './report/timeline-svg.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({
  options: {
    rollouts: { type: 'string', default: '5' },
    'idle-rollouts': { type: 'string', default: '3' },
    rate: { type: 'string', default: '20' },
    'handler-ms': { type: 'string', default: '20' },
    only: { type: 'string' },
  },
});
const log = (s: string) => process.stderr.write(`${new Date().toISOString().slice(11, 23)} ${s}\n`);

const server = new TestApiServer({ log });
const endpoint = await server.start();
const namespace = await freshNamespace(endpoint, 'e2e');
const kc = adminKubeConfig(endpoint);
const leases = ['e2e-baton', 'e2e-baton-native'];
const batonKubeconfig = await serviceAccountKubeconfig(
  endpoint,
  namespace,
  'baton',
  sidecarRules(leases[0]!).map((r) => (r.resourceNames ? { ...r, resourceNames: leases } : r)),
);
const pg = await startPostgres();
const clientGo = await ensureClientGoPeer(log);
const dir = mkdtempSync(join(tmpdir(), 'baton-e2e-'));

const contenders: Contender[] = [
  { name: 'baton', description: 'baton sidecar, defaults 15s/10s/2s, worker confirms its pause' },
  { name: 'baton-native', description: 'baton as a native sidecar (handoff starts at the deletionTimestamp)', native: true },
  {
    name: 'client-go',
    description: 'client-go leaderelection, ReleaseOnCancel, defaults 15s/10s/2s',
    agent: () => clientGoPeer({ binary: clientGo, kubeconfig: endpoint.adminKubeconfig, namespace, leaseName: 'e2e-client-go' }),
  },
  {
    name: 'pg-advisory',
    description: 'seed 001: Postgres advisory lock, released on SIGTERM, retried every 2 s',
    agent: () => pgAdvisoryPeer({ url: pg.url, key: 4242 }),
  },
  {
    name: 'pg-ttl',
    description: 'seed 000: Postgres row with a 30 s TTL, checked every 10 s',
    agent: () => pgTtlPeer({ url: pg.url, lockName: 'e2e-bot' }),
  },
];
const only = values.only?.split(',');
const results: RolloutResult[] = [];
try {
  for (const c of contenders.filter((x) => !only || only.includes(x.name))) {
    log(`— ${c.name}: ${c.description}`);
    results.push(
      await runScenario({
        contender: c,
        namespace,
        kubeconfig: c.agent ? endpoint.adminKubeconfig : batonKubeconfig,
        kc,
        dir,
        idleRollouts: Number(values['idle-rollouts']),
        rollouts: Number(values.rollouts),
        rate: Number(values.rate),
        handlerMs: Number(values['handler-ms']),
        limit: 100,
        kill: true,
        scaleToZero: true,
        compiled: true,
        log,
      }),
    );
  }
} finally {
  await pg.stop();
  await server.stop();
}

const resultsDir = join(root, 'e2e', 'results');
mkdirSync(resultsDir, { recursive: true });
const svgPath = join(resultsDir, 'timeline.svg');
writeFileSync(svgPath, timelineSvg(results.map((r) => r.panel)));
const json = {
  generatedAt: new Date().toISOString(),
  node: process.versions.node,
  settings: {
    idleRollouts: Number(values['idle-rollouts']),
    rollouts: Number(values.rollouts),
    ratePerSecond: Number(values.rate),
    handlerMs: Number(values['handler-ms']),
    limit: 100,
    kill: true,
    scaleToZero: true,
  },
  results: results.map((r) => ({
    contender: r.contender,
    description: r.description,
    durationMs: Math.round(r.durationMs),
    ...r.figures,
    idle: r.idle,
    loaded: r.loaded,
  })),
};
writeFileSync(join(resultsDir, 'latest.json'), `${JSON.stringify(json, null, 2)}\n`);

const n = Number(values.rollouts);
console.log('');
console.log(
  `rolling updates under load: ${n} rollouts + 1 SIGKILL + scale to 0 and back, ${values.rate} updates/s, handlers ${values['handler-ms']} ms, limit 100`,
);
console.log('');
console.log(
  '| contender    | rollout gap median | rollout gap max | SIGKILL failover | longest gap | p95 gap  | two pollers | 409s | duplicates | lost | latency p99 (rollouts / all) |',
);
console.log(
  '|--------------|--------------------|-----------------|------------------|-------------|----------|-------------|------|------------|------|------------------------------|',
);
const ms = (x: number | undefined) => (x === undefined ? '-' : x >= 1000 ? `${(x / 1000).toFixed(2)} s` : `${x.toFixed(1)} ms`);
for (const r of results) {
  const f = r.figures;
  console.log(
    `| ${r.contender.padEnd(12)} | ${ms(f.rollouts.gapP50Ms).padEnd(18)} | ${ms(f.rollouts.gapMaxMs).padEnd(15)} | ${ms(f.crashFailoverMs).padEnd(16)} | ${ms(f.gapMs.max).padEnd(11)} | ${ms(f.gapMs.p95).padEnd(8)} | ${ms(f.twoPollersMs).padEnd(11)} | ${String(f.conflicts409).padEnd(4)} | ${String(f.handledTwice).padEnd(10)} | ${String(f.lost).padEnd(4)} | ${`${ms(f.rollouts.latencyP99Ms)} / ${ms(f.latencyMs.p99)}`.padEnd(28)} |`,
  );
}
const baton = results.find((r) => r.contender === 'baton');
const cg = results.find((r) => r.contender === 'client-go');
if (baton && cg && baton.figures.rollouts.gapP50Ms > 0) {
  console.log(`\nmedian rollout gap: client-go / baton = ${(cg.figures.rollouts.gapP50Ms / baton.figures.rollouts.gapP50Ms).toFixed(0)}×`);
}
console.log('');
console.log(`graceful handoffs, pause signal → the new bot polls: ${values['idle-rollouts']} of an idle bot (no traffic), then the rollouts under load`);
console.log("| contender    | idle p50 | idle max | loaded p50 | loaded max | old bot's pause, idle max / loaded max |");
console.log('|--------------|----------|----------|------------|------------|---------------------------------------|');
for (const r of results) {
  const i = r.idle;
  console.log(
    `| ${r.contender.padEnd(12)} | ${ms(i?.p50).padEnd(8)} | ${ms(i?.max).padEnd(8)} | ${ms(r.loaded.p50).padEnd(10)} | ${ms(r.loaded.max).padEnd(10)} | ${`${ms(i?.pauseMax)} / ${ms(r.loaded.pauseMax)}`.padEnd(37)} |`,
  );
}
console.log('A rollout gap is the time between the old bot\'s last poll and the new bot\'s first; "all" latency includes the');
console.log('SIGKILL failover and the intended scale-to-zero outage, during which updates wait at Telegram.');
console.log(`results: ${join('e2e', 'results', 'latest.json')}; timeline: ${join('e2e', 'results', 'timeline.svg')}; logs: ${dir}`);
