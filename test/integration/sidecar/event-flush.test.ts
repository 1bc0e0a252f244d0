// E1 on the real sidecar (startBaton, as the CLI runs it) and a real API server behind an HTTP proxy that
// makes Event POSTs land 1.5 s late: the CLI exits as soon as close() returns, so close() must return only
// after the handoff's Events were answered. Before, close() returned at once and the exit dropped them
// (issue 19: sidecar/handoff missed the exiting pod's LeaderReleased 1 run in 4 on a loaded machine).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { pino } from 'pino';
import * as k8s from '@kubernetes/client-node';
import { startBaton, type RunningBaton } from '../../../src/app.ts';
import { loadConfig } from '../../../src/config.ts';
import { loadConnection } from '../../../src/kube/connection.ts';
import { KubeHttpProxy } from '../../kube/fault-proxy.ts';
import { adminKubeConfig, freshNamespace } from '../../kube/cluster.ts';
import { sleep, waitFor, type WaitOptions } from '../../harness/wait.ts';

const kube = inject('kube');
let namespace: string;
let proxy: KubeHttpProxy;
let baton: RunningBaton | undefined;
let worker: ChildProcess | undefined;
let dir: string;
const lines: Array<{ event?: string; outcome?: string; msg: string }> = [];

// A worker with both handlers installed (the sidecar signals only such a process), confirming nothing.
const WORKER = "process.on('SIGUSR1', () => {}); process.on('SIGUSR2', () => {}); setInterval(() => {}, 1000);";

const EVERY_50_MS: WaitOptions = { everyMs: 50 };

beforeAll(async () => {
  namespace = await freshNamespace(kube, 'event-flush');
  await adminKubeConfig(kube)
    .makeApiClient(k8s.CoreV1Api)
    .createNamespacedPod({ namespace, body: { metadata: { name: 'pod-a' }, spec: { containers: [{ name: 'bot', image: 'example/bot' }] } } });
  dir = mkdtempSync(join(tmpdir(), 'baton-event-flush-'));
  worker = spawn(process.execPath, ['-e', WORKER], { stdio: 'ignore' });
  writeFileSync(join(dir, 'bot.pid'), String(worker.pid));
  proxy = new KubeHttpProxy(kube);
  const connection = { ...(await loadConnection({ env: { KUBECONFIG: kube.adminKubeconfig } })), server: await proxy.start() };
  const config = loadConfig({
    argv: [],
    env: {
      BATON_LEASE_NAME: 'bot',
      BATON_NAMESPACE: namespace,
      POD_NAME: 'pod-a',
      BATON_TARGET_PID_FILE: join(dir, 'bot.pid'),
      BATON_LISTEN: '127.0.0.1:0',
      BATON_PROBE_LISTEN: '127.0.0.1:0',
      // The defaults (request timeout 5 s: the bound of close()'s wait); a short drain, the worker never confirms.
      BATON_DRAIN: '200ms',
      BATON_PAUSE_ACK_TIMEOUT: '200ms',
    },
  });
  const logger = pino({ level: 'debug' }, { write: (s: string) => void lines.push(JSON.parse(s) as (typeof lines)[number]) });
  baton = await startBaton(config, connection, logger);
}, 60_000);

afterAll(async () => {
  await baton?.close();
  await proxy?.stop();
  worker?.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

describe('shutdown waits for the Events in flight (E1)', () => {
  it('close() after a handoff returns only once the LeaderReleased Events were answered by the API server', async () => {
    await waitFor('leader', () => baton!.sidecar.status().isLeader, 30_000, EVERY_50_MS);
    // The LeaderElected Events first, so that only the handoff's Events go through the slow path.
    const api = adminKubeConfig(kube).makeApiClient(k8s.EventsV1Api);
    const reasons = async () => (await api.listNamespacedEvent({ namespace })).items.map((e) => e.reason);
    for (const deadline = Date.now() + 30_000; (await reasons()).filter((r) => r === 'LeaderElected').length < 2;) {
      if (Date.now() > deadline) throw new Error('LeaderElected Events: not within 30 s');
      await sleep(100);
    }
    proxy.rule((call) => (call.method === 'POST' && call.url.includes('/events') ? { kind: 'delay', ms: 1_500 } : undefined));
    await baton!.handOver('SIGTERM');
    await baton!.close();
    // What an exit right now would keep: every Event POST of the handoff answered.
    const posts = proxy.faults.filter((f) => f.url.includes('/events'));
    expect(posts.length, 'Event POSTs that reached the API server before close() returned').toBe(2); // LeaderReleased on the Lease and on the Pod
    expect(posts.map((p) => p.status)).toEqual([201, 201]);
    expect(lines.filter((l) => l.event === 'events-flush')).toEqual([]);
    const events = await api.listNamespacedEvent({ namespace });
    expect(
      events.items
        .filter((e) => e.reason === 'LeaderReleased')
        .map((e) => e.regarding?.kind)
        .sort(),
    ).toEqual(['Lease', 'Pod']);
  });
});
