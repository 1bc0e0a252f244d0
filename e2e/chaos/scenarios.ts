// The fault scenarios (issue 9, "Proof" 3). Each one stages pods of real processes against the real API
// server under steady load, injects one fault, and judges the run by the rules of docs/protocol.md
// (S1 start only on proof of pause, S2 the epoch only rises, L1 a leader without a live worker steps
// aside, L2 a handoff never strands the Lease, L3 shutdown always ends, F1 a worker acts only within its
// lease time): no two pollers, nothing handled
// twice, nothing lost, and the gap the rules predict — a bound computed from the timings, never a
// generous constant.
import { readFileSync } from 'node:fs';
import * as k8s from '@kubernetes/client-node';
import type { KubeEndpoint, TestApiServer } from '../../test/kube/apiserver.ts';
import { FaultProxy, KubeHttpProxy, type FaultRecord } from '../../test/kube/fault-proxy.ts';
import { sidecarRules } from '../../test/kube/cluster.ts';
import type { SimPod } from '../../test/harness/sim-pod.ts';
import { afterThaw, longestGapIn, type Analysis } from './analysis.ts';
import { check, fmt, result, secs, type Check, type ChaosResult } from './verdict.ts';
import { requestTimeoutMs } from '../../src/election/rules.ts';
import { ChaosWorld, now, type Timings } from './world.ts';
import { atLeast, atMost, bound, minus, SLACK_MS, terms, WORKER_GRACE_MS } from './bounds.ts';
import { sleep, waitFor } from '../../test/harness/wait.ts';

export interface ScenarioContext {
  endpoint: KubeEndpoint;
  /** The API server itself, for scenarios that freeze or kill it (never the one shared by other tests). */
  server?: TestApiServer;
  dir: string;
  timings: Timings;
  /** Updates per second (≥ 20). */
  rate: number;
  /** ms per update; a burst of `burst` updates is a batch over a second. */
  handlerMs: number;
  burst: number;
  log: (line: string) => void;
}

export interface Scenario {
  id: string;
  title: string;
  rules: string;
  /** Freezes or stops the API server: needs a private one. */
  ownsApiServer?: boolean;
  run(ctx: ScenarioContext): Promise<ChaosResult>;
}

/** How long a verdict waits for the recorder's watch to deliver a version a read already returned. */
const WATCH_CATCH_UP_MS = 5000;

/** A scenario's world: the run's API server, folder, timings, load and log, named for the scenario. */
function worldFor(ctx: ScenarioContext, s: Scenario): Promise<ChaosWorld> {
  return ChaosWorld.create({ endpoint: ctx.endpoint, id: s.id, dir: ctx.dir, timings: ctx.timings, rate: ctx.rate, handlerMs: ctx.handlerMs, log: ctx.log });
}

/** Stages a world: the first pod polls, the others are Ready, the load runs and has warmed up. */
async function stage(
  ctx: ScenarioContext,
  s: Scenario,
  pods: number,
  specs: Parameters<ChaosWorld['addPod']>[0][] = [],
): Promise<{ w: ChaosWorld; pods: SimPod[] }> {
  const w = await worldFor(ctx, s);
  const list: SimPod[] = [];
  try {
    list.push(await w.addPod(specs[0]));
    await w.waitPoller(`${s.id}: the first bot polls`);
    for (let i = 1; i < pods; i++) list.push(await w.addReadyPod(specs[i]));
    w.startLoad();
    await sleep(2000);
  } catch (err) {
    await w.teardown();
    throw err;
  }
  return { w, pods: list };
}

/** Runs `body` on a staged world, always tearing it down; an exception becomes an ERROR row. */
async function play(ctx: ScenarioContext, s: Scenario, body: () => Promise<ChaosResult>, cleanup: () => Promise<void>): Promise<ChaosResult> {
  try {
    return await body();
  } catch (err) {
    return {
      id: s.id,
      title: s.title,
      rules: s.rules,
      timings: ctx.timings,
      pass: false,
      checks: [],
      row: { twoPollersMs: undefined, handledTwice: undefined, lost: undefined, gap: '-', bound: '-' },
      durationMs: 0,
      notes: [],
      error: (err as Error).stack ?? String(err),
    };
  } finally {
    await cleanup();
  }
}

/** A staged world (see `stage`), with the pod that polls and another one. */
interface Staged {
  w: ChaosWorld;
  /** The pod whose bot polls when the scenario begins. */
  leader: SimPod;
  /** The first other pod (every caller stages two pods or more). */
  standby: SimPod;
}

/**
 * The shape most scenarios share: stage `n` pods, `play` the fault and the verdict in `body`, then
 * `cleanup` (what the fault needs undone, if anything) and tear the world down.
 */
async function onStage(
  ctx: ScenarioContext,
  s: Scenario,
  n: number,
  body: (x: Staged) => Promise<ChaosResult>,
  cleanup?: () => Promise<void>,
): Promise<ChaosResult> {
  const { w, pods } = await stage(ctx, s, n);
  return play(
    ctx,
    s,
    () => {
      const leader = w.poller()!;
      return body({ w, leader, standby: pods.find((p) => p !== leader)! });
    },
    async () => {
      await cleanup?.();
      await w.teardown();
    },
  );
}

const base = (s: Scenario, ctx: ScenarioContext) => ({ id: s.id, title: s.title, rules: s.rules, timings: ctx.timings });

/** The end of `pod`'s polling that was under way at `t` (its stop, or its death). */
function pollingEndAfter(a: Analysis, pod: SimPod, t: number): number | undefined {
  const iv = a.intervals.find((i) => i.name === pod.opts.name && i.from <= t && i.to >= t);
  return iv?.to;
}

/** The latest end of `pod`'s polling that began before `t`. */
function lastPollingEndBefore(a: Analysis, pod: SimPod, t: number): number | undefined {
  const ends = a.intervals.filter((i) => i.name === pod.opts.name && i.from < t).map((i) => i.to);
  return ends.length > 0 ? Math.max(...ends) : undefined;
}

async function leaseApi(w: ChaosWorld): Promise<k8s.CoordinationV1Api> {
  return w.kc.makeApiClient(k8s.CoordinationV1Api);
}

