// Builds the Go programs the tests need (kube-apiserver and etcd, pinned in ./kubebin/go.mod; kubectl;
// tools such as helm; the client-go peer) and caches them by version outside the work tree, so a warm
// run starts in seconds and a cold run needs only Go and the module proxy.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync, readFileSync, openSync, closeSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sleep } from '../harness/wait.ts';

/** The Kubernetes release the tests run against, and the etcd it ships with. */
export const KUBERNETES_VERSION = 'v1.37.2';
export const ETCD_VERSION = 'v3.7.0';

const moduleDir = join(dirname(fileURLToPath(import.meta.url)), 'kubebin');

export interface KubeBinaries {
  kubeApiserver: string;
  etcd: string;
}

type Log = (line: string) => void;
const stderr: Log = (l) => console.error(l);

/** Where built binaries live: $BATON_CACHE_DIR, else $XDG_CACHE_HOME/baton, else ~/.cache/baton. */
export function cacheRoot(): string {
  if (process.env.BATON_CACHE_DIR) return process.env.BATON_CACHE_DIR;
  const xdg = process.env.XDG_CACHE_HOME || join(homedir(), '.cache');
  return join(xdg, 'baton');
}

/** The Go toolchain, or an error that says what to install. */
export function findGo(): string {
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
    'baton tests: Go was not found. The tests build a real kube-apiserver and etcd (and kubectl, helm and a client-go peer) from their Go modules.\n' +
      'Install Go 1.26 or newer (https://go.dev/doc/install, or `apt-get install golang-1.26` where Debian has it),\n' +
      'put it on the PATH (or set GO=/path/to/go), and run the tests again.',
  );
}

/** Runs `go` with `args` in `cwd`; rejects naming the command when it fails. */
export function runGo(args: string[], cwd: string, env: Record<string, string> = {}): Promise<void> {
  const go = findGo();
  return new Promise((resolve, reject) => {
    const child = spawn(go, args, { cwd, stdio: ['ignore', 'inherit', 'inherit'], env: { ...process.env, ...env } });
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`go ${args.join(' ')} (in ${cwd}) exited with ${code}`))));
  });
}

/**
 * Makes sure `files` exist in the cache folder `dir`, running `build(staging)` once when they do not.
 * The build runs under a lock file (a test run and a benchmark may ask at once; a dead owner's lock is
 * taken over) into a staging folder that is renamed into place, so a failed or killed build never
 * leaves half a folder behind.
 */
export async function buildOnce(
  dir: string,
  files: string[],
  what: string,
  build: (staging: string) => Promise<void>,
  log: Log = stderr,
  from = 'the Go module proxy',
): Promise<void> {
  const complete = () => files.every((f) => existsSync(join(dir, f)));
  if (complete()) return;
  if (from === 'the Go module proxy') findGo();
  mkdirSync(dirname(dir), { recursive: true });
  const unlock = await acquireLock(`${dir}.lock`, what, log);
  const staging = `${dir}.partial-${process.pid}`;
  try {
    if (complete()) return;
    rmSync(staging, { recursive: true, force: true });
    mkdirSync(staging, { recursive: true });
    log(`baton: building ${what} from ${from} into ${dir} (once)`);
    const started = Date.now();
    await build(staging);
    rmSync(dir, { recursive: true, force: true });
    renameSync(staging, dir);
    log(`baton: built ${what} in ${Math.round((Date.now() - started) / 1000)} s`);
  } finally {
    rmSync(staging, { recursive: true, force: true });
    unlock();
  }
}

function goModuleVersion(path: string): string | undefined {
  const mod = readFileSync(join(moduleDir, 'go.mod'), 'utf8');
  const m = new RegExp(`^\\s*${path.replaceAll('.', '\\.')}\\s+(v\\S+)`, 'm').exec(mod);
  return m?.[1];
}

function checkPins(): void {
  // The pins in go.mod are the truth; the constants above only name the cache folders.
  if (goModuleVersion('k8s.io/kubernetes') !== KUBERNETES_VERSION || goModuleVersion('go.etcd.io/etcd/server/v3') !== ETCD_VERSION) {
    throw new Error(`test/kube/kubebin/go.mod and test/kube/binaries.ts disagree on versions: update both together`);
  }
}

