// npm run bench:scale — what baton costs the API server as the number of bots grows. At each size (10, 100
// and 400 Leases by default), a fresh kube-apiserver + etcd (the test harness'), one ServiceAccount, Role and
// RoleBinding per Lease as the chart makes them per bot, and a load process (bench/scale-load.ts) running two
// electors per Lease — the real election core, Lease lock, Lease watch and REST client, one client per
// elector as one per sidecar. After a settle time, over a fixed window: API requests/s from the API server's
// own apiserver_request_total, CPU (% of one core, /proc utime+stime) and RSS of kube-apiserver, etcd and the
// load process. Then graceful handoffs spread over time (release → the standby's acquire), p50/p99.
// Prints a table, then one line of JSON (the last line); --json prints only the JSON.
//
//   npm run bench:scale -- --sizes 10,100,400 --window 60 --settle 15 --handoffs 50 --procs 1
import { fork, type ChildProcess } from 'node:child_process';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import * as k8s from '@kubernetes/client-node';
import { TestApiServer, type KubeEndpoint } from '../test/kube/apiserver.ts';
import { adminKubeConfig, freshNamespace } from '../test/kube/cluster.ts';
import {
  bunching,
  cpuPercent,
  delta,
  findPid,
  gaugeSum,
  histogramQuantile,
  percentile,
  readProc,
  readSchedstat,
  requestsByCode,
  requestsByVerb,
  socketCount,
} from './scale-measure.ts';
import type { HandoffTiming, LoadCommand, LoadCounters, LoadLease, LoadReply, LoopDelay } from './scale-load.ts';
import { sleep } from '../test/harness/wait.ts';

const { values } = parseArgs({
  options: {
    sizes: { type: 'string', default: '10,100,400' },
    window: { type: 'string', default: '60' },
    settle: { type: 'string', default: '15' },
    handoffs: { type: 'string', default: '50' },
    'handoff-gap-ms': { type: 'string', default: '400' },
    procs: { type: 'string', default: '1' },
    ramp: { type: 'string', default: '100' },
    json: { type: 'boolean', default: false },
  },
});
const SIZES = values.sizes.split(',').map(Number);
// 60 s by default: every watch ends and is resumed once per timeoutSeconds (60), so a shorter window could
// miss (or double) the resumes of watches that all started together.
const WINDOW_S = Number(values.window);
const SETTLE_S = Number(values.settle);
const HANDOFFS = Number(values.handoffs);
const HANDOFF_GAP_MS = Number(values['handoff-gap-ms']);
const PROCS = Number(values.procs);
const RAMP = Number(values.ramp);
const log = (s: string) => process.stderr.write(`${s}\n`);
const LEASES = ['leases'];

/** One load process and the replies it sends, awaited by type. */
class LoadProcess {
  readonly child: ChildProcess;
  private waiters: Array<{ type: LoadReply['type']; resolve: (r: LoadReply) => void }> = [];
  private handoffWaiters = new Map<number, (t: HandoffTiming) => void>();

  constructor() {
    this.child = fork(join(import.meta.dirname, 'scale-load.ts'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    this.child.on('message', (r: LoadReply) => {
      if (r.type === 'handoff') {
        this.handoffWaiters.get(r.timing.id)?.(r.timing);
        this.handoffWaiters.delete(r.timing.id);
        return;
      }
      const i = this.waiters.findIndex((w) => w.type === r.type);
      if (i >= 0) this.waiters.splice(i, 1)[0]!.resolve(r);
    });
  }

  ask<T extends LoadReply['type']>(cmd: LoadCommand, reply: T): Promise<Extract<LoadReply, { type: T }>> {
    const p = new Promise<LoadReply>((resolve) => this.waiters.push({ type: reply, resolve }));
    this.child.send(cmd);
    return p as Promise<Extract<LoadReply, { type: T }>>;
  }

  handoff(id: number, lease: string): Promise<HandoffTiming> {
    const p = new Promise<HandoffTiming>((resolve) => this.handoffWaiters.set(id, resolve));
    this.child.send({ type: 'handoff', id, lease } satisfies LoadCommand);
    return p;
  }
}

/** Runs `fn` over `items`, `limit` at a time. */
async function pool<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) await fn(items[next++]!);
    }),
  );
}