async function readLease(w: ChaosWorld): Promise<k8s.V1Lease | undefined> {
  return (await leaseApi(w)).readNamespacedLease({ name: w.lease, namespace: w.namespace }).catch(() => undefined);
}

/** Edits the Lease as a person or a tool would: read, change, replace (retried on a conflict). */
async function editLease(w: ChaosWorld, change: (spec: k8s.V1LeaseSpec) => void): Promise<number> {
  const api = await leaseApi(w);
  for (;;) {
    const lease = await api.readNamespacedLease({ name: w.lease, namespace: w.namespace });
    change(lease.spec!);
    const sentAt = now();
    try {
      await api.replaceNamespacedLease({ name: w.lease, namespace: w.namespace, body: lease });
      return sentAt;
    } catch (err) {
      if ((err as { code?: number }).code !== 409) throw err;
    }
  }
}

// ——— the API server frozen and stopped, its datastore killed ————————————————————————————————————————

/** How the API goes away: kube-apiserver frozen or stopped, or its datastore killed under it. */
type OutageKind = 'freeze' | 'kill' | 'datastore';

const OUTAGES: Record<OutageKind, { id: string; title: string }> = {
  freeze: { id: 'api-freeze', title: 'API server frozen (SIGSTOP), 3 pods' },
  kill: { id: 'api-kill', title: 'API server stopped > renew deadline, 3 pods' },
  // A k3s server restart: kine (or etcd) gone while kube-apiserver stays up and answers with errors and
  // timeouts, then back on the same data.
  datastore: { id: 'datastore-stopped', title: 'datastore killed > renew deadline, restarted on its data, 3 pods' },
};

/**
 * The moment the API is back for the election: an admin creates a fresh Lease beside the scenario's (same
 * resource, so the same storage path in kube-apiserver; the sidecars and the recorder watch theirs by name).
 */
function leaseWriteProbe(server: TestApiServer, w: ChaosWorld): { writable: () => Promise<boolean>; count: () => number } {
  let probes = 0;
  return {
    writable: async () =>
      (await server.adminRequest('POST', `/apis/coordination.k8s.io/v1/namespaces/${w.namespace}/leases`, {
        metadata: { name: `${w.lease}-probe-${probes++}` },
      })) === 201,
    count: () => probes,
  };
}

/**
 * The API server disappears (or its datastore does) for longer than the renew deadline, with three pods:
 * the leader must pause by its renew deadline (before its Lease could expire for anyone), nobody may poll
 * while nobody can prove anything, and after the API returns exactly one pod must take over within one
 * backstop retry.
 */
function apiOutage(kind: OutageKind): Scenario {
  const s: Scenario = {
    ...OUTAGES[kind],
    rules: 'S1, S2',
    ownsApiServer: true,
    run: async (ctx) => {
      const server = ctx.server;
      if (!server) throw new Error(`${s.id} needs its own API server`);
      const t = ctx.timings;
      const T = terms(t);
      return onStage(
        ctx,
        s,
        3,
        async ({ w, leader }) => {
          await w.burstInHand(leader, ctx.burst);
          const outMs = kind === 'freeze' ? t.leaseDurationMs + 10_000 : t.renewDeadlineMs + 5_000;
          const store = server.datastore.kind;
          const probe = leaseWriteProbe(server, w);
          const faultAt = w.mark({ freeze: 'SIGSTOP kube-apiserver', kill: 'stop kube-apiserver', datastore: `SIGKILL ${store}` }[kind]);
          if (kind === 'freeze') server.signalApiServer('SIGSTOP');
          else if (kind === 'kill') await server.stopApiServer();
          else await server.stopDatastore('SIGKILL');
          await sleep(outMs);
          let backAt: number;
          /** When the datastore accepted connections again (the datastore outage only). */
          let storeBackAt: number | undefined;
          if (kind === 'freeze') {
            server.signalApiServer('SIGCONT');
            backAt = w.mark('SIGCONT kube-apiserver');
          } else if (kind === 'kill') {
            w.mark('start kube-apiserver');
            // Back when a Lease can be written, not at /readyz: a restarted kube-apiserver serves Leases before
            // its readiness checks pass (on kine 2.7 s before, and the leader rightly took its Lease back then).
            await server.startApiServer(probe.writable);
            backAt = w.mark(`Leases writable again (${probe.count()} probe writes)`);
            await waitFor(`${s.id}: kube-apiserver ready`, () => server.ready(), 60_000);
          } else {
            w.mark(`start ${store} on its data`);
            await server.startDatastore();
            storeBackAt = w.mark(`${store} accepts connections`);
            // The API is back for the election when a Lease can be written again: kube-apiserver reconnects to
            // its datastore with a back-off, and not every resource at once (nor /readyz) comes back together.
            await waitFor(`${s.id}: Leases writable again`, probe.writable, 60_000);
            backAt = w.mark(`Leases writable again (${probe.count()} probe writes)`);
          }
          // Anyone may take over once the API is back and a lease duration has passed since the last renew.
          const canTakeFrom = Math.max(backAt, faultAt + t.leaseDurationMs);
          // Without a datastore, kube-apiserver holds requests open: the attempt in flight when the API returns
          // may have to time out (one request timeout, RT) before the next retry.
          const retry = bound(...(kind === 'datastore' ? [T.RT] : []), T.backstop, T.slack);
          const latest = canTakeFrom + retry.ms;
          await waitFor(`${s.id}: a bot polls again`, () => w.firstStartAfter(faultAt + t.renewDeadlineMs) !== undefined, latest - now() + 30_000).catch(
            () => undefined,
          );
          await sleep(3000);
          const a = await w.finish();
          // The old leader's last polling that began before the API was back, a resumed poll included.
          // The old leader's poll is the one running at the fault: judged from the fault, not from the mark of the
          // API's return, which a probe takes a little late — the old leader itself may retake its expired Lease
          // first and poll again before the mark (seen on kine without the watch cache).
          const oldEnd = lastPollingEndBefore(a, leader, faultAt);
          const next = oldEnd === undefined ? undefined : w.firstStartAfter(oldEnd);
          const gap = longestGapIn(a, faultAt);
          const checks: Check[] = [
            check(
              'old leader paused before its Lease could expire',
              oldEnd !== undefined && oldEnd < faultAt + t.leaseDurationMs,
              fmt(oldEnd === undefined ? undefined : oldEnd - faultAt),
              `< ${secs(t.leaseDurationMs)} after the fault (LD)`,
            ),
            check(
              'a bot polls again after the outage',
              next !== undefined && next.mono <= latest,
              fmt(next === undefined ? undefined : next.mono - backAt),
              `≤ ${fmt(latest - backAt)} after the API is back (max(back, fault + LD) + ${retry.formula})`,
            ),
          ];
          const gapBound = oldEnd === undefined ? undefined : latest - oldEnd;
          return result(base(s, ctx), a, checks, { ms: gap?.ms, bound: `≤ ${fmt(gapBound)}` }, w.started, [
            `${storeBackAt === undefined ? '' : `${server.endpoint.datastore}; Leases writable ${fmt(backAt - storeBackAt)} after ${store} was back; `}outage ${secs(outMs)}; new poller ${next ? `${next.name} ${fmt(next.mono - backAt)} after the API was back` : 'none'}; Lease history ${w.recorder.history()}`,
          ]);
        },
        async () => {
          if (kind === 'datastore') {
            await server.startDatastore().catch(() => undefined); // already running unless the body failed
            return;
          }
          try {
            server.signalApiServer('SIGCONT');
          } catch {
            await server.startApiServer().catch(() => undefined);
          }
        },
      );
    },
  };
  return s;
}

