// The Helm chart, rendered by a real helm (built from the Go module proxy): lint --strict and template over
// the main value combinations, what each rendering must contain, the settings the chart refuses, the example
// chart that includes baton's named templates, deploy/ kept in step with the chart, and the alert rules under
// promtool (check + unit tests). The API server side is in chart/apiserver.test.ts.
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { beforeAll, describe, expect, it } from 'vitest';
import * as yaml from 'js-yaml';
import { OPTIONS } from '../../../src/config.ts';
import { findPromtool } from '../../kube/promtool.ts';
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
  lintArgs,
  parseObjects,
  type ChartCombo,
  type KubeObject,
} from '../../kube/helm.ts';
import { renderDeploy, ruleFileFromPrometheusRule, ROOT } from '../../../scripts/render-deploy.ts';

type Env = { name: string; value?: string; valueFrom?: { fieldRef?: { fieldPath: string } } };
type Container = {
  name: string;
  image: string;
  env?: Env[];
  restartPolicy?: string;
  ports?: { name: string; containerPort: number }[];
  livenessProbe?: { httpGet: { path: string; port: string } };
  readinessProbe?: { httpGet: { path: string; port: string } };
  lifecycle?: { preStop: { sleep?: { seconds: number }; exec?: { command: string[] } } };
  securityContext?: {
    runAsUser?: number;
    runAsNonRoot?: boolean;
    readOnlyRootFilesystem?: boolean;
    allowPrivilegeEscalation?: boolean;
    capabilities?: { drop?: string[]; add?: string[] };
    seccompProfile?: { type: string };
  };
  volumeMounts?: { name: string; mountPath: string }[];
};
type PodSpec = {
  containers: Container[];
  initContainers?: Container[];
  shareProcessNamespace?: boolean;
  terminationGracePeriodSeconds?: number;
  serviceAccountName?: string;
  automountServiceAccountToken?: boolean;
  securityContext?: { runAsUser?: number; runAsNonRoot?: boolean; seccompProfile?: { type: string } };
};
type Deployment = KubeObject & {
  spec: {
    strategy: { rollingUpdate: { maxSurge: number; maxUnavailable: number } };
    minReadySeconds?: number;
    template: { metadata: { labels: Record<string, string> }; spec: PodSpec };
  };
};

const NS = 'bots';
const KUBE_VERSIONS = ['1.29.0', '1.37.2'];
const optionEnvs = new Set(OPTIONS.map((o) => o.env));
let helmBin: string;

beforeAll(async () => {
  helmBin = await ensureHelm();
}, 900_000);

function find<T extends KubeObject = KubeObject>(objects: KubeObject[], kind: string): T[] {
  return objects.filter((o) => o.kind === kind) as T[];
}

const envValue = (c: Container, name: string) => c.env?.find((e) => e.name === name)?.value;

