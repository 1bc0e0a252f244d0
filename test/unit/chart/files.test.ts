// Checks on the chart's and deploy/'s files that need no helm: the dashboard shows only metrics the sidecar
// exports, the chart's settings are the sidecar's contract (OPTIONS), its defaults are the sidecar's, and the
// plain manifests say the same. Rendering, linting and the API server are in test/integration/chart/*.test.ts.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import * as yaml from 'js-yaml';
import { OPTIONS, parseDuration } from '../../../src/config.ts';
import { METRIC_NAMES } from '../../../src/metrics.ts';

const root = join(import.meta.dirname, '..', '..', '..');
const read = (path: string) => readFileSync(join(root, path), 'utf8');
const chartValues = yaml.load(read('charts/baton/values.yaml')) as {
  sidecar: Record<string, unknown> & { image: { tag: string; repository: string } };
  bot: { preStop: { sleepSeconds: number } };
  terminationGracePeriodSeconds: number;
};
const optionEnvs = new Set(OPTIONS.map((o) => o.env));
const optionDefault = (env: string) => OPTIONS.find((o) => o.env === env)?.default;

/** Every PromQL expression in a Grafana dashboard: panel targets, annotations, template variables. */
function dashboardExprs(dashboard: unknown): string[] {
  const out: string[] = [];
  const walk = (node: unknown, key?: string) => {
    if (typeof node === 'string' && (key === 'expr' || key === 'query' || key === 'definition')) out.push(node);
    else if (Array.isArray(node)) node.forEach((n) => walk(n));
    else if (node && typeof node === 'object') for (const [k, v] of Object.entries(node)) walk(v, k);
  };
  walk(dashboard);
  return out;
}

/** Metric names an expression references: baton_*, process_*, nodejs_* identifiers, with histogram suffixes removed. */
function metricsIn(expr: string): string[] {
  const names = expr.match(/\b(?:baton|process|nodejs)_[a-z0-9_]+/g) ?? [];
  return names.map((n) => (n.startsWith('baton_') ? n.replace(/_(bucket|count|sum)$/, '') : n));
}

describe('Grafana dashboard', () => {
  const dashboard = JSON.parse(read('charts/baton/files/dashboard.json')) as { panels: unknown[]; templating: unknown };

  it('references only metrics that the sidecar exports (METRIC_NAMES), and shows every one of them', () => {
    const exprs = dashboardExprs(dashboard);
    expect(exprs.length).toBeGreaterThan(10);
    const used = new Set(exprs.flatMap(metricsIn));
    const known = new Set<string>(METRIC_NAMES);
    const unknown = [...used].filter((m) => m.startsWith('baton_') && !known.has(m));
    expect(unknown).toEqual([]);
    // No process_/nodejs_ metric either: the sidecar exports them, but the dashboard is about the Lease.
    expect([...used].filter((m) => !m.startsWith('baton_'))).toEqual([]);
    expect(METRIC_NAMES.filter((m) => !used.has(m))).toEqual([]);
  });

  it('histogram panels query the _bucket series of histograms only', () => {
    const buckets = dashboardExprs(dashboard).flatMap((e) => e.match(/\bbaton_[a-z_]+_bucket\b/g) ?? []);
    for (const b of buckets)
      expect(['baton_handoff_pause_seconds_bucket', 'baton_handoff_acquire_seconds_bucket', 'baton_lease_renew_duration_seconds_bucket']).toContain(b);
  });

  it("deploy/grafana-dashboard.json is the chart's dashboard", () => {
    expect(read('deploy/grafana-dashboard.json')).toBe(read('charts/baton/files/dashboard.json'));
  });
});

