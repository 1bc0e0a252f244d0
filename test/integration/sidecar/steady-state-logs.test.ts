// Issue 14, finding 2, on the real thing: two real sidecars (the CLI) on one Lease against the real API
// server, each with a worker that confirms every pause signal it gets (re-sent ones included). Through
// two 30 s resyncs and the API server's end of every watch (60 s), neither sidecar may log a line at
// info or above; then a handoff, and the new leader logs exactly one line for it.
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { adminKubeConfig, freshNamespace } from '../../kube/cluster.ts';
import { SimPod } from '../../harness/sim-pod.ts';
import { sleep, waitFor } from '../../harness/wait.ts';

const kube = inject('kube');
/** pino's levels: the sidecar writes their names (`"level":"info"`). */
const LEVELS: Record<string, number> = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60 };
const INFO = LEVELS.info!;

/** A worker that confirms every pause signal with the pause id /leader shows, as some bots do. */
const CONFIRMING_WORKER = `
const url = process.env.BATON_URL;
async function confirm() {
  try {
    const status = await (await fetch(url + '/leader')).json();
    await fetch(url + '/paused', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ pause: status.pause.id }) });
  } catch {}
}
process.on('SIGUSR1', () => {});
process.on('SIGUSR2', () => void confirm());
process.on('SIGTERM', () => process.exit(0));
setInterval(() => {}, 1 << 30);
`;

interface Line {
  level: string;
  msg: string;
  event?: string;
  reason?: string;
  result?: string;
  change?: string;
}

/** The sidecar's JSON log lines after byte `from`. */
function linesOf(p: SimPod, from = 0): Line[] {
  return readFileSync(p.sidecarLog, 'utf8')
    .slice(from)
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Line);
}
const logSize = (p: SimPod) => readFileSync(p.sidecarLog, 'utf8').length;
const level = (l: Line): number => {
  const n = LEVELS[l.level];
  if (n === undefined) throw new Error(`unknown log level in ${JSON.stringify(l)}`);
  return n;
};
const loud = (lines: Line[]) => lines.filter((l) => level(l) >= INFO).map((l) => `${l.level} ${l.msg}`);

let namespace: string;
let dir: string;
const pods: SimPod[] = [];

beforeAll(async () => {
  namespace = await freshNamespace(kube, 'steady-logs');
  dir = mkdtempSync(join(tmpdir(), 'baton-steady-'));
});

afterAll(async () => {
  for (const p of pods) p.kill();
  await Promise.all(pods.map((p) => p.exited().catch(() => undefined)));
  await Promise.all(pods.map((p) => p.forgetPod()));
});

describe('the real sidecar in a steady state', () => {
  it('logs nothing at info through two resyncs and a watch resume; the next leader logs its takeover in one line', async () => {
    const make = async (name: string) => {
      const p = new SimPod({
        name,
        namespace,
        leaseName: 'steady',
        kubeconfig: kube.adminKubeconfig,
        kc: adminKubeConfig(kube),
        dir,
        env: { BATON_LEASE_DURATION: '4s', BATON_RENEW_DEADLINE: '3s', BATON_RETRY_PERIOD: '1s', BATON_PAUSE_ACK_TIMEOUT: '5s' },
        worker: { command: process.execPath, args: ['-e', CONFIRMING_WORKER, '--'], env: {} },
        preStopMs: 500,
        graceMs: 20_000,
      });
      pods.push(p);
      await p.start();
      return p;
    };
    const a = await make('steady-a');
    await waitFor('a to lead', async () => (await a.leader())?.isLeader === true);
    const b = await make('steady-b');
    await waitFor('b ready', () => b.ready());
    // Let the start-up settle: the standby's worker has confirmed its first pause (one info line).
    await waitFor("b's worker to confirm its first pause", () => linesOf(b).some((l) => l.event === 'pause-confirmation' && l.result === 'accepted'));
    await sleep(1000);

    const from = { a: logSize(a), b: logSize(b) };
    await sleep(65_000);
    const steady = { a: linesOf(a, from.a), b: linesOf(b, from.b) };
    // Not vacuous: the resyncs went out, the standby's worker confirmed them again, the watches resumed.
    for (const lines of [steady.a, steady.b]) {
      expect(lines.filter((l) => l.event === 'signal' && l.reason === 'resync').length).toBeGreaterThanOrEqual(2);
      expect(lines.filter((l) => l.event === 'watch-restart' && l.reason === 'closed').length).toBeGreaterThanOrEqual(2); // Lease and Pod
    }
    expect(steady.b.filter((l) => l.event === 'pause-confirmation' && l.result === 'duplicate').length).toBeGreaterThanOrEqual(2);
    expect(loud(steady.a)).toEqual([]);
    expect(loud(steady.b)).toEqual([]);

    // A change: a hands over (SIGTERM), b takes the Lease and says so in one line.
    const before = logSize(b);
    expect(await a.terminate()).toBe(0);
    await waitFor('b to lead', async () => (await b.leader())?.isLeader === true);
    await sleep(2000);
    const change = linesOf(b, before);
    expect(loud(change)).toHaveLength(1);
    expect(change.find((l) => level(l) >= INFO)).toMatchObject({ event: 'leadership', change: 'acquired' });
  }, 150_000);
});
