// The chart's ValidatingAdmissionPolicy against the real API server, with ServiceAccount tokens bound to a
// Pod as the kubelet mints them (TokenRequest with boundObjectRef: that is what puts the Pod's name into
// the user's extra fields). Every request below is made with the chart's own ServiceAccount, and each
// answer is checked and printed as a table: who refused it (RBAC or the policy) and what it said.
//   npx vitest run --project integration test/integration/kube/admission-policy.test.ts
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { loadConnection } from '../../../src/kube/connection.ts';
import { KubeApiError } from '../../../src/kube/errors.ts';
import { leasePath } from '../../../src/kube/lease-convert.ts';
import { podPath } from '../../../src/kube/pod-watch.ts';
import { DELETION_COST_ANNOTATION, rolePatch } from '../../../src/kube/pod-label.ts';
import { KubeClient, type KubeRequest } from '../../../src/kube/rest.ts';
import { kubeconfigYaml } from '../../kube/apiserver.ts';
import { serviceAccountToken } from '../../kube/bound-token.ts';
import { adminKubeConfig, freshNamespace } from '../../kube/cluster.ts';
import { CHART_BASE_VALUES, CHART_DIR, ensureHelm, helmTemplate, parseObjects, type KubeObject } from '../../kube/helm.ts';
import { ensureKubectl, kubectlOk } from '../../kube/kubectl.ts';
import { sleep } from '../../harness/wait.ts';

const kube = inject('kube');
const POLICY_API = 'admissionregistration.k8s.io/v1/ValidatingAdmissionPolicy';
const RELEASE = 'vap';
const LEASE = 'vap-lease';
const MERGE = 'application/merge-patch+json';
const STRATEGIC = 'application/strategic-merge-patch+json';
const onlyLabelRe =
  /may change only the label baton\/role \(to leader or standby\) and the annotation controller\.kubernetes\.io\/pod-deletion-cost \(to 1000 or 0\) of its Pod, nothing else of it$/;
const EVENTS_RESOURCE_PATH = (namespace: string) => `/apis/events.k8s.io/v1/namespaces/${namespace}/events`;

let ns: string;
let kc: k8s.KubeConfig;
let kubectlBin: string;
let dir: string;
let sa: string;
let policyName: string;
const pods: Record<'A' | 'B' | 'web', k8s.V1Pod> = {} as never;
const clients: Record<string, KubeClient> = {};
const tokenNames: Record<string, string> = { A: 'bound to pod-a', unbound: 'not bound to a pod' };

type Answer = 'allowed' | 'RBAC' | 'policy';
interface Row {
  phase: string;
  token: string;
  request: string;
  expected: Answer;
  got: Answer | `HTTP ${number}`;
  status: number;
  message: string;
}
const table: Row[] = [];

async function clientFor(token: string, name: string): Promise<KubeClient> {
  const path = join(dir, `${name}.kubeconfig`);
  writeFileSync(path, kubeconfigYaml(kube.server, kube.caData, token, name, ns));
  return new KubeClient(await loadConnection({ env: { KUBECONFIG: path } }));
}

/** Sends `req` and classifies the answer: 2xx allowed; 403 from the policy (its name in the message) or from RBAC. */
async function answer(client: KubeClient, req: Omit<KubeRequest, 'timeoutMs'>): Promise<{ got: Row['got']; status: number; message: string }> {
  try {
    await client.request({ ...req, timeoutMs: 10_000 });
    return { got: 'allowed', status: 200, message: '' };
  } catch (err) {
    if (!(err instanceof KubeApiError)) throw err;
    const byPolicy = err.apiMessage.includes(`ValidatingAdmissionPolicy '${policyName}'`);
    const got = err.status !== 403 ? (`HTTP ${err.status}` as const) : byPolicy ? 'policy' : 'RBAC';
    return { got, status: err.status, message: byPolicy ? err.apiMessage.replace(/^.*denied request: /, '') : err.apiMessage };
  }
}