/** Returns cached binaries, building them first when they are missing (a cold build takes a few minutes). */
export async function ensureKubeBinaries(log: Log = stderr): Promise<KubeBinaries> {
  checkPins();
  const dir = join(cacheRoot(), `kube-${KUBERNETES_VERSION}-etcd-${ETCD_VERSION}`);
  await buildOnce(
    dir,
    ['kube-apiserver', 'etcd'],
    `kube-apiserver ${KUBERNETES_VERSION} and etcd ${ETCD_VERSION}`,
    async (staging) => {
      await runGo(
        ['build', '-trimpath', '-ldflags=-s -w', '-o', staging + '/', 'k8s.io/kubernetes/cmd/kube-apiserver', 'go.etcd.io/etcd/server/v3'],
        moduleDir,
      );
      // `go build` names the etcd binary after its module path without the major version ("server").
      renameSync(join(staging, 'server'), join(staging, 'etcd'));
    },
    log,
  );
  return { kubeApiserver: join(dir, 'kube-apiserver'), etcd: join(dir, 'etcd') };
}

/**
 * `go install pkg@version` into the cache (for tools whose module has no replace directives, such as
 * helm). Returns the binary's path; builds once per version.
 */
export async function ensureGoTool(pkg: string, version: string, binary: string, log: Log = stderr): Promise<string> {
  const dir = join(cacheRoot(), 'tools', `${binary}-${version}`);
  await buildOnce(
    dir,
    [binary],
    `${binary} ${version}`,
    (staging) => runGo(['install', '-trimpath', '-ldflags=-s -w', `${pkg}@${version}`], cacheRoot(), { GOBIN: staging }),
    log,
  );
  return join(dir, binary);
}

/**
 * kine, the etcd shim k3s keeps its cluster in (SQLite on a single server), pinned like the API server: the
 * datastore `BATON_TEST_DATASTORE=kine` runs kube-apiserver on (test/kube/datastore.ts). kine's go.mod has no
 * replace directives, so `go install` builds it at this version with its own go.sum.
 */
export const KINE_VERSION = 'v0.17.5';

/**
 * kine's own SQLite build (its scripts/build): cgo (mattn/go-sqlite3 compiles SQLite's C source, so a C
 * compiler is needed), its SQLite tags and C flags. The `nats` tag (an embedded NATS server) is left out:
 * the tests use SQLite only.
 */
const KINE_TAGS = 'sqlite_unlock_notify,sqlite_vtable,sqlite_stat4,sqlite_preupdate_hook,sqlite_math_functions,sqlite_dbstat,sqlite_column_metadata';
const KINE_CGO_CFLAGS = [
  'DEFAULT_MEMSTATUS=0',
  'DISABLE_INTRINSIC',
  'ENABLE_COLUMN_METADATA',
  'ENABLE_DBPAGE_VTAB',
  'ENABLE_DBSTAT_VTAB',
  'ENABLE_MATH_FUNCTIONS',
  'ENABLE_MEMORY_MANAGEMENT',
  'ENABLE_OFFSET_SQL_FUNC',
  'ENABLE_PREUPDATE_HOOK',
  'ENABLE_RBU',
  'ENABLE_RTREE',
  'ENABLE_SESSION',
  'ENABLE_SNAPSHOT',
  'ENABLE_STAT4',
  'ENABLE_UNLOCK_NOTIFY',
  'LIKE_DOESNT_MATCH_BLOBS',
  'THREADSAFE=1',
  'WITHOUT_ZONEMALLOC',
]
  .map((d) => `-DSQLITE_${d}`)
  .join(' ');

/** Returns the cached kine binary, building it first when missing (about 3 minutes cold on 2 cores). */
export async function ensureKine(log: Log = stderr): Promise<string> {
  const dir = join(cacheRoot(), `kine-${KINE_VERSION}`);
  const ldflags = `-s -w -X github.com/k3s-io/kine/pkg/version.Version=${KINE_VERSION}`;
  await buildOnce(
    dir,
    ['kine'],
    `kine ${KINE_VERSION} (SQLite, cgo)`,
    (staging) =>
      runGo(['install', '-trimpath', `-ldflags=${ldflags}`, `-tags=${KINE_TAGS}`, `github.com/k3s-io/kine@${KINE_VERSION}`], cacheRoot(), {
        GOBIN: staging,
        CGO_ENABLED: '1',
        CGO_CFLAGS: KINE_CGO_CFLAGS,
      }),
    log,
  );
  return join(dir, 'kine');
}

