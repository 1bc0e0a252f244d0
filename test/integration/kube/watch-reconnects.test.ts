// Issue 14, finding 3: after the API server went away and came back, nothing showed whether the Lease
// and Pod watches were re-established. The real sidecar (startBaton, as the CLI runs it) talks to the
// real API server through a fault proxy; the proxy stalls, then refuses, the API server for a few
// seconds. /metrics must count the reconnects with their reasons, and the log must hold one warning per
// watch for the reconnect loop and one info line per watch when it is back — and nothing more at info.
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { pino } from 'pino';
import * as k8s from '@kubernetes/client-node';
import { startBaton, type RunningBaton } from '../../../src/app.ts';
import { loadConfig } from '../../../src/config.ts';
import { loadConnection } from '../../../src/kube/connection.ts';
import { FaultProxy } from '../../kube/fault-proxy.ts';
import { adminKubeConfig, freshNamespace } from '../../kube/cluster.ts';
import { sleep, waitForValue, type WaitOptions } from '../../harness/wait.ts';

const kube = inject('kube');
let namespace: string;
let proxy: FaultProxy;
let baton: RunningBaton | undefined;
const lines: Array<{ level: number; event?: string; watch?: string; reason?: string; msg: string }> = [];

const WARN = 40;
const INFO = 30;

beforeAll(async () => {
  namespace = await freshNamespace(kube, 'watch-reconnects');
  // The own Pod, so that both watches run (as in a cluster).
  await adminKubeConfig(kube)
    .makeApiClient(k8s.CoreV1Api)
    .createNamespacedPod({ namespace, body: { metadata: { name: 'pod-a' }, spec: { containers: [{ name: 'bot', image: 'example/bot' }] } } });
  proxy = new FaultProxy(kube.server);
  const connection = { ...(await loadConnection({ env: { KUBECONFIG: kube.adminKubeconfig } })), server: await proxy.start() };
  const config = loadConfig({
    argv: [],
    env: {
      BATON_LEASE_NAME: 'bot',
      BATON_NAMESPACE: namespace,
      POD_NAME: 'pod-a',
      // No worker: this pod never leads, so only the watches (and readiness) talk to the API server.
      BATON_TARGET_PID_FILE: '/nonexistent/bot.pid',
      BATON_LISTEN: '127.0.0.1:0',
      BATON_PROBE_LISTEN: '127.0.0.1:0',
      // Short timings: the request timeout (renew deadline / 2, at least 1 s) ends stalled requests.
      BATON_LEASE_DURATION: '3s',
      BATON_RENEW_DEADLINE: '2s',
      BATON_RETRY_PERIOD: '500ms',
    },
  });
  const logger = pino({ level: 'debug' }, { write: (s: string) => void lines.push(JSON.parse(s) as (typeof lines)[number]) });
  baton = await startBaton(config, connection, logger);
});

afterAll(async () => {
  await baton?.close();
  await proxy?.stop();
});

async function starts(): Promise<Map<string, number>> {
  const text = await (await fetch(`${baton!.listen.probe}/metrics`)).text();
  const map = new Map<string, number>();
  for (const m of text.matchAll(/^baton_watch_starts_total\{watch="(\w+)",reason="(\w+)"\} (\d+)$/gm)) map.set(`${m[1]}/${m[2]}`, Number(m[3]));
  return map;
}

/** The API server and the sidecar answer in milliseconds, each question is a request: ask every 100 ms. */
const EVERY_100_MS: WaitOptions = { everyMs: 100 };

/** Sorted as the checks below sort the log's lines. */
const WATCHES = ['lease', 'peers', 'pod'];
const watchLines = (event: string) => lines.filter((l) => l.event === event).map((l) => `${l.level} ${l.watch}`);

describe('watch reconnects are visible', () => {
  it('counts each (re)start by reason, warns once per watch for the outage, says once when each watch is back', async () => {
    // Three watches: the Lease, the own Pod, and the Lease's pods (rule Y1).
    const initial = await waitForValue('the watches started', starts, (m) => WATCHES.every((w) => m.get(`${w}/initial`) === 1), 10_000, EVERY_100_MS);
    for (const reason of ['closed', 'expired', 'timeout', 'error']) for (const w of WATCHES) expect(initial.get(`${w}/${reason}`)).toBe(0);
    const quietFrom = lines.length;

    // The API server vanishes: first half-open (connections accepted, never answered), then refused.
    proxy.pause('stall');
    await waitForValue(
      'a stalled request timing out on each watch',
      starts,
      (m) => WATCHES.every((w) => (m.get(`${w}/timeout`) ?? 0) >= 1),
      15_000,
      EVERY_100_MS,
    );
    proxy.pause('reset');
    await waitForValue(
      'refused attempts on each watch, and the loop warnings',
      () => watchLines('watch-loop'),
      (w) => WATCHES.every((x) => w.includes(`${WARN} ${x}`)),
      15_000,
      EVERY_100_MS,
    );
    await sleep(1000);
    proxy.resume();
    await waitForValue(
      'the watches back',
      () => watchLines('watch-recovered'),
      (w) => WATCHES.every((x) => w.includes(`${INFO} ${x}`)),
      15_000,
      EVERY_100_MS,
    );

    const after = await starts();
    for (const watch of WATCHES) {
      expect(after.get(`${watch}/initial`)).toBe(1);
      // The cut connection and the refused attempts are errors, the stalled attempts timeouts.
      expect(after.get(`${watch}/error`)).toBeGreaterThanOrEqual(2);
      expect(after.get(`${watch}/timeout`)).toBeGreaterThanOrEqual(1);
    }
    // One warning per watch for the whole loop, not one per attempt; one info line per watch when it is back.
    expect(watchLines('watch-loop').sort()).toEqual(WATCHES.map((w) => `${WARN} ${w}`));
    expect(watchLines('watch-recovered').sort()).toEqual(WATCHES.map((w) => `${INFO} ${w}`));
    // Each attempt is a debug line.
    const restarts = lines.slice(quietFrom).filter((l) => l.event === 'watch-restart');
    expect(restarts.length).toBe([...after].filter(([k]) => !k.endsWith('/initial')).reduce((n, [, v]) => n + v, 0));
    expect(restarts.every((l) => l.level < INFO)).toBe(true);
  });
});
