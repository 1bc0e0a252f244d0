// npm run e2e:node — baton on a real node (kubelet + containerd, test/node): brings the node up, builds and
// imports the images (the repository's Dockerfile with buildah; the sample bot), installs the chart with helm
// in both layouts (regular and native sidecar) and runs the real rollout scenario (e2e/node/scenario.ts) in
// each; writes e2e/results/node.json and prints the figures; takes the node down (always). Exits 1 when two
// pollers overlapped, an update was handled twice or lost, or a step failed.
//
//   npm run e2e:node -- [--rollouts 5] [--rate 20] [--handler-ms 20] [--crashes 3] [--replicas 2] [--only regular|native] [--rollouts-only] [--keep]
//
// --rollouts-only: install and the rollouts alone (no upgrade steps, scaling, deleted leader, crash loop or
// freeze): the quick run for the handoff timeline.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { down, upWithImages, type UpTimings } from '../../test/node/node.ts';
import { runNodeScenario, type NodeScenarioResult } from './scenario.ts';
import { ms, nodeReport } from './report.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const { values } = parseArgs({
  options: {
    rollouts: { type: 'string', default: '5' },
    rate: { type: 'string', default: '20' },
    'handler-ms': { type: 'string', default: '20' },
    crashes: { type: 'string', default: '3' },
    replicas: { type: 'string', default: '2' },
    only: { type: 'string' },
    'rollouts-only': { type: 'boolean', default: false },
    keep: { type: 'boolean', default: false },
  },
});
const log = (s: string) => process.stderr.write(`${new Date().toISOString().slice(11, 23)} ${s}\n`);

export interface NodeRunTimings extends UpTimings {
  scenariosMs: number;
  nodeDownMs: number;
  totalMs: number;
}

const t0 = Date.now();
const results: NodeScenarioResult[] = [];
const timings: Partial<NodeRunTimings> = {};
let failed: Error | undefined;
try {
  const { info, helm: helmBin } = await upWithImages(log, timings);
  const tRun = Date.now();
  for (const layout of ['regular', 'native'] as const) {
    if (values.only && values.only !== layout) continue;
    log(`— ${layout} layout`);
    results.push(
      await runNodeScenario({
        node: info,
        helm: helmBin,
        native: layout === 'native',
        rollouts: Number(values.rollouts),
        rate: Number(values.rate),
        handlerMs: Number(values['handler-ms']),
        crashes: values['rollouts-only'] ? 0 : Number(values.crashes),
        replicas: Number(values.replicas),
        freezeLeader: layout === 'regular' && !values['rollouts-only'],
        upgradeFromPrevious: layout === 'regular' && !values['rollouts-only'],
        scaleDown: !values['rollouts-only'],
        deleteLeader: !values['rollouts-only'],
        scale: !values['rollouts-only'],
        log,
      }),
    );
  }
  timings.scenariosMs = Date.now() - tRun;
} catch (err) {
  failed = err as Error;
  log(`e2e:node failed: ${failed.stack ?? failed.message}`);
} finally {
  const tDown = Date.now();
  if (!values.keep) await down(log);
  timings.nodeDownMs = Date.now() - tDown;
  timings.totalMs = Date.now() - t0;
}

const resultsDir = join(root, 'e2e', 'results');
mkdirSync(resultsDir, { recursive: true });
const json = {
  generatedAt: new Date().toISOString(),
  settings: {
    rollouts: Number(values.rollouts),
    replicas: Number(values.replicas),
    ratePerSecond: Number(values.rate),
    handlerMs: Number(values['handler-ms']),
    crashes: Number(values.crashes),
  },
  timings,
  error: failed?.message,
  results,
};
writeFileSync(join(resultsDir, 'node.json'), `${JSON.stringify(json, null, 2)}\n`);

console.log('');
console.log(
  `real node: ${values.replicas} replicas, ${values.rollouts} × kubectl rollout restart (each exactly one handoff, to a new pod: C5), scale down to 1 and back (no handoff), delete the leader pod, ${values.crashes} × SIGKILL of the leader's bot container, the leader's pod frozen (cgroup, regular layout), scale 0 and back; ${values.rate} updates/s, handlers ${values['handler-ms']} ms`,
);
for (const r of results) console.log(`\n${nodeReport(r)}`);
console.log(
  `\ntimings: prepare ${ms(timings.prepareMs)}, node up ${ms(timings.nodeUpMs)}, scenarios ${ms(timings.scenariosMs)}, node down ${ms(timings.nodeDownMs)}, total ${ms(timings.totalMs)}`,
);
console.log(`results: ${join('e2e', 'results', 'node.json')}`);
if (failed || results.some((r) => r.failures.length > 0)) process.exit(1);