/** Per bot, as the chart makes it: a ServiceAccount, a Role on its own Lease, a RoleBinding; and its Lease, released (holder ""). */
async function makeBots(endpoint: KubeEndpoint, namespace: string, n: number): Promise<LoadLease[]> {
  const kc = adminKubeConfig(endpoint);
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const rbac = kc.makeApiClient(k8s.RbacAuthorizationV1Api);
  const coord = kc.makeApiClient(k8s.CoordinationV1Api);
  const bots: LoadLease[] = [];
  await pool(
    Array.from({ length: n }, (_, i) => `bot-${String(i).padStart(3, '0')}`),
    16,
    async (name) => {
      await core.createNamespacedServiceAccount({ namespace, body: { metadata: { name } } });
      await rbac.createNamespacedRole({
        namespace,
        body: {
          metadata: { name },
          rules: [
            { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['create'] },
            { apiGroups: ['coordination.k8s.io'], resources: ['leases'], resourceNames: [name], verbs: ['get', 'list', 'watch', 'update'] },
          ],
        },
      });
      await rbac.createNamespacedRoleBinding({
        namespace,
        body: {
          metadata: { name },
          roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name },
          subjects: [{ kind: 'ServiceAccount', name, namespace }],
        },
      });
      // Released, so the first elector to see it acquires at once (a create would be a claim: a lease duration's wait).
      await coord.createNamespacedLease({
        namespace,
        body: { metadata: { name }, spec: { holderIdentity: '', leaseDurationSeconds: 1, leaseTransitions: 0 } },
      });
      const token = await core.createNamespacedServiceAccountToken({
        name,
        namespace,
        body: { spec: { audiences: ['https://kubernetes.default.svc'], expirationSeconds: 24 * 3600 } },
      });
      bots.push({ name, token: token.status!.token! });
    },
  );
  return bots.sort((a, b) => a.name.localeCompare(b.name));
}

