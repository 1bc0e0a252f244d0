// A benchmark peer: seed 000's design (shared/seeds/000_*.md, "Решение 4"), in place of the baton
// sidecar. A row in `leader_locks (key, holder, expires_at)` with a 30 s TTL (PEER_TTL_MS), tried every
// 10 s (PEER_CHECK_MS) with the seed's upsert: taken when absent or expired. On SIGTERM, the seed's
// stop(): stop checking, DELETE the row if this peer holds it, then stop the bot (the pause signal) and
// exit 0, in that order.
//
// One change from the seed's text, needed for the design to work at all: the seed's upsert has
// `WHERE leader_locks.expires_at < NOW()` only, so the holder's own check fails while its row is fresh,
// and the holder never refreshes it (it would lose the row after 30 s to the standby while its bot
// still polls). Here the holder may also refresh its own row (`OR leader_locks.holder = EXCLUDED.holder`).
//
// Env: PEER_PG_URL, PEER_LOCK_NAME, PEER_IDENTITY, PEER_TARGET_COMMAND, PEER_LOG, PEER_TTL_MS, PEER_CHECK_MS.
import pg from 'pg';
import { errorText, msEnv, peerLog, peerWorker, requireEnv } from './peer-common.ts';

const url = requireEnv('PEER_PG_URL');
const identity = requireEnv('PEER_IDENTITY');
const lockName = requireEnv('PEER_LOCK_NAME');
const ttlMs = msEnv('PEER_TTL_MS', 30_000);
const checkMs = msEnv('PEER_CHECK_MS', 10_000);
const log = peerLog('pg-ttl', identity);
const worker = peerWorker(log);

// The seed's migration.
const MIGRATION = `
CREATE TABLE IF NOT EXISTS leader_locks (
  key VARCHAR(255) PRIMARY KEY,
  holder VARCHAR(255) NOT NULL,
  expires_at TIMESTAMP NOT NULL,
  created_at TIMESTAMP DEFAULT NOW()
);
CREATE INDEX IF NOT EXISTS idx_leader_locks_expires ON leader_locks(expires_at);`;

const TRY = `
INSERT INTO leader_locks (key, holder, expires_at)
VALUES ($1, $2, NOW() + $3::double precision * INTERVAL '1 millisecond')
ON CONFLICT (key) DO UPDATE
SET holder = EXCLUDED.holder,
    expires_at = EXCLUDED.expires_at
WHERE leader_locks.expires_at < NOW() OR leader_locks.holder = EXCLUDED.holder
RETURNING holder`;

// A pool, like the seed's `db` client: a broken connection is replaced on the next query.
const pool = new pg.Pool({ connectionString: url, max: 1, application_name: `peer-pg-ttl ${identity}` });
pool.on('error', (err) => log('db-error', { error: errorText(err) }));

let isLeader = false;
let terminating = false;
let inFlight: Promise<void> = Promise.resolve();
let busy = false;
let migrated = false;

async function migrate(): Promise<void> {
  if (migrated) return;
  try {
    await pool.query(MIGRATION);
  } catch (err) {
    // Two peers creating the table at once: one of them gets a unique violation on the catalog.
    const code = (err as { code?: string }).code;
    if (code !== '23505' && code !== '42P07') throw err;
  }
  migrated = true;
}

async function tryBecomeLeader(): Promise<void> {
  try {
    await migrate();
    const res = await pool.query<{ holder: string }>(TRY, [lockName, identity, ttlMs]);
    if (res.rows.length > 0) {
      const was = isLeader;
      isLeader = true;
      if (terminating) return; // stop() deletes it
      if (!was) {
        log('acquired');
        worker.setDesired('running');
      } else {
        log('renewed');
      }
    } else {
      if (isLeader) {
        log('lost', { reason: 'row held by another' });
        worker.setDesired('paused');
      } else {
        log('attempt', { acquired: false });
      }
      isLeader = false;
    }
  } catch (err) {
    // The seed: any error means "not the leader".
    log('db-error', { error: errorText(err) });
    if (isLeader) {
      log('lost', { reason: 'error' });
      worker.setDesired('paused');
    }
    isLeader = false;
  }
}

function check(): void {
  if (terminating || busy) return;
  // setInterval as in the seed; a check still running when the next is due is skipped, not doubled.
  busy = true;
  inFlight = tryBecomeLeader().finally(() => {
    busy = false;
  });
}

process.on('SIGTERM', () => {
  if (terminating) return;
  terminating = true;
  log('sigterm');
  clearInterval(interval);
  void (async () => {
    await inFlight;
    if (isLeader) {
      try {
        const res = await pool.query('DELETE FROM leader_locks WHERE key = $1 AND holder = $2', [lockName, identity]);
        log('released', { deleted: res.rowCount });
      } catch (err) {
        log('release-error', { error: errorText(err) });
      }
      isLeader = false;
    }
    worker.setDesired('paused');
    worker.stop();
    await pool.end().catch(() => undefined);
    log('exit', { code: 0 });
    process.exit(0);
  })();
});

log('start', { ttlMs, checkMs, lockName });
check();
const interval = setInterval(check, checkMs);
