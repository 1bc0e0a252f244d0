// Builds kube-apiserver and etcd from their Go modules (pinned in ./kubebin/go.mod) and caches
// the binaries by version outside the work tree, so a warm run starts in seconds and a cold run
// needs only Go and the module proxy. Used by the tests, the e2e scenarios, the benchmark and the demo.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync, readFileSync, openSync, closeSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The Kubernetes release the tests run against, and the etcd it ships with. */
export const KUBERNETES_VERSION = 'v1.37.2';
export const ETCD_VERSION = 'v3.7.0';

const moduleDir = join(dirname(fileURLToPath(import.meta.url)), 'kubebin');

export interface KubeBinaries {
  kubeApiserver: string;
  etcd: string;
}

/** Where built binaries live: $BATON_CACHE_DIR, else $XDG_CACHE_HOME/baton, else ~/.cache/baton. */
export function cacheRoot(): string {
  if (process.env.BATON_CACHE_DIR) return process.env.BATON_CACHE_DIR;
  const xdg = process.env.XDG_CACHE_HOME || join(homedir(), '.cache');
  return join(xdg, 'baton');
}

function binDir(): string {
  return join(cacheRoot(), `kube-${KUBERNETES_VERSION}-etcd-${ETCD_VERSION}`);
}

function findGo(): string {
  for (const candidate of [process.env.GO, 'go', '/usr/local/go/bin/go']) {
    if (!candidate) continue;
    try {
      execFileSync(candidate, ['version'], { stdio: 'ignore' });
      return candidate;
    } catch {
      // try the next one
    }
  }
  throw new Error(
    'baton tests: Go was not found. The tests build a real kube-apiserver and etcd from their Go modules.\n' +
      'Install Go 1.26 or newer (https://go.dev/doc/install, or `apt-get install golang-1.26` where Debian has it),\n' +
      'put it on the PATH (or set GO=/path/to/go), and run the tests again.',
  );
}

function goModuleVersion(path: string): string | undefined {
  const mod = readFileSync(join(moduleDir, 'go.mod'), 'utf8');
  const m = new RegExp(`^\\s*${path.replaceAll('.', '\\.')}\\s+(v\\S+)`, 'm').exec(mod);
  return m?.[1];
}

/** Returns cached binaries, building them first when they are missing (a cold build takes a few minutes). */
export async function ensureKubeBinaries(log: (line: string) => void = (l) => console.error(l)): Promise<KubeBinaries> {
  // The pins in go.mod are the truth; the constants above only name the cache folder.
  if (goModuleVersion('k8s.io/kubernetes') !== KUBERNETES_VERSION || goModuleVersion('go.etcd.io/etcd/server/v3') !== ETCD_VERSION) {
    throw new Error(`test/kube/kubebin/go.mod and test/kube/binaries.ts disagree on versions: update both together`);
  }
  const dir = binDir();
  const result = { kubeApiserver: join(dir, 'kube-apiserver'), etcd: join(dir, 'etcd') };
  if (existsSync(result.kubeApiserver) && existsSync(result.etcd)) return result;

  const go = findGo();
  mkdirSync(cacheRoot(), { recursive: true });
  const lock = await acquireLock(join(cacheRoot(), `build-${KUBERNETES_VERSION}.lock`), log);
  try {
    if (existsSync(result.kubeApiserver) && existsSync(result.etcd)) return result;
    const staging = `${dir}.partial-${process.pid}`;
    rmSync(staging, { recursive: true, force: true });
    mkdirSync(staging, { recursive: true });
    log(`baton tests: building kube-apiserver ${KUBERNETES_VERSION} and etcd ${ETCD_VERSION} from the Go module proxy into ${dir} (a few minutes, once)`);
    const started = Date.now();
    await run(go, ['build', '-trimpath', '-ldflags=-s -w', '-o', staging + '/', 'k8s.io/kubernetes/cmd/kube-apiserver', 'go.etcd.io/etcd/server/v3'], moduleDir);
    // `go build` names the etcd binary after its module path without the major version ("server").
    renameSync(join(staging, 'server'), join(staging, 'etcd'));
    rmSync(dir, { recursive: true, force: true });
    renameSync(staging, dir);
    log(`baton tests: built in ${Math.round((Date.now() - started) / 1000)} s`);
    return result;
  } finally {
    lock();
  }
}

function run(cmd: string, args: string[], cwd: string): Promise<void> {
  return runWithEnv(cmd, args, cwd, {});
}