// ——— watch connections cut ———————————————————————————————————————————————————————————————————————————

const watchCuts: Scenario = {
  id: 'watch-cuts',
  title: 'every connection to the API cut every 3 s, 2 rolling handoffs',
  rules: 'S1, watch-driven handoff',
  run: async (ctx) => {
    const t = ctx.timings;
    const proxy = new FaultProxy(ctx.endpoint.server);
    const url = await proxy.start();
    let kubeconfig = '';
    const s = watchCuts;
    const w0 = { w: undefined as ChaosWorld | undefined };
    return play(
      ctx,
      s,
      async () => {
        // Every sidecar reaches the API server through the proxy.
        const { w } = await (async () => {
          const staged = await worldFor(ctx, s);
          w0.w = staged;
          kubeconfig = staged.via(staged.kubeconfig, url, 'proxy');
          await staged.addPod({ kubeconfig });
          await staged.waitPoller(`${s.id}: the first bot polls`);
          await staged.addReadyPod({ kubeconfig });
          staged.startLoad();
          await sleep(2000);
          return { w: staged };
        })();
        let cuts = 0;
        let cutting = true;
        const cutter = (async () => {
          while (cutting) {
            await sleep(3000);
            if (!cutting) break;
            cuts += proxy.cut() > 0 ? 1 : 0;
          }
        })();
        const handoffs: Array<{ at: number; from: SimPod }> = [];
        const startedAt = w.mark('cutting every 3 s');
        for (let i = 0; i < 2; i++) {
          await sleep(7000);
          const leader = w.poller();
          if (!leader) throw new Error('no single poller before a handoff');
          w.burst(ctx.burst);
          handoffs.push({ at: w.mark(`rollout ${i + 1}: terminate ${leader.opts.name}`), from: leader });
          void leader.terminate().catch(() => undefined);
          await w.addReadyPod({ kubeconfig });
        }
        await sleep(7000);
        cutting = false;
        await cutter;
        w.mark('cuts stop');
        const a = await w.finish();
        const T = terms(t);
        const backstop = bound(T.backstop, T.slack);
        const checks: Check[] = [];
        // Each handoff's gap lies between its own mark and the next handoff's (a fixed window could reach into
        // the next handoff and take its gap for this one's).
        const handoffGaps = handoffs.map((h, i) => longestGapIn(a, h.at, Math.min(h.at + 15_000, handoffs[i + 1]?.at ?? Infinity)));
        handoffs.forEach((h, i) => {
          const g = handoffGaps[i];
          checks.push(
            check(
              `handoff ${i + 1} gap`,
              (g?.ms ?? 0) <= backstop.ms,
              fmt(g?.ms ?? 0),
              `≤ ${fmt(backstop.ms)} (release seen by watch, else the ${T.backstop.name} backstop, + ${T.slack.name})`,
            ),
          );
        });
        const stray = a.gaps.filter((g) => g.from >= startedAt && !handoffGaps.includes(g));
        checks.push(
          check(
            'no leadership lost outside the handoffs',
            stray.length === 0,
            stray.length === 0 ? 'none' : stray.map((g) => fmt(g.ms)).join(', '),
            'no other gap',
          ),
        );
        const holders = w.recorder.versions.filter((v, i, all) => i > 0 && v.holder !== all[i - 1]!.holder && v.holder !== '').length;
        checks.push(check('changes of holder', holders === handoffs.length, String(holders), `= ${handoffs.length} (the handoffs)`));
        checks.push(check('connections cut', cuts >= 5, String(cuts), '≥ 5 cuts'));
        const worst = Math.max(0, ...handoffGaps.map((g) => g?.ms ?? 0));
        return result(base(s, ctx), a, checks, { ms: worst, bound: `≤ ${fmt(backstop.ms)}` }, w.started, [
          `${cuts} cuts; ${proxy.connections} connections through the proxy`,
        ]);
      },
      async () => {
        await w0.w?.teardown();
        await proxy.stop();
      },
    );
  },
};

// ——— the Lease edited from outside ———————————————————————————————————————————————————————————————————

/**
 * holderIdentity set by hand to a standby or to a pod that does not exist: the record is someone else's
 * (S1), so whoever starts next starts no sooner than one lease duration after the edit, and no later
 * than one backstop retry after that; the epoch rises with the new holder (S2).
 */
