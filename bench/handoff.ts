// npm run bench — N graceful handoffs and M crash failovers of the bundled sidecar (the image's) against the real
// API server, with real worker processes. Prints a table, then one line of JSON (the last line).
//
//   npm run bench -- --graceful 20 --crash 3 --idle 30
//
// Timings are baton's defaults (15s / 10s / 2s) unless BATON_* variables say otherwise, so the crash
// figure is the one users get. Figures are measured from the workers' own logs (polling-start/stop).
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { TestApiServer } from '../test/kube/apiserver.ts';
import { adminKubeConfig, freshNamespace, serviceAccountKubeconfig, sidecarRules } from '../test/kube/cluster.ts';
import { BUNDLE } from '../scripts/bundle.ts';
import { SIDECAR_NODE_FLAGS, SimPod, waitFor } from '../test/harness/sim-pod.ts';
import { overlap, pollIntervals, readWorkerLog, type PollInterval } from '../test/harness/timeline.ts';

const { values } = parseArgs({
  options: {
    graceful: { type: 'string', default: '20' },
    crash: { type: 'string', default: '3' },
    idle: { type: 'string', default: '30' },
  },
});
const N = Number(values.graceful);
const M = Number(values.crash);
const IDLE_S = Number(values.idle);
const env: Record<string, string> = {};
for (const [k, v] of Object.entries(process.env)) if (k.startsWith('BATON_') && v) env[k] = v;

const log = (s: string) => process.stderr.write(`${s}\n`);
const now = () => performance.timeOrigin + performance.now();

const server = new TestApiServer({ log });
const endpoint = await server.start();
const namespace = await freshNamespace(endpoint, 'bench');
const kc = adminKubeConfig(endpoint);
const kubeconfig = await serviceAccountKubeconfig(endpoint, namespace, 'baton', sidecarRules('bench'));
const dir = mkdtempSync(join(tmpdir(), 'baton-bench-'));
const all: SimPod[] = [];
let seq = 0;

async function newPod(): Promise<SimPod> {
  const p = new SimPod({
    name: `bench-${++seq}`,
    namespace,
    leaseName: 'bench',
    kubeconfig,
    kc,
    dir,
    env: { BATON_LOG_LEVEL: 'info', ...env },
    preStopMs: 200,
    graceMs: 60_000,
    // The image's sidecar: the single-file bundle, with the image's Node flags.
    cli: BUNDLE,
    nodeArgs: SIDECAR_NODE_FLAGS,
  });
  all.push(p);
  await p.start();
  await waitFor(`${p.opts.name} ready`, () => p.ready(), 30_000);
  return p;
}


function intervalsOf(p: SimPod): PollInterval[] {
  return pollIntervals(readWorkerLog(p.workerLog), now(), p.deaths);
}

function pct(xs: number[], p: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
}

async function kubeRequests(p: SimPod): Promise<number> {
  const text = await (await fetch(`${p.probeUrl}/metrics`)).text();
  let total = 0;
  for (const m of text.matchAll(/^baton_kube_requests_total\{[^}]*\} (\d+(?:\.\d+)?)$/gm)) total += Number(m[1]);
  return total;
}

function rssMB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Math.round((Number(m?.[1]) / 1024) * 10) / 10;
}

