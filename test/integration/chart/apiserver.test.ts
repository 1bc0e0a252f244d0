// The chart against the real API server: every rendered object passes `kubectl apply --dry-run=server` and is
// then really applied (PodMonitor, ServiceMonitor and PrometheusRule against prometheus-operator's real CRDs);
// the pods meet the Pod Security Standard they claim; `helm install` works and prints the NOTES; and the
// sidecar, run with a token of the chart's own ServiceAccount, does its whole job while that token is refused
// everything else.
import { chmodSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { adminKubeConfig, freshNamespace } from '../../kube/cluster.ts';
import { serviceAccountToken, tokenFileKubeconfig, type TokenFileLayout } from '../../kube/bound-token.ts';
import { kubeconfigYaml } from '../../kube/apiserver.ts';
import {
  CHART_BASE_VALUES,
  CHART_COMBOS,
  CHART_DIR,
  buildExampleChart,
  comboArgs,
  containersOf,
  ensureHelm,
  helm,
  helmTemplate,
  parseObjects,
  runTool,
  type KubeObject,
} from '../../kube/helm.ts';
import { ensureKubectl, kubectl, kubectlOk, prometheusOperatorCrds } from '../../kube/kubectl.ts';
import { SimPod } from '../../harness/sim-pod.ts';
import { waitFor } from '../../harness/wait.ts';
import { ROOT } from '../../../scripts/render-deploy.ts';

const kube = inject('kube');
let helmBin: string;
let kubectlBin: string;
let admin: string;
let ns: string;
let kc: k8s.KubeConfig;

type Container = { name: string; env?: { name: string; value?: string }[] };
type PodSpec = { containers: Container[]; initContainers?: Container[]; serviceAccountName: string };
type Deployment = KubeObject & { spec: { template: { metadata: { labels: Record<string, string> }; spec: PodSpec } } };

beforeAll(async () => {
  [helmBin, kubectlBin] = await Promise.all([ensureHelm(), ensureKubectl()]);
  admin = kube.adminKubeconfig;
  kc = adminKubeConfig(kube);
  ns = await freshNamespace(kube, 'chart');
  // prometheus-operator's own CRDs, so that the API server validates PodMonitor/ServiceMonitor/PrometheusRule against their real schemas.
  const crds = await prometheusOperatorCrds();
  await kubectlOk(kubectlBin, admin, ['apply', '--server-side', ...crds.flatMap((f) => ['-f', f])]);
  await kubectlOk(kubectlBin, admin, [
    'wait',
    '--for=condition=Established',
    '--timeout=60s',
    'crd/podmonitors.monitoring.coreos.com',
    'crd/servicemonitors.monitoring.coreos.com',
    'crd/prometheusrules.monitoring.coreos.com',
  ]);
}, 900_000);

/** dry-run=server, then a real apply; returns the applied objects as `kind/name`. */
async function applyBoth(yamlText: string, namespace: string): Promise<string[]> {
  const dry = await kubectl(kubectlBin, admin, ['apply', '--dry-run=server', '-n', namespace, '-f', '-'], yamlText);
  expect(dry.code, `dry-run=server refused:\n${dry.stderr}`).toBe(0);
  const real = await kubectl(kubectlBin, admin, ['apply', '-n', namespace, '-f', '-'], yamlText);
  expect(real.code, `apply refused:\n${real.stderr}`).toBe(0);
  const got = await kubectlOk(kubectlBin, admin, ['get', '-n', namespace, '-f', '-', '-o', 'name'], yamlText);
  return got.trim().split('\n');
}

const kindName = (o: KubeObject) =>
  `${o.kind.toLowerCase()}.${o.apiVersion.includes('/') ? o.apiVersion.split('/')[0] : ''}/${o.metadata.name}`.replace('./', '/');

describe('every rendered object is accepted by the real API server, then applied', () => {
  const cases = [
    ...CHART_COMBOS.map((c) => ({ combo: c, kubeVersion: '1.37.2', release: c.name })),
    // The exec preStop of clusters before 1.30, on the regular and the native sidecar.
    { combo: CHART_COMBOS[0]!, kubeVersion: '1.29.0', release: 'regular-old' },
    { combo: CHART_COMBOS[1]!, kubeVersion: '1.29.0', release: 'native-old' },
  ];
  for (const { combo, kubeVersion, release } of cases) {
    it(`${release} (rendered for ${kubeVersion})`, async () => {
      const text = await helmTemplate(helmBin, [release, CHART_DIR, ...comboArgs(combo, ns, kubeVersion)]);
      const objects = parseObjects(text);
      const applied = await applyBoth(text, ns);
      expect(applied.sort()).toEqual(objects.map(kindName).sort());
      if (combo.monitoring)
        expect(applied).toEqual(
          expect.arrayContaining([
            `podmonitor.monitoring.coreos.com/${release}-baton`,
            `servicemonitor.monitoring.coreos.com/${release}-baton`,
            `prometheusrule.monitoring.coreos.com/${release}-baton`,
          ]),
        );
    });
  }

  it('with the admission policy (offline: --api-versions), with the label on and off', async () => {
    for (const podLabel of [true, false]) {
      const release = `policy-label-${String(podLabel)}`;
      const text = await helmTemplate(helmBin, [
        release,
        CHART_DIR,
        '--namespace',
        ns,
        '--kube-version',
        '1.37.2',
        '--api-versions',
        'admissionregistration.k8s.io/v1/ValidatingAdmissionPolicy',
        '-f',
        CHART_BASE_VALUES,
        '--set',
        `rbac.podLabel=${String(podLabel)}`,
      ]);
      const objects = parseObjects(text);
      const applied = await applyBoth(text, ns);
      expect(applied.sort()).toEqual(objects.map(kindName).sort());
      expect(applied).toEqual(
        expect.arrayContaining([
          `validatingadmissionpolicy.admissionregistration.k8s.io/baton.${ns}.${release}-baton`,
          `validatingadmissionpolicybinding.admissionregistration.k8s.io/baton.${ns}.${release}-baton`,
        ]),
      );
    }
  });

  it('the example chart (named templates in a chart of its own), regular and native', async () => {
    const example = await buildExampleChart(helmBin);
    for (const native of [false, true]) {
      const text = await helmTemplate(helmBin, [
        `ex-${String(native)}`,
        example,
        '--namespace',
        ns,
        '--kube-version',
        '1.37.2',
        '--set',
        `baton.sidecar.native=${native}`,
      ]);
      const applied = await applyBoth(text, ns);
      expect(applied).toContain(`deployment.apps/ex-${String(native)}-my-bot`);
    }
  });

  it("the kind e2e: its chart values and the Telegram double's manifests", async () => {
    const kindNs = await freshNamespace(kube, 'kind');
    const text = await helmTemplate(helmBin, [
      'e2e',
      CHART_DIR,
      '--namespace',
      kindNs,
      '--kube-version',
      '1.37.2',
      '-f',
      join(ROOT, 'e2e', 'kind', 'values.yaml'),
    ]);
    expect(await applyBoth(text, kindNs)).toContain('deployment.apps/e2e-bot');
    const double = await applyBoth(readFileSync(join(ROOT, 'e2e', 'kind', 'telegram-double.yaml'), 'utf8'), kindNs);
    expect(double.sort()).toEqual(['deployment.apps/telegram-double', 'service/telegram-double']);
  });

  it('deploy/baton.yaml (the plain manifests)', async () => {
    const plainNs = await freshNamespace(kube, 'plain');
    const applied = await applyBoth(readFileSync(join(ROOT, 'deploy', 'baton.yaml'), 'utf8'), plainNs);
    expect(applied).toEqual(expect.arrayContaining(['deployment.apps/my-bot', 'role.rbac.authorization.k8s.io/my-bot', 'serviceaccount/my-bot']));
  });
});

describe('Pod Security Standards', () => {
  /** The Deployment's pod template as a bare Pod (no controller runs here), created with dry-run=server in `namespace`. */
  async function createPodDryRun(combo: (typeof CHART_COMBOS)[number], namespace: string) {
    const text = await helmTemplate(helmBin, [combo.name, CHART_DIR, ...comboArgs(combo, namespace, '1.37.2')]);
    // The release's objects first (the Pod's ServiceAccount must exist); the Deployment only draws PodSecurity warnings.
    await kubectlOk(kubectlBin, admin, ['apply', '-n', namespace, '-f', '-'], text);
    const objects = parseObjects(text);
    const deployment = objects.find((o) => o.kind === 'Deployment') as Deployment;
    const pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: `${combo.name}-pod`, labels: deployment.spec.template.metadata.labels },
      spec: deployment.spec.template.spec,
    };
    return kubectl(kubectlBin, admin, ['create', '--dry-run=server', '-n', namespace, '-f', '-'], JSON.stringify(pod));
  }

  async function namespaceEnforcing(level: string): Promise<string> {
    const name = await freshNamespace(kube, `pss-${level}`);
    await kubectlOk(kubectlBin, admin, ['label', 'namespace', name, `pod-security.kubernetes.io/enforce=${level}`]);
    return name;
  }

  it('the chart\'s pods pass "restricted" (regular, native, custom Lease, monitoring); capKill pods are refused there', async () => {
    const restricted = await namespaceEnforcing('restricted');
    for (const combo of CHART_COMBOS.filter((c) => !c.capKill)) {
      const r = await createPodDryRun(combo, restricted);
      expect(r.code, `${combo.name}: ${r.stderr}`).toBe(0);
    }
    const capKill = await createPodDryRun(
      CHART_COMBOS.find((c) => c.name === 'capkill')!,
      restricted,
    );
    expect(capKill.code).not.toBe(0);
    expect(capKill.stderr).toMatch(/violates PodSecurity "restricted:latest".*(runAsNonRoot|capabilities)/s);
  });

  it('capKill pods pass "baseline" (CAP_KILL is a baseline capability)', async () => {
    const baseline = await namespaceEnforcing('baseline');
    for (const combo of CHART_COMBOS.filter((c) => c.capKill)) {
      const r = await createPodDryRun(combo, baseline);
      expect(r.code, `${combo.name}: ${r.stderr}`).toBe(0);
    }
  });
});