describe("the chart speaks the sidecar's contract", () => {
  it("every BATON_* name in the chart's templates and values is an option of the sidecar, or BATON_URL of the worker kit", () => {
    const dir = join(root, 'charts/baton/templates');
    const text =
      readdirSync(dir)
        .map((f) => readFileSync(join(dir, f), 'utf8'))
        .join('\n') + read('charts/baton/values.yaml');
    const names = new Set(text.match(/\bBATON_[A-Z_]+\b/g));
    expect(names.size).toBeGreaterThan(10);
    const foreign = [...names].filter((n) => !optionEnvs.has(n) && n !== 'BATON_URL');
    expect(foreign).toEqual([]);
    // BATON_URL is what the worker kits read to find the local API (Node and Python).
    expect(read('packages/baton-worker/src/local-api-client.ts')).toContain('env.BATON_URL');
    expect(read('python/baton_worker.py')).toContain('"BATON_URL"');
  });

  it("the sidecar's defaults in values.yaml are the CLI's own defaults", () => {
    const s = chartValues.sidecar;
    expect(s.leaseDuration).toBe(optionDefault('BATON_LEASE_DURATION'));
    expect(s.renewDeadline).toBe(optionDefault('BATON_RENEW_DEADLINE'));
    expect(s.retryPeriod).toBe(optionDefault('BATON_RETRY_PERIOD'));
    expect(s.pauseAckTimeout).toBe(optionDefault('BATON_PAUSE_ACK_TIMEOUT'));
    expect(s.drain).toBe(optionDefault('BATON_DRAIN'));
    expect(s.workerGrace).toBe(optionDefault('BATON_WORKER_GRACE'));
    expect(s.startSignal).toBe(optionDefault('BATON_START_SIGNAL'));
    expect(s.pauseSignal).toBe(optionDefault('BATON_PAUSE_SIGNAL'));
    expect(s.listen).toBe(optionDefault('BATON_LISTEN'));
    expect(`0.0.0.0:${String(s.probePort)}`).toBe(optionDefault('BATON_PROBE_LISTEN'));
    expect(s.logLevel).toBe(optionDefault('BATON_LOG_LEVEL'));
    expect(s.yieldToNewer).toBe(optionDefault('BATON_YIELD_TO_NEWER'));
    expect(s.takeover).toBe(optionDefault('BATON_TAKEOVER'));
  });

  it('Y1: the old pods are deleted after the yield (minReadySeconds is longer than the yield delay)', () => {
    const s = chartValues.sidecar as Record<string, string>;
    expect((chartValues as unknown as { deployment: { minReadySeconds: number } }).deployment.minReadySeconds * 1000).toBeGreaterThan(
      parseDuration(s.yieldToNewer!, 'x'),
    );
  });

  it('the default preStop sleep covers the longest handoff, and the grace period covers the sleep', () => {
    const s = chartValues.sidecar as Record<string, string>;
    const ms = (v: string | undefined) => parseDuration(v!, 'x');
    const need = Math.max(ms(s.pauseAckTimeout), ms(s.drain)) + Math.max(1000, ms(s.renewDeadline) / 2);
    expect(chartValues.bot.preStop.sleepSeconds * 1000).toBeGreaterThanOrEqual(need);
    expect(chartValues.terminationGracePeriodSeconds).toBeGreaterThan(chartValues.bot.preStop.sleepSeconds);
    expect(chartValues.terminationGracePeriodSeconds).toBe(60);
  });

  it("the sidecar image defaults to the one each release publishes: ghcr.io/<owner>/baton at the chart's appVersion, which is the package version", () => {
    const chart = yaml.load(read('charts/baton/Chart.yaml')) as { appVersion: string; home: string };
    const pkg = JSON.parse(read('package.json')) as { version: string };
    const owner = /^https:\/\/github\.com\/([^/]+)\/[^/]+$/.exec(chart.home)![1]!.toLowerCase();
    expect(chartValues.sidecar.image.tag).toBe('');
    expect(chartValues.sidecar.image.repository).toBe(`ghcr.io/${owner}/baton`);
    expect(chart.appVersion).toBe(pkg.version);
  });

  it('values.schema.json describes every top-level value and refuses unknown ones', () => {
    const schema = JSON.parse(read('charts/baton/values.schema.json')) as { additionalProperties: boolean; properties: Record<string, unknown> };
    expect(schema.additionalProperties).toBe(false);
    for (const key of Object.keys(yaml.load(read('charts/baton/values.yaml')) as object)) expect(Object.keys(schema.properties)).toContain(key);
  });
});

describe('deploy/baton.yaml', () => {
  type Container = { name: string; env?: { name: string; value?: string }[]; restartPolicy?: string };
  const docs = yaml.loadAll(read('deploy/baton.yaml')) as {
    kind: string;
    spec: { template: { spec: { containers: Container[]; initContainers?: Container[] } } };
  }[];
  const deployment = docs.find((d) => d?.kind === 'Deployment')!;
  const pod = deployment.spec.template.spec;
  const sidecar = [...pod.containers, ...(pod.initContainers ?? [])].find((c) => c.env?.some((e) => e.name === 'BATON_LEASE_NAME'))!;
  const bot = pod.containers.find((c) => c !== sidecar)!;

  it('sets on the sidecar only variables the sidecar reads (OPTIONS), and the ones the contract needs', () => {
    const names = sidecar.env!.map((e) => e.name);
    expect(names.filter((n) => n.startsWith('BATON_') && !optionEnvs.has(n))).toEqual([]);
    expect(names).toEqual(expect.arrayContaining(['POD_NAME', 'POD_NAMESPACE', 'BATON_LEASE_NAME', 'BATON_TARGET_CONTAINER']));
    expect(sidecar.env!.find((e) => e.name === 'BATON_TARGET_CONTAINER')?.value).toBe(bot.name);
  });

  it("gives the bot only BATON_URL, pointing at the sidecar's BATON_LISTEN", () => {
    const batonVars = bot.env!.filter((e) => e.name.startsWith('BATON_'));
    const listen = sidecar.env!.find((e) => e.name === 'BATON_LISTEN')?.value;
    expect(batonVars).toEqual([{ name: 'BATON_URL', value: `http://${listen}` }]);
  });
});