const podReq = (name: string, body: unknown, contentType = MERGE, sub = '', namespace = ns): Omit<KubeRequest, 'timeoutMs'> => ({
  verb: 'patch',
  resource: sub ? `pods/${sub}` : 'pods',
  method: 'PATCH',
  path: podPath(namespace, name) + (sub ? `/${sub}` : ''),
  body,
  contentType,
});
const label = (value: string | null) => ({ metadata: { labels: { 'baton/role': value } } });
const cost = (value: string | null) => ({ metadata: { annotations: { [DELETION_COST_ANNOTATION]: value } } });
const event = (name: string, regarding: Record<string, string>) => ({
  verb: 'create',
  resource: 'events.events.k8s.io',
  method: 'POST' as const,
  path: EVENTS_RESOURCE_PATH(ns),
  body: {
    apiVersion: 'events.k8s.io/v1',
    kind: 'Event',
    metadata: { name },
    eventTime: new Date().toISOString().replace(/Z$/, '000Z'), // MicroTime: six decimals
    reportingController: 'baton.dev/sidecar',
    reportingInstance: 'test',
    action: 'Acquire',
    reason: 'LeaderElected',
    type: 'Normal',
    note: 'test',
    regarding: { namespace: ns, ...regarding },
  },
});
const leaseBody = (name: string, holder: string, resourceVersion?: string) => ({
  apiVersion: 'coordination.k8s.io/v1',
  kind: 'Lease',
  metadata: { name, ...(resourceVersion ? { resourceVersion } : {}) },
  spec: { holderIdentity: holder, leaseDurationSeconds: 15 },
});

beforeAll(async () => {
  let helmBin: string;
  [helmBin, kubectlBin] = await Promise.all([ensureHelm(), ensureKubectl()]);
  kc = adminKubeConfig(kube);
  dir = mkdtempSync(join(tmpdir(), 'baton-vap-'));
  ns = await freshNamespace(kube, 'vap');
  const text = await helmTemplate(helmBin, [
    RELEASE,
    CHART_DIR,
    '--namespace',
    ns,
    '--kube-version',
    '1.37.2',
    '--api-versions',
    POLICY_API,
    '-f',
    CHART_BASE_VALUES,
    '--set',
    `leaseName=${LEASE}`,
  ]);
  const objects = parseObjects(text);
  const policy = objects.find((o) => o.kind === 'ValidatingAdmissionPolicy');
  expect(policy, 'the chart renders the policy when the API server serves it').toBeDefined();
  expect(objects.find((o) => o.kind === 'ValidatingAdmissionPolicyBinding')?.metadata.name).toBe(policy!.metadata.name);
  policyName = policy!.metadata.name;
  expect(policyName).toBe(`baton.${ns}.${RELEASE}-baton`);
  await kubectlOk(kubectlBin, kube.adminKubeconfig, ['apply', '--server-side', '-n', ns, '-f', '-'], text);
  const deployment = objects.find((o) => o.kind === 'Deployment') as KubeObject & { spec: { template: { spec: { serviceAccountName: string } } } };
  sa = deployment.spec.template.spec.serviceAccountName;

  const core = kc.makeApiClient(k8s.CoreV1Api);
  const pod = (name: string, serviceAccountName: string) =>
    core.createNamespacedPod({
      namespace: ns,
      body: {
        metadata: { name, labels: { app: 'bot', 'baton/lease': LEASE } },
        spec: {
          nodeName: 'fake-node',
          serviceAccountName,
          automountServiceAccountToken: false,
          containers: [
            { name: 'bot', image: 'example/bot:1' },
            { name: 'baton', image: 'example/baton:1' },
          ],
        },
      },
    });
  [pods.A, pods.B, pods.web] = await Promise.all([pod('pod-a', sa), pod('pod-b', sa), pod('web', 'default')]);
  clients.A = await clientFor(await serviceAccountToken(kc, ns, sa, { name: 'pod-a', uid: pods.A.metadata!.uid! }), 'bound-a');
  clients.unbound = await clientFor(await serviceAccountToken(kc, ns, sa), 'unbound');

  // The policy takes effect once the API server's informer has it: wait with a dry run that it refuses.
  const deadline = Date.now() + 30_000;
  for (;;) {
    const r = await answer(clients.A, { ...podReq('pod-b', label('leader')), query: { dryRun: 'All' } });
    if (r.got === 'policy') break;
    if (Date.now() > deadline) throw new Error(`the policy did not take effect in 30 s (last answer: ${r.got} ${r.message})`);
    await sleep(200);
  }
}, 900_000);

