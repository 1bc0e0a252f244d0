// Issue 18, item 3c: BATON_POD_LABEL=true without the right to patch pods must never stall a rollout.
// Before, the sidecar started, its first label patch got a 403, and /readyz stayed 503 ("RBAC: may not
// patch pods") for ever — a `maxUnavailable: 0` rollout waited on a pod that could never become ready.
// Now the right is proven at start with a server-side dry-run patch of the own Pod: a refusal exits 2 with
// one line naming the fix, before anything else starts; a right revoked later is logged and counted, and
// readiness does not depend on it. Real API server, real RBAC, the real CLI for the exit code.
//   npx vitest run --project integration test/integration/kube/pod-label-right.test.ts
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { pino } from 'pino';
import * as k8s from '@kubernetes/client-node';
import { startBaton, type RunningBaton } from '../../../src/app.ts';
import { ConfigError, loadConfig } from '../../../src/config.ts';
import { loadConnection } from '../../../src/kube/connection.ts';
import { KubeApiError } from '../../../src/kube/errors.ts';
import { podPath } from '../../../src/kube/pod-watch.ts';
import { KubeClient } from '../../../src/kube/rest.ts';
import { adminKubeConfig, freshNamespace, serviceAccountKubeconfig, sidecarRules } from '../../kube/cluster.ts';
import { FaultProxy } from '../../kube/fault-proxy.ts';
import { freePort } from '../../kube/ports.ts';
import { sleep, waitForValue, type WaitOptions } from '../../harness/wait.ts';

const kube = inject('kube');
const CLI = join(import.meta.dirname, '../../../src/cli.ts');
let namespace: string;
let core: k8s.CoreV1Api;
let rbac: k8s.RbacAuthorizationV1Api;
let worker: ChildProcess;
let pidFile: string;

/** The chart's Role without `patch` on pods (list and watch stay: the Pod watch needs them). */
const withoutPatch = (lease: string): k8s.V1PolicyRule[] =>
  sidecarRules(lease).map((r) => (r.resources?.includes('pods') ? { ...r, verbs: (r.verbs ?? []).filter((v) => v !== 'patch') } : r));

function env(lease: string, pod: string): Record<string, string> {
  return {
    BATON_LEASE_NAME: lease,
    BATON_NAMESPACE: namespace,
    POD_NAME: pod,
    BATON_POD_LABEL: 'true',
    BATON_TARGET_PID_FILE: pidFile,
    BATON_LISTEN: '127.0.0.1:0',
    BATON_PROBE_LISTEN: '127.0.0.1:0',
    BATON_LEASE_DURATION: '3s',
    BATON_RENEW_DEADLINE: '2s',
    BATON_RETRY_PERIOD: '500ms',
  };
}

async function createPod(name: string): Promise<void> {
  await core.createNamespacedPod({ namespace, body: { metadata: { name }, spec: { containers: [{ name: 'bot', image: 'example/bot' }] } } });
}

async function roleLabel(pod: string): Promise<string | undefined> {
  return (await core.readNamespacedPod({ name: pod, namespace })).metadata?.labels?.['baton/role'];
}

/** The API server and the sidecar answer in milliseconds, each question is a request: ask every 100 ms. */
const EVERY_100_MS: WaitOptions = { everyMs: 100 };

beforeAll(async () => {
  namespace = await freshNamespace(kube, 'pod-label-right');
  const kc = adminKubeConfig(kube);
  core = kc.makeApiClient(k8s.CoreV1Api);
  rbac = kc.makeApiClient(k8s.RbacAuthorizationV1Api);
  // A worker with both signal handlers, so that readiness depends on nothing but the API and RBAC.
  worker = spawn(process.execPath, ['-e', "process.on('SIGUSR1',()=>{});process.on('SIGUSR2',()=>{});setInterval(()=>{},1e6)"], { stdio: 'ignore' });
  pidFile = join(kube.dir, `${namespace}-bot.pid`);
  writeFileSync(pidFile, `${worker.pid}\n`);
});

afterAll(() => {
  worker?.kill('SIGKILL');
});

