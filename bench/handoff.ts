// npm run bench — graceful handoffs of an idle bot and of a loaded one, and crash failovers, of the
// bundled sidecar (the image's) against the real API server, with the sample bot (the kit's own poller)
// polling the Telegram double. Prints a table, then one line of JSON (the last line).
//
//   npm run bench -- --graceful 10 --loaded 10 --crash 3 --idle 30
//
// Timings are baton's defaults (15s / 10s / 2s) unless BATON_* variables say otherwise, so the crash
// figure is the one users get. Figures come from the bots' own logs (signal, polling-start/stop) and
// the double's ledger (when each getUpdates arrived):
// - idle / loaded: the old bot's pause signal → the new bot's first getUpdates (no traffic at all, or
//   20 updates/s handled in 20 ms each, so batches are in hand);
// - sigtermToPollMs: the pod's deletion and SIGTERM → the new bot's first getUpdates (what users feel);
// - gracefulGapMs: the old bot's polling-stop → the new bot's polling-start, over both regimes;
// - leaseWritesPerLeaderMin (issue 20, item 4): the Lease writes of a steady leader per minute, over the idle
//   window, at the renew interval in effect (BATON_RENEW_INTERVAL, default a third of the lease duration) and,
//   in the same window on this machine, of a second leader on its own Lease with the renew interval set to
//   the retry period (client-go's cadence, baton before issue 20): its PUTs as its own metrics count them
//   (every answer), and the versions an independent watch on its Lease saw.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { defaultRenewIntervalMs } from '../src/election/rules.ts';
import { parseDuration } from '../src/config.ts';
import { LeaseRecorder } from '../e2e/chaos/lease-recorder.ts';
import { TestApiServer } from '../test/kube/apiserver.ts';
import { adminKubeConfig, freshNamespace, serviceAccountKubeconfig, sidecarRules } from '../test/kube/cluster.ts';
import { BUNDLE } from '../scripts/bundle.ts';
import { SIDECAR_NODE_FLAGS, SimPod } from '../test/harness/sim-pod.ts';
import { overlap, pollIntervals, readWorkerLog, type PollInterval } from '../test/harness/timeline.ts';
import { TelegramDouble } from '../e2e/telegram/server.ts';
import { BOT } from '../e2e/rollout/scenario.ts';
import { sleep, waitFor } from '../test/harness/wait.ts';

const { values } = parseArgs({
  options: {
    graceful: { type: 'string', default: '10' },
    loaded: { type: 'string' },
    crash: { type: 'string', default: '3' },
    idle: { type: 'string', default: '30' },
  },
});
const N = Number(values.graceful);
const L = Number(values.loaded ?? values.graceful);
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
// The baseline leader of the writes figure: its own Lease and bot token, so it never meets the others.
const baselineKubeconfig = await serviceAccountKubeconfig(endpoint, namespace, 'baton-baseline', sidecarRules('bench-baseline'));
const dir = mkdtempSync(join(tmpdir(), 'baton-bench-'));
const token = '123456:bench';
const baselineToken = '654321:bench-baseline';
const double = new TelegramDouble();
const { url: apiRoot } = await double.start({ tokens: [token, baselineToken] });
const all: SimPod[] = [];
const baselines: SimPod[] = [];
let seq = 0;

/** The renew intervals of the writes figure: the one in effect for every bench pod, and the baseline's. */
const ms = (name: string, fallback: string) => parseDuration(env[name] ?? fallback, name);
const timings = {
  leaseDurationMs: ms('BATON_LEASE_DURATION', '15s'),
  renewDeadlineMs: ms('BATON_RENEW_DEADLINE', '10s'),
  retryPeriodMs: ms('BATON_RETRY_PERIOD', '2s'),
};
const renewIntervalMs = env.BATON_RENEW_INTERVAL ? ms('BATON_RENEW_INTERVAL', '') : defaultRenewIntervalMs(timings);
const baselineIntervalMs = timings.retryPeriodMs;

