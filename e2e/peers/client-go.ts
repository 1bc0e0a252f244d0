// Builds the client-go peer (./client-go, a small Go module pinned to client-go v0.37.2) through the Go
// module proxy into baton's binary cache, once per client-go version and source: like
// `ensureKubeBinaries` in test/kube/binaries.ts, a warm run finds the binary and a cold one needs only Go.
import { spawn, execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cacheRoot } from '../../test/kube/binaries.ts';

export const CLIENT_GO_MODULE_DIR = join(dirname(fileURLToPath(import.meta.url)), 'client-go');
const SOURCES = ['go.mod', 'go.sum', 'main.go', 'worker.go'];

/** The client-go version go.mod pins (the cache folder is named after it). */
export function clientGoVersion(): string {
  const mod = readFileSync(join(CLIENT_GO_MODULE_DIR, 'go.mod'), 'utf8');
  const m = /^\s*k8s\.io\/client-go\s+(v\S+)/m.exec(mod);
  if (!m) throw new Error(`${CLIENT_GO_MODULE_DIR}/go.mod does not require k8s.io/client-go`);
  return m[1]!;
}

function sourceHash(): string {
  const h = createHash('sha256');
  for (const f of SOURCES) h.update(f).update('\0').update(readFileSync(join(CLIENT_GO_MODULE_DIR, f)));
  return h.digest('hex').slice(0, 12);
}

/** Where the binary is, or will be, for the current sources. */
export function clientGoPeerPath(): string {
  return join(cacheRoot(), 'peers', `peer-clientgo-${clientGoVersion()}-${sourceHash()}`, 'peer-clientgo');
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
  throw new Error('baton peers: Go was not found; the client-go peer is built from its Go module. Install Go 1.26 or newer, put it on the PATH (or set GO=/path/to/go).');
}

/** Returns the client-go peer's binary, building it first when it is missing (about 1.5 min cold on 2 cores). */
export async function ensureClientGoPeer(log: (line: string) => void = (l) => console.error(l)): Promise<string> {
  const path = clientGoPeerPath();
  if (existsSync(path)) return path;
  const dir = dirname(path);
  const go = findGo();
  mkdirSync(dirname(dir), { recursive: true });
  const unlock = await acquireLock(`${dir}.lock`, log);
  try {
    if (existsSync(path)) return path;
    const staging = `${dir}.partial-${process.pid}`;
    rmSync(staging, { recursive: true, force: true });
    mkdirSync(staging, { recursive: true });
    log(`baton peers: building the client-go ${clientGoVersion()} peer from the Go module proxy into ${dir} (once)`);
    const started = Date.now();
    await run(go, ['build', '-trimpath', '-ldflags=-s -w', '-o', join(staging, 'peer-clientgo'), '.'], CLIENT_GO_MODULE_DIR);
    rmSync(dir, { recursive: true, force: true });
    renameSync(staging, dir);
    log(`baton peers: built the client-go peer in ${Math.round((Date.now() - started) / 1000)} s`);
    return path;
  } finally {
    unlock();
  }
}

function run(cmd: string, args: string[], cwd: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd, stdio: ['ignore', 'inherit', 'inherit'], env: { ...process.env, GOFLAGS: `${process.env.GOFLAGS ?? ''} -mod=readonly`.trim() } });
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${cmd} ${args.join(' ')} (in ${cwd}) exited with ${code}`))));
  });
}

/** A lock file, so two runs never build into the same folder at once; a dead owner's lock is taken over. */
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
      if (!owner || !alive(owner)) {
        rmSync(path, { force: true });
        continue;
      }
      if (!warned) log(`baton peers: waiting for process ${owner}, which is building the client-go peer`);
      warned = true;
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