async function scrape(endpoint: KubeEndpoint): Promise<string> {
  // The harness' CA is private: this one request reads it through client-node's own TLS options.
  const kc = adminKubeConfig(endpoint);
  const opts: import('node:https').RequestOptions = {};
  await kc.applyToHTTPSOptions(opts);
  const { request } = await import('node:https');
  return new Promise((resolve, reject) => {
    const req = request(`${endpoint.server}/metrics`, { ...opts, timeout: 30_000 }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve(text));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

const r1 = (x: number) => Math.round(x * 10) / 10;

interface SizeResult {
  leases: number;
  electors: number;
  loadProcesses: number;
  /** Lease watches open on the API server at the end of the window (apiserver_longrunning_requests). */
  watchesOpen: number;
  readyMs: number;
  windowS: number;
  loadAvg1m: { before: number; after: number };
  requestsPerSecond: { leases: number; byVerb: Record<string, number>; all: number };
  leaseCodes: Record<string, number>;
  /** Lease watch events the API server sent per second (apiserver_watch_events_total). */
  watchEventsPerSecond: number;
  /**
   * cpuPct: CPU used, % of one core. waitPct: time its threads sat runnable but not running (schedstat),
   * % of one core — what the shared machine withheld. cpuMsPerRequest: kube-apiserver's CPU per lease request.
   */
  apiserver: { cpuPct: number; waitPct: number; rssMB: number; cpuMsPerRequest: number };
  etcd: { cpuPct: number; waitPct: number; rssMB: number };
  /** sockets: held open by the load processes at the end of the window (one per connection to the API server, plus IPC). */
  load: { cpuPct: number; waitPct: number; rssMB: number; sockets: number; loopDelayMs: LoopDelay };
  /** kube-apiserver's own latency of lease PUTs over the window (apiserver_request_duration_seconds), ms. */
  leasePutMs: { p50: number; p99: number };
  /** The same renewals' round trips as the electors saw them (request sent → answer read), ms. */
  renewRoundTripMs: { p50: number; p99: number };
  /** Renewals sent per 100 ms over the window: mean, p99 and largest bin (bunched or spread). */
  renewsPer100ms: { mean: number; p99: number; max: number };
  /** Time requests of the bots' ServiceAccounts queued in API Priority and Fairness (workload-low), ms. */
  apfWaitMs: { p50: number; p99: number };
  window: LoadCounters;
  handoffMs: {
    n: number;
    ok: number;
    p50: number;
    p99: number;
    max: number;
    releaseP50: number;
    releaseP99: number;
    afterReleaseP50: number;
    afterReleaseP99: number;
  };
  failures: string[];
}

async function runSize(n: number): Promise<SizeResult> {
  log(`--- ${n} Leases, ${2 * n} electors ---`);
  const server = new TestApiServer({ log });
  const loads: LoadProcess[] = [];
  try {
    const endpoint = await server.start();
    const apiPid = findPid('kube-apiserver', server.dir);
    const etcdPid = findPid('etcd', server.dir);
    const namespace = await freshNamespace(endpoint, 'scale');
    const t0 = performance.now();
    const bots = await makeBots(endpoint, namespace, n);
    log(`${n} bots (ServiceAccount, Role, RoleBinding, token, Lease) made in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    const procs = Math.max(1, Math.min(PROCS, n));
    const owner = new Map<string, LoadProcess>();
    const readies = [];
    for (let p = 0; p < procs; p++) {
      const lp = new LoadProcess();
      loads.push(lp);
      const mine = bots.filter((_, i) => i % procs === p);
      for (const b of mine) owner.set(b.name, lp);
      readies.push(lp.ask({ type: 'start', server: endpoint.server, caData: endpoint.caData, namespace, leases: mine, rampPerSecond: RAMP / procs }, 'ready'));
    }
    const ready = await Promise.all(readies);
    const readyMs = Math.max(...ready.map((r) => r.ms));
    log(`all ${n} Leases led, ${n} standbys watching, after ${(readyMs / 1000).toFixed(1)} s; settling ${SETTLE_S} s`);
    await sleep(SETTLE_S * 1000);

    const counters = async () => {
      const cs = await Promise.all(loads.map((l) => l.ask({ type: 'counters' }, 'counters')));
      const sum: LoadCounters = { renewed: 0, renewFailed: 0, lost: 0, errors: 0, acquired: 0 };
      for (const c of cs) for (const k of Object.keys(sum) as Array<keyof LoadCounters>) sum[k] += c.counters[k];
      const loop: LoopDelay = {
        p50: Math.max(...cs.map((c) => c.loopDelayMs.p50)),
        p99: Math.max(...cs.map((c) => c.loopDelayMs.p99)),
        max: Math.max(...cs.map((c) => c.loopDelayMs.max)),
      };
      return { sum, loop, renewMs: cs.flatMap((c) => c.renewMs), renewStartedAt: cs.flatMap((c) => c.renewStartedAt) };
    };
    const procsNow = () => ({
      api: { ...readProc(apiPid), ...readSchedstat(apiPid) },
      etcd: { ...readProc(etcdPid), ...readSchedstat(etcdPid) },
      loads: loads.map((l) => ({ ...readProc(l.child.pid!), ...readSchedstat(l.child.pid!) })),
    });
    const load0 = loadavg()[0]!;
    const m0 = await scrape(endpoint);
    const p0 = procsNow();
    const { sum: c0 } = await counters();
    const w0 = performance.now();
    log(`window ${WINDOW_S} s (load average ${load0.toFixed(2)})`);
    await sleep(WINDOW_S * 1000);
    const p1 = procsNow();
    const sockets = loads.reduce((sum, l) => sum + socketCount(l.child.pid!), 0);
    const secs = (performance.now() - w0) / 1000;
    const { sum: c1, loop, renewMs, renewStartedAt } = await counters();
    const m1 = await scrape(endpoint);
    const load1 = loadavg()[0]!;
    const byVerb = delta(requestsByVerb(m1, LEASES), requestsByVerb(m0, LEASES));
    const all = Object.values(delta(requestsByVerb(m1), requestsByVerb(m0))).reduce((a, b) => a + b, 0);
    const codes = delta(requestsByCode(m1, LEASES), requestsByCode(m0, LEASES));
    const watchEvents =
      gaugeSum(m1, 'apiserver_watch_events_total', (l) => l.resource === 'leases') -
      gaugeSum(m0, 'apiserver_watch_events_total', (l) => l.resource === 'leases');
    const watchesOpen = gaugeSum(m1, 'apiserver_longrunning_requests', (l) => l.resource === 'leases' && l.verb === 'WATCH');
    const cpu = (a: { ticks: number }, b: { ticks: number }) => r1(cpuPercent(a.ticks, b.ticks, secs));
    const wait = (a: { waitNs: number }, b: { waitNs: number }) => r1(((b.waitNs - a.waitNs) / 1e9 / secs) * 100);
    const leaseRequests = Object.values(byVerb).reduce((a, b) => a + b, 0);
    const leasePut = (l: Record<string, string>) => l.resource === 'leases' && l.verb === 'PUT';
    const putQ = (q: number) => Math.round(histogramQuantile(m0, m1, 'apiserver_request_duration_seconds', leasePut, q) * 1000 * 10) / 10;
    const workloadLow = (l: Record<string, string>) => l.priority_level === 'workload-low';
    const apfQ = (q: number) => Math.round(histogramQuantile(m0, m1, 'apiserver_flowcontrol_request_wait_duration_seconds', workloadLow, q) * 1000 * 10) / 10;
    const windowCounters = Object.fromEntries(Object.entries(c1).map(([k, v]) => [k, v - c0[k as keyof LoadCounters]])) as unknown as LoadCounters;

    // Handoffs spread over time, each Lease in turn (a Lease again only after all others).
    const count = HANDOFFS;
    log(`${count} handoffs, one every ${HANDOFF_GAP_MS} ms`);
    const pending: Promise<HandoffTiming>[] = [];
    const lastOf = new Map<string, Promise<HandoffTiming>>();
    for (let i = 0; i < count; i++) {
      const lease = bots[i % n]!.name;
      // The same Lease again only once its previous handoff (and the new standby) is done.
      const prev = lastOf.get(lease);
      const next = (prev ?? Promise.resolve(undefined)).then(async () => {
        const lp = owner.get(lease)!;
        // The new standby must have seen the Lease before the next release.
        for (let tries = 0; ; tries++) {
          const t = await lp.handoff(i, lease);
          if (t.ok || tries >= 50 || t.error !== 'no leader and ready standby') return t;
          await sleep(100);
        }
      });
      lastOf.set(lease, next);
      pending.push(next);
      await sleep(HANDOFF_GAP_MS);
    }
    const timings = await Promise.all(pending);
    const ok = timings.filter((t) => t.ok);
    const hand = ok.map((t) => t.handoffMs);
    const after = ok.map((t) => t.afterReleaseMs);
    const failures = timings.filter((t) => !t.ok).map((t) => `${t.lease}: ${t.error}`);
    const result: SizeResult = {
      leases: n,
      electors: 2 * n,
      loadProcesses: procs,
      watchesOpen,
      readyMs: Math.round(readyMs),
      windowS: r1(secs),
      loadAvg1m: { before: r1(load0 * 100) / 100, after: r1(load1 * 100) / 100 },
      requestsPerSecond: {
        leases: r1(Object.values(byVerb).reduce((a, b) => a + b, 0) / secs),
        byVerb: Object.fromEntries(Object.entries(byVerb).map(([k, v]) => [k, r1(v / secs)])),
        all: r1(all / secs),
      },
      leaseCodes: codes,
      watchEventsPerSecond: r1(watchEvents / secs),
      apiserver: {
        cpuPct: cpu(p0.api, p1.api),
        waitPct: wait(p0.api, p1.api),
        rssMB: Math.round(p1.api.rssMB),
        cpuMsPerRequest: Math.round((((p1.api.ticks - p0.api.ticks) * 10) / Math.max(leaseRequests, 1)) * 100) / 100,
      },
      etcd: { cpuPct: cpu(p0.etcd, p1.etcd), waitPct: wait(p0.etcd, p1.etcd), rssMB: Math.round(p1.etcd.rssMB) },
      load: {
        cpuPct: r1(p0.loads.reduce((s, a, i) => s + cpuPercent(a.ticks, p1.loads[i]!.ticks, secs), 0)),
        waitPct: r1(p0.loads.reduce((s, a, i) => s + wait(a, p1.loads[i]!), 0)),
        rssMB: Math.round(p1.loads.reduce((s, l) => s + l.rssMB, 0)),
        sockets,
        loopDelayMs: { p50: r1(loop.p50), p99: r1(loop.p99), max: r1(loop.max) },
      },
      leasePutMs: { p50: putQ(0.5), p99: putQ(0.99) },
      renewRoundTripMs: { p50: r1(percentile(renewMs, 50)), p99: r1(percentile(renewMs, 99)) },
      renewsPer100ms: ((b) => ({ mean: r1(b.mean), p99: b.p99, max: b.max }))(bunching(renewStartedAt, 100)),
      apfWaitMs: { p50: apfQ(0.5), p99: apfQ(0.99) },
      window: windowCounters,
      handoffMs: {
        n: timings.length,
        ok: ok.length,
        p50: r1(percentile(hand, 50)),
        p99: r1(percentile(hand, 99)),
        max: r1(Math.max(...hand)),
        releaseP50: r1(
          percentile(
            ok.map((t) => t.releaseMs),
            50,
          ),
        ),
        releaseP99: r1(
          percentile(
            ok.map((t) => t.releaseMs),
            99,
          ),
        ),
        afterReleaseP50: r1(percentile(after, 50)),
        afterReleaseP99: r1(percentile(after, 99)),
      },
      failures,
    };
    log(JSON.stringify(result));
    return result;
  } finally {
    await Promise.allSettled(loads.map((l) => l.ask({ type: 'stop' }, 'stopped')));
    for (const l of loads) if (l.child.exitCode === null) l.child.kill();
    await server.stop();
  }
}

const results: SizeResult[] = [];
for (const n of SIZES) results.push(await runSize(n));

if (!values.json) {
  console.log('');
  console.log(`baton at scale — 2 electors per Lease (real election core, Lease watch and client, one client per elector) in ${PROCS} load process(es),`);
  console.log(`one kube-apiserver + etcd per size; Node ${process.versions.node}, ${WINDOW_S} s window after ${SETTLE_S} s settle, defaults 15s/10s/2s`);
  console.log('');
  console.log('CPU: % of one core used (and, in brackets, % of one core its threads sat runnable but waiting for a CPU)');
  console.log('');
  console.log(
    '| Leases | electors | lease req/s (GET/PUT/WATCH/LIST) | apiserver CPU | apiserver RSS | etcd CPU | etcd RSS | load CPU | renew PUT p50/p99: apiserver (elector) | handoff p50 | handoff p99 | renew failed / lost | load avg |',
  );
  console.log('|---|---|---|---|---|---|---|---|---|---|---|---|---|');
  for (const r of results) {
    const v = r.requestsPerSecond.byVerb;
    const verbs = `${r.requestsPerSecond.leases} (${v.GET ?? 0}/${v.PUT ?? 0}/${v.WATCH ?? 0}/${v.LIST ?? 0})`;
    console.log(
      [
        r.leases,
        r.electors,
        verbs,
        `${r.apiserver.cpuPct} % (${r.apiserver.waitPct} %)`,
        `${r.apiserver.rssMB} MB`,
        `${r.etcd.cpuPct} % (${r.etcd.waitPct} %)`,
        `${r.etcd.rssMB} MB`,
        `${r.load.cpuPct} % (${r.load.waitPct} %)`,
        `${r.leasePutMs.p50} / ${r.leasePutMs.p99} ms (${r.renewRoundTripMs.p50} / ${r.renewRoundTripMs.p99} ms)`,
        `${r.handoffMs.p50} ms`,
        `${r.handoffMs.p99} ms${r.handoffMs.ok < r.handoffMs.n ? ` (${r.handoffMs.n - r.handoffMs.ok} of ${r.handoffMs.n} failed)` : ''}`,
        `${r.window.renewFailed} / ${r.window.lost}`,
        `${r.loadAvg1m.before}→${r.loadAvg1m.after}`,
      ].reduce((line, cell) => `${line} ${cell} |`, '|'),
    );
  }
  console.log('');
  for (const r of results) {
    console.log(
      `${r.leases} Leases: apiserver ${r.apiserver.cpuMsPerRequest} ms CPU per lease request; ${r.watchesOpen} lease watches open, ${r.load.sockets} sockets in the load process(es), ${r.watchEventsPerSecond} watch events/s sent; handoff: release written p50/p99 ${r.handoffMs.releaseP50}/${r.handoffMs.releaseP99} ms, then acquired p50/p99 ${r.handoffMs.afterReleaseP50}/${r.handoffMs.afterReleaseP99} ms; renewals sent per 100 ms mean/p99/max ${r.renewsPer100ms.mean}/${r.renewsPer100ms.p99}/${r.renewsPer100ms.max}; APF queue wait p50/p99 ${r.apfWaitMs.p50}/${r.apfWaitMs.p99} ms; load process event loop delay p99 ${r.load.loopDelayMs.p99} ms, max ${r.load.loopDelayMs.max} ms; lease answers by code ${JSON.stringify(r.leaseCodes)}`,
    );
  }
  for (const r of results)
    if (r.failures.length > 0) console.log(`${r.leases} Leases: ${r.failures.length} handoffs failed: ${r.failures.slice(0, 5).join('; ')}`);
}
console.log(JSON.stringify({ node: process.versions.node, procs: PROCS, windowS: WINDOW_S, settleS: SETTLE_S, results }));