/** A lock file so that two runs (a test run and a benchmark, say) never build into the same folder at once. */
async function acquireLock(path: string, log: (line: string) => void): Promise<() => void> {
  let warned = false;
  for (;;) {
    try {
      const fd = openSync(path, 'wx');
      writeFileSync(fd, String(process.pid));
      closeSync(fd);
      return () => rmSync(path, { force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const owner = Number(readFileSync(path, 'utf8'));
      if (!owner || !processAlive(owner)) {
        rmSync(path, { force: true });
        continue;
      }
      if (!warned) log(`baton tests: waiting for process ${owner}, which is building the binaries`);
      warned = true;
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * `go install pkg@version` into the cache (for tools whose module has no replace directives, such as
 * promtool or helm). Returns the binary's path; builds once per version.
 */
export async function ensureGoTool(pkg: string, version: string, binary: string, log: (line: string) => void = (l) => console.error(l)): Promise<string> {
  const dir = join(cacheRoot(), 'tools', `${binary}-${version}`);
  const path = join(dir, binary);
  if (existsSync(path)) return path;
  const go = findGo();
  mkdirSync(cacheRoot(), { recursive: true });
  const lock = await acquireLock(join(cacheRoot(), `build-${binary}-${version}.lock`), log);
  try {
    if (existsSync(path)) return path;
    log(`baton tests: building ${binary} ${version} from the Go module proxy (once)`);
    const staging = `${dir}.partial-${process.pid}`;
    rmSync(staging, { recursive: true, force: true });
    mkdirSync(staging, { recursive: true });
    await runWithEnv(go, ['install', '-trimpath', '-ldflags=-s -w', `${pkg}@${version}`], cacheRoot(), { GOBIN: staging });
    rmSync(dir, { recursive: true, force: true });
    renameSync(staging, dir);
    return path;
  } finally {
    lock();
  }
}

function runWithEnv(cmd: string, args: string[], cwd: string, env: Record<string, string>): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd, stdio: ['ignore', 'inherit', 'inherit'], env: { ...process.env, ...env } });
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${cmd} ${args.join(' ')} exited with ${code}`))));
  });
}

/**
 * Builds one more command of the pinned Kubernetes release (e.g. `k8s.io/kubernetes/cmd/kubectl`) from the
 * same wrapper module as kube-apiserver (./kubebin: its tools.go must import the package), and caches it in
 * `<cache root>/<binary>-<KUBERNETES_VERSION>/`. Returns the binary's path; builds once per version.
 */
export async function ensureKubebinCommand(pkg: string, binary: string, log: (line: string) => void = (l) => console.error(l)): Promise<string> {
  if (goModuleVersion('k8s.io/kubernetes') !== KUBERNETES_VERSION) {
    throw new Error(`test/kube/kubebin/go.mod and test/kube/binaries.ts disagree on versions: update both together`);
  }
  const dir = join(cacheRoot(), `${binary}-${KUBERNETES_VERSION}`);
  const path = join(dir, binary);
  if (existsSync(path)) return path;
  const go = findGo();
  mkdirSync(cacheRoot(), { recursive: true });
  const lock = await acquireLock(join(cacheRoot(), `build-${binary}-${KUBERNETES_VERSION}.lock`), log);
  try {
    if (existsSync(path)) return path;
    const staging = `${dir}.partial-${process.pid}`;
    rmSync(staging, { recursive: true, force: true });
    mkdirSync(staging, { recursive: true });
    log(`baton tests: building ${binary} ${KUBERNETES_VERSION} from the Go module proxy into ${dir} (once)`);
    const started = Date.now();
    // Stamp the release into the binary (`kubectl version`), as Kubernetes' own build does.
    const [major, minor] = KUBERNETES_VERSION.replace(/^v/, '').split('.');
    const stamp = ['gitVersion=' + KUBERNETES_VERSION, `gitMajor=${major}`, `gitMinor=${minor}`, 'gitTreeState=clean'].map((kv) => `-X k8s.io/component-base/version.${kv}`);
    await run(go, ['build', '-trimpath', `-ldflags=-s -w ${stamp.join(' ')}`, '-o', join(staging, binary), pkg], moduleDir);
    rmSync(dir, { recursive: true, force: true });
    renameSync(staging, dir);
    log(`baton tests: built ${binary} in ${Math.round((Date.now() - started) / 1000)} s`);
    return path;
  } finally {
    lock();
  }
}
