// helm for the chart tests and scripts/render-deploy.ts: `go install helm.sh/helm/v3/cmd/helm@HELM_VERSION`
// through the Go module proxy (its module has no replace directives, so plain `go install` works), cached in
// <cache root>/tools/helm-<version>/. A cold build takes about 80 s on 2 cores.
//
// Built this way helm carries no Kubernetes version of its own (its ldflags are not set): `helm template`
// assumes Kubernetes v1.20, which the chart's kubeVersion refuses, so always pass `--kube-version`.
import { execFile } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as yaml from 'js-yaml';
import { cacheRoot, ensureGoTool } from './binaries.ts';

export const HELM_VERSION = 'v3.22.0';

/** Returns the path of a cached helm, building it first when missing. */
export function ensureHelm(log?: (line: string) => void): Promise<string> {
  return ensureGoTool('helm.sh/helm/v3/cmd/helm', HELM_VERSION, 'helm', log);
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** helm's own state (repositories, cache, plugins) lives under the baton cache, never in the user's ~/.config/helm. */
function helmEnv(): NodeJS.ProcessEnv {
  const home = join(cacheRoot(), 'helm-home');
  mkdirSync(home, { recursive: true });
  return {
    ...process.env,
    HELM_CACHE_HOME: join(home, 'cache'),
    HELM_CONFIG_HOME: join(home, 'config'),
    HELM_DATA_HOME: join(home, 'data'),
  };
}

/** Runs a command and resolves with its exit code and output (never rejects on a non-zero exit). */
export function runTool(bin: string, args: string[], options: { input?: string; env?: NodeJS.ProcessEnv; cwd?: string } = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = execFile(bin, args, { env: options.env ?? process.env, cwd: options.cwd, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err && typeof err.code !== 'number') {
        // Not an exit code: the command could not run at all (ENOENT, output over maxBuffer).
        reject(new Error(`${bin} could not run: ${err.message}`, { cause: err }));
        return;
      }
      resolve({ code: err ? Number(err.code) : 0, stdout, stderr });
    });
    if (options.input !== undefined) child.stdin?.end(options.input);
  });
}

/** Runs helm; resolves with its result (check `code`). */
export function helm(bin: string, args: string[], options: { input?: string; cwd?: string } = {}): Promise<RunResult> {
  return runTool(bin, args, { ...options, env: helmEnv() });
}

/** `helm template` that must succeed: returns the rendered YAML, or throws with helm's message. */
export async function helmTemplate(bin: string, args: string[]): Promise<string> {
  const r = await helm(bin, ['template', ...args]);
  if (r.code !== 0) throw new Error(`helm template ${args.join(' ')} failed (${r.code}):\n${r.stderr}`);
  return r.stdout;
}

// ---- The chart under test: where it is, and the value combinations the tests render, lint and apply. ----

const repoRoot = join(import.meta.dirname, '..', '..');
export const CHART_DIR = join(repoRoot, 'charts', 'baton');
export const EXAMPLE_CHART_DIR = join(repoRoot, 'charts', 'examples', 'my-bot');
/** The values every combination starts from: the defaults plus the one required value (the bot's image). */
export const CHART_BASE_VALUES = join(CHART_DIR, 'ci', 'default-values.yaml');

export interface ChartCombo {
  /** Also the release name. */
  name: string;
  /** `--set` arguments over CHART_BASE_VALUES. */
  set: string[];
  /** Extra values files. */
  files?: string[];
  /** What the rendering must show. */
  native: boolean;
  capKill: boolean;
  monitoring: boolean;
  isolateToken: boolean;
  lease: string;
}

const MONITORING_ON = [
  'monitoring.podMonitor.enabled=true',
  'monitoring.serviceMonitor.enabled=true',
  'monitoring.prometheusRule.enabled=true',
  'monitoring.dashboard.enabled=true',
];

