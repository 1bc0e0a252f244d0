// Peer (c): seed 000's PostgreSQL row with a TTL (the row deleted on SIGTERM, as the seed's stop() does),
// on a real PostgreSQL from Debian's packages, driving real workers. Asserts the behaviour only; the gap
// and overlap are recorded.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { startPostgres, type Postgres } from '../../harness/postgres.ts';
import { pgTtlPeer } from '../../../e2e/peers/commands.ts';
import { runHandoff } from '../../../e2e/peers/handoff.ts';

let server: Postgres;
let dir: string;

beforeAll(async () => {
  server = await startPostgres();
  dir = mkdtempSync(join(tmpdir(), 'baton-peers-pgttl-'));
});

afterAll(async () => {
  await server?.stop();
});

describe('peer: PostgreSQL row with a TTL (seed 000)', () => {
  it('one leader polls and refreshes its row; after SIGTERM (row deleted) the standby takes over; both exit 0', async () => {
    const lockName = `ttl-${Math.random().toString(36).slice(2, 8)}`;
    const r = await runHandoff({
      dir,
      names: ['ttl-a', 'ttl-b'],
      // Short timings to keep the test quick (the seed's are 30 s and 10 s); the steady state spans a TTL,
      // so the holder must have refreshed its row to keep it.
      peer: () => pgTtlPeer({ url: server.url, lockName, ttlMs: 2000, checkMs: 700 }),
      steadyMs: 3000,
      handoffTimeoutMs: 15_000,
      pod: { preStopMs: 500, graceMs: 20_000 },
    });
    console.log(
      `pg-ttl (ttl 2s, check 0.7s): gap ${r.gapMs.toFixed(1)} ms, overlap ${r.twoPollersMs.toFixed(1)} ms, SIGTERM→poll ${r.sigtermToPollMs.toFixed(1)} ms (logs in ${dir})\n${r.describe}`,
    );
    expect(r.steadyViolations, 'exactly one worker polls in the steady state').toBe(0);
    expect(r.exitCodes).toEqual([0, 0]);
    const [a, b] = r.pods;
    expect(
      a.agentEvents().some((e) => e.event === 'acquired') &&
        a.agentEvents().some((e) => e.event === 'renewed') &&
        a.agentEvents().some((e) => e.event === 'released'),
    ).toBe(true);
    expect(b.agentEvents().some((e) => e.event === 'attempt') && b.agentEvents().some((e) => e.event === 'acquired')).toBe(true);
    // The seed's stop() deletes the row; b took it afterwards, and b's own stop() deleted it too.
    const c = new pg.Client({ connectionString: server.url });
    await c.connect();
    try {
      const rows = await c.query('SELECT holder FROM leader_locks WHERE key = $1', [lockName]);
      expect(rows.rowCount).toBe(0);
    } finally {
      await c.end();
    }
  });
});