/** What every rendering of the standalone chart must hold, whatever the values. */
function checkRendering(objects: KubeObject[], combo: ChartCombo, kubeVersion: string): void {
  const { native, capKill, monitoring, lease } = combo;

  const [deployment] = find<Deployment>(objects, 'Deployment');
  expect(deployment, 'a Deployment').toBeDefined();
  const spec = deployment!.spec;
  expect(spec.strategy.rollingUpdate).toEqual({ maxSurge: 1, maxUnavailable: 0 });
  // Y1: the old pods are deleted 5 s after a new one is Ready, so the leader hands over (1 s after) first.
  expect(spec.minReadySeconds).toBe(5);
  const pod = spec.template.spec;
  expect(pod.shareProcessNamespace).toBe(true);
  expect(pod.terminationGracePeriodSeconds).toBe(60);
  expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
  expect(spec.template.metadata.labels['baton/lease']).toBe(lease);

  const { sidecar, bot } = containersOf(pod);
  expect(containersOf(pod).native).toBe(native);
  if (native) expect(sidecar.restartPolicy).toBe('Always');
  else expect(sidecar.restartPolicy).toBeUndefined();

  // The contract: POD_NAME/POD_NAMESPACE from the downward API, BATON_* names the sidecar knows.
  expect(sidecar.env!.find((e) => e.name === 'POD_NAME')?.valueFrom?.fieldRef?.fieldPath).toBe('metadata.name');
  expect(sidecar.env!.find((e) => e.name === 'POD_NAMESPACE')?.valueFrom?.fieldRef?.fieldPath).toBe('metadata.namespace');
  const batonVars = sidecar.env!.map((e) => e.name).filter((n) => n.startsWith('BATON_'));
  expect(batonVars.filter((n) => !optionEnvs.has(n))).toEqual([]);
  expect(envValue(sidecar, 'BATON_LEASE_NAME')).toBe(lease);
  expect(envValue(sidecar, 'BATON_TARGET_CONTAINER')).toBe(bot.name);
  expect(envValue(sidecar, 'BATON_YIELD_TO_NEWER')).toBe('1s');
  expect(envValue(sidecar, 'BATON_TAKEOVER')).toBe('300ms');
  expect(bot.env!.filter((e) => e.name.startsWith('BATON_')).map((e) => e.name)).toEqual(['BATON_URL']);

  // Probes on the probe port.
  expect(sidecar.ports).toEqual([{ name: 'baton-metrics', containerPort: 4041, protocol: 'TCP' }]);
  expect(envValue(sidecar, 'BATON_PROBE_LISTEN')).toBe('0.0.0.0:4041');
  expect(sidecar.livenessProbe!.httpGet).toEqual({ path: '/healthz', port: 'baton-metrics' });
  expect(sidecar.readinessProbe!.httpGet).toEqual({ path: '/readyz', port: 'baton-metrics' });

  // preStop: the kubelet's sleep action from 1.30 on, exec sleep before.
  const preStop = bot.lifecycle!.preStop;
  if (kubeVersion >= '1.30') expect(preStop).toEqual({ sleep: { seconds: 20 } });
  else expect(preStop).toEqual({ exec: { command: ['sleep', '20'] } });

  // Hardened, and able to signal the bot: same UID, or UID 0 with CAP_KILL only.
  const sc = sidecar.securityContext!;
  expect(sc).toMatchObject({ readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, seccompProfile: { type: 'RuntimeDefault' } });
  expect(bot.securityContext).toMatchObject({ readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } });
  if (capKill) {
    expect(sc).toMatchObject({ runAsUser: 0, runAsNonRoot: false, capabilities: { drop: ['ALL'], add: ['KILL'] } });
  } else {
    expect(sc).toMatchObject({ runAsNonRoot: true, capabilities: { drop: ['ALL'] } });
    expect(sc.capabilities!.add).toBeUndefined();
    expect(sc.runAsUser).toBe(bot.securityContext?.runAsUser ?? pod.securityContext?.runAsUser);
  }

  // RBAC: exactly README's rules, the Lease by name.
  const [role] = find<KubeObject & { rules: unknown[] }>(objects, 'Role');
  expect(role!.rules).toEqual([
    { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['create'] },
    { apiGroups: ['coordination.k8s.io'], resources: ['leases'], resourceNames: [lease], verbs: ['get', 'list', 'watch', 'update'] },
    { apiGroups: ['events.k8s.io'], resources: ['events'], verbs: ['create'] },
    { apiGroups: [''], resources: ['pods'], verbs: ['list', 'watch', 'patch'] },
  ]);
  const [binding] = find<KubeObject & { subjects: { name: string; namespace: string }[] }>(objects, 'RoleBinding');
  expect(binding!.subjects).toEqual([{ kind: 'ServiceAccount', name: pod.serviceAccountName, namespace: NS }]);
  expect(find(objects, 'ServiceAccount').map((o) => o.metadata.name)).toEqual([pod.serviceAccountName]);

  // The token reaches the sidecar only, unless isolateToken is off.
  const isolated = combo.isolateToken;
  expect(pod.automountServiceAccountToken).toBe(isolated ? false : undefined);
  expect((sidecar.volumeMounts ?? []).some((m) => m.mountPath === '/var/run/secrets/kubernetes.io/serviceaccount')).toBe(isolated);
  expect((bot.volumeMounts ?? []).some((m) => m.mountPath.startsWith('/var/run/secrets'))).toBe(false);

  const kinds = objects.map((o) => o.kind);
  for (const kind of ['PodMonitor', 'ServiceMonitor', 'PrometheusRule']) expect(kinds.includes(kind), kind).toBe(monitoring);
  expect(kinds.includes('ConfigMap')).toBe(monitoring);
}