afterAll(async () => {
  for (const c of Object.values(clients)) c.close();
  const row = (r: Row) =>
    `| ${r.phase} | ${r.token} | ${r.request} | ${r.got === 'allowed' ? 'allowed' : `**refused** (${r.got}, ${r.status})`} | ${r.message.replaceAll('|', '\\|').slice(0, 400)} |`;
  const lines = ['| phase | token | request | answer | message |', '|---|---|---|---|---|', ...table.map(row)];
  console.log(`\nRequests of ServiceAccount ${ns}/${sa} and the API server's answers:\n${lines.join('\n')}\n`);
});

/** Runs each case, records it in the table, and checks all answers at once (a table of mismatches on failure). */
async function check(
  phase: string,
  cases: Array<[token: string, what: string, req: Omit<KubeRequest, 'timeoutMs'>, expected: Answer, says?: RegExp]>,
): Promise<void> {
  const wrong: string[] = [];
  for (const [token, what, req, expected, says] of cases) {
    const r = await answer(clients[token]!, req);
    table.push({ phase, token: tokenNames[token] ?? token, request: what, expected, ...r });
    if (r.got !== expected) wrong.push(`${what}: expected ${expected}, got ${r.got} ${r.message}`);
    else if (says && !says.test(r.message)) wrong.push(`${what}: the message does not match ${String(says)}: ${r.message}`);
  }
  expect(wrong).toEqual([]);
}

