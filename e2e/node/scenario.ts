// baton on real pods: the chart installed with helm as README tells users (the sample bot in its own image,
// the real baton image, pullPolicy Never), the Telegram double on the host at the bridge's gateway address,
// steady load, then real Kubernetes operations: `kubectl rollout restart` N times, `kubectl delete pod` of
// the leader, the leader's bot container SIGKILLed from the host (ctr) until it crash-loops, the leader's whole
// pod frozen (its cgroup) for LD + 10 s with a batch in hand, scale to 0 and back. The verdict comes from the double's ledger and the bots' own logs (kubectl logs), with the same
// analysis as `npm run e2e` (e2e/report/figures.ts, test/harness/timeline.ts); after each step the truth as
// kubectl shows it (pods with their baton/role, the Lease, the Events) is kept with the figures.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { TelegramDouble } from '../telegram/server.ts';
import { figures, type Figures, type HandledRecord, type Injected } from '../report/figures.ts';
import { pollIntervals, type PollInterval, type WorkerLogLine } from '../../test/harness/timeline.ts';
import { helm, runTool, CHART_DIR } from '../../test/kube/helm.ts';
import type { NodeInfo } from '../../test/node/node.ts';
import { BATON_IMAGE, BOT_IMAGE, PREVIOUS_BATON_IMAGE } from '../../test/node/images.ts';
import { inFlightAt, repeats, unconfirmedOffset, type Freeze } from '../report/redelivery.ts';
import { withoutFrozen } from '../report/frozen.ts';
import { LogCollector } from './logs.ts';
import { freeze, podCgroupOf, thaw } from './cgroup-freeze.ts';
import { backstop, bound, SLACK } from '../chaos/bounds.ts';
import {
  handoffTimelines,
  stepMedians,
  type BotLogLine,
  type HandoffTimeline,
  type LedgerEntry,
  type SidecarLogLine,
  type StepMedian,
} from '../report/handoff-timeline.ts';
import { DEFAULT_TIMINGS, DEFAULT_WORKER_GRACE_MS, SCAN_INTERVAL_MS } from '../../src/defaults.ts';
import { sleep, waitFor, type WaitOptions } from '../../test/harness/wait.ts';

export interface NodeScenarioOptions {
  node: NodeInfo;
  helm: string;
  /** The sidecar as a native sidecar (an init container with restartPolicy: Always). */
  native: boolean;
  rollouts: number;
  /** Updates per second. */
  rate: number;
  handlerMs: number;
  /** Times the leader's bot container is SIGKILLed in a row (each after it came back); 0: no crash step. */
  crashes: number;
  /**
   * The leader's whole pod frozen (its cgroup: `cgroup.freeze`, or the v1 freezer) for LD + 10 s with a batch of
   * over a second in hand, then thawed (default false). Rule F1: the thawed bot handles nothing more and sends no
   * getUpdates.
   */
  freezeLeader?: boolean;
  /** `kubectl delete pod` of the leader (default true). */
  deleteLeader?: boolean;
  /** Scale to 0 and back (default true). */
  scale?: boolean;
  /**
   * Install with the previous release's sidecar image, then `helm upgrade` to this tree's, back, and to this
   * tree's again before the rollouts: each an ordinary rolling update that must hand over exactly once.
   */
  upgradeFromPrevious?: boolean;
  /** Pods of the Deployment (default 2). */
  replicas?: number;
  /**
   * `kubectl scale` down to 1 and back up to `replicas` (default true when replicas > 1): rule C5, the
   * ReplicaSet removes the standbys and keeps the leader, so neither step hands over.
   */
  scaleDown?: boolean;
  /**
   * Times the leader's sidecar container is sent SIGTERM from the host (`ctr tasks kill`), as the kubelet does
   * when it restarts a container: a graceful handoff with no Pod deleted, so the node is not busy with a
   * deletion while the gap is open. Each must hand over once, to another pod (default 0).
   */
  sidecarRestarts?: number;
  /** More chart values for the install, each `key=value` as helm's `--set` takes it (`--set` of e2e:node). */
  chartValues?: readonly string[];
  log?: (line: string) => void;
}

/** The figures of one step (or of the whole run), in the names. */
export interface StepFigures {
  twoPollersMs: number;
  /** Extra handlings baton answers for: every repeat except {@link redeliveredAfterKill} and {@link redeliveredAfterFreeze}. */
  handledTwice: number;
  /**
   * Extra handlings Telegram had to repeat because the bot that had the batch was SIGKILLed before confirming
   * it (e2e/report/redelivery.ts): the crash's cost, counted apart as the fault suite counts it.
   */
  redeliveredAfterKill: number;
  /**
   * Extra handlings Telegram had to repeat because the bot that had them was frozen (its pod's cgroup) before it
   * confirmed them: what it handled before the freeze (e2e/report/redelivery.ts), counted apart likewise.
   */
  redeliveredAfterFreeze: number;
  lost: number;
  /** Stretches with nobody polling (intended downtime excluded). */
  gap: { count: number; p50Ms: number; maxMs: number; totalMs: number };
  /** The gap of the handoff(s) in this step: between the last poll of one bot and the first of the next. */
  handoffGapsMs: number[];
  conflicts409: number;
  injected: number;
  handled: number;
}

export interface StepRecord {
  step: string;
  from: number;
  to: number;
  durationMs: number;
  figures: StepFigures;
  /** The pods that polled first in this step, in order (each one a handoff). */
  pollersStarted: string[];
  /** The pods created during the step (a rollout's new revision). */
  newPods: string[];
  /** The host's 1-minute load average at the step's end: the real node shares its 2 cores with everything else. */
  load1: number;
  /** kubectl's view after the step. */
  pods: string;
  lease: string;
  events: string;
}