/** The main value combinations: regular vs native sidecar, monitoring on/off, capKill on/off, a custom Lease name. */
export const CHART_COMBOS: ChartCombo[] = [
  { name: 'regular', set: [], native: false, capKill: false, monitoring: false, isolateToken: true, lease: 'regular-baton' },
  { name: 'native', set: ['sidecar.native=true'], native: true, capKill: false, monitoring: false, isolateToken: true, lease: 'native-baton' },
  { name: 'monitored', set: MONITORING_ON, native: false, capKill: false, monitoring: true, isolateToken: true, lease: 'monitored-baton' },
  { name: 'capkill', set: ['sidecar.capKill=true'], native: false, capKill: true, monitoring: false, isolateToken: true, lease: 'capkill-baton' },
  {
    name: 'leased',
    set: ['leaseName=custom-lease', 'deployment.replicas=1', 'podDisruptionBudget.enabled=false', 'sidecar.isolateToken=false'],
    native: false,
    capKill: false,
    monitoring: false,
    isolateToken: false,
    lease: 'custom-lease',
  },
  {
    name: 'everything',
    set: [],
    files: [join(CHART_DIR, 'ci', 'native-monitoring-values.yaml')],
    native: true,
    capKill: true,
    monitoring: true,
    isolateToken: true,
    lease: 'my-bot',
  },
];

/** The prometheus-operator APIs the chart's monitoring objects need (`--api-versions` for helm template). */
export const MONITORING_APIS = ['monitoring.coreos.com/v1/PodMonitor', 'monitoring.coreos.com/v1/ServiceMonitor', 'monitoring.coreos.com/v1/PrometheusRule'];

function semverLess(a: string, b: string): boolean {
  const [x, y] = [a, b].map((v) => v.replace(/^v/, '').split('.').map(Number));
  for (let i = 0; i < 3; i++) if (x![i] !== y![i]) return x![i]! < y![i]!;
  return false;
}

/** `helm lint` takes no --api-versions: the arguments without them. */
export function lintArgs(args: string[]): string[] {
  return args.filter((a, i) => a !== '--api-versions' && args[i - 1] !== '--api-versions');
}

/** helm arguments (after `template`; for `lint`, through `lintArgs`) for a combination. */
export function comboArgs(combo: ChartCombo, namespace: string, kubeVersion: string): string[] {
  return [
    '--namespace',
    namespace,
    '--kube-version',
    kubeVersion,
    // The monitoring objects render only where the cluster serves the prometheus-operator APIs.
    ...(combo.monitoring ? MONITORING_APIS.flatMap((a) => ['--api-versions', a]) : []),
    // The kubelet's preStop sleep action needs 1.30; older clusters use exec.
    ...(semverLess(kubeVersion, '1.30.0') ? ['--set', 'bot.preStop.mode=exec'] : []),
    '-f',
    CHART_BASE_VALUES,
    ...(combo.files ?? []).flatMap((f) => ['-f', f]),
    ...combo.set.flatMap((s) => ['--set', s]),
  ];
}

/** A Kubernetes object as the tests look at it. */
export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  [key: string]: unknown;
}

/** The objects of a multi-document YAML stream (empty documents dropped). */
export function parseObjects(text: string): KubeObject[] {
  return (yaml.loadAll(text) as (KubeObject | null)[]).filter((d): d is KubeObject => d !== null && typeof d === 'object');
}

/** The sidecar container (the one with BATON_LEASE_NAME) and the bot of a pod spec, and whether the sidecar is native. */
export function containersOf<C extends { name: string; env?: { name: string }[] }>(pod: {
  containers: C[];
  initContainers?: C[];
}): { sidecar: C; bot: C; native: boolean } {
  const all = [...pod.containers, ...(pod.initContainers ?? [])];
  const sidecar = all.find((c) => c.env?.some((e) => e.name === 'BATON_LEASE_NAME'));
  if (!sidecar) throw new Error('no sidecar container in the pod');
  const bot = pod.containers.find((c) => c !== sidecar);
  if (!bot) throw new Error('no bot container in the pod');
  return { sidecar, bot, native: (pod.initContainers ?? []).includes(sidecar) };
}

/** A copy of charts/ in a temporary folder with the example's dependency built (writes nothing into the repository). */
export async function buildExampleChart(helmBin: string): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'baton-example-chart-'));
  const packaged = join('examples', 'my-bot', 'charts');
  cpSync(join(CHART_DIR, '..'), join(dir, 'charts'), { recursive: true, filter: (src) => !src.endsWith(packaged) });
  const example = join(dir, 'charts', 'examples', 'my-bot');
  const r = await helm(helmBin, ['dependency', 'build', example]);
  if (r.code !== 0) throw new Error(`helm dependency build failed:\n${r.stderr}`);
  return example;
}
