// A benchmark peer: seed 001's design (shared/seeds/001_*.md, "V3"), in place of the baton sidecar.
// A session-level PostgreSQL advisory lock: `pg_try_advisory_lock(key)` at start and again every
// PEER_RETRY_MS (2 s, the seed's fix for the standby that stayed passive forever); on acquiring, the
// start signal. On SIGTERM, the seed's emergency release: `pg_advisory_unlock` right away in the signal
// handler, and only then the pause signal and exit (the seed releases first, so the new instance can
// take over while the old one is still shutting down; that order is kept, and measured).
// While holding, the session is checked every retry period (the seed's heartbeat): a dead connection
// has lost its session lock, so the worker is paused and the peer starts over.
//
// Env: PEER_PG_URL, PEER_LOCK_KEY (a bigint), PEER_IDENTITY, PEER_TARGET_COMMAND, PEER_LOG, PEER_RETRY_MS.
import pg from 'pg';
import { errorText, msEnv, peerLog, peerWorker, requireEnv } from './peer-common.ts';

const url = requireEnv('PEER_PG_URL');
const identity = requireEnv('PEER_IDENTITY');
const keyText = requireEnv('PEER_LOCK_KEY');
if (!/^-?\d+$/.test(keyText)) {
  process.stderr.write(`peer: PEER_LOCK_KEY=${JSON.stringify(keyText)} must be an integer (a bigint advisory lock key)\n`);
  process.exit(2);
}
const retryMs = msEnv('PEER_RETRY_MS', 2000);
const log = peerLog('pg-advisory', identity);
const worker = peerWorker(log);

let client: pg.Client | undefined;
let holding = false;
let terminating = false;
let timer: NodeJS.Timeout | undefined;
/** The attempt or check in flight: the SIGTERM handler waits for it (one connection, one query at a time). */
let inFlight: Promise<void> = Promise.resolve();

async function connection(): Promise<pg.Client> {
  if (client) return client;
  const c = new pg.Client({ connectionString: url, application_name: `peer-pg-advisory ${identity}` });
  // An idle connection that dies emits 'error'; the next query fails and the loop starts over.
  c.on('error', (err) => log('db-error', { error: errorText(err) }));
  await c.connect();
  client = c;
  return c;
}

function dropConnection(): void {
  const c = client;
  client = undefined;
  void c?.end().catch(() => undefined);
}

async function step(): Promise<void> {
  try {
    const c = await connection();
    if (holding) {
      // The seed's heartbeat: the lock lives as long as this session.
      await c.query('SELECT 1');
      return;
    }
    const res = await c.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1::bigint) AS ok', [keyText]);
    const ok = res.rows[0]?.ok === true;
    if (!ok) {
      log('attempt', { acquired: false });
      return;
    }
    holding = true;
    if (terminating) return; // the SIGTERM handler releases it
    log('acquired');
    worker.setDesired('running');
  } catch (err) {
    log('db-error', { error: errorText(err) });
    dropConnection();
    if (holding) {
      holding = false;
      log('lost', { reason: 'connection' });
      worker.setDesired('paused');
    }
  }
}

function schedule(delayMs: number): void {
  timer = setTimeout(() => {
    timer = undefined;
    if (terminating) return;
    inFlight = step().finally(() => {
      if (!terminating) schedule(retryMs);
    });
  }, delayMs);
}

process.on('SIGTERM', () => {
  if (terminating) return;
  terminating = true;
  log('sigterm');
  if (timer) clearTimeout(timer);
  void (async () => {
    await inFlight;
    if (holding && client) {
      // The seed: "Release lock IMMEDIATELY", before the bot is shut down.
      try {
        const res = await client.query<{ ok: boolean }>('SELECT pg_advisory_unlock($1::bigint) AS ok', [keyText]);
        log('released', { ok: res.rows[0]?.ok === true });
      } catch (err) {
        log('release-error', { error: errorText(err) });
      }
      holding = false;
    }
    worker.setDesired('paused');
    worker.stop();
    await client?.end().catch(() => undefined);
    log('exit', { code: 0 });
    process.exit(0);
  })();
});

log('start', { retryMs, key: keyText });
schedule(0);