export interface NodeScenarioResult {
  layout: 'regular' | 'native';
  namespace: string;
  release: string;
  steps: StepRecord[];
  total: StepFigures & { rolloutGapP50Ms: number; rolloutGapMaxMs: number; latencyP99Ms: number };
  /** End-to-end time of each `kubectl rollout restart` until the last old pod was gone. */
  rolloutMs: number[];
  replicas: number;
  pollers: Array<{ name: string; fromMs: number; toMs: number; cut: boolean }>;
  /** The leader pods frozen whole (their cgroup), and what their bot did after the thaw (F1: nothing). */
  freezes: Array<{ pod: string; cgroup: string; frozenMs: number; getUpdatesAfterThaw: number; handledAfterThaw: number }>;
  /**
   * Every graceful handoff with a successor, step by step from the processes' own logs and the double's ledger
   * (e2e/report/handoff-timeline.ts), with the scenario step it happened in.
   */
  handoffs: Array<HandoffTimeline & { inStep: string }>;
  /** The median of each handoff step over {@link handoffs}. */
  handoffMedians: StepMedian[];
  failures: string[];
  /** The pods' logs (kubectl logs) and the double's ledger (ledger.json): `node e2e/node/timeline.ts DIR` reads them again. */
  logsDir: string;
  durationMs: number;
}

const now = () => performance.timeOrigin + performance.now();
/**
 * Whether the previous release's sidecar (test/harness/previous-release.ts) sets the deletion cost (C5). Its
 * commit predates C5: until the release after C5 becomes the previous one, an upgrade from it may hand over
 * twice (the old revision's leader may go before its standby), and the upgrade steps are held to the rest.
 */
const PREVIOUS_RELEASE_HAS_C5 = false;
/** The chart's default `sidecar.workerGrace` (BATON_WORKER_GRACE): baton's default. */
const WORKER_GRACE_MS = DEFAULT_WORKER_GRACE_MS;
/** The chart's default leaseDuration and retryPeriod (charts/baton/values.yaml): baton's defaults. */
const FREEZE_LEASE_MS = DEFAULT_TIMINGS.leaseDurationMs;
const RETRY_PERIOD_MS = DEFAULT_TIMINGS.retryPeriodMs;

/** How often this scenario asks: most questions are a call to the API server or to kubectl. */
const EVERY_250_MS: WaitOptions = { everyMs: 250 };