function leaseHolderEdit(to: 'standby' | 'ghost'): Scenario {
  const s: Scenario = {
    id: to === 'standby' ? 'lease-names-standby' : 'lease-names-ghost',
    title: to === 'standby' ? 'Lease edited to name a standby' : 'Lease edited to name a ghost pod',
    rules: 'S1, S2',
    run: async (ctx) => {
      const t = ctx.timings;
      return onStage(ctx, s, 2, async ({ w, leader, standby }) => {
        await w.burstInHand(leader, ctx.burst);
        const before = (await readLease(w))?.spec?.leaseTransitions ?? 0;
        const name = to === 'standby' ? standby.opts.name : `${w.lease}-ghost`;
        const editAt = await editLease(w, (spec) => {
          spec.holderIdentity = name;
        });
        w.mark(`Lease edited: holder ${name}`);
        const T = terms(t);
        const earliest = bound(T.LD);
        const within = bound(T.LD, T.backstop, T.slack);
        const latest = editAt + within.ms;
        await waitFor(`${s.id}: a bot polls after the edit`, () => w.firstStartAfter(editAt) !== undefined, latest - now() + 20_000).catch(() => undefined);
        await sleep(3000);
        const a = await w.finish();
        const next = w.firstStartAfter(editAt);
        const after = (await readLease(w))?.spec?.leaseTransitions ?? 0;
        const gap = longestGapIn(a, editAt);
        const checks: Check[] = [
          check(
            'next start no sooner than LD after the edit (S1)',
            next !== undefined && next.mono >= editAt + earliest.ms,
            fmt(next === undefined ? undefined : next.mono - editAt),
            atLeast(earliest),
          ),
          check(
            'next start within one backstop retry after that',
            next !== undefined && next.mono <= latest,
            fmt(next === undefined ? undefined : next.mono - editAt),
            atMost(within),
          ),
          check('epoch rose with the new holder (S2)', after > before, `${before} → ${after}`, 'rises'),
        ];
        const oldEnd = pollingEndAfter(a, leader, editAt);
        return result(
          base(s, ctx),
          a,
          checks,
          { ms: gap?.ms, bound: `${fmt(editAt + earliest.ms - (oldEnd ?? editAt))} … ${fmt(latest - (oldEnd ?? editAt))}` },
          w.started,
          [`new poller ${next ? `${next.name} ${fmt(next.mono - editAt)} after the edit` : 'none'}; Lease history ${w.recorder.history()}`],
        );
      });
    },
  };
  return s;
}

/** The Lease deleted under a leader: the leader keeps its worker (nobody else may start for a lease
 * duration) and recreates the Lease at its next renew, with an epoch no lower than before (S2). */
const leaseDeleted: Scenario = {
  id: 'lease-deleted',
  title: 'Lease deleted under the leader',
  rules: 'S1, S2',
  run: async (ctx) => {
    const s = leaseDeleted;
    const t = ctx.timings;
    return onStage(ctx, s, 2, async ({ w, leader: first }) => {
      // One rolling handoff first, so that the epoch is above 0 and a fall can show.
      await w.addReadyPod();
      await first.terminate();
      w.mark(`handoff from ${first.opts.name}`);
      const leader = await w.waitPoller(`${s.id}: a bot polls after the handoff`);
      await sleep(1000);
      await w.burstInHand(leader, ctx.burst);
      const before = (await readLease(w))?.spec?.leaseTransitions ?? 0;
      const api = await leaseApi(w);
      const delAt = now();
      await api.deleteNamespacedLease({ name: w.lease, namespace: w.namespace });
      w.mark('Lease deleted');
      // The leader learns it by the watch or at its next renew (a renew interval after the last, issue 20), and
      // recreates it then.
      const T = terms(t);
      const recreate = bound(T.RI, T.requestTimeout, T.slack);
      const recreateBound = delAt + recreate.ms;
      let readBack: k8s.V1Lease | undefined;
      await waitFor(`${s.id}: the Lease exists again`, async () => (readBack = await readLease(w)) !== undefined, recreateBound - now() + 10_000).catch(
        () => undefined,
      );
      // The read can answer before the watch delivers the creation (issue 19): wait, bounded, until the recorder
      // holds the version the read returned. The check below still judges the time the recorder saw it.
      const back = await w.recorder.addedAfter(delAt, readBack?.metadata?.resourceVersion, WATCH_CATCH_UP_MS);
      await sleep(t.leaseDurationMs + 2000);
      const a = await w.finish();
      const lease = await readLease(w);
      const gap = longestGapIn(a, delAt);
      const checks: Check[] = [
        check('epoch above 0 before the deletion (setup)', before > 0, String(before), '> 0'),
        check(
          'Lease recreated by the next renew',
          back !== undefined && back.at <= recreateBound,
          fmt(back === undefined ? undefined : back.at - delAt),
          atMost(recreate),
        ),
        check(
          'recreated with an epoch no lower (S2)',
          (lease?.spec?.leaseTransitions ?? -1) >= before,
          `${before} → ${lease?.spec?.leaseTransitions ?? 'none'}`,
          `≥ ${before}`,
        ),
        check('the leader kept polling', gap === undefined, gap === undefined ? 'no gap' : fmt(gap.ms), 'no gap'),
      ];
      return result(base(s, ctx), a, checks, { ms: gap?.ms ?? 0, bound: '= 0 ms' }, w.started, [`Lease history ${w.recorder.history()}`]);
    });
  },
};

/** leaseDurationSeconds edited to 1 s and to 1 h: no standby takes over early (a record's short duration never
 * shortens this pod's own), and the leader's next renew writes its own duration back. */
