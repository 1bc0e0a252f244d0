// Peer (b): seed 001's PostgreSQL advisory lock (released in the SIGTERM handler, retried every 2 s),
// on a real PostgreSQL from Debian's packages, driving real workers. Asserts the behaviour only; the gap
// and overlap are recorded.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startPostgres, type Postgres } from '../../harness/postgres.ts';
import { pgAdvisoryPeer } from '../../../e2e/peers/commands.ts';
import { runHandoff } from '../../../e2e/peers/handoff.ts';

let pg: Postgres;
let dir: string;

beforeAll(async () => {
  pg = await startPostgres();
  dir = mkdtempSync(join(tmpdir(), 'baton-peers-pga-'));
});

afterAll(async () => {
  await pg?.stop();
});

describe('peer: PostgreSQL advisory lock (seed 001)', () => {
  it('one leader polls, the standby retries; after SIGTERM the standby takes over; both exit 0', async () => {
    const key = 1_000_000 + Math.floor(Math.random() * 1_000_000);
    const r = await runHandoff({
      dir,
      names: ['pga-a', 'pga-b'],
      peer: () => pgAdvisoryPeer({ url: pg.url, key }), // the seed's 2 s retry
      steadyMs: 2500,
      handoffTimeoutMs: 15_000,
      pod: { preStopMs: 500, graceMs: 20_000 },
    });
    console.log(
      `pg-advisory (retry 2s): gap ${r.gapMs.toFixed(1)} ms, overlap ${r.twoPollersMs.toFixed(1)} ms, SIGTERM→poll ${r.sigtermToPollMs.toFixed(1)} ms (logs in ${dir})\n${r.describe}`,
    );
    expect(r.steadyViolations, 'exactly one worker polls in the steady state').toBe(0);
    expect(r.exitCodes).toEqual([0, 0]);
    const [a, b] = r.pods;
    expect(a.agentEvents().some((e) => e.event === 'acquired') && a.agentEvents().some((e) => e.event === 'released')).toBe(true);
    expect(b.agentEvents().some((e) => e.event === 'attempt') && b.agentEvents().some((e) => e.event === 'acquired')).toBe(true);
    // The seed's order: the lock is released before the worker is told to pause.
    const ev = a.agentEvents();
    const released = ev.findIndex((e) => e.event === 'released');
    const pause = ev.findIndex((e, i) => i > released && e.event === 'signal' && e.signal === 'SIGUSR2');
    expect(released).toBeGreaterThan(-1);
    expect(pause).toBeGreaterThan(released);
  });
});
