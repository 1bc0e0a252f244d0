// The Helm chart, rendered by a real helm (built from the Go module proxy): lint --strict and template over
// the main value combinations, what each rendering must contain, the settings the chart refuses, the example
// chart that includes baton's named templates, deploy/ kept in step with the chart, and the alert rules under
// promtool (check + unit tests). The API server side is in chart-apiserver.test.ts.
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { beforeAll, describe, expect, it } from 'vitest';
import * as yaml from 'js-yaml';
import { OPTIONS } from '../../src/config.ts';
import { findPromtool } from '../kube/promtool.ts';
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
  type ChartCombo,
  type KubeObject,
} from '../kube/helm.ts';
import { renderDeploy, ruleFileFromPrometheusRule, ROOT } from '../../scripts/render-deploy.ts';

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
type Deployment = KubeObject & { spec: { strategy: { rollingUpdate: { maxSurge: number; maxUnavailable: number } }; template: { metadata: { labels: Record<string, string> }; spec: PodSpec } } };

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
        const lint = await helm(helmBin, ['lint', '--strict', CHART_DIR, ...args]);
        expect(lint.code, lint.stdout + lint.stderr).toBe(0);
        expect(lint.stdout).toContain('0 chart(s) failed');
        const objects = parseObjects(await helmTemplate(helmBin, [combo.name, CHART_DIR, ...args]));
        checkRendering(objects, combo, kubeVersion);
      });
    }
  }

});

describe('settings the chart refuses', () => {
  const render = (set: string[]) => helm(helmBin, ['template', 'x', CHART_DIR, '--kube-version', '1.37.2', '-f', CHART_BASE_VALUES, ...set.flatMap((s) => ['--set', s])]);

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

  it('election timings the sidecar would refuse at startup', async () => {
    expect((await render(['sidecar.renewDeadline=14.5s'])).stderr).toContain('must exceed sidecar.renewDeadline (14.5s) by at least 1s');
    expect((await render(['sidecar.retryPeriod=9s'])).stderr).toContain('must exceed 1.2 x sidecar.retryPeriod');
  });

  it('values the schema does not know, bad durations, uncatchable signals, no bot image', async () => {
    expect((await render(['sidecar.leaseDurationn=15s'])).stderr).toMatch(/additional properties? 'leaseDurationn' not allowed/);
    expect((await render(['sidecar.drain=5'])).stderr).toContain('/sidecar/drain');
    expect((await render(['sidecar.pauseSignal=SIGTERM'])).stderr).toContain('/sidecar/pauseSignal');
    expect((await render(['sidecar.listen=0.0.0.0:4040'])).stderr).toContain('/sidecar/listen');
    const noImage = await helm(helmBin, ['template', 'x', CHART_DIR, '--kube-version', '1.37.2']);
    expect(noImage.stderr).toContain('bot.image.repository is required');
  });

  it('a native sidecar on a cluster older than 1.29', async () => {
    const r = await helm(helmBin, ['template', 'x', CHART_DIR, '--kube-version', '1.28.4', '-f', CHART_BASE_VALUES, '--set', 'sidecar.native=true']);
    expect(r.stderr).toContain('sidecar.native needs Kubernetes 1.29 or newer');
  });
});

describe('the example chart that includes baton\'s named templates (charts/examples/my-bot)', () => {
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

  it('the example inherits the chart\'s timing check', async () => {
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

  it('the rule file is the PrometheusRule\'s spec', async () => {
    const rendered = await helmTemplate(helmBin, ['x', CHART_DIR, '--kube-version', '1.37.2', '-f', CHART_BASE_VALUES, '--show-only', 'templates/prometheusrule.yaml', '--set', 'monitoring.prometheusRule.enabled=true']);
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
    expect(r.output).toContain('SUCCESS: 7 rules found');
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

  it('the chart\'s release-scoped PrometheusRule passes the same checks and unit tests (namespace bots, Lease my-bot)', async () => {
    const rendered = await helmTemplate(helmBin, [
      'x', CHART_DIR, '--namespace', 'bots', '--kube-version', '1.37.2', '-f', CHART_BASE_VALUES,
      '--show-only', 'templates/prometheusrule.yaml', '--set', 'monitoring.prometheusRule.enabled=true', '--set', 'leaseName=my-bot',
    ]);
    expect(rendered.match(/baton_info\{namespace="bots", lease="my-bot"\}/g)).toHaveLength(7);
    const dir = mkdtempSync(join(tmpdir(), 'baton-rules-'));
    writeFileSync(join(dir, 'prometheus-rules.yaml'), ruleFileFromPrometheusRule(rendered));
    cpSync(testFile, join(dir, 'prometheus-rules.test.yaml'));
    expect(promtool(['check', 'rules', join(dir, 'prometheus-rules.yaml')]).code).toBe(0);
    const r = promtool(['test', 'rules', join(dir, 'prometheus-rules.test.yaml')]);
    expect(r.output).toContain('SUCCESS');
    expect(r.code).toBe(0);
  });

  it('a release-scoped rule ignores other Leases', async () => {
    const rendered = await helmTemplate(helmBin, [
      'x', CHART_DIR, '--namespace', 'bots', '--kube-version', '1.37.2', '-f', CHART_BASE_VALUES,
      '--show-only', 'templates/prometheusrule.yaml', '--set', 'monitoring.prometheusRule.enabled=true', '--set', 'leaseName=my-bot',
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