const leaseDuration: Scenario = {
  id: 'lease-duration',
  title: 'Lease duration edited (1 s, then 1 h)',
  rules: 'S1, C1',
  run: async (ctx) => {
    const s = leaseDuration;
    const t = ctx.timings;
    return onStage(ctx, s, 2, async ({ w, leader }) => {
      const own = t.leaseDurationMs / 1000;
      const T = terms(t);
      const restore = bound(T.RI, T.slack);
      const checks: Check[] = [];
      const firstEdit = now();
      for (const seconds of [1, 3600]) {
        await w.burstInHand(leader, ctx.burst);
        const editAt = await editLease(w, (spec) => {
          spec.leaseDurationSeconds = seconds;
        });
        w.mark(`leaseDurationSeconds = ${seconds}`);
        // The leader's next renew writes it back: at most a renew interval after the edit (issue 20).
        const restoreBound = editAt + restore.ms;
        await waitFor(
          'the duration is written back',
          () => w.recorder.versions.some((v) => v.at > editAt && v.durationSeconds === own),
          restoreBound - now() + 5000,
        ).catch(() => undefined);
        const restored = w.recorder.versions.find((v) => v.at > editAt && v.durationSeconds === own);
        checks.push(
          check(
            `${seconds} s: own duration written back by a renew`,
            restored !== undefined && restored.at <= restoreBound,
            fmt(restored === undefined ? undefined : restored.at - editAt),
            atMost(restore),
          ),
        );
        await sleep(seconds === 1 ? t.leaseDurationMs : 3000);
      }
      const a = await w.finish();
      const gap = longestGapIn(a, firstEdit);
      const holders = new Set(w.recorder.versions.filter((v) => v.at > firstEdit).map((v) => v.holder));
      checks.push(check('the leader kept polling', gap === undefined, gap === undefined ? 'no gap' : fmt(gap.ms), 'no gap'));
      checks.push(
        check(
          'holder unchanged',
          holders.size <= 1 && (holders.size === 0 || holders.has(leader.opts.name)),
          [...holders].join(', ') || leader.opts.name,
          leader.opts.name,
        ),
      );
      return result(base(s, ctx), a, checks, { ms: gap?.ms ?? 0, bound: '= 0 ms' }, w.started, [`Lease history ${w.recorder.history()}`]);
    });
  },
};

// ——— the leader's sidecar frozen ——————————————————————————————————————————————————————————————————————

/**
 * SIGSTOP of the leader's sidecar with batches in hand: nobody can pause the worker but the worker kit's
 * dead-man's switch, which must fire at least (leaseDuration − renewDeadline) before any standby may start.
 */
const sidecarFreeze: Scenario = {
  id: 'sidecar-freeze',
  title: "leader's sidecar frozen (SIGSTOP) with batches in hand",
  rules: 'S1 (dead-man margin)',
  run: async (ctx) => {
    const s = sidecarFreeze;
    const t = ctx.timings;
    const T = terms(t);
    return onStage(ctx, s, 2, async ({ w, leader }) => {
      const freezeMs = t.leaseDurationMs + 5000;
      const freezeAt = w.mark(`SIGSTOP ${leader.opts.name}'s sidecar`);
      leader.sidecar!.kill('SIGSTOP');
      // A batch in hand when the switch fires: its last quick read comes at the last renewal + RD − a quarter of
      // (LD − RD), at most 1 s (the kit's rule). The renewal is read from the Lease, not assumed from the renew
      // interval (issue 20: renewals every 5 s by default, no longer every retry period).
      const renew = (await readLease(w))?.spec?.renewTime as unknown;
      const read = renew instanceof Date ? renew.getTime() : typeof renew === 'string' ? Date.parse(renew) : Number.NaN;
      const renewedAt = Number.isFinite(read) ? read : freezeAt;
      const quickReadMs = Math.max(50, Math.min(1000, (t.leaseDurationMs - t.renewDeadlineMs) / 4));
      await sleep(Math.max(0, renewedAt + t.renewDeadlineMs - quickReadMs - 500 - now()));
      w.burst(ctx.burst);
      w.mark(`burst of ${ctx.burst}`);
      await sleep(Math.max(0, freezeAt + freezeMs - now()));
      leader.sidecar!.kill('SIGCONT');
      w.mark('SIGCONT');
      await sleep(T.backstop.ms + 3000);
      const a = await w.finish();
      const lines = w.workerLines();
      const switched = lines.find((l) => l.pod === leader && l.event === 'dead-man' && l.mono > freezeAt);
      const standbyStart = lines.filter((l) => l.pod !== leader && l.event === 'polling-start' && l.mono > freezeAt).sort((x, y) => x.mono - y.mono)[0];
      const margin = switched && standbyStart ? standbyStart.mono - switched.mono : undefined;
      const needed = bound(T.LD, minus(T.RD));
      const takeover = bound(T.LD, T.backstop, T.slack);
      const latest = freezeAt + takeover.ms;
      const oldEnd = pollingEndAfter(a, leader, freezeAt);
      const inHand = w.double
        .requests()
        .filter((r) => r.type === 'end' && r.client === leader.opts.name && r.written && (!switched || r.at < switched.mono))
        .at(-1);
      const checks: Check[] = [
        check('dead-man margin: standby start − switch', margin !== undefined && margin >= needed.ms, fmt(margin), atLeast(needed)),
        check(
          'standby takes over',
          standbyStart !== undefined && standbyStart.mono <= latest,
          fmt(standbyStart === undefined ? undefined : standbyStart.mono - freezeAt),
          atMost(takeover, 'after the freeze'),
        ),
      ];
      return result(
        base(s, ctx),
        a,
        checks,
        { ms: longestGapIn(a, freezeAt)?.ms, bound: `≤ ${fmt(oldEnd === undefined ? undefined : latest - oldEnd)}` },
        w.started,
        [
          `switch fired ${fmt(switched ? switched.mono - freezeAt : undefined)} after the freeze; frozen bot stopped polling ${fmt(oldEnd === undefined ? undefined : oldEnd - freezeAt)} after; standby started ${fmt(standbyStart ? standbyStart.mono - freezeAt : undefined)} after`,
          `last batch before the switch: ${inHand && inHand.type === 'end' ? inHand.updateIds.length : 0} updates (${inHand && inHand.type === 'end' ? fmt(inHand.updateIds.length * ctx.handlerMs) : '-'} of work)`,
        ],
      );
    });
  },
};

// ——— the leader's whole pod frozen (F1) —————————————————————————————————————————————————————————————————

/**
 * The leader's pod frozen whole — sidecar and bot SIGSTOPped together, as a frozen cgroup, a paused VM or a long
 * GC of the node would — for LD + 10 s with a batch of over a second in hand. Nobody can pause the bot: its
 * sidecar is frozen with it. The standby takes over after LD and is handed the unconfirmed batch again. On the
 * thaw the old bot's lease time (its last renewal seen + RD) is long past, so by rule F1 it handles nothing more
 * of its batch and sends no getUpdates: the next leader already has those updates.
 */
