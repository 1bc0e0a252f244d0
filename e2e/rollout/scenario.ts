// One contender through one scenario under steady load: deploy, K rolling updates, a pod SIGKILLed,
// scale to 0 and back; then the figures (gaps, overlap, 409s, duplicates, lost, latency) and a
// timeline panel. The same bots and the same signals for every contender: only the agent differs.
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import type * as k8s from '@kubernetes/client-node';
import { TelegramDouble } from '../telegram/server.ts';
import { SIDECAR_NODE_FLAGS, type SimPod, type SimPodOptions } from '../../test/harness/sim-pod.ts';
import { pollIntervals, readWorkerLog } from '../../test/harness/timeline.ts';
import { figures, type Figures, type HandledRecord } from '../report/figures.ts';
import { handoffFigures, handoffs as findHandoffs, type HandoffFigures } from '../report/handoffs.ts';
import type { Panel } from '../report/timeline-svg.ts';
import { SimDeployment } from './deployment.ts';
import { sleep, waitFor } from '../../test/harness/wait.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const BOT = join(root, 'e2e', 'bots', 'bot.ts');
/** The Python twin, on python/baton_worker.py. */
export const BOT_PY = join(root, 'e2e', 'bots', 'bot.py');

export interface Contender {
  /** Short name for tables. */
  name: string;
  description: string;
  /** undefined = baton's sidecar; otherwise the peer process that replaces it. */
  agent?: (podName: string) => SimPodOptions['agent'];
  /** baton as a native sidecar (SIGTERM after the bot exits; the handoff starts at the deletionTimestamp). */
  native?: boolean;
  /** Sidecar environment (timings) for baton. */
  env?: Record<string, string>;
}

export interface RolloutOptions {
  contender: Contender;
  namespace: string;
  kubeconfig: string;
  kc: k8s.KubeConfig;
  dir: string;
  rollouts: number;
  /** Updates per second. */
  rate: number;
  handlerMs: number;
  limit: number;
  framework?: 'plain' | 'grammy' | 'telegraf' | 'ntba' | 'python';
  /** Rolling updates of an idle bot (no traffic at all) before the load starts. Default 0. */
  idleRollouts?: number;
  kill?: boolean;
  scaleToZero?: boolean;
  /** Pause between steps, so each handoff has load on both sides. */
  settleMs?: number;
  /** Use the compiled sidecar (benchmarks) or the source (tests). */
  compiled?: boolean;
  /**
   * The sidecar program of the n-th pod (1-based), overriding `compiled`: an upgrade test runs the
   * previous release's bundle in some pods and this tree in the others.
   */
  sidecarFor?: (n: number) => Pick<SimPodOptions, 'cli' | 'nodeArgs'>;
  log?: (line: string) => void;
}

/** One contender's rolling updates measured (a fault scenario's verdict is a ChaosResult). */
export interface RolloutResult {
  contender: string;
  description: string;
  figures: Figures;
  panel: Panel;
  durationMs: number;
  /** Graceful handoffs of the idle bot (pause signal → new bot polls), if `idleRollouts` > 0. */
  idle: HandoffFigures | undefined;
  /** Graceful handoffs under load (the rolling updates after the load started). */
  loaded: HandoffFigures;
  /** getUpdates calls parked by Telegram's same-offset rule (timeout forced to 3 s, nothing to return). */
  forcedTimeouts: number;
}