/** A bench pod on the Lease "bench"; `baseline`: the writes figure's second leader, on "bench-baseline" with RI = RP. */
async function newPod(baseline = false): Promise<SimPod> {
  const p = new SimPod({
    name: baseline ? 'bench-baseline' : `bench-${++seq}`,
    namespace,
    leaseName: baseline ? 'bench-baseline' : 'bench',
    kubeconfig: baseline ? baselineKubeconfig : kubeconfig,
    kc,
    dir,
    env: { BATON_LOG_LEVEL: 'info', ...env, ...(baseline ? { BATON_RENEW_INTERVAL: `${baselineIntervalMs}ms` } : {}) },
    preStopMs: 200,
    graceMs: 60_000,
    // The image's sidecar: the single-file bundle, with the image's Node flags.
    cli: BUNDLE,
    nodeArgs: SIDECAR_NODE_FLAGS,
    worker: {
      command: process.execPath,
      args: [BOT],
      env: {
        TELEGRAM_BOT_TOKEN: baseline ? baselineToken : token,
        TELEGRAM_API_ROOT: `${apiRoot}/${baseline ? 'bench-baseline' : `bench-${seq}`}`,
        BOT_NAME: baseline ? 'bench-baseline' : `bench-${seq}`,
        BOT_LOG: join(dir, `${baseline ? 'bench-baseline' : `bench-${seq}`}.worker.jsonl`),
        BOT_FRAMEWORK: 'plain',
        BOT_HANDLER_MS: '20',
        BOT_LIMIT: '100',
      },
    },
  });
  (baseline ? baselines : all).push(p);
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

/** The Lease PUTs a sidecar made, whatever their answer (its own count: baton_kube_requests_total). */
async function leasePuts(p: SimPod): Promise<number> {
  const text = await (await fetch(`${p.probeUrl}/metrics`)).text();
  let total = 0;
  for (const m of text.matchAll(/^baton_kube_requests_total\{([^}]*)\} (\d+(?:\.\d+)?)$/gm)) {
    if (m[1]!.includes('verb="update"') && m[1]!.includes('resource="leases.coordination.k8s.io"')) total += Number(m[2]);
  }
  return total;
}

function rssMB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Math.round((Number(m?.[1]) / 1024) * 10) / 10;
}