const podFreeze: Scenario = {
  id: 'pod-freeze',
  title: "leader's pod frozen (sidecar and bot SIGSTOPped) with a batch in hand",
  rules: 'F1, S1',
  run: async (ctx) => {
    const s = podFreeze;
    const t = ctx.timings;
    const T = terms(t);
    return onStage(ctx, s, 2, async ({ w, leader, standby }) => {
      const since = now();
      await w.burstInHand(leader, ctx.burst);
      const bot = leader.worker!.pid!;
      const batchNow = w.double
        .requests()
        .filter((r) => r.type === 'end' && r.client === leader.opts.name && r.written && r.at >= since)
        .at(-1);
      const inBatch = new Set(batchNow?.type === 'end' ? batchNow.updateIds : []);
      // Freeze a few updates into the batch, so that some were handled and never confirmed (Telegram must hand
      // them out again: counted apart), while over a second of it is still in hand; at once if it is too small.
      const secondOfWork = Math.ceil(1000 / ctx.handlerMs);
      const handledFirst = Math.max(0, Math.min(3, inBatch.size - secondOfWork - 3));
      const handledOfBatch = () =>
        w.workerLines().filter((l) => l.pid === bot && l.event === 'handled' && inBatch.has((l as unknown as { update: number }).update)).length;
      await waitFor(`${leader.opts.name} handles ${handledFirst} of its batch`, () => handledOfBatch() >= handledFirst, 5000).catch(() => undefined);
      const freezeMs = t.leaseDurationMs + 10_000;
      const freezeAt = w.freezePod(leader);
      await sleep(freezeMs);
      const thawAt = w.thawPod(leader);
      await sleep(T.backstop.ms + 3000);
      const a = await w.finish();
      const lines = w.workerLines();
      const takeover = bound(T.LD, T.backstop, T.slack);
      const latest = freezeAt + takeover.ms;
      const standbyStart = lines.filter((l) => l.pod === standby && l.event === 'polling-start' && l.mono > freezeAt).sort((x, y) => x.mono - y.mono)[0];
      const after = afterThaw(
        w.freezes.find((f) => f.pod === leader)!,
        lines,
        w.double.requests(),
        w.token,
      );
      const checks: Check[] = [
        check(
          'standby takes over',
          standbyStart !== undefined && standbyStart.mono <= latest,
          fmt(standbyStart === undefined ? undefined : standbyStart.mono - freezeAt),
          atMost(takeover, 'after the freeze'),
        ),
        check('getUpdates by the old bot after the thaw (F1)', after.getUpdates.length === 0, String(after.getUpdates.length), "= 0 (the double's ledger)"),
      ];
      return result(base(s, ctx), a, checks, { ms: longestGapIn(a, freezeAt)?.ms, bound: `≤ ${fmt(takeover.ms)}` }, w.started, [
        `frozen ${secs(freezeMs)} with a batch of ${after.batch.length} updates (${fmt(after.batch.length * ctx.handlerMs)} of work), ${after.handledBefore} of them handled before the freeze`,
        `standby ${standby.opts.name} polled ${fmt(standbyStart === undefined ? undefined : standbyStart.mono - freezeAt)} after the freeze; the old bot after the thaw: ${after.handled.length} updates handled (${after.handled.filter((u) => u === after.inFlight).length} of them the one in flight at the freeze), ${after.getUpdates.length} getUpdates; thawed ${fmt(thawAt - freezeAt)} after the freeze`,
        `Lease history ${w.recorder.history()}`,
      ]);
    });
  },
};

// ——— the leader's worker gone (L1) ————————————————————————————————————————————————————————————————————

/**
 * The leader's bot is SIGKILLed and its container comes back only after CrashLoopBackOff's first
 * back-off (10 s): the leader must release after the grace, and the standby's bot poll within grace + 1 s.
 */
const workerKilled: Scenario = {
  id: 'worker-killed',
  title: "leader's bot killed, back after 10 s",
  rules: 'L1',
  run: async (ctx) => {
    const s = workerKilled;
    return onStage(ctx, s, 2, async ({ w, leader, standby }) => {
      await w.burstInHand(leader, ctx.burst);
      const diedAt = await w.killWorker(leader);
      w.mark(`SIGKILL ${leader.opts.name}'s bot`);
      await sleep(10_000);
      w.restartWorker(leader);
      w.mark(`${leader.opts.name}'s bot restarted`);
      await sleep(6000);
      const a = await w.finish();
      const takeover = w
        .workerLines()
        .filter((l) => l.pod === standby && l.event === 'polling-start' && l.mono > diedAt)
        .sort((x, y) => x.mono - y.mono)[0];
      const T = terms(ctx.timings);
      const within = bound(T.grace, T.slack);
      const gap = longestGapIn(a, diedAt);
      const checks: Check[] = [
        check(
          `standby's bot polls within ${within.formula} (L1)`,
          takeover !== undefined && takeover.mono - diedAt <= within.ms,
          fmt(takeover === undefined ? undefined : takeover.mono - diedAt),
          `≤ ${fmt(within.ms)} after the death`,
        ),
      ];
      return result(base(s, ctx), a, checks, { ms: gap?.ms, bound: `≤ ${fmt(within.ms)}` }, w.started, [`Lease history ${w.recorder.history()}`]);
    });
  },
};

/**
 * The leader's bot crash-loops: it dies, comes back at once (a plain restart within the grace keeps the
 * leader), dies again after 2 s and stays away for 10 s, then 20 s (CrashLoopBackOff): the standby must
 * take over within grace + 1 s of the death that outlasts the grace, and the crash-looping pod must never
 * take the Lease back while its bot flickers.
 */
