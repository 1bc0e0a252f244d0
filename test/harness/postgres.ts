// PostgreSQL from Debian's packages on loopback, for the Postgres-lock peers (seeds 000 and 001):
// installed with apt-get when missing and we are root, a throwaway cluster (initdb) in a temp dir,
// the server on a free 127.0.0.1 port with its unix socket in that dir, trust auth. `stop()` stops
// only the server this module started, and removes its dir.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chownSync, createWriteStream, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { freePort } from '../kube/ports.ts';

export interface Postgres {
  /** `postgres://postgres@127.0.0.1:PORT/postgres` (trust auth, no password). */
  url: string;
  port: number;
  dir: string;
  /** The server's own log. */
  logFile: string;
  pid: number;
  stop(): Promise<void>;
}

export interface PostgresOptions {
  log?: (line: string) => void;
  /** Install Debian's `postgresql` with apt-get when it is missing (only as root). Default true. */
  install?: boolean;
}

const DEBIAN_ROOT = '/usr/lib/postgresql';

function hasBinaries(dir: string): boolean {
  return existsSync(join(dir, 'initdb')) && existsSync(join(dir, 'postgres'));
}

/** Debian keeps the server binaries off the PATH, in /usr/lib/postgresql/<version>/bin: the newest wins. */
export function findPostgresBin(): string | undefined {
  if (process.env.PG_BIN && hasBinaries(process.env.PG_BIN)) return process.env.PG_BIN;
  if (existsSync(DEBIAN_ROOT)) {
    const versions = readdirSync(DEBIAN_ROOT)
      .filter((v) => /^\d+(\.\d+)?$/.test(v) && hasBinaries(join(DEBIAN_ROOT, v, 'bin')))
      .sort((a, b) => Number(b) - Number(a));
    if (versions[0]) return join(DEBIAN_ROOT, versions[0], 'bin');
  }
  for (const dir of (process.env.PATH ?? '').split(':')) {
    if (dir && hasBinaries(dir)) return dir;
  }
  return undefined;
}

const isRoot = (): boolean => process.getuid?.() === 0;

function ensureBinaries(opts: PostgresOptions): string {
  const found = findPostgresBin();
  if (found) return found;
  if (opts.install === false || !isRoot()) {
    throw new Error(
      'baton peers: PostgreSQL was not found (no initdb/postgres in /usr/lib/postgresql/*/bin, $PG_BIN or the PATH). ' +
        "The Postgres-lock peers need it: install Debian's package as root (apt-get update && apt-get install -y postgresql), or set PG_BIN.",
    );
  }
  const log = opts.log ?? ((l: string) => console.error(l));
  log("baton peers: installing PostgreSQL from Debian's packages (apt-get, once)");
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  try {
    execFileSync('apt-get', ['update'], { stdio: ['ignore', 'ignore', 'inherit'], env });
    execFileSync('apt-get', ['install', '-y', '--no-install-recommends', 'postgresql'], { stdio: ['ignore', 'ignore', 'inherit'], env });
  } catch (err) {
    throw new Error(`baton peers: apt-get could not install postgresql: ${(err as Error).message}`, { cause: err });
  }
  const bin = findPostgresBin();
  if (!bin) throw new Error('baton peers: apt-get installed postgresql, yet no initdb was found in /usr/lib/postgresql/*/bin');
  return bin;
}

/** initdb and postgres refuse to run as root: as root they run as the `postgres` user Debian's package creates. */
function postgresUser(): { uid: number; gid: number } | undefined {
  if (!isRoot()) return undefined;
  try {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
    return { uid, gid };
  } catch {
    throw new Error("baton peers: running as root, but there is no `postgres` user to run initdb and the server as (Debian's postgresql package creates it)");
  }
}

/** Starts a fresh PostgreSQL server on 127.0.0.1 and waits until it accepts connections. */
export async function startPostgres(opts: PostgresOptions = {}): Promise<Postgres> {
  const bin = ensureBinaries(opts);
  const user = postgresUser();
  const dir = mkdtempSync(join(tmpdir(), 'baton-pg-'));
  const data = join(dir, 'data');
  const socketDir = join(dir, 'sock');
  mkdirSync(socketDir);
  if (user) {
    chownSync(dir, user.uid, user.gid);
    chownSync(socketDir, user.uid, user.gid);
  }
  const initdbArgs = [join(bin, 'initdb'), '-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-locale', '--no-sync', '--no-instructions'];
  try {
    if (user) execFileSync('runuser', ['-u', 'postgres', '--', ...initdbArgs], { stdio: ['ignore', 'ignore', 'pipe'] });
    else execFileSync(initdbArgs[0]!, initdbArgs.slice(1), { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    const stderr = (err as { stderr?: Buffer }).stderr?.toString() ?? '';
    throw new Error(`baton peers: initdb failed: ${stderr.trim() || (err as Error).message}`, { cause: err });
  }

  const port = await freePort();
  const logFile = join(dir, 'postgres.log');
  const out = createWriteStream(logFile);
  // Spawned directly (not through pg_ctl, which daemonizes): its pid is the postmaster's, so stop() stops exactly it.
  const child: ChildProcess = spawn(
    join(bin, 'postgres'),
    [
      '-D',
      data,
      '-p',
      String(port),
      '-c',
      'listen_addresses=127.0.0.1',
      '-c',
      `unix_socket_directories=${socketDir}`,
      '-c',
      'fsync=off',
      '-c',
      'synchronous_commit=off',
      '-c',
      'full_page_writes=off',
      '-c',
      'max_connections=50',
      '-c',
      'shared_buffers=16MB',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'], ...(user ?? {}) },
  );
  child.stdout?.pipe(out);
  child.stderr?.pipe(out);
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  const spawnError = new Promise<Error>((r) => child.once('error', r));

  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGINT'); // "fast" shutdown
      const killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(killer);
    }
    rmSync(dir, { recursive: true, force: true });
  };

  const deadline = Date.now() + 30_000;
  for (;;) {
    const early = await Promise.race([
      exited.then((code) => `exited with ${code}`),
      spawnError.then((e) => e.message),
      new Promise<undefined>((r) => setTimeout(r, 100, undefined)),
    ]);
    if (early !== undefined) {
      throw new Error(`baton peers: postgres ${early} before accepting connections (log: ${logFile})`);
    }
    const c = new pg.Client({ connectionString: url, connectionTimeoutMillis: 1000 });
    c.on('error', () => undefined);
    try {
      await c.connect();
      await c.query('SELECT 1');
      await c.end();
      break;
    } catch {
      await c.end().catch(() => undefined);
      if (Date.now() > deadline) {
        await stop();
        throw new Error(`baton peers: postgres did not accept connections on 127.0.0.1:${port} within 30 s`);
      }
    }
  }
  return { url, port, dir, logFile, pid: child.pid!, stop };
}