describe('helm install against the API server', () => {
  it('installs the release and prints NOTES that show how to inspect the Lease and the roles', async () => {
    const installNs = await freshNamespace(kube, 'install');
    const r = await helm(helmBin, [
      'install',
      'tg',
      CHART_DIR,
      '--kubeconfig',
      admin,
      '--namespace',
      installNs,
      '-f',
      CHART_BASE_VALUES,
      '--set',
      'leaseName=tg-bot',
      '--set',
      'monitoring.prometheusRule.enabled=true',
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`kubectl -n ${installNs} get lease tg-bot -o wide`);
    expect(r.stdout).toContain(`kubectl -n ${installNs} get pods -l baton/lease=tg-bot -L baton/role`);
    expect(r.stdout).toContain('with the sidecar registry.example.com/baton:0.1.0');
    expect(r.stdout).toContain("The sidecar's image is sidecar.image.repository (registry.example.com/baton;");
    const names = await kubectlOk(kubectlBin, admin, [
      'get',
      '-n',
      installNs,
      'deployment,serviceaccount,role,rolebinding,poddisruptionbudget,prometheusrule',
      '-l',
      'app.kubernetes.io/instance=tg',
      '-o',
      'name',
    ]);
    expect(names.trim().split('\n').sort()).toEqual(
      [
        'deployment.apps/tg-baton',
        'poddisruptionbudget.policy/tg-baton',
        'prometheusrule.monitoring.coreos.com/tg-baton',
        'role.rbac.authorization.k8s.io/tg-baton',
        'rolebinding.rbac.authorization.k8s.io/tg-baton',
        'serviceaccount/tg-baton',
      ].sort(),
    );
    // The API server serves ValidatingAdmissionPolicy, so the policy is on by default (rbac.admissionPolicy.enabled=auto).
    const policy = `baton.${installNs}.tg-baton`;
    expect(await kubectlOk(kubectlBin, admin, ['get', 'validatingadmissionpolicy,validatingadmissionpolicybinding', policy, '-o', 'name'])).toBe(
      `validatingadmissionpolicy.admissionregistration.k8s.io/${policy}\nvalidatingadmissionpolicybinding.admissionregistration.k8s.io/${policy}\n`,
    );

    // helm uninstall removes what helm made and leaves the Lease the sidecars made (docs/security.md says why).
    await kc
      .makeApiClient(k8s.CoordinationV1Api)
      .createNamespacedLease({ namespace: installNs, body: { metadata: { name: 'tg-bot' }, spec: { leaseTransitions: 3 } } });
    const un = await helm(helmBin, ['uninstall', 'tg', '--kubeconfig', admin, '--namespace', installNs, '--wait']);
    expect(un.code, un.stderr).toBe(0);
    expect(await kubectlOk(kubectlBin, admin, ['get', 'validatingadmissionpolicy,validatingadmissionpolicybinding', '-o', 'name'])).not.toContain(policy);
    expect(await kubectlOk(kubectlBin, admin, ['get', '-n', installNs, 'lease,deployment,role', '-o', 'name'])).toBe('lease.coordination.k8s.io/tg-bot\n');
  });
});

/**
 * The two layouts of docs/security.md, as processes: each container's user and capabilities are taken
 * from the rendered pod spec and applied with setpriv (this test runs as root), and the token file gets
 * the owner and mode the kubelet gives it (all containers under one UID: that UID's, 0600; otherwise
 * root's, with the volume's defaultMode).
 */
interface Layout {
  name: string;
  set: string[];
  /** Can the bot (its UID, no capabilities) read the token through /proc/<sidecar pid>/root? */
  botReadsToken: boolean;
  /** The sidecar keeps the label baton/role (rbac.podLabel). */
  label: boolean;
}
const LAYOUTS: Layout[] = [
  { name: 'default', set: [], botReadsToken: true, label: true },
  { name: 'hardened', set: ['sidecar.capKill=true'], botReadsToken: false, label: true },
  // No label, no `patch pods` in the Role: the sidecar must not try.
  { name: 'nolabel', set: ['rbac.podLabel=false'], botReadsToken: true, label: false },
];

/** Adds search permission for others (o+x, never read or write) to every directory above `path` that lacks it. */
function searchableAbove(path: string): void {
  for (let dir = dirname(resolve(path)); ; dir = dirname(dir)) {
    const mode = statSync(dir).mode & 0o7777;
    if ((mode & 0o001) === 0) chmodSync(dir, mode | 0o001);
    if (dir === dirname(dir)) return;
  }
}

type SecurityContext = { runAsUser?: number; runAsGroup?: number; allowPrivilegeEscalation?: boolean; capabilities?: { add?: string[]; drop?: string[] } };
type FullContainer = Container & { securityContext?: SecurityContext };
type FullPodSpec = PodSpec & {
  containers: FullContainer[];
  initContainers?: FullContainer[];
  securityContext?: SecurityContext;
  volumes?: { name: string; projected?: { defaultMode?: number } }[];
};

/** setpriv arguments that run a command as a container with `sc` would run (UID, GID, capabilities, no_new_privs). */
function setprivFor(sc: SecurityContext, pod: SecurityContext): string[] {
  const uid = sc.runAsUser ?? pod.runAsUser ?? 0;
  const gid = sc.runAsGroup ?? pod.runAsGroup ?? 0;
  const add = (sc.capabilities?.add ?? []).map((c) => `+${c.toLowerCase()}`);
  if (uid !== 0 && add.length > 0) throw new Error('Kubernetes gives added capabilities to UID 0 only (no ambient capabilities)');
  const caps = ['-all', ...add].join(',');
  return [
    'setpriv',
    `--reuid=${uid}`,
    `--regid=${gid}`,
    '--clear-groups',
    `--inh-caps=${caps}`,
    `--bounding-set=${caps}`,
    ...(sc.allowPrivilegeEscalation === false ? ['--no-new-privs'] : []),
    '--',
  ];
}

for (const layout of LAYOUTS) {
  describe(`the sidecar in the ${layout.name} layout, with tokens of the chart's ServiceAccount bound to its Pod`, () => {
    const LEASE = `chart-lease-${layout.name}`;
    const release = `sa-${layout.name}`;
    let saNs: string;
    let saKubeconfig: string;
    let sidecarEnv: Record<string, string>;
    let dir: string;
    let pod: FullPodSpec;
    let runAs: { sidecar: string[]; worker: string[] };
    let tokenLayout: TokenFileLayout;
    const tokens = new Map<string, { token: string; file: string }>();
    const pods: SimPod[] = [];

    beforeAll(async () => {
      saNs = await freshNamespace(kube, `chart-${layout.name}`);
      dir = mkdtempSync(join(tmpdir(), `baton-chart-${layout.name}-`));
      chmodSync(dir, 0o777); // the worker runs as the bot's UID and writes its log here
      const text = await helmTemplate(helmBin, [
        release,
        CHART_DIR,
        '--namespace',
        saNs,
        '--kube-version',
        '1.37.2',
        '--api-versions',
        'admissionregistration.k8s.io/v1/ValidatingAdmissionPolicy',
        '-f',
        CHART_BASE_VALUES,
        '--set',
        `leaseName=${LEASE}`,
        ...layout.set.flatMap((x) => ['--set', x]),
      ]);
      const objects = parseObjects(text);
      expect(objects.map((o) => o.kind)).toEqual(expect.arrayContaining(['ValidatingAdmissionPolicy', 'ValidatingAdmissionPolicyBinding']));
      await kubectlOk(kubectlBin, admin, ['apply', '--server-side', '-n', saNs, '-f', '-'], text);
      pod = (objects.find((o) => o.kind === 'Deployment') as KubeObject & { spec: { template: { spec: FullPodSpec } } }).spec.template.spec;
      const { sidecar, bot } = containersOf(pod);
      const podSc = pod.securityContext ?? {};
      runAs = { sidecar: setprivFor(sidecar.securityContext ?? {}, podSc), worker: setprivFor(bot.securityContext ?? {}, podSc) };
      // The sidecar and the bot run from this checkout under the chart's UIDs: every directory above it must be
      // searchable by them (a checkout under a `mktemp -d` folder, mode 0700, is not: MODULE_NOT_FOUND as UID 1000).
      searchableAbove(join(import.meta.dirname, '..', '..', '..'));
      searchableAbove(process.execPath);
      const uidOf = (c: FullContainer) => c.securityContext?.runAsUser ?? podSc.runAsUser ?? 0;
      // Kubernetes reads YAML 1.1, where `defaultMode: 0400` is octal; js-yaml (YAML 1.2) reads the digits as decimal.
      const written = pod.volumes?.find((v) => v.name === 'baton-token')?.projected?.defaultMode;
      expect(written).toBeDefined();
      const mode = Number.parseInt(String(written), 8);
      tokenLayout =
        uidOf(sidecar) === uidOf(bot)
          ? { uid: uidOf(sidecar), gid: sidecar.securityContext?.runAsGroup ?? podSc.runAsGroup ?? 0, mode: 0o600 }
          : { uid: 0, gid: 0, mode };
      expect(tokenLayout).toEqual(layout.botReadsToken ? { uid: 1000, gid: 1000, mode: 0o600 } : { uid: 0, gid: 0, mode: 0o400 });
      // The chart's sidecar settings, as the CLI will read them. The harness sets where to listen, and finds
      // the worker by its command line (no container runtime here), so those three are left to it.
      sidecarEnv = Object.fromEntries(
        sidecar
          .env!.filter((e) => e.value !== undefined && !['BATON_TARGET_CONTAINER', 'BATON_LISTEN', 'BATON_PROBE_LISTEN'].includes(e.name))
          .map((e) => [e.name, e.value!]),
      );
      expect(sidecarEnv.BATON_LEASE_NAME).toBe(LEASE);
      expect(sidecarEnv.BATON_POD_LABEL).toBe(String(layout.label));
      const podRule = (objects.find((o) => o.kind === 'Role') as KubeObject & { rules: { resources: string[]; verbs: string[] }[] }).rules.find((r) =>
        r.resources.includes('pods'),
      );
      expect(podRule?.verbs).toEqual(layout.label ? ['list', 'watch', 'patch'] : ['list', 'watch']);
      // An unbound token of the chart's ServiceAccount, for the refusals below.
      saKubeconfig = join(dir, 'chart-sa.kubeconfig');
      writeFileSync(
        saKubeconfig,
        kubeconfigYaml(
          kube.server,
          kube.caData,
          await serviceAccountToken(kc, saNs, pod.serviceAccountName),
          `system:serviceaccount:${saNs}:${pod.serviceAccountName}`,
          saNs,
        ),
      );
    });

    afterAll(async () => {
      for (const p of pods) p.kill();
      await Promise.all(pods.map((p) => p.exited().catch(() => undefined)));
      await Promise.all(pods.map((p) => p.forgetPod()));
    });

    /** A pod whose sidecar reads a token bound to it from a file (as in-cluster), both processes under the layout's users. */
    async function simPod(name: string): Promise<SimPod> {
      let kubeconfig = '';
      const p = new SimPod({
        name,
        namespace: saNs,
        leaseName: LEASE,
        kc,
        dir,
        env: sidecarEnv,
        preStopMs: 500,
        graceMs: 30_000,
        podSpec: { serviceAccountName: pod.serviceAccountName, automountServiceAccountToken: false },
        runAs,
        get kubeconfig() {
          return kubeconfig;
        },
        beforeProcesses: async (created) => {
          const token = await serviceAccountToken(kc, saNs, pod.serviceAccountName, { name, uid: created.metadata!.uid! });
          const files = tokenFileKubeconfig(kube, dir, name, saNs, token, tokenLayout);
          kubeconfig = files.kubeconfig;
          tokens.set(name, { token, file: files.tokenFile });
        },
      });
      pods.push(p);
      await p.start();
      return p;
    }

    it('does its whole job: leads, labels its pod, records Events, hands over to the next pod', async () => {
      const a = await simPod(`${layout.name}-a`);
      await waitFor('a to lead', async () => (await a.leader())?.isLeader === true, 30_000);
      const b = await simPod(`${layout.name}-b`);
      await waitFor('b ready (as a standby)', () => b.ready(), 30_000);
      expect((await b.leader())?.isLeader).toBe(false);

      const core = kc.makeApiClient(k8s.CoreV1Api);
      const role = async (name: string) => (await core.readNamespacedPod({ name, namespace: saNs })).metadata?.labels?.['baton/role'];
      if (layout.label) await waitFor('pod labels', async () => (await role(a.opts.name)) === 'leader' && (await role(b.opts.name)) === 'standby');

      expect(await a.terminate()).toBe(0);
      await waitFor('b to lead', async () => (await b.leader())?.isLeader === true, 15_000);
      if (layout.label) await waitFor('b labelled leader', async () => (await role(b.opts.name)) === 'leader');
      else expect([await role(b.opts.name), readFileSync(b.sidecarLog, 'utf8').includes('pod label')]).toEqual([undefined, false]);
      const lease = await kc.makeApiClient(k8s.CoordinationV1Api).readNamespacedLease({ name: LEASE, namespace: saNs });
      expect(lease.spec?.holderIdentity).toBe(b.opts.name);

      const events = kc.makeApiClient(k8s.EventsV1Api);
      await waitFor('Events on the Lease and the Pods', async () => {
        const items = (await events.listNamespacedEvent({ namespace: saNs })).items;
        const seen = (reason: string, kind: string, name: string) =>
          items.some((e) => e.reason === reason && e.regarding?.kind === kind && e.regarding?.name === name);
        return (
          seen('LeaderElected', 'Lease', LEASE) &&
          seen('LeaderElected', 'Pod', a.opts.name) &&
          seen('LeaderReleased', 'Pod', a.opts.name) &&
          seen('LeaderElected', 'Pod', b.opts.name)
        );
      });
      // Nothing was refused on the way, by RBAC or by the policy: the sidecar logs every refusal.
      expect(await b.ready()).toBe(true);
      expect(readFileSync(b.sidecarLog, 'utf8')).not.toMatch(/refused by an admission policy|forbidden to/);
      // The processes ran as the layout says.
      const status = readFileSync(`/proc/${b.sidecar!.pid}/status`, 'utf8');
      const uid = Number(/^Uid:\s+(\d+)/m.exec(status)![1]);
      const capEff = BigInt(`0x${/^CapEff:\s+([0-9a-f]+)/m.exec(status)![1]}`);
      expect({ uid, capEff }).toEqual(layout.botReadsToken ? { uid: 1000, capEff: 0n } : { uid: 0, capEff: 1n << 5n /* CAP_KILL */ });
    });

    it(
      layout.botReadsToken
        ? "the bot CAN read the sidecar's token through /proc/<sidecar pid>/root (same UID)"
        : "the bot cannot read the sidecar's token through /proc/<sidecar pid>/root (another UID)",
      async () => {
        const b = pods.find((p) => p.sidecar && p.sidecar.exitCode === null)!;
        const { token, file } = tokens.get(b.opts.name)!;
        const path = `/proc/${b.sidecar!.pid}/root${file}`;
        // The bot's user and capabilities, as the worker runs.
        const r = await runTool(runAs.worker[0]!, [...runAs.worker.slice(1), 'cat', path]);
        if (layout.botReadsToken) {
          expect(r.code, r.stderr).toBe(0);
          expect(r.stdout).toBe(token);
        } else {
          expect(r.code).not.toBe(0);
          expect(r.stderr).toContain('Permission denied');
          const env = await runTool(runAs.worker[0]!, [...runAs.worker.slice(1), 'cat', `/proc/${b.sidecar!.pid}/environ`]);
          expect(env.stderr).toContain('Permission denied');
        }
      },
    );

    it('is refused everything else (403): Secrets, ConfigMaps, other Leases, deleting its Lease, other pod verbs, Deployments, reading Events', async () => {
      // Another Lease in the same namespace, made by the admin.
      const adminLeases = kc.makeApiClient(k8s.CoordinationV1Api);
      await adminLeases.createNamespacedLease({
        namespace: saNs,
        body: { metadata: { name: 'someone-else' }, spec: { holderIdentity: 'x', leaseDurationSeconds: 15 } },
      });
      await kc
        .makeApiClient(k8s.CoreV1Api)
        .createNamespacedSecret({ namespace: saNs, body: { metadata: { name: 'bot-token' }, stringData: { token: 'secret' } } });
      const live = pods.find((p) => p.sidecar && p.sidecar.exitCode === null)!.opts.name;

      const sa = new k8s.KubeConfig();
      sa.loadFromFile(saKubeconfig);
      const core = sa.makeApiClient(k8s.CoreV1Api);
      const leases = sa.makeApiClient(k8s.CoordinationV1Api);
      const apps = sa.makeApiClient(k8s.AppsV1Api);
      const events = sa.makeApiClient(k8s.EventsV1Api);
      const status = async (call: () => Promise<unknown>): Promise<number> => {
        try {
          await call();
          return 200;
        } catch (err) {
          return (err as { code?: number }).code ?? -1;
        }
      };
      const refused: Record<string, () => Promise<unknown>> = {
        'get secret': () => core.readNamespacedSecret({ name: 'bot-token', namespace: saNs }),
        'list secrets': () => core.listNamespacedSecret({ namespace: saNs }),
        'list configmaps': () => core.listNamespacedConfigMap({ namespace: saNs }),
        'create configmap': () => core.createNamespacedConfigMap({ namespace: saNs, body: { metadata: { name: 'x' } } }),
        'get another Lease': () => leases.readNamespacedLease({ name: 'someone-else', namespace: saNs }),
        'update another Lease': () =>
          leases.replaceNamespacedLease({
            name: 'someone-else',
            namespace: saNs,
            body: { metadata: { name: 'someone-else' }, spec: { holderIdentity: 'me' } },
          }),
        'list Leases (all names)': () => leases.listNamespacedLease({ namespace: saNs }),
        'delete its own Lease': () => leases.deleteNamespacedLease({ name: LEASE, namespace: saNs }),
        'create a Lease of another name (the policy)': () =>
          leases.createNamespacedLease({ namespace: saNs, body: { metadata: { name: 'squatter' }, spec: {} } }),
        'create a pod': () =>
          core.createNamespacedPod({ namespace: saNs, body: { metadata: { name: 'evil' }, spec: { containers: [{ name: 'c', image: 'x' }] } } }),
        'delete a pod': () => core.deleteNamespacedPod({ name: live, namespace: saNs }),
        'get a pod (only list/watch by name are granted)': () => core.readNamespacedPod({ name: live, namespace: saNs }),
        'label a pod with a token bound to no pod (the policy)': () =>
          core.patchNamespacedPod({ name: live, namespace: saNs, body: [{ op: 'add', path: '/metadata/labels/baton~1role', value: 'leader' }] }),
        'read pod logs': () => core.readNamespacedPodLog({ name: live, namespace: saNs }),
        'list deployments': () => apps.listNamespacedDeployment({ namespace: saNs }),
        'list events': () => events.listNamespacedEvent({ namespace: saNs }),
        'get pods of another namespace': () => core.listNamespacedPod({ namespace: 'default' }),
        'list namespaces': () => core.listNamespace(),
      };
      const got: Record<string, number> = {};
      for (const [what, call] of Object.entries(refused)) got[what] = await status(call);
      expect(got).toEqual(Object.fromEntries(Object.keys(refused).map((k) => [k, 403])));

      // What it needs still works with the same token (so the 403s above are RBAC and the policy, not a broken token).
      expect(await status(() => leases.readNamespacedLease({ name: LEASE, namespace: saNs }))).toBe(200);
      expect(await status(() => core.listNamespacedPod({ namespace: saNs, fieldSelector: `metadata.name=${live}` }))).toBe(200);
    });
  });
}