describe('helm lint --strict and helm template over the main value combinations', () => {
  for (const combo of CHART_COMBOS) {
    for (const kubeVersion of KUBE_VERSIONS) {
      it(`${combo.name} on Kubernetes ${kubeVersion}`, async () => {
        const args = comboArgs(combo, NS, kubeVersion);
        const lint = await helm(helmBin, ['lint', '--strict', CHART_DIR, ...lintArgs(args)]);
        expect(lint.code, lint.stdout + lint.stderr).toBe(0);
        expect(lint.stdout).toContain('0 chart(s) failed');
        const objects = parseObjects(await helmTemplate(helmBin, [combo.name, CHART_DIR, ...args]));
        checkRendering(objects, combo, kubeVersion);
      });
    }
  }
});

describe('settings the chart refuses', () => {
  const render = (set: string[]) =>
    helm(helmBin, ['template', 'x', CHART_DIR, '--kube-version', '1.37.2', '-f', CHART_BASE_VALUES, ...set.flatMap((s) => ['--set', s])]);

  it('a preStop sleep shorter than the longest handoff, naming the rule and the fix', async () => {
    const r = await render(['bot.preStop.sleepSeconds=12']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('bot.preStop.sleepSeconds (12) is shorter than the longest handoff');
    expect(r.stderr).toContain('Raise bot.preStop.sleepSeconds to 20 or more');
    // A shorter pause-ack timeout makes a shorter sleep fine: max(5s, 5s) + 5s = 10s.
    expect((await render(['bot.preStop.sleepSeconds=10', 'sidecar.pauseAckTimeout=5s'])).code).toBe(0);
  });

  it('a grace period that does not outlast the preStop sleep', async () => {
    const r = await render(['terminationGracePeriodSeconds=20']);
    expect(r.stderr).toContain('terminationGracePeriodSeconds (20) must be longer than bot.preStop.sleepSeconds (20)');
  });

  it('election timings the sidecar would refuse at startup (every such setting: chart/refusals.test.ts)', async () => {
    expect((await render(['sidecar.renewDeadline=14.5s'])).stderr).toContain('BATON_LEASE_DURATION − BATON_RENEW_DEADLINE is 500 ms');
    expect((await render(['sidecar.retryPeriod=9s'])).stderr).toContain('must be greater than 1.2 × BATON_RETRY_PERIOD (9000 ms)');
  });

  it('values the schema does not know; no bot image, an empty tag, no sidecar image', async () => {
    expect((await render(['sidecar.leaseDurationn=15s'])).stderr).toMatch(/additional properties? 'leaseDurationn' not allowed/);
    const noImage = await helm(helmBin, ['template', 'x', CHART_DIR, '--kube-version', '1.37.2']);
    expect(noImage.stderr).toContain('bot.image.repository is required');
    // An empty tag used to render "registry/bot:" (InvalidImageName at run time).
    expect((await render(['bot.image.tag='])).stderr).toContain('bot.image.tag or bot.image.digest is required');
    expect((await render(['sidecar.image.repository='])).stderr).toContain('sidecar.image.repository is required: the baton image');
  });

  it("a native sidecar or the kubelet's preStop sleep on a cluster known to be too old, naming --kube-version", async () => {
    const native = await helm(helmBin, [
      'template',
      'x',
      CHART_DIR,
      '--kube-version',
      '1.28.4',
      '-f',
      CHART_BASE_VALUES,
      '--set',
      'sidecar.native=true',
      '--set',
      'bot.preStop.mode=exec',
    ]);
    expect(native.stderr).toContain('sidecar.native needs Kubernetes 1.29 or newer');
    expect(native.stderr).toContain('--kube-version');
    const sleep = await helm(helmBin, ['template', 'x', CHART_DIR, '--kube-version', '1.29.4', '-f', CHART_BASE_VALUES]);
    expect(sleep.stderr).toContain(
      "bot.preStop.mode=sleep (the kubelet's sleep action) needs Kubernetes 1.30 or newer; this cluster is v1.29.4. Set bot.preStop.mode=exec",
    );
    expect(sleep.stderr).toContain('--kube-version');
  });
});

describe('offline rendering and the conventions of well-kept charts', () => {
  const template = async (args: string[]) => parseObjects(await helmTemplate(helmBin, ['x', CHART_DIR, '--namespace', NS, '-f', CHART_BASE_VALUES, ...args]));
  const deploymentOf = (objects: KubeObject[]) => find<Deployment>(objects, 'Deployment')[0]!;

  it('helm template without a cluster (no --kube-version): the kubelet sleep action, and a native sidecar works', async () => {
    const pod = deploymentOf(await template(['--set', 'sidecar.native=true'])).spec.template.spec;
    const { sidecar, bot, native } = containersOf(pod);
    expect(native).toBe(true);
    expect(sidecar.restartPolicy).toBe('Always');
    expect(bot.lifecycle!.preStop).toEqual({ sleep: { seconds: 20 } });
    // exec is the opt-in for old clusters.
    const old = deploymentOf(await template(['--set', 'bot.preStop.mode=exec'])).spec.template.spec;
    expect(containersOf(old).bot.lifecycle!.preStop).toEqual({ exec: { command: ['sleep', '20'] } });
  });

  it("the sidecar's tag defaults to the chart's appVersion; a digest wins", async () => {
    const appVersion = /^appVersion: "(.*)"$/m.exec(readFileSync(join(CHART_DIR, 'Chart.yaml'), 'utf8'))![1];
    expect(containersOf(deploymentOf(await template([])).spec.template.spec).sidecar.image).toBe(`registry.example.com/baton:${appVersion}`);
    const digest = `sha256:${'ab'.repeat(32)}`;
    expect(containersOf(deploymentOf(await template(['--set', `sidecar.image.digest=${digest}`])).spec.template.spec).sidecar.image).toBe(
      `registry.example.com/baton@${digest}`,
    );
  });

  it('monitoring objects only where the cluster serves their API; required=true fails naming the fix', async () => {
    const on = [
      '--set',
      'monitoring.podMonitor.enabled=true',
      '--set',
      'monitoring.serviceMonitor.enabled=true',
      '--set',
      'monitoring.prometheusRule.enabled=true',
    ];
    const without = (await template(on)).map((o) => o.kind);
    expect(without).not.toContain('PodMonitor');
    expect(without).not.toContain('ServiceMonitor');
    expect(without).not.toContain('PrometheusRule');
    expect(without).toContain('Deployment');
    const only = (await template([...on, '--api-versions', 'monitoring.coreos.com/v1/PodMonitor'])).map((o) => o.kind);
    expect(only).toContain('PodMonitor');
    expect(only).not.toContain('PrometheusRule');
    const r = await helm(helmBin, [
      'template',
      'x',
      CHART_DIR,
      '-f',
      CHART_BASE_VALUES,
      '--set',
      'monitoring.prometheusRule.enabled=true',
      '--set',
      'monitoring.prometheusRule.required=true',
    ]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(
      'monitoring.prometheusRule.required is true, but the cluster serves no monitoring.coreos.com/v1/PrometheusRule: install the prometheus-operator CRDs first, or, rendering offline with helm template, pass --api-versions monitoring.coreos.com/v1/PrometheusRule',
    );
  });

  it('commonLabels, sidecar.extraVolumeMounts, init and extra containers, topologySpreadConstraints, minReadySeconds pass through', async () => {
    const objects = await template([
      '--kube-version',
      '1.37.2',
      '--set',
      'sidecar.native=true',
      '--set',
      'deployment.minReadySeconds=10',
      '--set',
      'commonLabels.team=bots',
      '--set-json',
      'deployment.volumes=[{"name":"certs","emptyDir":{}}]',
      '--set-json',
      'sidecar.extraVolumeMounts=[{"name":"certs","mountPath":"/certs"}]',
      '--set-json',
      'deployment.initContainers=[{"name":"migrate","image":"registry.example.com/my-bot:1.0.0"}]',
      '--set-json',
      'deployment.extraContainers=[{"name":"proxy","image":"registry.example.com/proxy:1"}]',
      '--set-json',
      'deployment.topologySpreadConstraints=[{"maxSkew":1,"topologyKey":"topology.kubernetes.io/zone","whenUnsatisfiable":"DoNotSchedule"}]',
    ]);
    for (const o of objects) expect(o.metadata.labels?.team, `${o.kind} ${o.metadata.name}`).toBe('bots');
    const deployment = deploymentOf(objects);
    expect(deployment.spec.template.metadata.labels.team).toBe('bots');
    expect(deployment.spec.minReadySeconds).toBe(10);
    const pod = deployment.spec.template.spec as PodSpec & { topologySpreadConstraints: { topologyKey: string }[] };
    // The user's init containers run first, then the native sidecar; extra containers after bot and sidecar.
    expect(pod.initContainers!.map((c) => c.name)).toEqual(['migrate', 'baton']);
    expect(pod.containers.map((c) => c.name)).toEqual(['bot', 'proxy']);
    expect(containersOf(pod).sidecar.volumeMounts).toContainEqual({ name: 'certs', mountPath: '/certs' });
    expect(pod.topologySpreadConstraints.map((t) => t.topologyKey)).toEqual(['topology.kubernetes.io/zone', 'kubernetes.io/hostname']);
  });
});

describe("the example chart that includes baton's named templates (charts/examples/my-bot)", () => {
  let example: string;
  beforeAll(async () => {
    example = await buildExampleChart(helmBin);
  });

  for (const native of [false, true]) {
    it(`lints and renders the sidecar into its own Deployment (${native ? 'native' : 'regular'} sidecar)`, async () => {
      const args = ['--namespace', NS, '--kube-version', '1.37.2', '--set', `baton.sidecar.native=${native}`];
      const lint = await helm(helmBin, ['lint', '--strict', example, ...args]);
      expect(lint.code, lint.stdout + lint.stderr).toBe(0);
      const objects = parseObjects(await helmTemplate(helmBin, ['demo', example, ...args]));
      expect(objects.map((o) => o.kind).sort()).toEqual(['Deployment', 'Role', 'RoleBinding', 'ServiceAccount']);
      const [deployment] = find<Deployment>(objects, 'Deployment');
      expect(deployment!.metadata.name).toBe('demo-my-bot');
      const pod = deployment!.spec.template.spec;
      const { sidecar, bot, native: isNative } = containersOf(pod);
      expect(isNative).toBe(native);
      expect(bot.name).toBe('bot');
      expect(envValue(sidecar, 'BATON_TARGET_CONTAINER')).toBe('bot');
      expect(envValue(sidecar, 'BATON_LEASE_NAME')).toBe('my-bot');
      expect(sidecar.image).toBe('registry.example.com/baton:0.1.0');
      // The pod runs as the example's UID, and so does the sidecar (signals need the same UID).
      expect(pod.securityContext?.runAsUser).toBe(10001);
      expect(sidecar.securityContext?.runAsUser).toBe(10001);
      expect(pod.shareProcessNamespace).toBe(true);
      expect(bot.lifecycle?.preStop).toEqual({ sleep: { seconds: 20 } });
      expect(deployment!.spec.template.metadata.labels['baton/lease']).toBe('my-bot');
      // The ServiceAccount the subchart creates is the one the example's pods use; its Role names the Lease.
      expect(find(objects, 'ServiceAccount')[0]!.metadata.name).toBe(pod.serviceAccountName);
      const [role] = find<KubeObject & { rules: { resourceNames?: string[] }[] }>(objects, 'Role');
      expect(role!.rules.find((r) => r.resourceNames)?.resourceNames).toEqual(['my-bot']);
    });
  }

  it("the example inherits the chart's timing check", async () => {
    const r = await helm(helmBin, ['template', 'demo', example, '--kube-version', '1.37.2', '--set', 'baton.bot.preStop.sleepSeconds=5']);
    expect(r.stderr).toContain('bot.preStop.sleepSeconds (5) is shorter than the longest handoff');
  });
});

describe('deploy/ is rendered from the chart', () => {
  it('deploy/baton.yaml, deploy/prometheus-rules.yaml and deploy/grafana-dashboard.json have not drifted (fix: node scripts/render-deploy.ts)', async () => {
    const files = await renderDeploy(helmBin);
    expect([...files.keys()].sort()).toEqual(['deploy/baton.yaml', 'deploy/grafana-dashboard.json', 'deploy/prometheus-rules.yaml']);
    for (const [path, content] of files) {
      expect(readFileSync(join(ROOT, path), 'utf8'), `${path} drifted from the chart: run node scripts/render-deploy.ts`).toBe(content);
    }
  });

  it("the rule file is the PrometheusRule's spec", async () => {
    const rendered = await helmTemplate(helmBin, [
      'x',
      CHART_DIR,
      '--kube-version',
      '1.37.2',
      '-f',
      CHART_BASE_VALUES,
      '--show-only',
      'templates/prometheusrule.yaml',
      '--set',
      'monitoring.prometheusRule.enabled=true',
      '--api-versions',
      'monitoring.coreos.com/v1/PrometheusRule',
    ]);
    const spec = (yaml.load(rendered) as { spec: unknown }).spec;
    expect(yaml.load(ruleFileFromPrometheusRule(rendered))).toEqual(spec);
  });
});

function promtool(args: string[]): { code: number | null; output: string } {
  const r = spawnSync(findPromtool(), args, { encoding: 'utf8' });
  return { code: r.status, output: `${r.stdout}${r.stderr}` };
}

describe('alert rules under promtool', () => {
  const testFile = join(ROOT, 'deploy', 'prometheus-rules.test.yaml');

  it('promtool check rules accepts deploy/prometheus-rules.yaml', () => {
    const r = promtool(['check', 'rules', join(ROOT, 'deploy', 'prometheus-rules.yaml')]);
    expect(r.output).toContain('SUCCESS: 12 rules found');
    expect(r.code).toBe(0);
  });

  it('promtool test rules: one unit test (or more) per alert passes', () => {
    const tests = yaml.load(readFileSync(testFile, 'utf8')) as { tests: { alert_rule_test: { alertname: string; exp_alerts: unknown[] }[] }[] };
    const rules = yaml.load(readFileSync(join(ROOT, 'deploy', 'prometheus-rules.yaml'), 'utf8')) as { groups: { rules: { alert: string }[] }[] };
    const alerts = rules.groups.flatMap((g) => g.rules.map((r) => r.alert));
    const firingTested = new Set(tests.tests.flatMap((t) => t.alert_rule_test.filter((a) => a.exp_alerts.length > 0).map((a) => a.alertname)));
    expect([...firingTested].sort()).toEqual([...alerts].sort());
    const r = promtool(['test', 'rules', testFile]);
    expect(r.output).toContain('SUCCESS');
    expect(r.code).toBe(0);
  });

  it("the chart's release-scoped PrometheusRule passes the same checks and unit tests (namespace bots, Lease my-bot)", async () => {
    const rendered = await helmTemplate(helmBin, [
      'x',
      CHART_DIR,
      '--namespace',
      'bots',
      '--kube-version',
      '1.37.2',
      '-f',
      CHART_BASE_VALUES,
      '--show-only',
      'templates/prometheusrule.yaml',
      '--set',
      'monitoring.prometheusRule.enabled=true',
      '--set',
      'leaseName=my-bot',
      '--api-versions',
      'monitoring.coreos.com/v1/PrometheusRule',
    ]);
    // Every baton_info in every expression carries the release's scope.
    const exprs = (yaml.load(ruleFileFromPrometheusRule(rendered)) as { groups: { rules: { expr: string }[] }[] }).groups[0]!.rules.map((r) => r.expr);
    expect(exprs).toHaveLength(12);
    for (const expr of exprs) expect(expr.match(/baton_info(?!\{namespace="bots", lease="my-bot"\})/g), expr).toBeNull();
    const dir = mkdtempSync(join(tmpdir(), 'baton-rules-'));
    writeFileSync(join(dir, 'prometheus-rules.yaml'), ruleFileFromPrometheusRule(rendered));
    cpSync(testFile, join(dir, 'prometheus-rules.test.yaml'));
    expect(promtool(['check', 'rules', join(dir, 'prometheus-rules.yaml')]).code).toBe(0);
    const r = promtool(['test', 'rules', join(dir, 'prometheus-rules.test.yaml')]);
    expect(r.output).toContain('SUCCESS');
    expect(r.code).toBe(0);
  });

  it('BatonSidecarsAbsent sees a Lease that never reported (release scope) and a Prometheus with no baton at all (scope all)', async () => {
    const rendered = await helmTemplate(helmBin, [
      'x',
      CHART_DIR,
      '--namespace',
      'bots',
      '--kube-version',
      '1.37.2',
      '-f',
      CHART_BASE_VALUES,
      '--api-versions',
      'monitoring.coreos.com/v1/PrometheusRule',
      '--show-only',
      'templates/prometheusrule.yaml',
      '--set',
      'monitoring.prometheusRule.enabled=true',
      '--set',
      'leaseName=my-bot',
      '--api-versions',
      'monitoring.coreos.com/v1/PrometheusRule',
    ]);
    const dir = mkdtempSync(join(tmpdir(), 'baton-rules-'));
    writeFileSync(join(dir, 'release.yaml'), ruleFileFromPrometheusRule(rendered));
    cpSync(join(ROOT, 'deploy', 'prometheus-rules.yaml'), join(dir, 'all.yaml'));
    const runbook = 'https://github.com/baton-sidecar/baton/blob/main/docs/runbook.md#batonsidecarsabsent';
    const description =
      'No baton_info series has been scraped for 2m: the pods are not running (crash loop, ImagePullBackOff, unschedulable) or Prometheus cannot scrape them. Check kubectl get pods -l baton/lease and the PodMonitor/ServiceMonitor targets.';
    const unitTest = (file: string, series: { series: string; values: string }[], labels: Record<string, string>, summary: string) =>
      yaml.dump({
        rule_files: [file],
        evaluation_interval: '1m',
        tests: [
          {
            interval: '1m',
            input_series: [{ series: 'up{job="something-else"}', values: '1x10' }, ...series],
            alert_rule_test: [
              { eval_time: '1m', alertname: 'BatonSidecarsAbsent', exp_alerts: [] },
              {
                eval_time: '5m',
                alertname: 'BatonSidecarsAbsent',
                exp_alerts: [{ exp_labels: { severity: 'critical', ...labels }, exp_annotations: { runbook_url: runbook, summary, description } }],
              },
            ],
          },
        ],
      });
    // The release's pods never came up (ImagePullBackOff from the start), while another Lease reports.
    writeFileSync(
      join(dir, 'release.test.yaml'),
      unitTest(
        'release.yaml',
        [{ series: 'baton_info{namespace="bots", pod="z", lease="someone-else"}', values: '1x10' }],
        { namespace: 'bots', lease: 'my-bot' },
        'No baton sidecar of Lease bots/my-bot reports metrics: the bot is probably not polling',
      ),
    );
    writeFileSync(join(dir, 'all.test.yaml'), unitTest('all.yaml', [], {}, 'No baton sidecar of Lease (any) reports metrics: the bot is probably not polling'));
    for (const file of ['release.test.yaml', 'all.test.yaml']) {
      const r = promtool(['test', 'rules', join(dir, file)]);
      expect(r.output, file).toContain('SUCCESS');
      expect(r.code).toBe(0);
    }
  });

  it('a release-scoped rule ignores other Leases', async () => {
    const rendered = await helmTemplate(helmBin, [
      'x',
      CHART_DIR,
      '--namespace',
      'bots',
      '--kube-version',
      '1.37.2',
      '-f',
      CHART_BASE_VALUES,
      '--show-only',
      'templates/prometheusrule.yaml',
      '--set',
      'monitoring.prometheusRule.enabled=true',
      '--set',
      'leaseName=my-bot',
      '--api-versions',
      'monitoring.coreos.com/v1/PrometheusRule',
    ]);
    const dir = mkdtempSync(join(tmpdir(), 'baton-rules-'));
    writeFileSync(join(dir, 'rules.yaml'), ruleFileFromPrometheusRule(rendered));
    writeFileSync(
      join(dir, 'test.yaml'),
      yaml.dump({
        rule_files: ['rules.yaml'],
        evaluation_interval: '1m',
        tests: [
          {
            interval: '1m',
            input_series: [
              { series: 'baton_info{namespace="bots", pod="z", lease="someone-else"}', values: '1x10' },
              { series: 'baton_leader{namespace="bots", pod="z"}', values: '0x10' },
            ],
            alert_rule_test: [{ eval_time: '5m', alertname: 'BatonNoLeader', exp_alerts: [] }],
          },
        ],
      }),
    );
    const r = promtool(['test', 'rules', join(dir, 'test.yaml')]);
    expect(r.output).toContain('SUCCESS');
  });
});
