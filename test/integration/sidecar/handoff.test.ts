// The real CLI, as separate processes, against the real API server, with real worker processes.
// Every scenario ends by checking invariant 1 from the workers' own logs: two workers never polled at once.
import { afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { adminKubeConfig, freshNamespace, serviceAccountKubeconfig, sidecarRules } from '../../kube/cluster.ts';
import { SimPod } from '../../harness/sim-pod.ts';
import { describeIntervals, gaps, overlap, pollIntervals, readWorkerLog } from '../../harness/timeline.ts';
import { sleep, waitFor } from '../../harness/wait.ts';

const kube = inject('kube');
// Short timings keep crash scenarios quick; they pass the same validation as the defaults.
const FAST = { BATON_LEASE_DURATION: '4s', BATON_RENEW_DEADLINE: '3s', BATON_RETRY_PERIOD: '1s', BATON_DRAIN: '1s', BATON_PAUSE_ACK_TIMEOUT: '5s' };

let namespace: string;
let kubeconfig: string;
let kc: k8s.KubeConfig;
let dir: string;
let pods: SimPod[] = [];
let seq = 0;

beforeAll(async () => {
  namespace = await freshNamespace(kube, 'handoff');
  kc = adminKubeConfig(kube);
  dir = mkdtempSync(join(tmpdir(), 'baton-handoff-'));
});

afterEach(async () => {
  for (const p of pods) p.kill();
  await Promise.all(pods.map((p) => p.exited().catch(() => undefined)));
  await Promise.all(pods.map((p) => p.forgetPod()));
  pods = [];
});

async function pod(lease: string, extra: Partial<ConstructorParameters<typeof SimPod>[0]> = {}): Promise<SimPod> {
  if (!kubeconfig) kubeconfig = await serviceAccountKubeconfig(kube, namespace, 'baton', sidecarRulesForLeases());
  const p = new SimPod({ name: `${lease}-${++seq}`, namespace, leaseName: lease, kubeconfig, kc, dir, env: FAST, preStopMs: 500, graceMs: 20_000, ...extra });
  pods.push(p);
  await p.start();
  return p;
}

/** The chart's Role, for every Lease these tests use (resourceNames cannot be a wildcard, so list them). */
function sidecarRulesForLeases(): k8s.V1PolicyRule[] {
  const leases = ['grace', 'noack', 'drainexit', 'native', 'crash', 'restart', 'three', 'quit', 'nohandlers'];
  return sidecarRules(leases[0]!).map((r) => (r.resourceNames ? { ...r, resourceNames: leases } : r));
}

function analyse(list: SimPod[]) {
  const lines = list.flatMap((p) => readWorkerLog(p.workerLog));
  const deaths = new Map(list.flatMap((p) => [...p.deaths]));
  const end = performance.timeOrigin + performance.now();
  const intervals = pollIntervals(lines, end, deaths);
  return { intervals, overlap: overlap(intervals), lines };
}

function expectNoOverlap(list: SimPod[]) {
  const a = analyse(list);
  expect(a.overlap.totalMs, `two workers polled at once:\n${describeIntervals(a.intervals)}`).toBe(0);
  return a;
}

async function leaderOf(list: SimPod[]): Promise<SimPod | undefined> {
  for (const p of list) if ((await p.leader())?.isLeader) return p;
  return undefined;
}

describe('baton sidecar, real processes, real API server', () => {
  it('graceful handoff with the worker confirming: the standby starts right after the confirmation', async () => {
    const a = await pod('grace');
    await waitFor('a to lead', async () => (await a.leader())?.isLeader === true && a.polling());
    const b = await pod('grace');
    await waitFor('b ready', () => b.ready());
    expect((await b.leader())?.isLeader).toBe(false);
    expect(b.polling()).toBe(false);

    const code = await a.terminate();
    expect(code).toBe(0);
    await waitFor('b to lead and poll', async () => (await b.leader())?.isLeader === true && b.polling(), 10_000);
    const { intervals } = expectNoOverlap([a, b]);
    // The handoff went through the release, not expiry: b started well within one lease duration of a's stop.
    const aStop = intervals.find((i) => i.name === a.opts.name)!.to;
    const bStart = intervals.find((i) => i.name === b.opts.name)!.from;
    expect(bStart - aStop).toBeGreaterThan(0);
    expect(bStart - aStop).toBeLessThan(2000);
    const status = await b.leader();
    expect(status?.epoch).toBe(1);
    // Pod labels agree with /leader.
    const core = kc.makeApiClient(k8s.CoreV1Api);
    await waitFor(
      'label leader on b',
      async () => (await core.readNamespacedPod({ name: b.opts.name, namespace })).metadata?.labels?.['baton/role'] === 'leader',
    );
    // Every leadership change is an Event, on the Lease and on the Pod.
    const events = kc.makeApiClient(k8s.EventsV1Api);
    await waitFor('events', async () => {
      const items = (await events.listNamespacedEvent({ namespace })).items;
      const seen = (reason: string, kind: string, name: string) =>
        items.some((e) => e.reason === reason && e.regarding?.kind === kind && e.regarding?.name === name);
      return (
        seen('LeaderElected', 'Pod', a.opts.name) &&
        seen('LeaderReleased', 'Pod', a.opts.name) &&
        seen('LeaderElected', 'Pod', b.opts.name) &&
        seen('LeaderElected', 'Lease', 'grace') &&
        seen('LeaderReleased', 'Lease', 'grace')
      );
    });
  });

  it('graceful handoff without confirmation waits the drain before the standby starts', async () => {
    // The chart's preStop rule (≥ drain + one request timeout): the bot is not SIGTERMed during the drain.
    const a = await pod('noack', { ack: false, preStopMs: 2500 });
    await waitFor('a to poll', () => a.polling());
    const b = await pod('noack', { ack: false });
    await waitFor('b ready', () => b.ready());
    await a.terminate();
    await waitFor('b to poll', () => b.polling(), 10_000);
    const { intervals } = expectNoOverlap([a, b]);
    const aStop = intervals.find((i) => i.name === a.opts.name)!.to;
    const bStart = intervals.find((i) => i.name === b.opts.name)!.from;
    // BATON_DRAIN is 1 s, counted from the pause signal; the worker stopped 50 ms after it.
    expect(bStart - aStop).toBeGreaterThan(800);
  });

  it('a worker that exits during the drain ends it: the standby starts without waiting it out', async () => {
    // preStop shorter than the drain: the bot gets SIGTERM 0.5 s into the drain and exits. A process that
    // no longer exists polls nothing, so the sidecar releases at its next /proc scan (0.5 s).
    // A 3 s drain, so the exit (SIGTERM at 0.5 s, seen by the next 0.5 s scan) is well inside it, even under load.
    const a = await pod('drainexit', { ack: false, preStopMs: 500, env: { ...FAST, BATON_DRAIN: '3s' } });
    await waitFor('a to poll', () => a.polling());
    const b = await pod('drainexit', { ack: false });
    await waitFor('b ready', () => b.ready());
    await a.terminate();
    await waitFor('b to poll', () => b.polling(), 10_000);
    expectNoOverlap([a, b]);
    const outcome = readFileSync(a.sidecarLog, 'utf8')
      .split('\n')
      .filter((l) => l.includes('"phase":"paused"'))
      .map((l) => (JSON.parse(l) as { outcome: string }).outcome);
    expect(outcome).toEqual(['exited']);
  });

  it('native sidecar order: hands over on the deletionTimestamp and serves /leader as a standby until SIGTERM', async () => {
    const a = await pod('native', { native: true, preStopMs: 1500 });
    await waitFor('a to poll', () => a.polling());
    const b = await pod('native', { native: true });
    await waitFor('b ready', () => b.ready());
    const done = a.terminate();
    // During preStop, before any SIGTERM, the handoff is already done and a still answers as a standby.
    await waitFor('b to poll', () => b.polling(), 10_000);
    const aStatus = await a.leader();
    expect(aStatus).toMatchObject({ isLeader: false, handingOver: true, holder: b.opts.name });
    expect(await done).toBe(0);
    expectNoOverlap([a, b]);
  });

  it('SIGKILL of the leader pod: the standby takes over after the lease duration, never before', async () => {
    const a = await pod('crash');
    await waitFor('a to poll', () => a.polling());
    const b = await pod('crash');
    await waitFor('b ready', () => b.ready());
    a.kill();
    const killedAt = performance.timeOrigin + performance.now();
    await waitFor('b to poll', () => b.polling(), 15_000);
    const { intervals } = expectNoOverlap([a, b]);
    const bStart = intervals.find((i) => i.name === b.opts.name)!.from;
    expect(bStart - killedAt).toBeGreaterThan(2500); // not before the Lease could have expired (4 s from the last renew)
    expect(bStart - killedAt).toBeLessThan(4000 + 2500);
  });

  it('a worker restarted inside the leader pod gets the start signal again', async () => {
    const a = await pod('restart');
    await waitFor('a to poll', () => a.polling());
    const oldPid = a.worker!.pid!;
    await a.restartWorker();
    await waitFor('the new worker to poll', async () => a.worker!.pid !== oldPid && a.polling(), 10_000);
    // The sidecar notices the new PID on its next /proc scan and sends it the current state (start).
    const newPid = a.worker!.pid!;
    await waitFor('the restart to be counted', async () => /^baton_worker_restarts_total 1$/m.test(await (await fetch(`${a.probeUrl}/metrics`)).text()), 5000);
    await waitFor('a start signal to the new pid', () =>
      readWorkerLog(a.workerLog).some((l) => l.pid === newPid && l.event === 'signal' && l.signal === 'SIGUSR1'),
    );
    expect((await a.leader())?.isLeader).toBe(true);
    expectNoOverlap([a]);
  });

  it('three candidates: each handoff goes to exactly one of the others, never two at once', async () => {
    const list = [await pod('three'), await pod('three'), await pod('three')];
    await waitFor('all ready', async () => (await Promise.all(list.map((p) => p.ready()))).every(Boolean));
    // The first pod created the Lease: a claim, it leads a lease duration after the create (S1).
    await waitFor('a leader', async () => (await leaderOf(list)) !== undefined);
    const alive = [...list];
    for (let round = 0; round < 2; round++) {
      const leader = await leaderOf(alive);
      expect(leader).toBeDefined();
      await waitFor('leader polls', () => leader!.polling());
      alive.splice(alive.indexOf(leader!), 1);
      await leader!.terminate();
      await waitFor(
        'a new leader polls',
        async () => {
          const next = await leaderOf(alive);
          return next !== undefined && next.polling();
        },
        10_000,
      );
    }
    const a = expectNoOverlap(list);
    const end = a.intervals.at(-1)!.to;
    // One gap per handoff, each short (the release, not the expiry, ended it).
    const holes = gaps(a.intervals, a.intervals[0]!.from, end);
    expect(holes.length).toBe(2);
    for (const h of holes) expect(h.ms).toBeLessThan(2000);
  });

  it('SIGTERM: a standby exits 0 at once; a second SIGTERM makes a waiting leader exit promptly, and the Lease then expires', async () => {
    const a = await pod('quit', { ack: false, env: { ...FAST, BATON_DRAIN: '20s' } });
    await waitFor('a to poll', () => a.polling());
    const b = await pod('quit');
    const c = await pod('quit');
    await waitFor('b, c ready', async () => (await b.ready()) && (await c.ready()));

    let t = Date.now();
    b.sidecar!.kill('SIGTERM');
    expect(await b.sidecarExited()).toBe(0);
    expect(Date.now() - t).toBeLessThan(1500);

    a.sidecar!.kill('SIGTERM'); // a leader whose worker never confirms: waits the 20 s drain
    await waitFor('a to pause its worker', async () => !a.polling(), 5000);
    t = Date.now();
    a.sidecar!.kill('SIGTERM');
    expect(await a.sidecarExited()).toBe(0);
    expect(Date.now() - t).toBeLessThan(1500);
    // Unreleased, the Lease expires (4 s) and c takes over; a's worker had long paused.
    await waitFor('c to poll', () => c.polling(), 10_000);
    expectNoOverlap([a, b, c]);
  });

  it('never signals a worker that has not installed its handlers, and is not Ready meanwhile', async () => {
    const p = await pod('nohandlers', { workerEnv: { WORKER_NO_HANDLERS: '1' } });
    await waitFor(
      'readyz to explain',
      async () => {
        const body = (await p.readyBody().catch(() => ({ missing: [] }))) as { missing: string[] };
        return body.missing.some((m) => /has not installed handlers/.test(m));
      },
      10_000,
    );
    await sleep(1500);
    expect(p.worker!.exitCode).toBeNull(); // an unhandled SIGUSR2 would have killed it
    expect(p.worker!.signalCode).toBeNull();
    expect(readWorkerLog(p.workerLog).filter((l) => l.event === 'signal')).toEqual([]);
    expect((await p.leader())?.isLeader).toBe(false); // a pod that cannot run the work does not take the Lease
  });
});