describe('the API server runs the policy plugin and puts the Pod into bound tokens', () => {
  it('ValidatingAdmissionPolicy is among the loaded admission plugins; the bound token carries pod-name', async () => {
    const log = readFileSync(join(kube.dir, 'kube-apiserver.log'), 'utf8');
    const loaded = /Loaded \d+ validating admission controller\(s\) successfully in the following order: (.*)\./.exec(log);
    expect(loaded?.[1]?.split(',')).toContain('ValidatingAdmissionPolicy');
    // What the API server makes of each token: SelfSubjectReview.
    const review = async (client: KubeClient) =>
      (
        await client.request<{ status: { userInfo: { username: string; extra?: Record<string, string[]> } } }>({
          verb: 'create',
          resource: 'selfsubjectreviews.authentication.k8s.io',
          method: 'POST',
          path: '/apis/authentication.k8s.io/v1/selfsubjectreviews',
          body: { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' },
          timeoutMs: 5000,
        })
      ).status.userInfo;
    const bound = await review(clients.A!);
    expect(bound.username).toBe(`system:serviceaccount:${ns}:${sa}`);
    expect(bound.extra?.['authentication.kubernetes.io/pod-name']).toEqual(['pod-a']);
    expect(bound.extra?.['authentication.kubernetes.io/pod-uid']).toEqual([pods.A.metadata!.uid]);
    expect((await review(clients.unbound!)).extra?.['authentication.kubernetes.io/pod-name']).toBeUndefined();
  });
});

describe("with the chart's Role and policy", () => {
  const onlyLabel =
    /^baton: update of pods "pod-a" .* may change only the label baton\/role \(to leader or standby\) and the annotation controller\.kubernetes\.io\/pod-deletion-cost \(to 1000 or 0\) of its Pod, nothing else of it$/;
  const ownPodOnly = (verb: string, pod: string) =>
    new RegExp(`^baton: ${verb} of pods "${pod}" in namespace "[^"]+" refused: ServiceAccount [^ ]+ may only set the label baton/role of its own Pod "pod-a"$`);

  it('pod writes: only the baton/role label of the Pod the token is bound to', async () => {
    await check('chart', [
      ['A', 'label pod-a baton/role=leader', podReq('pod-a', label('leader')), 'allowed'],
      ['A', 'label pod-a baton/role=standby', podReq('pod-a', label('standby')), 'allowed'],
      ['A', 'label pod-a baton/role=owned (not leader/standby)', podReq('pod-a', label('owned')), 'policy', onlyLabel],
      // C5: the sidecar's own patches, label and deletion cost together.
      ['A', "the sidecar's leader patch of pod-a (label + deletion cost 1000)", podReq('pod-a', rolePatch('baton/role', 'leader')), 'allowed'],
      ['A', "the sidecar's standby patch of pod-a (label + deletion cost 0)", podReq('pod-a', rolePatch('baton/role', 'standby')), 'allowed'],
      ['A', "set pod-a's deletion cost to 5 (not 1000 or 0)", podReq('pod-a', cost('5')), 'policy', onlyLabel],
      [
        'A',
        "set pod-a's deletion cost to 1000 and another annotation",
        podReq('pod-a', { metadata: { annotations: { [DELETION_COST_ANNOTATION]: '1000', x: 'y' } } }),
        'policy',
        onlyLabel,
      ],
      [
        'A',
        "change pod-a's image (strategic merge, a valid pod update)",
        podReq('pod-a', { spec: { containers: [{ name: 'bot', image: 'evil/bot:6' }] } }, STRATEGIC),
        'policy',
        onlyLabel,
      ],
      [
        'A',
        "change pod-a's image together with baton/role",
        podReq('pod-a', { ...label('leader'), spec: { containers: [{ name: 'bot', image: 'evil/bot:6' }] } }, STRATEGIC),
        'policy',
        onlyLabel,
      ],
      ['A', "set pod-a's spec.activeDeadlineSeconds", podReq('pod-a', { spec: { activeDeadlineSeconds: 5 } }), 'policy', onlyLabel],
      ['A', 'add a toleration to pod-a', podReq('pod-a', { spec: { tolerations: [{ key: 'x', operator: 'Exists' }] } }), 'policy', onlyLabel],
      ['A', "change pod-a's label app", podReq('pod-a', { metadata: { labels: { app: 'web' } } }), 'policy', onlyLabel],
      ['A', 'add a label to pod-a', podReq('pod-a', { metadata: { labels: { extra: 'x' } } }), 'policy', onlyLabel],
      ['A', "remove pod-a's label baton/lease", podReq('pod-a', { metadata: { labels: { 'baton/lease': null } } }), 'policy', onlyLabel],
      ['A', 'annotate pod-a', podReq('pod-a', { metadata: { annotations: { x: 'y' } } }), 'policy', onlyLabel],
      ['A', 'add a finalizer to pod-a', podReq('pod-a', { metadata: { finalizers: ['example.com/hold'] } }), 'policy', onlyLabel],
      [
        'A',
        'set an ownerReference on pod-a',
        podReq('pod-a', { metadata: { ownerReferences: [{ apiVersion: 'v1', kind: 'ConfigMap', name: 'x', uid: '00000000-0000-0000-0000-000000000001' }] } }),
        'policy',
        onlyLabel,
      ],
      ['A', 'label pod-b baton/role=leader (a sibling of the same ServiceAccount)', podReq('pod-b', label('leader')), 'policy', ownPodOnly('update', 'pod-b')],
      [
        'A',
        "change pod-b's image",
        podReq('pod-b', { spec: { containers: [{ name: 'bot', image: 'evil/bot:6' }] } }, STRATEGIC),
        'policy',
        ownPodOnly('update', 'pod-b'),
      ],
      ['A', 'label web (a pod of another ServiceAccount)', podReq('web', label('leader')), 'policy', ownPodOnly('update', 'web')],
      ['A', "update pod-a's status", podReq('pod-a', { status: { phase: 'Failed' } }, MERGE, 'status'), 'RBAC'],
      [
        'A',
        'add an ephemeral container to pod-a',
        podReq('pod-a', { spec: { ephemeralContainers: [{ name: 'x', image: 'evil' }] } }, STRATEGIC, 'ephemeralcontainers'),
        'RBAC',
      ],
      [
        'A',
        'evict pod-b',
        {
          verb: 'create',
          resource: 'pods/eviction',
          method: 'POST',
          path: `${podPath(ns, 'pod-b')}/eviction`,
          body: { apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name: 'pod-b' } },
        },
        'RBAC',
      ],
      ['A', 'delete pod-b', { verb: 'delete', resource: 'pods', method: 'DELETE', path: podPath(ns, 'pod-b') }, 'RBAC'],
      [
        'A',
        'create a pod',
        {
          verb: 'create',
          resource: 'pods',
          method: 'POST',
          path: podPath(ns),
          body: { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'evil' }, spec: { containers: [{ name: 'c', image: 'evil' }] } },
        },
        'RBAC',
      ],
      [
        'A',
        'exec into pod-b',
        {
          verb: 'create',
          resource: 'pods/exec',
          method: 'POST',
          path: `${podPath(ns, 'pod-b')}/exec`,
          query: { command: 'sh', container: 'bot', stdout: true },
        },
        'RBAC',
      ],
      [
        'unbound',
        'label pod-a baton/role=leader with a token bound to no Pod',
        podReq('pod-a', label('leader')),
        'policy',
        /is not bound to a Pod \(no authentication\.kubernetes\.io\/pod-name\)/,
      ],
    ]);
    // Nothing of the refused changes landed.
    const a = await kc.makeApiClient(k8s.CoreV1Api).readNamespacedPod({ name: 'pod-a', namespace: ns });
    expect(a.metadata?.labels).toEqual({ app: 'bot', 'baton/lease': LEASE, 'baton/role': 'standby' });
    expect(a.spec?.containers.map((c) => c.image)).toEqual(['example/bot:1', 'example/baton:1']);
    expect(a.metadata?.annotations).toEqual({ [DELETION_COST_ANNOTATION]: '0' });
  });

  it('reads: the own Pod by name; every pod of the namespace can still be listed (admission does not see reads)', async () => {
    await check('chart', [
      [
        'A',
        'list pods, fieldSelector=metadata.name=pod-a (what the sidecar does)',
        { verb: 'list', resource: 'pods', method: 'GET', path: podPath(ns), query: { fieldSelector: 'metadata.name=pod-a' } },
        'allowed',
      ],
      [
        'A',
        'list all pods of the namespace (RBAC cannot name a pod not yet created)',
        { verb: 'list', resource: 'pods', method: 'GET', path: podPath(ns) },
        'allowed',
      ],
      ['A', 'get pod-b (the sidecar never GETs a pod: no get verb)', { verb: 'get', resource: 'pods', method: 'GET', path: podPath(ns, 'pod-b') }, 'RBAC'],
      ['A', "read pod-b's log", { verb: 'get', resource: 'pods/log', method: 'GET', path: `${podPath(ns, 'pod-b')}/log` }, 'RBAC'],
      ['A', 'list pods of another namespace', { verb: 'list', resource: 'pods', method: 'GET', path: podPath('default') }, 'RBAC'],
    ]);
  });

  it('the Lease: only the named one, create and update; Events: create only, about the Lease or its own Pod', async () => {
    const leases = leasePath(ns);
    await check('chart', [
      [
        'A',
        `create the Lease "${LEASE}"`,
        { verb: 'create', resource: 'leases.coordination.k8s.io', method: 'POST', path: leases, body: leaseBody(LEASE, 'pod-a') },
        'allowed',
      ],
    ]);
    const rv = (await kc.makeApiClient(k8s.CoordinationV1Api).readNamespacedLease({ name: LEASE, namespace: ns })).metadata!.resourceVersion!;
    await kc.makeApiClient(k8s.CoordinationV1Api).createNamespacedLease({ namespace: ns, body: leaseBody('someone-else', 'x') });
    await check('chart', [
      ['A', `get the Lease "${LEASE}"`, { verb: 'get', resource: 'leases.coordination.k8s.io', method: 'GET', path: leasePath(ns, LEASE) }, 'allowed'],
      [
        'A',
        `update the Lease "${LEASE}"`,
        { verb: 'update', resource: 'leases.coordination.k8s.io', method: 'PUT', path: leasePath(ns, LEASE), body: leaseBody(LEASE, 'pod-a', rv) },
        'allowed',
      ],
      [
        'A',
        `list+watch the Lease "${LEASE}" (fieldSelector)`,
        { verb: 'list', resource: 'leases.coordination.k8s.io', method: 'GET', path: leases, query: { fieldSelector: `metadata.name=${LEASE}` } },
        'allowed',
      ],
      [
        'A',
        `patch the Lease "${LEASE}" (not used: no patch verb)`,
        {
          verb: 'patch',
          resource: 'leases.coordination.k8s.io',
          method: 'PATCH',
          path: leasePath(ns, LEASE),
          body: { spec: { holderIdentity: 'x' } },
          contentType: MERGE,
        },
        'RBAC',
      ],
      ['A', `delete the Lease "${LEASE}"`, { verb: 'delete', resource: 'leases.coordination.k8s.io', method: 'DELETE', path: leasePath(ns, LEASE) }, 'RBAC'],
      [
        'A',
        'create a Lease of another name (RBAC cannot limit create by name)',
        { verb: 'create', resource: 'leases.coordination.k8s.io', method: 'POST', path: leases, body: leaseBody('squatter', 'pod-a') },
        'policy',
        /may only create and update the Lease "vap-lease"$/,
      ],
      ['A', 'get another Lease', { verb: 'get', resource: 'leases.coordination.k8s.io', method: 'GET', path: leasePath(ns, 'someone-else') }, 'RBAC'],
      [
        'A',
        'update another Lease',
        {
          verb: 'update',
          resource: 'leases.coordination.k8s.io',
          method: 'PUT',
          path: leasePath(ns, 'someone-else'),
          body: leaseBody('someone-else', 'pod-a'),
        },
        'RBAC',
      ],
      ['A', 'list all Leases', { verb: 'list', resource: 'leases.coordination.k8s.io', method: 'GET', path: leases }, 'RBAC'],
      ['A', 'create an Event about the Lease', event('e1', { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', name: LEASE }), 'allowed'],
      ['A', 'create an Event about pod-a', event('e2', { apiVersion: 'v1', kind: 'Pod', name: 'pod-a' }), 'allowed'],
      [
        'A',
        'create an Event about pod-b',
        event('e3', { apiVersion: 'v1', kind: 'Pod', name: 'pod-b' }),
        'policy',
        /may only create Events about the Lease "vap-lease" or its own Pod$/,
      ],
      [
        'A',
        'create an Event about a Deployment',
        event('e4', { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web' }),
        'policy',
        /may only create Events about the Lease/,
      ],
      [
        'A',
        'create a core/v1 Event',
        {
          verb: 'create',
          resource: 'events',
          method: 'POST',
          path: `/api/v1/namespaces/${ns}/events`,
          body: { apiVersion: 'v1', kind: 'Event', metadata: { name: 'e5' }, involvedObject: { kind: 'Pod', name: 'pod-a', namespace: ns } },
        },
        'RBAC',
      ],
      ['A', 'list Events', { verb: 'list', resource: 'events.events.k8s.io', method: 'GET', path: EVENTS_RESOURCE_PATH(ns) }, 'RBAC'],
      ['A', 'delete an Event', { verb: 'delete', resource: 'events.events.k8s.io', method: 'DELETE', path: `${EVENTS_RESOURCE_PATH(ns)}/e1` }, 'RBAC'],
      [
        'unbound',
        'create an Event about pod-a with a token bound to no Pod',
        event('e6', { apiVersion: 'v1', kind: 'Pod', name: 'pod-a' }),
        'policy',
        /may only create Events about the Lease/,
      ],
    ]);
  });

  it('everything else: Secrets, ConfigMaps, Deployments, namespaces (the refusal list of the chart test)', async () => {
    await kc.makeApiClient(k8s.CoreV1Api).createNamespacedSecret({ namespace: ns, body: { metadata: { name: 'bot-token' }, stringData: { token: 'secret' } } });
    const get = (resource: string, path: string) => ({ verb: 'get', resource, method: 'GET' as const, path });
    const list = (resource: string, path: string) => ({ verb: 'list', resource, method: 'GET' as const, path });
    await check('chart', [
      ['A', 'get a Secret', get('secrets', `/api/v1/namespaces/${ns}/secrets/bot-token`), 'RBAC'],
      ['A', 'list Secrets', list('secrets', `/api/v1/namespaces/${ns}/secrets`), 'RBAC'],
      ['A', 'list ConfigMaps', list('configmaps', `/api/v1/namespaces/${ns}/configmaps`), 'RBAC'],
      [
        'A',
        'create a ConfigMap',
        {
          verb: 'create',
          resource: 'configmaps',
          method: 'POST',
          path: `/api/v1/namespaces/${ns}/configmaps`,
          body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x' } },
        },
        'RBAC',
      ],
      ['A', 'list Deployments', list('deployments.apps', `/apis/apps/v1/namespaces/${ns}/deployments`), 'RBAC'],
      [
        'A',
        'patch the Deployment',
        {
          verb: 'patch',
          resource: 'deployments.apps',
          method: 'PATCH',
          path: `/apis/apps/v1/namespaces/${ns}/deployments/${RELEASE}-baton`,
          body: { spec: { replicas: 0 } },
          contentType: MERGE,
        },
        'RBAC',
      ],
      [
        'A',
        'patch its own Role',
        {
          verb: 'patch',
          resource: 'roles.rbac.authorization.k8s.io',
          method: 'PATCH',
          path: `/apis/rbac.authorization.k8s.io/v1/namespaces/${ns}/roles/${RELEASE}-baton`,
          body: { rules: [] },
          contentType: MERGE,
        },
        'RBAC',
      ],
      [
        'A',
        'delete the admission policy',
        {
          verb: 'delete',
          resource: 'validatingadmissionpolicies.admissionregistration.k8s.io',
          method: 'DELETE',
          path: `/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicies/${policyName}`,
        },
        'RBAC',
      ],
      ['A', 'list namespaces', list('namespaces', '/api/v1/namespaces'), 'RBAC'],
    ]);
  });
});

describe('with a wider Role (someone granted the ServiceAccount more): the policy still holds', () => {
  beforeAll(async () => {
    const rbac = kc.makeApiClient(k8s.RbacAuthorizationV1Api);
    const name = 'too-generous';
    await rbac.createNamespacedRole({
      namespace: ns,
      body: {
        metadata: { name },
        rules: [
          { apiGroups: [''], resources: ['pods', 'pods/status', 'pods/ephemeralcontainers', 'pods/eviction'], verbs: ['*'] },
          { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['*'] },
          { apiGroups: ['events.k8s.io'], resources: ['events'], verbs: ['*'] },
        ],
      },
    });
    await rbac.createNamespacedRoleBinding({
      namespace: ns,
      body: {
        metadata: { name },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name },
        subjects: [{ kind: 'ServiceAccount', name: sa, namespace: ns }],
      },
    });
  });

  it('refuses every pod write but the label, other Leases and their deletion, and Events about others', async () => {
    // RBAC caches nothing: the new Role applies at once.
    await check('wider Role', [
      ['A', 'label pod-a baton/role=leader', podReq('pod-a', label('leader')), 'allowed'],
      [
        'A',
        "update pod-a's status",
        podReq('pod-a', { status: { phase: 'Failed' } }, MERGE, 'status'),
        'policy',
        /update of pods\/status "pod-a" .* may only set the label baton\/role of its own Pod/,
      ],
      [
        'A',
        'add an ephemeral container to pod-a',
        podReq('pod-a', { spec: { ephemeralContainers: [{ name: 'x', image: 'evil', terminationMessagePolicy: 'File' }] } }, STRATEGIC, 'ephemeralcontainers'),
        'policy',
        /update of pods\/ephemeralcontainers "pod-a"/,
      ],
      [
        'A',
        'evict pod-b',
        {
          verb: 'create',
          resource: 'pods/eviction',
          method: 'POST',
          path: `${podPath(ns, 'pod-b')}/eviction`,
          body: { apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name: 'pod-b' } },
        },
        'policy',
        /create of pods\/eviction "pod-b"/,
      ],
      ['A', 'delete pod-a (its own)', { verb: 'delete', resource: 'pods', method: 'DELETE', path: podPath(ns, 'pod-a') }, 'policy', /delete of pods "pod-a"/],
      ['A', 'delete pod-b', { verb: 'delete', resource: 'pods', method: 'DELETE', path: podPath(ns, 'pod-b') }, 'policy', /delete of pods "pod-b"/],
      ['A', 'delete all pods', { verb: 'deletecollection', resource: 'pods', method: 'DELETE', path: podPath(ns) }, 'policy'],
      [
        'A',
        'create a pod',
        {
          verb: 'create',
          resource: 'pods',
          method: 'POST',
          path: podPath(ns),
          body: { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'evil' }, spec: { containers: [{ name: 'c', image: 'evil' }] } },
        },
        'policy',
        /create of pods "evil"/,
      ],
      ['A', "change pod-a's image", podReq('pod-a', { spec: { containers: [{ name: 'bot', image: 'evil/bot:6' }] } }, STRATEGIC), 'policy', onlyLabelRe],
      ['A', 'label pod-b baton/role=leader', podReq('pod-b', label('leader')), 'policy'],
      [
        'A',
        `delete the Lease "${LEASE}"`,
        { verb: 'delete', resource: 'leases.coordination.k8s.io', method: 'DELETE', path: leasePath(ns, LEASE) },
        'policy',
        /may only create and update the Lease/,
      ],
      [
        'A',
        'patch another Lease',
        {
          verb: 'patch',
          resource: 'leases.coordination.k8s.io',
          method: 'PATCH',
          path: leasePath(ns, 'someone-else'),
          body: { spec: { holderIdentity: 'pod-a' } },
          contentType: MERGE,
        },
        'policy',
        /may only create and update the Lease/,
      ],
      [
        'A',
        'delete an Event',
        { verb: 'delete', resource: 'events.events.k8s.io', method: 'DELETE', path: `${EVENTS_RESOURCE_PATH(ns)}/e1` },
        'policy',
        /may only create Events/,
      ],
    ]);
    const core = kc.makeApiClient(k8s.CoreV1Api);
    expect((await core.listNamespacedPod({ namespace: ns })).items.map((p) => p.metadata?.name).sort()).toEqual(['pod-a', 'pod-b', 'web']);
  });
});

/** The chart rendered with `set` into a fresh namespace (no policy API flag: `auto` renders none offline), pods pod-a and pod-b of its ServiceAccount, and a client with a token bound to pod-a as `clients[key]`. Returns the namespace. */
async function installVariant(key: string, set: string[]): Promise<string> {
  const helmBin = await ensureHelm();
  const variantNs = await freshNamespace(kube, `vap-${key}`);
  const text = await helmTemplate(helmBin, [
    RELEASE,
    CHART_DIR,
    '--namespace',
    variantNs,
    '--kube-version',
    '1.37.2',
    '-f',
    CHART_BASE_VALUES,
    '--set',
    `leaseName=${LEASE}`,
    ...set.flatMap((x) => ['--set', x]),
  ]);
  expect(parseObjects(text).map((o) => o.kind)).not.toContain('ValidatingAdmissionPolicy');
  await kubectlOk(kubectlBin, kube.adminKubeconfig, ['apply', '--server-side', '-n', variantNs, '-f', '-'], text);
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const made: k8s.V1Pod[] = [];
  for (const name of ['pod-a', 'pod-b']) {
    made.push(
      await core.createNamespacedPod({
        namespace: variantNs,
        body: {
          metadata: { name, labels: { app: 'bot' } },
          spec: { nodeName: 'fake-node', serviceAccountName: sa, automountServiceAccountToken: false, containers: [{ name: 'bot', image: 'example/bot:1' }] },
        },
      }),
    );
  }
  const token = await serviceAccountToken(kc, variantNs, sa, { name: 'pod-a', uid: made[0]!.metadata!.uid! });
  const path = join(dir, `${key}.kubeconfig`);
  writeFileSync(path, kubeconfigYaml(kube.server, kube.caData, token, key, variantNs));
  clients[key] = new KubeClient(await loadConnection({ env: { KUBECONFIG: path } }));
  return variantNs;
}

describe('without the policy (a cluster without the API, or rbac.admissionPolicy.enabled=false)', () => {
  it('the Role alone lets the token patch any pod of its namespace; rbac.podLabel=false takes every pod write away', async () => {
    const open = await installVariant('role-only', ['rbac.admissionPolicy.enabled=false']);
    tokenNames['role-only'] = 'bound to pod-a, Role only';
    const closed = await installVariant('no-label', ['rbac.admissionPolicy.enabled=false', 'rbac.podLabel=false']);
    tokenNames['no-label'] = 'bound to pod-a, Role only, rbac.podLabel=false';
    await check('no policy', [
      ['role-only', 'label pod-a baton/role=leader', podReq('pod-a', label('leader'), MERGE, '', open), 'allowed'],
      [
        'role-only',
        "change pod-b's image (what the policy exists for)",
        podReq('pod-b', { spec: { containers: [{ name: 'bot', image: 'evil/bot:6' }] } }, STRATEGIC, '', open),
        'allowed',
      ],
      ['no-label', 'label pod-a baton/role=leader', podReq('pod-a', label('leader'), MERGE, '', closed), 'RBAC'],
      ['no-label', "change pod-b's image", podReq('pod-b', { spec: { containers: [{ name: 'bot', image: 'evil/bot:6' }] } }, STRATEGIC, '', closed), 'RBAC'],
      [
        'no-label',
        'list+watch pod-a by name (still granted)',
        { verb: 'list', resource: 'pods', method: 'GET', path: podPath(closed), query: { fieldSelector: 'metadata.name=pod-a' } },
        'allowed',
      ],
    ]);
  });
});