export async function runNodeScenario(o: NodeScenarioOptions): Promise<NodeScenarioResult> {
  const layout = o.native ? 'native' : 'regular';
  const log = (l: string) => o.log?.(`${layout}: ${l}`);
  const started = now();
  const namespace = `baton-node-${layout}`;
  const release = 'bot';
  const deployment = `${release}-baton`;
  const lease = deployment;
  const replicas = o.replicas ?? 2;
  const token = '123456:node-token';
  const dir = mkdtempSync(join(tmpdir(), `baton-node-e2e-${layout}-`));
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(o.node.kubeconfig);
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const coord = kc.makeApiClient(k8s.CoordinationV1Api);
  const kubectl = async (args: string[], input?: string) => {
    const r = await runTool(o.node.kubectl, ['--kubeconfig', o.node.kubeconfig, '-n', namespace, ...args], { input });
    if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')} failed (${r.code}): ${r.stderr}${r.stdout}`);
    return r.stdout;
  };
  const kubectlSoft = async (args: string[]) => {
    const r = await runTool(o.node.kubectl, ['--kubeconfig', o.node.kubeconfig, '-n', namespace, ...args]);
    return `${r.stdout}${r.stderr}`;
  };

  // The double listens on the bridge's gateway: the one host address pods can reach.
  const double = new TelegramDouble();
  const { url } = await double.start({ tokens: [token], host: o.node.gateway, seed: 1 });
  const collector = new LogCollector({ kubectl: o.node.kubectl, kubeconfig: o.node.kubeconfig, namespace, core, containers: ['bot', 'baton'], dir, log });
  const steps: StepRecord[] = [];
  const downtime: Array<{ from: number; to: number }> = [];
  /** Bot processes killed from the host: their polling ends at the kill (no polling-stop line). */
  const kills: Array<{ pod: string; id: string; at: number }> = [];
  /** Pods frozen whole from the host: the bot container then, and the freeze (`from`, once the kernel said frozen) to the thaw (`to`, before it). */
  const freezes: Array<{ pod: string; id: string; from: number; to: number; cgroup: string }> = [];
  const rolloutMs: number[] = [];
  /** The pod whose sidecar each sidecar-restart step restarted. */
  const restartedSidecars = new Map<string, string>();
  /** L1 on real pods: the pod whose bot crash-loops, and who held the Lease once the loop was over. */
  let crashLoop: { pod: string; holderAfter: string } | undefined;
  let stepStart = now();
  const lastDelivery = () => double.deliveries().at(-1)?.at ?? 0;
  const someonePolls = () => now() - lastDelivery() < 1500;

  const holder = async () => {
    try {
      return (await coord.readNamespacedLease({ name: lease, namespace })).spec?.holderIdentity ?? '';
    } catch {
      return '';
    }
  };
  const pods = async () => (await core.listNamespacedPod({ namespace })).items;
  /** All pods Ready, as many as the replicas, none terminating. */
  const settled = async (n = replicas) => {
    const ps = await pods();
    return ps.length === n && ps.every((p) => !p.metadata?.deletionTimestamp && p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'));
  };
  /** Lets the bot work off what queued during the step, then a few quiet seconds of steady state. */
  const calm = async () => {
    const queued = () => double.injectedUpdates();
    const delivered = () => new Set(double.deliveries().map((d) => d.updateId)).size;
    await waitFor('the backlog is worked off', () => delivered() >= queued() - o.rate, 90_000, EVERY_250_MS).catch(() => undefined);
    await sleep(3000);
  };
  let podsAtStepStart = new Set<string>();
  const endStep = async (step: string) => {
    const to = now();
    const newPods = (await pods()).map((p) => p.metadata!.name!).filter((n) => !podsAtStepStart.has(n));
    const [podsView, leaseView, eventsView] = await Promise.all([
      kubectlSoft(['get', 'pods', '-o', 'wide', '-L', 'baton/role']),
      kubectlSoft(['get', 'lease', '-o', 'wide']),
      kubectlSoft(['get', 'events', '--sort-by=.lastTimestamp']),
    ]);
    steps.push({
      step,
      from: stepStart,
      to,
      durationMs: Math.round(to - stepStart),
      figures: emptyFigures(),
      pollersStarted: [],
      newPods,
      load1: Math.round(loadavg()[0]! * 100) / 100,
      pods: podsView,
      lease: leaseView,
      events: eventsView,
    });
    log(`${step}: done in ${((to - stepStart) / 1000).toFixed(1)} s; leader ${await holder()}`);
    stepStart = to;
    podsAtStepStart = new Set((await pods()).map((p) => p.metadata!.name!));
  };

  let load: ReturnType<TelegramDouble['startLoad']> | undefined;
  try {
    await runTool(o.node.kubectl, ['--kubeconfig', o.node.kubeconfig, 'create', 'namespace', namespace]);
    // The values a user gives (charts/baton/README.md): the bot's image and the sidecar's; plus the sample
    // bot's settings. Everything else is the chart's default: BATON_TARGET_CONTAINER, the least-privilege
    // Role, maxSurge 1 / maxUnavailable 0, the preStop sleep, the grace period.
    const values = join(dir, 'values.yaml');
    writeFileSync(
      values,
      [
        'bot:',
        '  env:',
        '    - {name: POD_NAME, valueFrom: {fieldRef: {fieldPath: metadata.name}}}',
        '    # The double tells pollers apart by the first path segment: one per pod.',
        `    - {name: TELEGRAM_API_ROOT, value: "${url}/$(POD_NAME)"}`,
        '    - {name: BOT_NAME, value: "$(POD_NAME)"}',
        `    - {name: TELEGRAM_BOT_TOKEN, value: "${token}"}`,
        '    - {name: BOT_FRAMEWORK, value: plain}',
        `    - {name: BOT_HANDLER_MS, value: "${o.handlerMs}"}`,
        '    - {name: BOT_LIMIT, value: "100"}',
        '    # The bot logs what it does as JSON lines on stdout: `kubectl logs` is the record.',
        '    - {name: BOT_LOG, value: /dev/stdout}',
        'sidecar:',
        '  logLevel: debug',
        '',
      ].join('\n'),
    );
    const install = await helm(o.helm, [
      'install',
      release,
      CHART_DIR,
      '--kubeconfig',
      o.node.kubeconfig,
      '--namespace',
      namespace,
      '--set',
      `bot.image.repository=${BOT_IMAGE.repository}`,
      '--set',
      `bot.image.tag=${BOT_IMAGE.tag}`,
      '--set',
      'bot.image.pullPolicy=Never',
      '--set',
      `sidecar.image.repository=${BATON_IMAGE.repository}`,
      '--set',
      `sidecar.image.tag=${o.upgradeFromPrevious ? PREVIOUS_BATON_IMAGE.tag : BATON_IMAGE.tag}`,
      '--set',
      'sidecar.image.pullPolicy=Never',
      '--set',
      `sidecar.native=${o.native}`,
      '--set',
      `deployment.replicas=${replicas}`,
      '-f',
      values,
      ...(o.chartValues ?? []).flatMap((v) => ['--set', v]),
      '--wait',
      '--timeout',
      '5m',
    ]);
    if (install.code !== 0)
      throw new Error(
        `helm install failed (${install.code}):\n${install.stderr}${install.stdout}\n${await kubectlSoft(['get', 'pods', '-o', 'wide'])}\n${await kubectlSoft(['get', 'events'])}`,
      );
    collector.start();
    log(`helm install done; waiting for a leader`);
    await waitFor(`a holder of Lease ${lease}`, async () => (await holder()) !== '', 90_000, EVERY_250_MS);
    load = double.startLoad({ ratePerSecond: o.rate, token });
    stepStart = now();
    await waitFor('a bot polls under load', someonePolls, 60_000, EVERY_250_MS);
    await calm();
    await endStep('install');

    /** One rolling update started by `start`, followed until every old pod is gone and a bot polls. */
    const rollOut = async (step: string, start: () => Promise<unknown>, timed: boolean) => {
      load = double.startLoad({ ratePerSecond: o.rate, token });
      const t = now();
      const before = new Set((await pods()).map((p) => p.metadata!.name!));
      await start();
      await kubectl(['rollout', 'status', `deployment/${deployment}`, '--timeout=300s']);
      // `rollout status` returns before the old pods are gone (REALNODE.md): wait for their deletion too.
      await waitFor(`${step}: the old pods are gone`, async () => (await pods()).every((p) => !before.has(p.metadata!.name!)), 180_000, EVERY_250_MS);
      await waitFor(`${step}: settled`, () => settled(), 120_000, EVERY_250_MS);
      if (timed) rolloutMs.push(Math.round(now() - t));
      await waitFor(`a bot polls after ${step}`, someonePolls, 90_000, EVERY_250_MS);
      await calm();
      await endStep(step);
    };

    if (o.upgradeFromPrevious) {
      // Upgrading baton itself: the old pods run the previous release's sidecar, the new ones this tree's.
      const setSidecar = (tag: string) => async () => {
        const r = await helm(o.helm, [
          'upgrade',
          release,
          CHART_DIR,
          '--kubeconfig',
          o.node.kubeconfig,
          '--namespace',
          namespace,
          '--reuse-values',
          '--set',
          `sidecar.image.tag=${tag}`,
        ]);
        if (r.code !== 0) throw new Error(`helm upgrade to sidecar ${tag} failed (${r.code}):\n${r.stderr}${r.stdout}`);
      };
      await rollOut('upgrade (previous release → this)', setSidecar(BATON_IMAGE.tag), false);
      await rollOut('downgrade (this → previous release)', setSidecar(PREVIOUS_BATON_IMAGE.tag), false);
      await rollOut('upgrade again (previous release → this)', setSidecar(BATON_IMAGE.tag), false);
    }

    for (let i = 1; i <= o.rollouts; i++) {
      await rollOut(`rollout ${i}`, () => kubectl(['rollout', 'restart', `deployment/${deployment}`]), true);
    }

    if ((o.scaleDown ?? replicas > 1) && replicas > 1) {
      // C5: the ReplicaSet deletes the cheaper pods first, the standbys; the leader stays and keeps polling.
      load = double.startLoad({ ratePerSecond: o.rate, token });
      await kubectl(['scale', `deployment/${deployment}`, '--replicas=1']);
      await waitFor('scaled down to 1', () => settled(1), 180_000, EVERY_250_MS);
      await calm();
      await endStep(`scale ${replicas} → 1`);
      load = double.startLoad({ ratePerSecond: o.rate, token });
      await kubectl(['scale', `deployment/${deployment}`, `--replicas=${replicas}`]);
      await waitFor(`scaled back up to ${replicas}`, () => settled(), 180_000, EVERY_250_MS);
      await calm();
      await endStep(`scale 1 → ${replicas}`);
    }

    if (o.deleteLeader ?? true) {
      load = double.startLoad({ ratePerSecond: o.rate, token });
      const leader = await holder();
      log(`kubectl delete pod ${leader}`);
      await kubectl(['delete', 'pod', leader, '--wait=false']);
      await waitFor('the deleted leader is gone', async () => !(await pods()).some((p) => p.metadata!.name === leader), 180_000, EVERY_250_MS);
      await waitFor('settled after delete pod', () => settled(), 120_000, EVERY_250_MS);
      await waitFor('a bot polls after delete pod', someonePolls, 90_000, EVERY_250_MS);
      await calm();
      await endStep('delete leader pod');
    }

    for (let k = 1; k <= (o.sidecarRestarts ?? 0); k++) {
      load = double.startLoad({ ratePerSecond: o.rate, token });
      const leader = await holder();
      let id = '';
      const sidecar = async () => (await runningContainer(core, namespace, leader, 'baton'))?.id;
      await waitFor(
        `the sidecar container of ${leader} runs`,
        async () => {
          id = (await sidecar()) ?? '';
          return id !== '';
        },
        120_000,
        EVERY_250_MS,
      );
      const r = await runTool('ctr', ['-a', o.node.containerdSock, '-n', 'k8s.io', 'tasks', 'kill', '-s', 'SIGTERM', id]);
      if (r.code !== 0) throw new Error(`ctr tasks kill ${id} failed: ${r.stderr}`);
      log(`sidecar restart ${k}/${o.sidecarRestarts}: SIGTERM to the sidecar container of ${leader} (${id.slice(0, 12)}) from the host`);
      await waitFor(`the Lease leaves ${leader}`, async () => ![leader, ''].includes(await holder()), 60_000, EVERY_250_MS);
      await waitFor(`the sidecar of ${leader} runs again`, async () => ![undefined, id].includes(await sidecar()), 180_000, EVERY_250_MS);
      await waitFor(`settled after sidecar restart ${k}`, () => settled(), 120_000, EVERY_250_MS);
      await waitFor(`a bot polls after sidecar restart ${k}`, someonePolls, 90_000, EVERY_250_MS);
      await calm();
      const step = `leader's sidecar restarted ${k}`;
      restartedSidecars.set(step, leader);
      await endStep(step);
    }

    if (o.crashes > 0) {
      load = double.startLoad({ ratePerSecond: o.rate, token });
      const leader = await holder();
      for (let k = 1; k <= o.crashes; k++) {
        // Kill only an instance whose logs are being followed, and that has booted (its handlers are in).
        const id = await waitForRunningBot(core, namespace, leader, collector, 180_000);
        const killAt = now();
        const r = await runTool('ctr', ['-a', o.node.containerdSock, '-n', 'k8s.io', 'tasks', 'kill', '-s', 'SIGKILL', id]);
        if (r.code !== 0) throw new Error(`ctr tasks kill ${id} failed: ${r.stderr}`);
        kills.push({ pod: leader, id, at: killAt });
        log(`crash ${k}/${o.crashes}: SIGKILLed the bot container of ${leader} (${id.slice(0, 12)}) from the host`);
        await waitFor(
          `the kubelet notices crash ${k}`,
          async () => {
            const p = (await pods()).find((x) => x.metadata!.name === leader);
            const s = p?.status?.containerStatuses?.find((c) => c.name === 'bot');
            // Back-off (waiting, CrashLoopBackOff) or already the next instance.
            return !s?.state?.running || s.containerID !== `containerd://${id}`;
          },
          60_000,
          EVERY_250_MS,
        );
      }
      const crashView = await kubectlSoft(['get', 'pods', '-o', 'wide', '-L', 'baton/role']);
      log(`after ${o.crashes} kills:\n${crashView}`);
      // The container comes back after the kubelet's back-off; the run waits for it and for a poller.
      await waitForRunningBot(core, namespace, leader, collector, 300_000);
      await waitFor('settled after the crash loop', () => settled(), 180_000, EVERY_250_MS);
      await waitFor('a bot polls after the crash loop', someonePolls, 120_000, EVERY_250_MS);
      await calm();
      crashLoop = { pod: leader, holderAfter: await holder() };
      await endStep(`bot container killed ${o.crashes}× (crash loop)`);
    }

    if (o.freezeLeader) {
      load = double.startLoad({ ratePerSecond: o.rate, token });
      const leader = await holder();
      const spec = (await coord.readNamespacedLease({ name: lease, namespace })).spec;
      const leaseMs = (spec?.leaseDurationSeconds ?? 15) * 1000;
      const id = await waitForRunningBot(core, namespace, leader, collector, 60_000);
      const cgroup = podCgroupOf(await containerPid(o.node.containerdSock, id), id);
      // A batch of over a second in hand: a burst the leader's next poll takes whole.
      const burst = Math.ceil(1500 / o.handlerMs);
      const since = now();
      for (let i = 0; i < burst; i++) double.inject(`freeze burst #${i + 1}`, { token });
      await waitFor(
        `${leader} holds a batch of ${Math.floor(burst * 0.75)}`,
        () =>
          double
            .requests()
            .some((r) => r.type === 'end' && r.client === leader && r.written && r.at >= since && r.updateIds.length >= Math.floor(burst * 0.75)),
        15_000,
        EVERY_250_MS,
      );
      await freeze(cgroup);
      const from = now();
      log(`froze ${leader}'s pod (cgroup v${cgroup.version} ${cgroup.dir}) for ${(leaseMs + 10_000) / 1000} s with a batch in hand`);
      await sleep(leaseMs + 10_000);
      const to = now();
      await thaw(cgroup);
      freezes.push({ pod: leader, id, from, to, cgroup: `v${cgroup.version} ${cgroup.dir}` });
      log(`thawed ${leader}'s pod; holder now ${await holder()}`);
      await waitFor('settled after the freeze', () => settled(), 180_000, EVERY_250_MS);
      await waitFor('a bot polls after the freeze', someonePolls, 120_000, EVERY_250_MS);
      await calm();
      await endStep('leader pod frozen (cgroup)');
    }

    if (o.scale ?? true) {
      load = double.startLoad({ ratePerSecond: o.rate, token });
      const from = now();
      await kubectl(['scale', `deployment/${deployment}`, '--replicas=0']);
      await waitFor('scaled to 0', async () => (await pods()).length === 0, 180_000, EVERY_250_MS);
      await sleep(2000);
      await kubectl(['scale', `deployment/${deployment}`, `--replicas=${replicas}`]);
      await waitFor('scaled back', () => settled(), 180_000, EVERY_250_MS);
      await waitFor('a bot polls after scaling back', someonePolls, 120_000, EVERY_250_MS);
      // Until a poller is back the outage is the intended one; from then on a gap counts as usual.
      downtime.push({ from, to: now() });
      await calm();
      await endStep('scale to 0 and back');
    }

    await load.stop();
    // An update still queued now is late, not lost: let the last bot work it off.
    const injectedAll = double.injected().filter((r) => r.updateId !== null);
    await waitFor(
      'the queue is worked off',
      () => new Set(double.deliveries().map((d) => d.updateId)).size >= double.injectedUpdates(),
      60_000,
      EVERY_250_MS,
    ).catch(() => undefined);
    await sleep(1500);
    await collector.stop();
    const end = now();
    // The double's ledger beside the pods' logs: the handoff timeline can be read again from the folder.
    writeFileSync(join(dir, 'ledger.json'), `${JSON.stringify(double.requests())}\n`);

    // ---- the verdict ----
    const deaths = kills.flatMap((k) => {
      const boot = collector.firstLine(k.pod, 'bot', `containerd://${k.id}`, 'boot');
      return boot ? [{ pod: k.pod, pid: boot.pid, bootMono: boot.mono, at: k.at }] : [];
    });
    const { lines, deathOf, processOf } = processes(collector.lines('bot'), deaths);
    const requests = double.requests();
    // The frozen bot process of each freeze (its number in the run), and what it did after the thaw.
    const frozen = freezes.flatMap((f) => {
      const boot = collector.firstLine(f.pod, 'bot', `containerd://${f.id}`, 'boot');
      const pid = boot && processOf(f.pod, boot.pid, boot.mono);
      if (pid === undefined) return [];
      const getUpdates = requests.filter((r) => r.type === 'start' && r.token === token && r.client === f.pod && r.at >= f.to).length;
      const updateOf = (l: WorkerLogLine) => (l as unknown as { update: number }).update;
      const last = requests.filter((r) => r.type === 'end' && r.token === token && r.client === f.pod && r.written && r.at < f.from).at(-1);
      const before = new Set(lines.filter((l) => l.pid === pid && l.event === 'handled' && l.mono < f.from).map(updateOf));
      // The handler running at the freeze may end after the thaw (F1's residual window): counted apart, not polling.
      const inFlight = inFlightAt(last?.type === 'end' ? last.updateIds : [], before);
      const handledAfter = lines.filter((l) => l.pid === pid && l.event === 'handled' && l.mono >= f.to).map(updateOf);
      return [
        { ...f, pid, getUpdates, inFlight, handledAfter: handledAfter.length, handledAfterBeyondInFlight: handledAfter.filter((u) => u !== inFlight).length },
      ];
    });
    const intervals = withoutFrozen(
      pollIntervals(lines, end, new Map([...deathOf].map(([seq, d]) => [seq, d.at]))),
      frozen,
      (f) => f.getUpdates > 0 || f.handledAfterBeyondInFlight > 0,
    );
    const handled = lines
      .filter((l) => l.event === 'handled')
      .map((l) => ({ update: (l as unknown as { update: number }).update, name: l.name, process: l.pid, mono: l.mono }));
    const floors = new Map(
      [...deathOf].flatMap(([seq, d]) => {
        const offset = unconfirmedOffset(requests, token, d.pod, d.at);
        return offset === undefined ? [] : [[seq, offset] as const];
      }),
    );
    const frozenFloors = new Map(
      frozen.flatMap((f) => {
        const offset = unconfirmedOffset(requests, token, f.pod, f.from);
        return offset === undefined ? [] : [[f.pid, { offset, at: f.from, inFlight: f.inFlight } satisfies Freeze] as const];
      }),
    );
    const { afterKill, afterFreeze } = repeats(handled, floors, frozenFloors);
    const excused = { afterKill, afterFreeze };
    const injected: Injected[] = injectedAll.map((r) => ({ updateId: r.updateId!, at: r.at }));
    const conflicts = double.conflicts({ token });
    const rolloutsEnd = steps.filter((s) => s.step.startsWith('rollout')).at(-1)?.to ?? end;
    const whole = figures({
      intervals,
      handled,
      injected,
      conflicts409: conflicts.seen,
      conflicts409Unseen: conflicts.total - conflicts.seen,
      end,
      downtime,
      handoffs: Math.max(0, intervals.length - 1),
      rolloutsEnd,
    });
    for (const s of steps) {
      s.figures = stepFigures(s, intervals, handled, injected, downtime, excused);
      s.pollersStarted = intervals
        .filter((i) => i.from >= s.from && i.from <= s.to && !downtime.some((d) => i.from >= d.from && i.from <= d.to + 1))
        .sort((a, b) => a.from - b.from)
        .map((i) => i.name);
    }
    const total: NodeScenarioResult['total'] = {
      ...toStep(whole, intervals, { from: Math.min(...intervals.map((i) => i.from)), to: end }, downtime, excused),
      conflicts409: conflicts.seen,
      rolloutGapP50Ms: whole.rollouts.gapP50Ms,
      rolloutGapMaxMs: whole.rollouts.gapMaxMs,
      latencyP99Ms: whole.latencyMs.p99,
    };
    const failures: string[] = [];
    if (total.twoPollersMs > 0) failures.push(`two pollers for ${total.twoPollersMs} ms`);
    if (conflicts.seen > 0) failures.push(`${conflicts.seen} 409 Conflict(s) reached a live poller`);
    if (total.handledTwice > 0) failures.push(`${total.handledTwice} update(s) handled twice`);
    if (total.lost > 0) failures.push(`${total.lost} update(s) lost`);
    if (lines.length === 0) failures.push('no bot log lines were collected (kubectl logs)');
    // C5: a rolling update hands over exactly once, to a pod of the new revision; scaling down to 1 and back never.
    // C5 is kept by the old pods' sidecars (their deletion cost): a rollout away from the previous release, whose
    // sidecar predates C5 (PREVIOUS_RELEASE_HAS_C5), must end on a new pod but may hand over on the way.
    for (const s of steps.filter((x) => /^(rollout|upgrade|downgrade)/.test(x.step))) {
      const to = s.pollersStarted.at(-1);
      const oldPodsKeepC5 = PREVIOUS_RELEASE_HAS_C5 || !s.step.includes('(previous release →');
      if (to === undefined) failures.push(`${s.step}: no handoff`);
      else if (!s.newPods.includes(to)) failures.push(`${s.step}: leadership went to ${to}, not to a pod of the new revision (${s.newPods.join(', ')})`);
      else if (oldPodsKeepC5 && s.pollersStarted.length !== 1)
        failures.push(`${s.step}: ${s.pollersStarted.length} handoffs (${s.pollersStarted.join(' → ')}), expected exactly one (C5)`);
    }
    for (const s of steps.filter((x) => x.step.startsWith('scale ') && x.step !== 'scale to 0 and back')) {
      if (s.pollersStarted.length > 0) failures.push(`${s.step}: ${s.pollersStarted.length} handoffs (${s.pollersStarted.join(' → ')}), expected none (C5)`);
    }
    // A restarted sidecar hands over once, to another pod, and comes back as a standby.
    for (const s of steps.filter((x) => restartedSidecars.has(x.step))) {
      const from = restartedSidecars.get(s.step)!;
      if (s.pollersStarted.length !== 1 || s.pollersStarted[0] === from)
        failures.push(`${s.step}: ${s.pollersStarted.length} handoffs (${s.pollersStarted.join(' → ')}), expected exactly one, away from ${from}`);
    }
    const crashStep = steps.find((x) => x.step.startsWith('bot container killed'));
    if (crashStep && crashLoop) {
      // L1: the sidecar notices the bot gone at its next scan of /proc (every 0.5 s) and steps aside after the
      // worker grace; 1 s more covers the release, the standby's acquire, its signal and its bot's first poll.
      const gone = bound({ ms: WORKER_GRACE_MS, name: 'the worker grace' }, { ms: SCAN_INTERVAL_MS, name: 'one scan' }, SLACK);
      if (crashStep.figures.gap.maxMs > gone.ms) failures.push(`crash loop: a gap of ${crashStep.figures.gap.maxMs} ms, above ${gone.formula} (${gone.ms} ms)`);
      // The kubelet's back-off (10 s, then 20 s) outlasts the grace from the second crash on: the Lease moves.
      if (o.crashes >= 2 && crashLoop.holderAfter === crashLoop.pod)
        failures.push(`crash loop: ${crashLoop.pod}, whose bot crash-loops, still holds the Lease (L1)`);
    }
    const freezeStep = steps.find((x) => x.step.startsWith('leader pod frozen'));
    for (const f of frozen) {
      // F1: the thawed bot's lease time ran out while it was frozen; the next leader already has its batch.
      if (f.getUpdates > 0) failures.push(`freeze: ${f.pod}'s bot sent ${f.getUpdates} getUpdates after the thaw (F1)`);
      // The standby takes over once the Lease has not been renewed for LD: by the freeze + LD + 2.2·RP + 1 s.
      const takeover = bound({ ms: FREEZE_LEASE_MS, name: 'LD' }, backstop(RETRY_PERIOD_MS), SLACK);
      if (freezeStep && freezeStep.figures.gap.maxMs > takeover.ms)
        failures.push(`freeze: a gap of ${freezeStep.figures.gap.maxMs} ms, above ${takeover.formula} (${takeover.ms} ms)`);
    }
    if (o.freezeLeader && frozen.length === 0) failures.push('freeze: the frozen bot process was not found in the logs');
    const timelines = readTimelines(collector.records('baton'), collector.lines('bot'), requests).map((h) => ({
      ...h,
      inStep: steps.find((x) => h.at >= x.from && h.at < x.to)?.step ?? '',
    }));
    const t0 = Math.min(...intervals.map((i) => i.from));
    return {
      layout,
      namespace,
      release,
      steps,
      total,
      rolloutMs,
      replicas,
      handoffs: timelines,
      handoffMedians: stepMedians(timelines),
      pollers: intervals.map((i) => ({ name: i.name, fromMs: Math.round(i.from - t0), toMs: Math.round(i.to - t0), cut: i.cut })),
      freezes: frozen.map((f) => ({
        pod: f.pod,
        cgroup: f.cgroup,
        frozenMs: Math.round(f.to - f.from),
        getUpdatesAfterThaw: f.getUpdates,
        handledAfterThaw: f.handledAfter,
      })),
      failures,
      logsDir: dir,
      durationMs: Math.round(now() - started),
    };
  } finally {
    await load?.stop();
    await collector.stop().catch(() => undefined);
    await helm(o.helm, ['uninstall', release, '--kubeconfig', o.node.kubeconfig, '--namespace', namespace, '--wait', '--timeout', '3m']).catch(() => undefined);
    await runTool(o.node.kubectl, ['--kubeconfig', o.node.kubeconfig, 'delete', 'namespace', namespace, '--wait=false']).catch(() => undefined);
    await double.stop();
  }
}

/** The handoff timelines of a run from the sidecars' and bots' log lines and the double's ledger. */
export function readTimelines(sidecar: Array<Record<string, unknown>>, bots: BotLogLine[], ledger: readonly LedgerEntry[]): HandoffTimeline[] {
  const lines = sidecar.filter((l): l is Record<string, unknown> & SidecarLogLine => typeof l.time === 'string' && typeof l.identity === 'string');
  return handoffTimelines(lines, bots, ledger);
}

/**
 * The running container `name` of `pod` (a native sidecar's too): its `containerID` as the status gives it
 * (`containerd://…`) and the bare id `ctr` takes; undefined while it does not run.
 */
async function runningContainer(core: k8s.CoreV1Api, namespace: string, pod: string, name: string): Promise<{ containerID: string; id: string } | undefined> {
  const p = (await core.listNamespacedPod({ namespace })).items.find((x) => x.metadata!.name === pod);
  const s = [...(p?.status?.containerStatuses ?? []), ...(p?.status?.initContainerStatuses ?? [])].find((c) => c.name === name);
  if (!s?.state?.running || !s.containerID) return undefined;
  return { containerID: s.containerID, id: s.containerID.replace(/^\w+:\/\//, '') };
}

/** The bot container of `pod` once it runs, its logs are followed, and it has booted; returns its id. */
async function waitForRunningBot(core: k8s.CoreV1Api, namespace: string, pod: string, collector: LogCollector, timeoutMs: number): Promise<string> {
  let id = '';
  await waitFor(
    `the bot container of ${pod} runs`,
    async () => {
      const c = await runningContainer(core, namespace, pod, 'bot');
      if (!c) return false;
      id = c.id;
      return collector.following(c.containerID) && collector.firstLine(pod, 'bot', c.containerID, 'boot') !== undefined;
    },
    timeoutMs,
    EVERY_250_MS,
  );
  return id;
}

interface Death {
  pod: string;
  pid: number;
  bootMono: number;
  at: number;
}

/**
 * Bot processes. Pods share PID numbers (each pod has its own PID namespace) and a restarted container may
 * reuse one: a process is a (pod, pid) from its boot line to the next boot. Returns the lines with `pid`
 * replaced by a process number unique in the run, and the kill of each killed process.
 */
function processes(
  lines: WorkerLogLine[],
  deaths: Death[],
): { lines: WorkerLogLine[]; deathOf: Map<number, Death>; processOf: (pod: string, pid: number, bootMono: number) => number | undefined } {
  const current = new Map<string, number>();
  const byBoot = new Map<string, number>();
  let seq = 0;
  const deathOf = new Map<number, Death>();
  const mapped = lines.map((l) => {
    const key = `${l.name}/${l.pid}`;
    if (l.event === 'boot' || !current.has(key)) {
      current.set(key, ++seq);
      if (l.event === 'boot') byBoot.set(`${key}/${l.mono}`, seq);
      const d = deaths.find((x) => x.pod === l.name && x.pid === l.pid && x.bootMono === l.mono);
      if (d) deathOf.set(seq, d);
    }
    return { ...l, pid: current.get(key)! };
  });
  return { lines: mapped, deathOf, processOf: (pod, pid, bootMono) => byBoot.get(`${pod}/${pid}/${bootMono}`) };
}

/** The host pid of a container's main process (`ctr tasks ls`: TASK PID STATUS). */
async function containerPid(sock: string, id: string): Promise<number> {
  const r = await runTool('ctr', ['-a', sock, '-n', 'k8s.io', 'tasks', 'ls']);
  const row = r.stdout
    .split('\n')
    .map((l) => l.trim().split(/\s+/))
    .find((f) => f[0] === id);
  if (r.code !== 0 || !row) throw new Error(`ctr tasks ls: no task ${id.slice(0, 12)} (${r.code}): ${r.stderr}`);
  return Number(row[1]);
}

function emptyFigures(): StepFigures {
  return {
    twoPollersMs: 0,
    handledTwice: 0,
    redeliveredAfterKill: 0,
    redeliveredAfterFreeze: 0,
    lost: 0,
    gap: { count: 0, p50Ms: 0, maxMs: 0, totalMs: 0 },
    handoffGapsMs: [],
    conflicts409: 0,
    injected: 0,
    handled: 0,
  };
}

function clip(intervals: PollInterval[], from: number, to: number): PollInterval[] {
  return intervals.filter((i) => i.to > from && i.from < to).map((i) => ({ ...i, from: Math.max(i.from, from), to: Math.min(i.to, to) }));
}

/** Repeats Telegram had to make: a killed bot's unconfirmed batch, what a frozen bot handled before its freeze. */
interface Excused {
  afterKill: number[];
  afterFreeze: number[];
}

function toStep(
  f: Figures,
  intervals: PollInterval[],
  w: { from: number; to: number; ids?: ReadonlySet<number> },
  downtime: Array<{ from: number; to: number }>,
  excused: Excused,
): StepFigures {
  const inWindow = (u: number) => w.ids === undefined || w.ids.has(u);
  const afterKill = excused.afterKill.filter(inWindow).length;
  const afterFreeze = excused.afterFreeze.filter(inWindow).length;
  // A handoff gap: from the end of one process's polling to the start of the next one's, inside the window.
  const sorted = [...intervals].sort((a, b) => a.from - b.from);
  const handoffGapsMs: number[] = [];
  for (let i = 1; i < sorted.length; i++) {
    const prevEnd = Math.max(...sorted.slice(0, i).map((x) => x.to));
    const next = sorted[i]!;
    if (next.from < w.from || next.from > w.to) continue;
    if (downtime.some((d) => next.from >= d.from && next.from <= d.to + 1)) continue;
    handoffGapsMs.push(Math.round(Math.max(0, next.from - prevEnd) * 10) / 10);
  }
  return {
    twoPollersMs: f.twoPollersMs,
    handledTwice: f.handledTwice - afterKill - afterFreeze,
    redeliveredAfterKill: afterKill,
    redeliveredAfterFreeze: afterFreeze,
    lost: f.lost,
    gap: { count: f.gapMs.count, p50Ms: f.gapMs.p50, maxMs: f.gapMs.max, totalMs: f.gapMs.total },
    handoffGapsMs,
    conflicts409: f.conflicts409,
    injected: f.injected,
    handled: f.handled,
  };
}

function stepFigures(
  s: StepRecord,
  intervals: PollInterval[],
  handled: HandledRecord[],
  injected: Injected[],
  downtime: Array<{ from: number; to: number }>,
  excused: Excused,
): StepFigures {
  const inStep = injected.filter((u) => u.at >= s.from && u.at < s.to);
  const ids = new Set(inStep.map((u) => u.updateId));
  const clipped = clip(intervals, s.from, s.to);
  if (clipped.length === 0)
    return { ...emptyFigures(), lost: inStep.filter((u) => !handled.some((h) => h.update === u.updateId)).length, injected: inStep.length };
  const f = figures({
    intervals: clipped,
    handled: handled.filter((h) => ids.has(h.update)),
    injected: inStep,
    conflicts409: 0,
    conflicts409Unseen: 0,
    end: s.to,
    downtime: downtime.filter((d) => d.to > s.from && d.from < s.to),
    handoffs: 0,
  });
  // figures() measures from the first poll in the window; a step that starts with nobody polling has a gap from its start.
  const lead = Math.min(...clipped.map((i) => i.from)) - s.from;
  const out = toStep(f, intervals, { from: s.from, to: s.to, ids }, downtime, excused);
  if (lead > 0 && !downtime.some((d) => d.from <= s.from && d.to >= s.from + lead)) {
    out.gap = {
      ...out.gap,
      count: out.gap.count + 1,
      maxMs: Math.max(out.gap.maxMs, Math.round(lead * 10) / 10),
      totalMs: Math.round((out.gap.totalMs + lead) * 10) / 10,
    };
  }
  return out;
}