/**
 * Builds one more command of the pinned Kubernetes release (e.g. `k8s.io/kubernetes/cmd/kubectl`) from the
 * same wrapper module as kube-apiserver (./kubebin: its tools.go must import the package), and caches it in
 * `<cache root>/<binary>-<KUBERNETES_VERSION>/`. Returns the binary's path; builds once per version.
 */
export async function ensureKubebinCommand(pkg: string, binary: string, log: Log = stderr): Promise<string> {
  checkPins();
  const dir = join(cacheRoot(), `${binary}-${KUBERNETES_VERSION}`);
  await buildOnce(
    dir,
    [binary],
    `${binary} ${KUBERNETES_VERSION}`,
    (staging) => runGo(['build', '-trimpath', `-ldflags=-s -w ${versionStamp().join(' ')}`, '-o', join(staging, binary), pkg], moduleDir),
    log,
  );
  return join(dir, binary);
}

/** The node's own programs (`npm run node:up`): the kubelet, the control plane and kubectl. */
export interface NodeBinaries {
  /**
   * kube-apiserver with the release stamped in (the test API server's is not): helm reads the server's
   * version (`.Capabilities.KubeVersion`), and the chart picks the preStop sleep action only from 1.30 on.
   */
  kubeApiserver: string;
  kubelet: string;
  kubeControllerManager: string;
  kubeScheduler: string;
  kubectl: string;
}

/**
 * Builds the real node's binaries of the pinned release from the same wrapper module (one `go build` for
 * the three node programs, so they share one link step's worth of compiled packages) and kubectl, cached
 * like kube-apiserver. A cold build takes several minutes on 2 cores.
 */
export async function ensureNodeBinaries(log: Log = stderr): Promise<NodeBinaries> {
  checkPins();
  const dir = join(cacheRoot(), `kube-node-${KUBERNETES_VERSION}`);
  const cmds = ['kubelet', 'kube-controller-manager', 'kube-scheduler'];
  await buildOnce(
    dir,
    cmds,
    `kubelet, kube-controller-manager and kube-scheduler ${KUBERNETES_VERSION}`,
    (staging) =>
      runGo(
        ['build', '-trimpath', `-ldflags=-s -w ${versionStamp().join(' ')}`, '-o', staging + '/', ...cmds.map((c) => `k8s.io/kubernetes/cmd/${c}`)],
        moduleDir,
      ),
    log,
  );
  const kubectl = await ensureKubebinCommand('k8s.io/kubernetes/cmd/kubectl', 'kubectl', log);
  const kubeApiserver = await ensureKubebinCommand('k8s.io/kubernetes/cmd/kube-apiserver', 'kube-apiserver', log);
  return {
    kubeApiserver,
    kubelet: join(dir, 'kubelet'),
    kubeControllerManager: join(dir, 'kube-controller-manager'),
    kubeScheduler: join(dir, 'kube-scheduler'),
    kubectl,
  };
}

/** `-X` flags that stamp the release into a binary (`kubectl version`, the Node's kubeletVersion), as Kubernetes' own build does. */
function versionStamp(): string[] {
  const [major, minor] = KUBERNETES_VERSION.replace(/^v/, '').split('.');
  return ['gitVersion=' + KUBERNETES_VERSION, `gitMajor=${major}`, `gitMinor=${minor}`, 'gitTreeState=clean'].map(
    (kv) => `-X k8s.io/component-base/version.${kv}`,
  );
}

/** A lock file so that two runs never build into the same folder at once. */
async function acquireLock(path: string, what: string, log: Log): Promise<() => void> {
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
      if (!warned) log(`baton: waiting for process ${owner}, which is building ${what}`);
      warned = true;
      await sleep(1000);
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