try {
  // --- idle: requests per minute of a leader and of a standby, and RSS ----------------------------------
  let leader = await newPod();
  const baseline = await newPod(true);
  await waitFor('first leader polls', () => leader.polling(), 30_000);
  await waitFor('baseline leader polls', () => baseline.polling(), 30_000);
  let standby = await newPod();
  const witnesses = { leader: new LeaseRecorder(kc, namespace, 'bench'), baseline: new LeaseRecorder(kc, namespace, 'bench-baseline') };
  witnesses.leader.start();
  witnesses.baseline.start();
  await sleep(3000);
  const [l0, s0, lw0, bw0] = [await kubeRequests(leader), await kubeRequests(standby), await leasePuts(leader), await leasePuts(baseline)];
  const w0 = now();
  log(`idle window: ${IDLE_S} s (renew interval ${renewIntervalMs} ms; baseline leader at ${baselineIntervalMs} ms)`);
  await sleep(IDLE_S * 1000);
  const [l1, s1, lw1, bw1] = [await kubeRequests(leader), await kubeRequests(standby), await leasePuts(leader), await leasePuts(baseline)];
  const w1 = now();
  const perMin = (d: number) => Math.round((d / IDLE_S) * 60 * 10) / 10;
  const apiRequestsPerMin = { leader: perMin(l1 - l0), standby: perMin(s1 - s0) };
  const rss = Math.max(rssMB(leader.sidecar!.pid!), rssMB(standby.sidecar!.pid!));
  // The versions the witnesses saw in the same window: writes that landed, counted outside the sidecars.
  const landed = (r: LeaseRecorder) => r.versions.filter((v) => v.type === 'MODIFIED' && v.at > w0 && v.at <= w1).length;
  const perLeaderMin = (n: number) => Math.round((n / ((w1 - w0) / 1000)) * 60 * 10) / 10;
  const leaseWritesPerLeaderMin = {
    windowS: IDLE_S,
    renewInterval: { renewIntervalMs, puts: perMin(lw1 - lw0), landed: perLeaderMin(landed(witnesses.leader)) },
    retryPeriod: { renewIntervalMs: baselineIntervalMs, puts: perMin(bw1 - bw0), landed: perLeaderMin(landed(witnesses.baseline)) },
  };
  witnesses.leader.stop();
  witnesses.baseline.stop();
  baseline.kill();

  // --- graceful handoffs: an idle bot, then a loaded one ----------------------------------------------
  const graceful: number[] = [];
  const pauseToStart: number[] = [];
  const sigtermToPoll: number[] = [];
  const regimes: Record<'idle' | 'loaded', number[]> = { idle: [], loaded: [] };
  const handoff = async (regime: 'idle' | 'loaded', i: number, n: number) => {
    const old = leader;
    // Let the standby settle and the leader's long poll park (idle) or its batches flow (loaded).
    await sleep(1000);
    const sigterm = now();
    await old.terminate();
    await waitFor('standby polls', () => standby.polling(), 30_000);
    const stop = intervalsOf(old).at(-1)!.to;
    const oldLog = readWorkerLog(old.workerLog);
    const ack = oldLog.filter((l) => l.event === 'ack').at(-1)?.mono;
    const signal = oldLog.filter((l) => l.event === 'signal' && l.signal === 'SIGUSR2').at(-1)?.mono;
    const start = intervalsOf(standby).at(-1)!.from;
    const firstPoll = double.requests().find((r) => r.type === 'start' && r.client === standby.opts.name && r.at > sigterm)?.at;
    if (signal === undefined || firstPoll === undefined) throw new Error(`handoff ${regime} ${i + 1}: no pause signal or no getUpdates of the new bot found`);
    graceful.push(start - stop);
    if (ack !== undefined) pauseToStart.push(start - ack);
    regimes[regime].push(firstPoll - signal);
    sigtermToPoll.push(firstPoll - sigterm);
    leader = standby;
    standby = await newPod();
    log(
      `graceful ${regime} ${i + 1}/${n}: pause signal → new getUpdates ${(firstPoll - signal).toFixed(1)} ms; SIGTERM → new getUpdates ${(firstPoll - sigterm).toFixed(1)} ms`,
    );
  };
  for (let i = 0; i < N; i++) await handoff('idle', i, N);
  const load = double.startLoad({ ratePerSecond: 20, token });
  for (let i = 0; i < L; i++) await handoff('loaded', i, L);
  await load.stop();

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
  // A measure that was not run (`--crash 0`, `--loaded 0`) has no figures: null in the JSON, "—" in the table.
  const fig = (x: number) => (Number.isFinite(x) ? r1(x) : null);
  const stats = (xs: number[]) => ({ n: xs.length, p50: fig(pct(xs, 50)), p95: fig(pct(xs, 95)), max: fig(Math.max(...xs)) });
  const result = {
    gracefulGapMs: { p50: fig(pct(graceful, 50)), p95: fig(pct(graceful, 95)), max: fig(Math.max(...graceful)) },
    idle: stats(regimes.idle),
    loaded: stats(regimes.loaded),
    sigtermToPollMs: stats(sigtermToPoll),
    crashFailoverMs: crash.length ? { p50: Math.round(pct(crash, 50)), max: Math.round(Math.max(...crash)) } : { p50: null, max: null },
    overlapMs: r1(overlapMs),
    apiRequestsPerMin,
    leaseWritesPerLeaderMin,
    rssMB: rss,
  };
  const leaseDuration = env.BATON_LEASE_DURATION ?? '15s';
  console.log('');
  console.log(`baton handoff benchmark — real kube-apiserver, compiled sidecar, Node ${process.versions.node}, lease duration ${leaseDuration}`);
  console.log('');
  console.log('| measure                                   | n  | p50      | p95      | max      |');
  console.log('|-------------------------------------------|----|----------|----------|----------|');
  const cell = (x: number, unit: string) => (Number.isFinite(x) ? `${r1(x)} ${unit}` : '—').padEnd(8);
  const row = (name: string, xs: number[], unit = 'ms') =>
    console.log(
      `| ${name.padEnd(41)} | ${String(xs.length).padEnd(2)} | ${cell(pct(xs, 50), unit)} | ${cell(pct(xs, 95), unit)} | ${cell(Math.max(...xs), unit)} |`,
    );
  row('idle bot: pause signal → new getUpdates', regimes.idle);
  row('loaded bot: pause signal → new getUpdates', regimes.loaded);
  row("SIGTERM → new bot's first getUpdates", sigtermToPoll);
  row('graceful gap (old stops → new starts)', graceful);
  row('graceful gap after confirmation (ack → new)', pauseToStart);
  row('crash failover (SIGKILL → new starts)', crash);
  console.log('');
  console.log(`overlap (two workers polling at once): ${r1(overlapMs)} ms over ${N + L} graceful and ${M} crash handoffs`);
  console.log(`API requests per minute, idle: leader ${apiRequestsPerMin.leader}, standby ${apiRequestsPerMin.standby}`);
  const lw = leaseWritesPerLeaderMin;
  console.log(
    `Lease writes per leader-minute, idle, the same ${IDLE_S} s window: renew interval ${lw.renewInterval.renewIntervalMs} ms: ${lw.renewInterval.puts} PUTs (${lw.renewInterval.landed} versions seen); ` +
      `renew interval = retry period ${lw.retryPeriod.renewIntervalMs} ms: ${lw.retryPeriod.puts} PUTs (${lw.retryPeriod.landed} versions seen)`,
  );
  console.log(`sidecar RSS, idle: ${rss} MB`);
  console.log(JSON.stringify(result));
} finally {
  for (const p of [...all, ...baselines]) p.kill();
  await Promise.all([...all, ...baselines].map((p) => p.exited().catch(() => undefined)));
  await server.stop();
  await double.stop();
}