try {
  // --- idle: requests per minute of a leader and of a standby, and RSS ----------------------------------
  let leader = await newPod();
  await waitFor('first leader polls', () => leader.polling(), 30_000);
  let standby = await newPod();
  await new Promise((r) => setTimeout(r, 3000));
  const [l0, s0] = [await kubeRequests(leader), await kubeRequests(standby)];
  log(`idle window: ${IDLE_S} s`);
  await new Promise((r) => setTimeout(r, IDLE_S * 1000));
  const [l1, s1] = [await kubeRequests(leader), await kubeRequests(standby)];
  const perMin = (d: number) => Math.round((d / IDLE_S) * 60 * 10) / 10;
  const apiRequestsPerMin = { leader: perMin(l1 - l0), standby: perMin(s1 - s0) };
  const rss = Math.max(rssMB(leader.sidecar!.pid!), rssMB(standby.sidecar!.pid!));

  // --- graceful handoffs ------------------------------------------------------------------------------
  const graceful: number[] = [];
  const pauseToStart: number[] = [];
  for (let i = 0; i < N; i++) {
    const old = leader;
    await old.terminate();
    await waitFor('standby polls', () => standby.polling(), 30_000);
    const stop = intervalsOf(old).at(-1)!.to;
    const ack = readWorkerLog(old.workerLog).filter((l) => l.event === 'ack').at(-1)?.mono;
    const start = intervalsOf(standby).at(-1)!.from;
    graceful.push(start - stop);
    if (ack !== undefined) pauseToStart.push(start - ack);
    leader = standby;
    standby = await newPod();
    log(`graceful ${i + 1}/${N}: gap ${(start - stop).toFixed(1)} ms`);
  }

  // --- crash failovers --------------------------------------------------------------------------------
  const crash: number[] = [];
  for (let i = 0; i < M; i++) {
    const old = leader;
    await waitFor('leader polls', () => old.polling(), 30_000);
    old.kill();
    const killedAt = old.deaths.get(old.worker!.pid!)!;
    await waitFor('standby polls', () => standby.polling(), 60_000);
    const start = intervalsOf(standby).at(-1)!.from;
    crash.push(start - killedAt);
    await old.forgetPod();
    leader = standby;
    standby = await newPod();
    log(`crash ${i + 1}/${M}: failover ${(start - killedAt).toFixed(0)} ms`);
  }

  const everything = all.flatMap((p) => pollIntervals(readWorkerLog(p.workerLog), now(), p.deaths));
  const overlapMs = overlap(everything).totalMs;
  const r1 = (x: number) => Math.round(x * 10) / 10;
  const result = {
    gracefulGapMs: { p50: r1(pct(graceful, 50)), p95: r1(pct(graceful, 95)), max: r1(Math.max(...graceful)) },
    crashFailoverMs: { p50: Math.round(pct(crash, 50)), max: Math.round(Math.max(...crash)) },
    overlapMs: r1(overlapMs),
    apiRequestsPerMin,
    rssMB: rss,
  };
  const leaseDuration = env.BATON_LEASE_DURATION ?? '15s';
  console.log('');
  console.log(`baton handoff benchmark — real kube-apiserver, compiled sidecar, Node ${process.versions.node}, lease duration ${leaseDuration}`);
  console.log('');
  console.log('| measure                                   | n  | p50      | p95      | max      |');
  console.log('|-------------------------------------------|----|----------|----------|----------|');
  const row = (name: string, xs: number[], unit = 'ms') =>
    console.log(`| ${name.padEnd(41)} | ${String(xs.length).padEnd(2)} | ${`${r1(pct(xs, 50))} ${unit}`.padEnd(8)} | ${`${r1(pct(xs, 95))} ${unit}`.padEnd(8)} | ${`${r1(Math.max(...xs))} ${unit}`.padEnd(8)} |`);
  row('graceful gap (old stops → new starts)', graceful);
  row('graceful gap after confirmation (ack → new)', pauseToStart);
  row('crash failover (SIGKILL → new starts)', crash);
  console.log('');
  console.log(`overlap (two workers polling at once): ${r1(overlapMs)} ms over ${N} graceful and ${M} crash handoffs`);
  console.log(`API requests per minute, idle: leader ${apiRequestsPerMin.leader}, standby ${apiRequestsPerMin.standby}`);
  console.log(`sidecar RSS, idle: ${rss} MB`);
  console.log(JSON.stringify(result));
} finally {
  for (const p of all) p.kill();
  await Promise.all(all.map((p) => p.exited().catch(() => undefined)));
  await server.stop();
}