const workerCrashLoop: Scenario = {
  id: 'worker-crashloop',
  title: "leader's bot crash-looping",
  rules: 'L1',
  run: async (ctx) => {
    const s = workerCrashLoop;
    return onStage(ctx, s, 2, async ({ w, leader, standby }) => {
      const death1 = await w.killWorker(leader);
      w.mark('crash 1; restarted at once');
      w.restartWorker(leader);
      await waitFor(`${leader.opts.name}'s new bot polls`, () => leader.polling(), WORKER_GRACE_MS + 5000).catch(() => undefined);
      const back1 = w.workerLines().filter((l) => l.pod === leader && l.event === 'polling-start' && l.mono > death1)[0];
      await sleep(2000);
      const death2 = await w.killWorker(leader);
      w.mark('crash 2; back-off 10 s');
      await sleep(10_000);
      for (const backoff of [20_000]) {
        w.restartWorker(leader);
        w.mark('restarted; crashes again after 2 s');
        await sleep(2000);
        if (leader.worker?.exitCode === null) await w.killWorker(leader);
        w.mark(`crash; back-off ${backoff / 1000} s`);
        await sleep(Math.min(backoff, 8000));
      }
      const a = await w.finish();
      const takeover = w
        .workerLines()
        .filter((l) => l.pod === standby && l.event === 'polling-start' && l.mono > death2)
        .sort((x, y) => x.mono - y.mono)[0];
      const T = terms(ctx.timings);
      const within = bound(T.grace, T.slack);
      const laterStarts = w.workerLines().filter((l) => l.pod === leader && l.event === 'polling-start' && l.mono > death2);
      const checks: Check[] = [
        check(
          'a restart within the grace keeps the leader',
          back1 !== undefined && back1.mono - death1 <= WORKER_GRACE_MS,
          fmt(back1 === undefined ? undefined : back1.mono - death1),
          `same pod polls again ≤ ${fmt(WORKER_GRACE_MS)} after the crash`,
        ),
        check(
          `standby's bot polls within ${within.formula} (L1)`,
          takeover !== undefined && takeover.mono - death2 <= within.ms,
          fmt(takeover === undefined ? undefined : takeover.mono - death2),
          `≤ ${fmt(within.ms)} after the crash that outlasts the grace`,
        ),
        check('the crash-looping pod never polls again', laterStarts.length === 0, String(laterStarts.length), '= 0'),
      ];
      return result(base(s, ctx), a, checks, { ms: longestGapIn(a, death2)?.ms, bound: `≤ ${fmt(within.ms)}` }, w.started, [
        `Lease history ${w.recorder.history()}`,
      ]);
    });
  },
};

// ——— SIGTERM during an acquire (L2) ————————————————————————————————————————————————————————————————————

/**
 * The leader is replaced; the standby's acquiring PUT is slowed on its way to the API server (a fault
 * proxy holds it for less than one request timeout) and the standby gets SIGTERM while it is in flight.
 * L2: the exiting pod's bot is never started, and the Lease ends released or never taken, so the next
 * pod polls as soon as its own bot is up, not a lease duration later.
 */
const sigtermDuringAcquire: Scenario = {
  id: 'sigterm-acquire',
  title: 'SIGTERM while the acquire is in flight',
  rules: 'L2',
  run: async (ctx) => {
    const s = sigtermDuringAcquire;
    const t = ctx.timings;
    const proxy = new KubeHttpProxy(ctx.endpoint);
    const url = await proxy.start();
    const holder: { w?: ChaosWorld } = {};
    return play(
      ctx,
      s,
      async () => {
        const w = await worldFor(ctx, s);
        holder.w = w;
        const a0 = await w.addPod();
        await w.waitPoller(`${s.id}: the first bot polls`);
        const b = await w.addReadyPod({ kubeconfig: w.via(w.kubeconfig, url, 'b-proxy') });
        w.startLoad();
        await sleep(2000);
        const delayMs = Math.min(3000, requestTimeoutMs(t) - 1000);
        let armed = true;
        const leasePath = new RegExp(`/namespaces/${w.namespace}/leases/${w.lease}(\\?|$)`);
        proxy.rule((call) => {
          if (!armed || call.method !== 'PUT' || !leasePath.test(call.url)) return undefined;
          armed = false;
          return { kind: 'delay', ms: delayMs };
        });
        let held: FaultRecord | undefined;
        let termB: Promise<unknown> | undefined;
        let sigtermAt = 0;
        proxy.onFault = (r) => {
          held = r;
          sigtermAt = w.mark(`${b.opts.name}'s acquire held ${delayMs} ms; SIGTERM ${b.opts.name}`);
          termB = b.terminate().catch(() => undefined);
        };
        w.mark(`terminate ${a0.opts.name}`);
        const termA = a0.terminate().catch(() => undefined);
        await waitFor(`${b.opts.name} sends its acquire`, () => held !== undefined, 30_000);
        await waitFor('the held acquire reaches the API server', () => held?.status !== undefined, delayMs + 10_000);
        await termB;
        await termA;
        const bExitAt = w.mark(`${b.opts.name} exited`);
        const lease = await readLease(w);
        const holderAfter = lease?.spec?.holderIdentity ?? '';
        const c = await w.addPod();
        const cStart = w.mark(`${c.opts.name} created`);
        let cReadyAt: number | undefined;
        await waitFor(
          `${c.opts.name} polls`,
          async () => {
            if (cReadyAt === undefined && (await c.ready())) cReadyAt = now();
            return c.polling() && cReadyAt !== undefined;
          },
          t.leaseDurationMs * 2 + 10_000,
        ).catch(() => undefined);
        await sleep(2000);
        const a = await w.finish();
        const lines = w.workerLines();
        const bStarts = lines.filter((l) => l.pod === b && (l.event === 'polling-start' || (l.event === 'signal' && l.signal === 'SIGUSR1')));
        const cBoot = lines.find((l) => l.pod === c && l.event === 'boot');
        const cPoll = lines.find((l) => l.pod === c && l.event === 'polling-start');
        // Up = its bot has its handlers and its sidecar is Ready; from then on only the Lease can hold it back.
        const cUp = Math.max(cBoot?.mono ?? cStart, cReadyAt ?? cStart);
        const cBound = cUp + SLACK_MS;
        const checks: Check[] = [
          check("the exiting pod's bot is never started", bStarts.length === 0, String(bStarts.length), '= 0 start signals, 0 polls'),
          check(
            'Lease after the exit: released or never taken',
            holderAfter !== b.opts.name,
            holderAfter === '' ? '"" (released)' : holderAfter,
            `≠ ${b.opts.name}`,
          ),
          check(
            'next pod polls as soon as it is up',
            cPoll !== undefined && cPoll.mono <= cBound,
            fmt(cPoll === undefined ? undefined : cPoll.mono - cUp),
            `≤ ${fmt(SLACK_MS)} after its bot booted and its sidecar was Ready (not LD = ${secs(t.leaseDurationMs)})`,
          ),
        ];
        return result(base(s, ctx), a, checks, { ms: cPoll ? cPoll.mono - cUp : undefined, bound: `≤ ${fmt(SLACK_MS)} after up` }, w.started, [
          `next pod up ${fmt(cUp - cStart)} after it was created;`,
          `held PUT answered ${held?.status ?? '-'} (${held?.clientWaiting ? 'client waiting' : 'client gone'}); SIGTERM → exit ${fmt(bExitAt - sigtermAt)}; Lease history ${w.recorder.history()}`,
        ]);
      },
      async () => {
        await holder.w?.teardown();
        await proxy.stop();
      },
    );
  },
};

