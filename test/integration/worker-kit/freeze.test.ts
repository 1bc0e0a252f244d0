// The dead-man's switch tied to the Lease: the leader's sidecar is frozen (SIGSTOP) while its bot has
// batches longer than a second in hand. The bot stops renewing being told anything, so the kit must
// pause by itself once the Lease has gone unrenewed for the renew deadline — and finish its batch —
// before the standby may take the Lease (a lease duration after the last renewal). Judged from the
// bots' own logs and the Telegram double: never two pollers, nothing handled twice, no 409 seen.
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type * as k8s from '@kubernetes/client-node';
import { adminKubeConfig, freshNamespace } from '../../kube/cluster.ts';
import { SimPod } from '../../harness/sim-pod.ts';
import { describeIntervals, overlap, pollIntervals, readWorkerLog } from '../../harness/timeline.ts';
import { TelegramDouble } from '../../../e2e/telegram/server.ts';
import { BOT, BOT_PY } from '../../../e2e/rollout/scenario.ts';
import { sleep, waitFor } from '../../harness/wait.ts';

const kube = inject('kube');
// Margin: lease duration − renew deadline = 3 s, for batches of 1.5 s.
const TIMINGS = { BATON_LEASE_DURATION: '7s', BATON_RENEW_DEADLINE: '4s', BATON_RETRY_PERIOD: '1s', BATON_LOG_LEVEL: 'debug' };
const token = '123456:freeze';
let namespace: string;
let kc: k8s.KubeConfig;
const dir = mkdtempSync(join(tmpdir(), 'baton-freeze-'));
const pods: SimPod[] = [];

beforeAll(async () => {
  namespace = await freshNamespace(kube, 'freeze');
  kc = adminKubeConfig(kube);
});
afterAll(async () => {
  for (const p of pods) {
    p.sidecar?.kill('SIGCONT');
    p.kill();
  }
  await Promise.all(pods.map((p) => p.exited().catch(() => undefined)));
});

describe.each(['node', 'python'] as const)('a frozen sidecar (%s kit)', (kind) => {
  it('its bot pauses by itself, batch finished, before the standby starts: no two pollers, nothing handled twice', async () => {
    const double = new TelegramDouble();
    const { url } = await double.start({ tokens: [token] });
    const lease = `freeze-${kind}`;
    const pod = async (n: number) => {
      const name = `${lease}-${n}`;
      const p = new SimPod({
        name,
        namespace,
        leaseName: lease,
        kubeconfig: kube.adminKubeconfig,
        kc,
        dir,
        env: TIMINGS,
        preStopMs: 500,
        graceMs: 30_000,
        worker: {
          command: kind === 'python' ? 'python3' : process.execPath,
          args: [kind === 'python' ? BOT_PY : BOT],
          env: {
            TELEGRAM_BOT_TOKEN: token,
            TELEGRAM_API_ROOT: `${url}/${name}`,
            BOT_NAME: name,
            BOT_LOG: join(dir, `${name}.worker.jsonl`),
            BOT_FRAMEWORK: 'plain',
            BOT_HANDLER_MS: '750',
            BOT_LIMIT: '2',
          },
        },
      });
      pods.push(p);
      await p.start();
      await waitFor(`${name} ready`, () => p.ready(), 90_000);
      return p;
    };
    let load: ReturnType<TelegramDouble['startLoad']> | undefined;
    try {
      const a = await pod(1);
      await waitFor('a polls', () => a.polling(), 60_000);
      const b = await pod(2);
      load = double.startLoad({ ratePerSecond: 4, token });
      // A backlog, so a 1.5 s batch is in hand when the sidecar freezes.
      await sleep(2500);
      const frozenAt = performance.timeOrigin + performance.now();
      a.sidecar!.kill('SIGSTOP');
      await waitFor('b polls', () => b.polling(), 30_000);
      await sleep(2000);
      await load.stop();
      const end = performance.timeOrigin + performance.now();
      const aLog = readWorkerLog(a.workerLog);
      const bLog = readWorkerLog(b.workerLog);
      const intervals = pollIntervals([...aLog, ...bLog], end);
      const aStop = intervals.filter((i) => i.name === a.opts.name).at(-1)!.to;
      const bStart = intervals.find((i) => i.name === b.opts.name)!.from;
      const handled = [...aLog, ...bLog].filter((l) => l.event === 'handled').map((l) => (l as unknown as { update: number }).update);
      const twice = handled.filter((id, i) => handled.indexOf(id) !== i);
      console.log(
        `${kind}: frozen → a paused itself ${Math.round(aStop - frozenAt)} ms, → b polls ${Math.round(bStart - frozenAt)} ms; margin ${Math.round(bStart - aStop)} ms; handled ${handled.length}, twice ${twice.length}`,
      );
      expect(aLog.some((l) => l.event === 'kit' && /dead-man/.test(String((l as unknown as { message: string }).message)))).toBe(true);
      expect(overlap(intervals).totalMs, describeIntervals(intervals)).toBe(0);
      expect(bStart).toBeGreaterThan(aStop);
      expect(twice).toEqual([]);
      expect(double.conflicts({ token }).seen).toBe(0);
      expect(handled.length).toBeGreaterThan(5);
    } finally {
      await load?.stop();
      for (const p of pods) {
        p.sidecar?.kill('SIGCONT');
        p.kill();
      }
      await Promise.all(pods.map((p) => p.exited().catch(() => undefined)));
      pods.length = 0;
      await double.stop();
    }
  }, 300_000);
});