export async function runScenario(o: RolloutOptions): Promise<RolloutResult> {
  const log = o.log ?? (() => undefined);
  const c = o.contender;
  const token = '123456:e2e-token';
  const double = new TelegramDouble();
  const { url } = await double.start({ tokens: [token] });
  const lease = `e2e-${c.name.replace(/[^a-z0-9-]/g, '-')}`;
  const started = performance.timeOrigin + performance.now();
  const dep = new SimDeployment({
    log: (l) => log(`${c.name}: ${l}`),
    readiness: { periodMs: 500, successThreshold: 2 },
    podOptions: (n) => {
      const name = `${lease}-${n}`;
      return {
        name,
        namespace: o.namespace,
        leaseName: lease,
        kubeconfig: o.kubeconfig,
        kc: o.kc,
        dir: o.dir,
        env: { BATON_LOG_LEVEL: 'debug', ...c.env },
        preStopMs: 2000,
        graceMs: 60_000,
        native: c.native ?? false,
        ...(o.compiled ? { cli: join(root, 'dist', 'cli.js'), nodeArgs: SIDECAR_NODE_FLAGS } : {}),
        ...o.sidecarFor?.(n),
        ...(c.agent ? { agent: c.agent(name) } : {}),
        worker: {
          command: o.framework === 'python' ? 'python3' : process.execPath,
          args: [o.framework === 'python' ? BOT_PY : BOT],
          env: {
            TELEGRAM_BOT_TOKEN: token,
            // A path prefix names this bot in the double's ledger.
            TELEGRAM_API_ROOT: `${url}/${name}`,
            BOT_NAME: name,
            BOT_LOG: join(o.dir, `${name}.worker.jsonl`),
            BOT_FRAMEWORK: o.framework ?? 'plain',
            BOT_HANDLER_MS: String(o.handlerMs),
            BOT_LIMIT: String(o.limit),
          },
        },
      };
    },
  });
  const someonePolls = () => dep.pods.some((p) => p.polling());
  // Between steps: let the new bot work off what queued up during the handoff, then a little steady
  // state, so each step starts from the same calm (a SIGKILL mid-backlog would mix two effects).
  const settle = async () => {
    const queued = () => double.injectedUpdates();
    await waitFor(`${c.name}: the backlog is worked off`, () => handledIds(dep.pods).size >= queued() - o.rate, 60_000).catch(() => undefined);
    await sleep(o.settleMs ?? 3000);
  };
  let load: ReturnType<TelegramDouble['startLoad']> | undefined;
  try {
    await dep.deploy();
    await waitFor(`${c.name}: the first bot polls`, someonePolls, 15_000);
    // An idle bot first: no traffic at all, so every pause finds its long poll parked.
    for (let i = 0; i < (o.idleRollouts ?? 0); i++) {
      await sleep(o.settleMs ?? 3000);
      await dep.rollout(`idle rollout ${i + 1}`);
      await dep.settle();
      await waitFor(`${c.name}: a bot polls after idle rollout ${i + 1}`, someonePolls, 90_000);
    }
    const idleEnd = performance.timeOrigin + performance.now();
    load = double.startLoad({ ratePerSecond: o.rate, token });
    await settle();
    let handoffs = 0;
    for (let i = 0; i < o.rollouts; i++) {
      await dep.rollout(`rollout ${i + 1}`);
      handoffs++;
      await dep.settle();
      await waitFor(`${c.name}: a bot polls after rollout ${i + 1}`, someonePolls, 90_000);
      await settle();
    }
    const rolloutsEnd = performance.timeOrigin + performance.now();
    let killedAt: number | undefined;
    if (o.kill) {
      killedAt = performance.timeOrigin + performance.now();
      await dep.killLeader((p) => p.polling());
      handoffs++;
      await waitFor(`${c.name}: a bot polls after the SIGKILL`, someonePolls, 90_000);
      await settle();
    }
    if (o.scaleToZero) {
      await dep.scaleToZeroAndBack(2000);
      handoffs++;
      await waitFor(`${c.name}: a bot polls after scaling back`, someonePolls, 90_000);
      await settle();
    }
    await load.stop();
    const injectedAll = double.injected().filter((r) => r.updateId !== null);
    // Let the last bot work off its queue: an update still waiting now is late, not lost.
    await waitFor(`${c.name}: the queue is worked off`, () => handledIds(dep.pods).size >= double.injectedUpdates(), 60_000).catch(() => undefined);
    const end = performance.timeOrigin + performance.now();
    const intervals = dep.pods.flatMap((p) => pollIntervals(readWorkerLog(p.workerLog), end, p.deaths));
    const handled: HandledRecord[] = dep.pods.flatMap((p) =>
      readWorkerLog(p.workerLog)
        .filter((l) => l.event === 'handled')
        .map((l) => ({ update: (l as unknown as { update: number }).update, name: l.name, mono: l.mono })),
    );
    const f = figures({
      intervals,
      handled,
      injected: injectedAll.map((r) => ({ updateId: r.updateId!, at: r.at })),
      conflicts409: double.conflicts({ token }).seen,
      conflicts409Unseen: double.conflicts({ token }).total - double.conflicts({ token }).seen,
      end,
      downtime: dep.downtime,
      handoffs,
      rolloutsEnd,
      ...(killedAt === undefined ? {} : { killedAt }),
    });
    const panel: Panel = {
      title: `${c.name} — ${c.description}`,
      subtitle: `rollouts: gap median ${f.rollouts.gapP50Ms} ms, max ${f.rollouts.gapMaxMs} ms; SIGKILL failover ${f.crashFailoverMs ?? '-'} ms; two pollers ${f.twoPollersMs} ms; 409s ${f.conflicts409}; duplicates ${f.handledTwice}; lost ${f.lost}`,
      intervals,
      start: Math.min(...intervals.map((i) => i.from)),
      end,
      downtime: dep.downtime,
      marks: dep.marks,
    };
    const lines = dep.pods.flatMap((p) => readWorkerLog(p.workerLog));
    const idle = (o.idleRollouts ?? 0) > 0 ? handoffFigures(findHandoffs(lines, -Infinity, idleEnd)) : undefined;
    const loaded = handoffFigures(findHandoffs(lines, idleEnd, rolloutsEnd));
    // A forced timeout parks only when there is nothing to return (a call that got updates did not wait).
    const requests = double.requests();
    const ends = new Map(requests.filter((r) => r.type === 'end').map((r) => [r.requestId, r]));
    const forcedTimeouts = requests.filter((r) => r.type === 'start' && r.forcedTimeout && ends.get(r.requestId)?.outcome !== 'updates').length;
    return { contender: c.name, description: c.description, figures: f, panel, durationMs: end - started, idle, loaded, forcedTimeouts };
  } finally {
    await load?.stop();
    await dep.teardown();
    await double.stop();
  }
}

function handledIds(pods: SimPod[]): Set<number> {
  const ids = new Set<number>();
  for (const p of pods) for (const l of readWorkerLog(p.workerLog)) if (l.event === 'handled') ids.add((l as unknown as { update: number }).update);
  return ids;
}
