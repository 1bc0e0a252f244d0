// kubectl for the chart tests: built from k8s.io/kubernetes/cmd/kubectl at the same release as the test
// API server (the kubebin wrapper module, test/kube/kubebin/tools.go), cached in <cache root>/kubectl-<version>/.
// A cold build takes about 20 s once kube-apiserver's packages are in Go's build cache, a few minutes without.
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureKubebinCommand } from './binaries.ts';
import { runTool, type RunResult } from './helm.ts';

/** Returns the path of a cached kubectl (same version as the test kube-apiserver), building it first when missing. */
export function ensureKubectl(log?: (line: string) => void): Promise<string> {
  return ensureKubebinCommand('k8s.io/kubernetes/cmd/kubectl', 'kubectl', log);
}

/** Runs kubectl against `kubeconfig`, with `input` on stdin (for `-f -`). Resolves with the result; check `code`. */
export function kubectl(bin: string, kubeconfig: string, args: string[], input?: string): Promise<RunResult> {
  return runTool(bin, ['--kubeconfig', kubeconfig, ...args], { input, env: { ...process.env, KUBECONFIG: kubeconfig } });
}

/** kubectl that must succeed: returns stdout, or throws with kubectl's stderr. */
export async function kubectlOk(bin: string, kubeconfig: string, args: string[], input?: string): Promise<string> {
  const r = await kubectl(bin, kubeconfig, args, input);
  if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')} failed (${r.code}):\n${r.stderr}${r.stdout}`);
  return r.stdout;
}

/** prometheus-operator's release whose CRDs the tests install (PodMonitor, ServiceMonitor, PrometheusRule). */
export const PROMETHEUS_OPERATOR_VERSION = 'v0.85.0';

/**
 * The real CRDs of PodMonitor, ServiceMonitor and PrometheusRule, from prometheus-operator's Go module
 * (`example/prometheus-operator-crd/` in the module zip), fetched through the Go module proxy into Go's module
 * cache. Returns their file paths.
 */
export async function prometheusOperatorCrds(): Promise<string[]> {
  const go = [process.env.GO, 'go', '/usr/local/go/bin/go'].find((g) => g && (g.includes('/') ? existsSync(g) : true))!;
  const r = await runTool(go, ['mod', 'download', '-json', `github.com/prometheus-operator/prometheus-operator@${PROMETHEUS_OPERATOR_VERSION}`], {
    cwd: tmpdir(),
    env: { ...process.env, GOFLAGS: '-mod=mod', GO111MODULE: 'on' },
  });
  if (r.code !== 0) throw new Error(`go mod download of prometheus-operator ${PROMETHEUS_OPERATOR_VERSION} failed:\n${r.stderr}${r.stdout}`);
  const dir = (JSON.parse(r.stdout) as { Dir: string }).Dir;
  return ['podmonitors', 'servicemonitors', 'prometheusrules'].map((n) => join(dir, 'example', 'prometheus-operator-crd', `monitoring.coreos.com_${n}.yaml`));
}
