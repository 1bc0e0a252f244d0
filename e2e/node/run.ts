// npm run e2e:node — baton on a real node (kubelet + containerd, test/node): brings the node up, builds and
// imports the images (the repository's Dockerfile with buildah; the sample bot), installs the chart with helm
// in both layouts (regular and native sidecar) and runs the real rollout scenario (e2e/node/scenario.ts) in
// each; writes e2e/results/node.json and prints the figures; takes the node down (always). Exits 1 when two
// pollers overlapped, an update was handled twice or lost, or a step failed.
//
//   npm run e2e:node -- [--rollouts 5] [--rate 20] [--handler-ms 20] [--crashes 3] [--replicas 2] [--only regular|native] [--rollouts-only] [--sidecar-restarts 0] [--set key=value]... [--cpu] [--keep]
//
// --rollouts-only: install and the rollouts alone (no upgrade steps, scaling, deleted leader, crash loop or
// freeze): the quick run for the handoff timeline.
// --sidecar-restarts N: after the rollouts, N times SIGTERM to the leader's sidecar container from the host (the
// kubelet restarts it): graceful handoffs with no Pod deleted, on a node that is otherwise quiet.
// --set: a chart value for the install (helm's --set, repeatable), to measure a setting against the defaults,
// e.g. --set deployment.minReadySeconds=10.
// --cpu: samples the host's processes' CPU time every 10 ms (e2e/node/cpu-sampler.ts) and prints who used the
// CPU while the handoffs' gaps were open (the sampler itself costs a few % of a core; off by default).
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { down, upWithImages, type UpTimings } from '../../test/node/node.ts';
import { runNodeScenario, type NodeScenarioResult } from './scenario.ts';
import { ms, nodeReport } from './report.ts';
import { startCpuSampler } from './cpu-sampler.ts';
import { cpuDuringGaps, cpuTable, gapWindows, type CpuDuringGaps } from '../report/cpu-during-gaps.ts';
import { availableParallelism } from 'node:os';

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
    'sidecar-restarts': { type: 'string', default: '0' },
    set: { type: 'string', multiple: true, default: [] },
    cpu: { type: 'boolean', default: false },
    keep: { type: 'boolean', default: false },
  },
});
for (const v of values.set) {
  if (!/^[\w.-]+=/.test(v)) {
    process.stderr.write(`--set ${v}: expected key=value, as helm's --set takes it (e.g. deployment.minReadySeconds=10)\n`);
    process.exit(2);
  }
}
const log = (s: string) => process.stderr.write(`${new Date().toISOString().slice(11, 23)} ${s}\n`);

export interface NodeRunTimings extends UpTimings {
  scenariosMs: number;
  nodeDownMs: number;
  totalMs: number;
}

const resultsDir = join(root, 'e2e', 'results');
mkdirSync(resultsDir, { recursive: true });
const t0 = Date.now();
const results: NodeScenarioResult[] = [];
const cpu = new Map<NodeScenarioResult, CpuDuringGaps>();
const timings: Partial<NodeRunTimings> = {};
let failed: Error | undefined;
try {
  const { info, helm: helmBin } = await upWithImages(log, timings);
  const tRun = Date.now();
  for (const layout of ['regular', 'native'] as const) {
    if (values.only && values.only !== layout) continue;
    log(`— ${layout} layout`);
    const sampler = values.cpu ? startCpuSampler(join(resultsDir, `node-cpu-${layout}.jsonl`)) : undefined;
    const result = await runNodeScenario({
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
      sidecarRestarts: Number(values['sidecar-restarts']),
      chartValues: values.set,
      log,
    }).catch(async (err: unknown) => {
      await sampler?.stop();
      throw err;
    });
    results.push(result);
    if (sampler) {
      const { samples, kinds } = await sampler.stop();
      cpu.set(
        result,
        cpuDuringGaps(samples, gapWindows(result.handoffs), (pid) => kinds.get(pid) ?? 'unknown', availableParallelism()),
      );
    }
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

const json = {
  generatedAt: new Date().toISOString(),
  settings: {
    rollouts: Number(values.rollouts),
    replicas: Number(values.replicas),
    ratePerSecond: Number(values.rate),
    handlerMs: Number(values['handler-ms']),
    crashes: Number(values.crashes),
    chartValues: values.set,
  },
  timings,
  error: failed?.message,
  results: results.map((r) => ({ ...r, cpuDuringGaps: cpu.get(r) })),
};
writeFileSync(join(resultsDir, 'node.json'), `${JSON.stringify(json, null, 2)}\n`);

console.log('');
console.log(
  `real node: ${values.replicas} replicas, ${values.rollouts} × kubectl rollout restart (each exactly one handoff, to a new pod: C5), scale down to 1 and back (no handoff), delete the leader pod, ${values.crashes} × SIGKILL of the leader's bot container, the leader's pod frozen (cgroup, regular layout), scale 0 and back; ${values.rate} updates/s, handlers ${values['handler-ms']} ms`,
);
for (const r of results) {
  console.log(`\n${nodeReport(r)}`);
  const c = cpu.get(r);
  if (c) console.log(`\n${cpuTable(c, r.handoffs.length)}`);
}
console.log(
  `\ntimings: prepare ${ms(timings.prepareMs)}, node up ${ms(timings.nodeUpMs)}, scenarios ${ms(timings.scenariosMs)}, node down ${ms(timings.nodeDownMs)}, total ${ms(timings.totalMs)}`,
);
console.log(`results: ${join('e2e', 'results', 'node.json')}`);
if (failed || results.some((r) => r.failures.length > 0)) process.exit(1);