describe('BATON_POD_LABEL=true without `patch pods`', () => {
  it('is refused at start by the CLI: exit 2, one line naming the fix, and no Lease written', async () => {
    await createPod('pod-a');
    const kubeconfig = await serviceAccountKubeconfig(kube, namespace, 'no-patch', withoutPatch('refused'));
    const child = spawn(process.execPath, [CLI], {
      env: { PATH: process.env.PATH ?? '', KUBECONFIG: kubeconfig, ...env('refused', 'pod-a') },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdout.resume();
    const code = await new Promise<number | null>((resolve) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        resolve(null);
      }, 20_000);
      child.on('exit', (c) => {
        clearTimeout(timer);
        resolve(c);
      });
    });
    expect(code, `still running after 20 s (stderr: ${stderr})`).toBe(2);
    const lines = stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      /^baton: BATON_POD_LABEL=true, but the API server refuses this sidecar's patch of its own Pod "pod-a" in namespace "pod-label-right-[0-9a-f]+" \(403 Forbidden: /,
    );
    expect(lines[0]).toContain('grant `patch` on pods');
    expect(lines[0]).toContain('BATON_POD_LABEL=false');
    // Nothing half-started: the Lease was never created, the Pod never labelled.
    const lease = await adminKubeConfig(kube)
      .makeApiClient(k8s.CoordinationV1Api)
      .readNamespacedLease({ name: 'refused', namespace })
      .then(
        () => 'exists',
        () => 'absent',
      );
    expect(lease).toBe('absent');
    expect(await roleLabel('pod-a')).toBeUndefined();
  });

  it('a right revoked at runtime is an error in the log, counted in the metrics, and never makes /readyz fail', async () => {
    await createPod('pod-b');
    const kubeconfig = await serviceAccountKubeconfig(kube, namespace, 'revoked', sidecarRules('revoked'));
    const connection = await loadConnection({ env: { KUBECONFIG: kubeconfig } });
    const lines: Array<{ level: number; event?: string; status?: number; msg: string }> = [];
    const logger = pino({ level: 'debug' }, { write: (s: string) => void lines.push(JSON.parse(s) as (typeof lines)[number]) });
    let baton: RunningBaton | undefined;
    try {
      baton = await startBaton(loadConfig({ argv: [], env: env('revoked', 'pod-b') }), connection, logger);
      const readyz = async () => (await fetch(`${baton!.listen.probe}/readyz`)).json() as Promise<{ ready: boolean; missing: string[] }>;
      await waitForValue(
        'leader, labelled, ready',
        async () => ({ label: await roleLabel('pod-b'), ready: (await readyz()).ready }),
        (s) => s.label === 'leader' && s.ready,
        20_000,
        EVERY_100_MS,
      );

      // The right is revoked, then someone changes the label: baton must put it back and cannot.
      await rbac.replaceNamespacedRole({ name: 'revoked', namespace, body: { metadata: { name: 'revoked' }, rules: withoutPatch('revoked') } });
      await sleep(500); // RBAC's cache follows the Role through a watch
      await core.patchNamespacedPod(
        { name: 'pod-b', namespace, body: { metadata: { labels: { 'baton/role': 'standby' } } } },
        k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
      );
      const metrics = async () => (await fetch(`${baton!.listen.probe}/metrics`)).text();
      await waitForValue(
        'a refused label patch, counted',
        metrics,
        (m) => /^baton_kube_requests_total\{verb="patch",resource="pods",code="403"\} [1-9]/m.test(m),
        15_000,
        EVERY_100_MS,
      );
      // Readiness stays true through several retries of the refused patch.
      for (let i = 0; i < 10; i++) {
        expect(await readyz()).toEqual({ ready: true, missing: [] });
        await sleep(300);
      }
      const refused = lines.filter((l) => l.event === 'pod-label-refused');
      expect(refused[0]).toMatchObject({ level: 50, status: 403 });
      // Repeats of the same refusal are not a new error line each.
      expect(lines.filter((l) => l.event === 'pod-label-refused' && l.level >= 50)).toHaveLength(1);

      // Granted again: the label is put back, and the log says so once.
      await rbac.replaceNamespacedRole({ name: 'revoked', namespace, body: { metadata: { name: 'revoked' }, rules: sidecarRules('revoked') } });
      await waitForValue(
        'the label put back',
        () => roleLabel('pod-b'),
        (v) => v === 'leader',
        20_000,
        EVERY_100_MS,
      );
      await waitForValue(
        'the recovery logged',
        () => lines.filter((l) => l.event === 'pod-label-restored'),
        (l) => l.length === 1,
        5_000,
        EVERY_100_MS,
      );
    } finally {
      await baton?.close();
    }
  });

  it('startBaton throws a ConfigError (the CLI exits 2) and leaves nothing listening', async () => {
    await createPod('pod-c');
    const kubeconfig = await serviceAccountKubeconfig(kube, namespace, 'no-patch-c', withoutPatch('refused-c'));
    const connection = await loadConnection({ env: { KUBECONFIG: kubeconfig } });
    const port = await freePort();
    const config = loadConfig({ argv: [], env: { ...env('refused-c', 'pod-c'), BATON_PROBE_LISTEN: `127.0.0.1:${port}` } });
    const err = await startBaton(config, connection, pino({ level: 'silent' })).then(
      (b) => b.close().then(() => new Error('started')),
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ConfigError);
    const probe = await fetch(`http://127.0.0.1:${port}/readyz`).then(
      (r) => `answered ${r.status}`,
      () => 'closed',
    );
    expect(probe).toBe('closed');
  });

  it("an admission policy that denies the label is caught by the dry run, with the policy's own words", async () => {
    await createPod('pod-d');
    // Full rights (patch included), but a ValidatingAdmissionPolicy denies this ServiceAccount every pod update.
    const kubeconfig = await serviceAccountKubeconfig(kube, namespace, 'policed', sidecarRules('policed'));
    const user = `system:serviceaccount:${namespace}:policed`;
    const admission = adminKubeConfig(kube).makeApiClient(k8s.AdmissionregistrationV1Api);
    const name = `deny-labels.${namespace}`;
    await admission.createValidatingAdmissionPolicy({
      body: {
        metadata: { name },
        spec: {
          failurePolicy: 'Fail',
          matchConstraints: { resourceRules: [{ apiGroups: [''], apiVersions: ['v1'], operations: ['UPDATE'], resources: ['pods'] }] },
          matchConditions: [{ name: 'only-this-account', expression: `request.userInfo.username == "${user}"` }],
          validations: [{ expression: 'false', reason: 'Forbidden', message: 'pod labels here are managed by the platform team' }],
        },
      },
    });
    await admission.createValidatingAdmissionPolicyBinding({
      body: {
        metadata: { name },
        spec: {
          policyName: name,
          validationActions: ['Deny'],
          matchResources: { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': namespace } } },
        },
      },
    });
    try {
      const connection = await loadConnection({ env: { KUBECONFIG: kubeconfig } });
      // The policy takes effect once the API server's informer has it: wait until a plain dry run is refused.
      const client = new KubeClient(connection);
      await waitForValue(
        'the policy in force',
        () =>
          client
            .request({
              verb: 'patch',
              resource: 'pods',
              method: 'PATCH',
              path: podPath(namespace, 'pod-d'),
              query: { dryRun: 'All' },
              body: { metadata: { labels: { x: 'y' } } },
              contentType: 'application/merge-patch+json',
              timeoutMs: 5000,
            })
            .then(
              () => 0,
              (e: unknown) => (e instanceof KubeApiError ? e.status : -1),
            ),
        (status) => status === 403,
        20_000,
        EVERY_100_MS,
      );
      client.close();
      const err = await startBaton(loadConfig({ argv: [], env: env('policed', 'pod-d') }), connection, pino({ level: 'silent' })).then(
        (b) => b.close().then(() => new Error('started')),
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as Error).message).toContain('(403 Forbidden: ');
      expect((err as Error).message).toContain('pod labels here are managed by the platform team');
      expect((err as Error).message).toContain('BATON_POD_LABEL=false');
      expect(await roleLabel('pod-d')).toBeUndefined();
    } finally {
      await admission.deleteValidatingAdmissionPolicyBinding({ name });
      await admission.deleteValidatingAdmissionPolicy({ name });
    }
  });

  it('an API server that does not answer at start is waited for, never taken for a refusal; the probes answer meanwhile', async () => {
    await createPod('pod-e');
    const kubeconfig = await serviceAccountKubeconfig(kube, namespace, 'patient', sidecarRules('patient'));
    const proxy = new FaultProxy(kube.server);
    const connection = { ...(await loadConnection({ env: { KUBECONFIG: kubeconfig } })), server: await proxy.start() };
    proxy.pause('reset');
    const port = await freePort();
    const config = loadConfig({ argv: [], env: { ...env('patient', 'pod-e'), BATON_PROBE_LISTEN: `127.0.0.1:${port}` } });
    let outcome: RunningBaton | Error | undefined;
    const starting = startBaton(config, connection, pino({ level: 'silent' })).then(
      (b) => (outcome = b),
      (e: unknown) => (outcome = e as Error),
    );
    try {
      const probe = (path: string) =>
        fetch(`http://127.0.0.1:${port}${path}`).then(
          (r) => r.status,
          () => 0,
        );
      await waitForValue(
        'the probe server up',
        () => probe('/healthz'),
        (s) => s === 200,
        10_000,
        EVERY_100_MS,
      );
      // Several failed attempts (backoff 250 ms doubling): still starting, alive, not ready.
      await sleep(2_000);
      expect(outcome).toBeUndefined();
      expect(await probe('/healthz')).toBe(200);
      expect(await probe('/readyz')).toBe(503);
      proxy.resume();
      await starting;
      expect(outcome).not.toBeInstanceOf(Error);
      await waitForValue(
        'labelled',
        () => roleLabel('pod-e'),
        (v) => v === 'leader' || v === 'standby',
        20_000,
        EVERY_100_MS,
      );
    } finally {
      proxy.resume();
      await starting;
      if (outcome && !(outcome instanceof Error)) await outcome.close();
      await proxy.stop();
    }
  });
});