// ——— shutdown with a failing label patch (L3) ———————————————————————————————————————————————————————

function cpuTicks(pid: number): number | undefined {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return Number(f[11]) + Number(f[12]);
  } catch {
    return undefined;
  }
}

/**
 * The leader's ServiceAccount loses `patch pods` while it leads (its label patch fails, as under an
 * admission policy or a stripped Role); SIGTERM must still end the process within pause-ack timeout + one
 * request timeout, and the handoff must still be a watch-driven one. The right is revoked only once the
 * pod runs: without it at start the sidecar refuses to start (rule C4).
 */
const labelPatchFails: Scenario = {
  id: 'label-patch-fails',
  title: 'shutdown while the pod-label patch fails (no `patch pods`)',
  rules: 'L3',
  run: async (ctx) => {
    const s = labelPatchFails;
    const t = ctx.timings;
    const holder: { w?: ChaosWorld } = {};
    return play(
      ctx,
      s,
      async () => {
        const w = await worldFor(ctx, s);
        holder.w = w;
        const noPatch = sidecarRules(w.lease).map((r) => (r.resources?.includes('pods') ? { ...r, verbs: r.verbs.filter((v) => v !== 'patch') } : r));
        const kubeconfig = await w.serviceAccount('baton-nopatch', sidecarRules(w.lease));
        const a0 = await w.addPod({ kubeconfig });
        await w.waitPoller(`${s.id}: the first bot polls`);
        await w.kc
          .makeApiClient(k8s.RbacAuthorizationV1Api)
          .replaceNamespacedRole({ name: 'baton-nopatch', namespace: w.namespace, body: { metadata: { name: 'baton-nopatch' }, rules: noPatch } });
        w.mark(`${a0.opts.name}: \`patch pods\` revoked`);
        const b = await w.addReadyPod();
        w.startLoad();
        await sleep(2000);
        await w.burstInHand(a0, ctx.burst);
        const T = terms(t);
        const exit = bound(T.pauseAck, T.requestTimeout);
        const pid = a0.sidecar!.pid!;
        const sigtermAt = w.mark(`SIGTERM ${a0.opts.name}`);
        let exitAt: number | undefined;
        void a0.sidecarExited().then(() => (exitAt = now()));
        void a0.terminate().catch(() => undefined);
        await waitFor(`${a0.opts.name}'s sidecar exits`, () => exitAt !== undefined, exit.ms).catch(() => undefined);
        const exitedInTime = exitAt;
        let cpu: number | undefined;
        if (exitedInTime === undefined) {
          // Still there at the bound: how busy is it? (Item 6 of the issue: a microtask loop at 100 %.)
          const ticks0 = cpuTicks(pid);
          await sleep(2000);
          const ticks1 = cpuTicks(pid);
          cpu = ticks0 !== undefined && ticks1 !== undefined ? ((ticks1 - ticks0) * 1000) / 2000 : undefined;
          w.mark(`${a0.opts.name}'s sidecar still running ${fmt(now() - sigtermAt)} after SIGTERM: SIGKILL`);
          a0.kill();
        }
        await waitFor(`${b.opts.name} polls`, () => b.polling(), 20_000).catch(() => undefined);
        await sleep(2000);
        const a = await w.finish();
        const aEnd = pollingEndAfter(a, a0, sigtermAt);
        const bStart = w.workerLines().find((l) => l.pod === b && l.event === 'polling-start' && l.mono > sigtermAt);
        const handoffBound = SLACK_MS;
        const checks: Check[] = [
          check(
            'sidecar exits after SIGTERM (L3)',
            exitedInTime !== undefined,
            exitedInTime === undefined ? `still running at the bound${cpu === undefined ? '' : ` (${cpu.toFixed(0)} % CPU)`}` : fmt(exitedInTime - sigtermAt),
            atMost(exit),
          ),
          check(
            'handoff gap',
            aEnd !== undefined && bStart !== undefined && bStart.mono - aEnd <= handoffBound,
            fmt(aEnd !== undefined && bStart ? bStart.mono - aEnd : undefined),
            `≤ ${fmt(handoffBound)} (watch-driven)`,
          ),
        ];
        return result(
          base(s, ctx),
          a,
          checks,
          { ms: aEnd !== undefined && bStart ? bStart.mono - aEnd : undefined, bound: `≤ ${fmt(handoffBound)}` },
          w.started,
          [
            `exit ${exitedInTime === undefined ? `none by the bound (SIGKILLed; ${cpu === undefined ? '-' : `${cpu.toFixed(0)} %`} CPU in the 2 s after it)` : `${fmt(exitedInTime - sigtermAt)} after SIGTERM`}`,
          ],
        );
      },
      async () => {
        await holder.w?.teardown();
      },
    );
  },
};

export const SCENARIOS: readonly Scenario[] = [
  apiOutage('freeze'),
  apiOutage('kill'),
  apiOutage('datastore'),
  watchCuts,
  leaseHolderEdit('standby'),
  leaseHolderEdit('ghost'),
  leaseDeleted,
  leaseDuration,
  sidecarFreeze,
  podFreeze,
  workerKilled,
  workerCrashLoop,
  sigtermDuringAcquire,
  labelPatchFails,
];

export function scenario(id: string): Scenario {
  const s = SCENARIOS.find((x) => x.id === id);
  if (!s) throw new Error(`no scenario ${id}; known: ${SCENARIOS.map((x) => x.id).join(', ')}`);
  return s;
}
