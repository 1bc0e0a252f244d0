// The load process of `npm run bench:scale` (forked by bench/scale.ts, driven over IPC): two electors per
// Lease, each assembled as src/app.ts assembles a sidecar's election — its own KubeClient (own keep-alive
// agent, so its own TCP+TLS connections), a KubeLeaseLock, a LeaseWatcher feeding the Elector, the real
// clock and baton's default timings — and nothing else: no HTTP servers, no worker signals, no Events, no
// Pod watch. Every elector is eligible (its "worker" is always there).
import { KubeClient } from '../src/kube/rest.ts';
import { KubeLeaseLock } from '../src/kube/lease-lock.ts';
import { LeaseWatcher } from '../src/kube/lease-watch.ts';
import { Elector } from '../src/election/elector.ts';
import { systemClock } from '../src/election/clock.ts';
import { requestTimeoutMs } from '../src/election/rules.ts';
import { DEFAULT_TIMINGS } from '../src/defaults.ts';
import type { KubeConnection } from '../src/kube/connection.ts';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { sleep } from '../test/harness/wait.ts';

/** One Lease this process runs two electors for, with the ServiceAccount token of its "bot". */
export interface LoadLease {
  name: string;
  token: string;
}

/** Orchestrator → load process. */
export type LoadCommand =
  | { type: 'start'; server: string; caData: string; namespace: string; leases: LoadLease[]; rampPerSecond: number }
  | { type: 'handoff'; id: number; lease: string }
  | { type: 'counters' }
  | { type: 'stop' };

/** What one graceful handoff took, all in ms on this process's monotonic clock. */
export interface HandoffTiming {
  id: number;
  lease: string;
  ok: boolean;
  /** release() called → its PUT answered. */
  releaseMs: number;
  /** release() called → the standby's acquire answered (the whole handoff). */
  handoffMs: number;
  /** The release's PUT answered → the standby's acquire answered (watch delivery + the acquire's round trip). */
  afterReleaseMs: number;
  error?: string;
}

/** Counts of what went wrong (or just happened) since start: at scale, a renewal that fails is the first sign of trouble. */
export interface LoadCounters {
  renewed: number;
  renewFailed: number;
  lost: number;
  errors: number;
  acquired: number;
}

/** This process's event-loop delay since the previous `counters` (ms): a late loop reads answers late. */
export interface LoopDelay {
  p50: number;
  p99: number;
  max: number;
}

/** Load process → orchestrator. */
export type LoadReply =
  | { type: 'ready'; leaders: number; standbys: number; ms: number }
  | { type: 'handoff'; timing: HandoffTiming }
  | { type: 'counters'; counters: LoadCounters; loopDelayMs: LoopDelay; renewMs: number[]; renewStartedAt: number[] }
  | { type: 'stopped' };

// baton's defaults (BATON_LEASE_DURATION 15s, BATON_RENEW_DEADLINE 10s, BATON_RETRY_PERIOD 2s).
const TIMINGS = DEFAULT_TIMINGS;
const TIMEOUT_MS = requestTimeoutMs(TIMINGS);

/** One elector with its own client and watch, as one sidecar has. */
interface Candidate {
  identity: string;
  elector: Elector;
  watcher: LeaseWatcher;
  client: KubeClient;
  acquiredAt: number | undefined;
  onAcquired: Array<(at: number) => void>;
}

const counters: LoadCounters = { renewed: 0, renewFailed: 0, lost: 0, errors: 0, acquired: 0 };
const candidates = new Map<string, Candidate[]>();
let generation = 0;
let connectionOf: (token: string) => KubeConnection;
let namespace = '';
const tokens = new Map<string, string>();
// Is one Node process the bottleneck? Its CPU says part of it; how late its event loop runs says the rest.
const LOOP_RESOLUTION_MS = 10;
const loopDelay = monitorEventLoopDelay({ resolution: LOOP_RESOLUTION_MS });
loopDelay.enable();
/** Round trips of the renewals since the previous `counters`, as the electors saw them (ms). */
let renewMs: number[] = [];
/** When those renewals were sent (epoch ms): are they spread over the retry period or bunched? */
let renewStartedAt: number[] = [];

function send(reply: LoadReply): void {
  process.send!(reply);
}

function newCandidate(lease: string): Candidate {
  const identity = `${lease}-${++generation}`;
  const client = new KubeClient(connectionOf(tokens.get(lease)!), { userAgent: 'baton-bench-scale' });
  const lock = new KubeLeaseLock({ client, namespace, name: lease, requestTimeoutMs: TIMEOUT_MS });
  const elector = new Elector({ ...TIMINGS, identity, lock, clock: systemClock });
  const c: Candidate = { identity, elector, client, acquiredAt: undefined, onAcquired: [], watcher: undefined! };
  c.watcher = new LeaseWatcher({
    client,
    namespace,
    name: lease,
    requestTimeoutMs: TIMEOUT_MS,
    // As src/app.ts feeds the elector.
    onEvent: (e) => {
      if (e.type === 'DELETED') elector.observe(undefined, e.lease?.resourceVersion);
      else if (e.type === 'ABSENT') elector.observe(undefined, e.resourceVersion);
      else if (e.lease) elector.observe(e.lease);
    },
  });
  elector.on((e) => {
    if (e.type === 'acquired' && !e.retiring) {
      counters.acquired++;
      c.acquiredAt = performance.now();
      for (const w of c.onAcquired.splice(0)) w(c.acquiredAt);
    } else if (e.type === 'renewed') {
      counters.renewed++;
      renewMs.push(e.durationMs);
      renewStartedAt.push(performance.timeOrigin + performance.now() - e.durationMs);
    } else if (e.type === 'renew-failed') counters.renewFailed++;
    else if (e.type === 'lost') counters.lost++;
    else if (e.type === 'error') counters.errors++;
  });
  c.watcher.start();
  elector.setEligible(true);
  elector.start();
  return c;
}

async function stopCandidate(c: Candidate): Promise<void> {
  c.elector.stop();
  await c.watcher.stop();
  c.client.close();
}

async function start(cmd: Extract<LoadCommand, { type: 'start' }>): Promise<void> {
  const ca = Buffer.from(cmd.caData, 'base64');
  namespace = cmd.namespace;
  connectionOf = (token) => ({
    server: cmd.server,
    namespace,
    source: 'bench',
    tls: { ca, rejectUnauthorized: true },
    authenticate: async (req) => {
      req.headers = { ...(req.headers as Record<string, string> | undefined), authorization: `Bearer ${token}` };
    },
  });
  const began = performance.now();
  // Started at a steady pace, as pods of many bots come up over time rather than in one instant.
  const gapMs = 1000 / cmd.rampPerSecond;
  for (const l of cmd.leases) {
    tokens.set(l.name, l.token);
    candidates.set(l.name, [newCandidate(l.name)]);
    await sleep(gapMs);
    candidates.get(l.name)!.push(newCandidate(l.name));
    await sleep(gapMs);
  }
  process.stderr.write(`load process: ${2 * cmd.leases.length} electors started after ${((performance.now() - began) / 1000).toFixed(1)} s\n`);
  // Ready: every Lease has a leader and its standby has seen the Lease.
  for (;;) {
    let leaders = 0;
    let standbys = 0;
    for (const cs of candidates.values()) {
      for (const c of cs) {
        const s = c.elector.snapshot();
        if (s.isLeader) leaders++;
        else if (s.phase === 'standby' && s.leaseKnown) standbys++;
      }
    }
    const waited = performance.now() - began;
    if (waited > 30_000 && Math.floor(waited / 10_000) !== Math.floor((waited - 200) / 10_000)) {
      process.stderr.write(
        `load process: ${leaders} leaders, ${standbys} standbys watching of ${candidates.size} Leases after ${(waited / 1000).toFixed(0)} s; ${counters.errors} errors\n`,
      );
    }
    if (leaders === candidates.size && standbys === candidates.size) {
      send({ type: 'ready', leaders, standbys, ms: performance.now() - began });
      return;
    }
    await sleep(200);
  }
}

/**
 * A graceful handoff as a sidecar does it (its worker already paused): the leader releases, the standby's
 * watch sees the release and acquires. The leader then retires for good, so a new elector — a new pod —
 * takes its place as the standby, and the next handoff of this Lease finds two electors again.
 */
async function handoff(id: number, lease: string): Promise<HandoffTiming> {
  const cs = candidates.get(lease)!;
  const leader = cs.find((c) => c.elector.isLeader());
  const standby = cs.find((c) => c !== leader && c.elector.snapshot().phase === 'standby' && c.elector.snapshot().leaseKnown);
  if (!leader || !standby) return { id, lease, ok: false, releaseMs: NaN, handoffMs: NaN, afterReleaseMs: NaN, error: 'no leader and ready standby' };
  const acquired = new Promise<number>((resolve) => standby.onAcquired.push(resolve));
  const t0 = performance.now();
  const released = await leader.elector.release();
  const t1 = performance.now();
  if (!released) return { id, lease, ok: false, releaseMs: t1 - t0, handoffMs: NaN, afterReleaseMs: NaN, error: 'release not written' };
  const timeout = new Promise<undefined>((r) => setTimeout(() => r(undefined), 20_000));
  const t2 = await Promise.race([acquired, timeout]);
  await stopCandidate(leader);
  cs.splice(cs.indexOf(leader), 1, newCandidate(lease));
  if (t2 === undefined) return { id, lease, ok: false, releaseMs: t1 - t0, handoffMs: NaN, afterReleaseMs: NaN, error: 'standby did not acquire within 20 s' };
  return { id, lease, ok: true, releaseMs: t1 - t0, handoffMs: t2 - t0, afterReleaseMs: t2 - t1 };
}

/** The histogram records whole intervals between its timer's ticks: the delay is what exceeds the resolution. */
function lateMs(intervalNs: number): number {
  return Math.max(0, intervalNs / 1e6 - LOOP_RESOLUTION_MS);
}

process.on('message', (msg: LoadCommand) => {
  switch (msg.type) {
    case 'start':
      void start(msg);
      return;
    case 'handoff':
      void handoff(msg.id, msg.lease).then((timing) => send({ type: 'handoff', timing }));
      return;
    case 'counters':
      send({
        type: 'counters',
        counters: { ...counters },
        loopDelayMs: { p50: lateMs(loopDelay.percentile(50)), p99: lateMs(loopDelay.percentile(99)), max: lateMs(loopDelay.max) },
        renewMs,
        renewStartedAt,
      });
      loopDelay.reset();
      renewMs = [];
      renewStartedAt = [];
      return;
    case 'stop':
      void Promise.allSettled([...candidates.values()].flat().map(stopCandidate)).then(() => {
        send({ type: 'stopped' });
        process.disconnect();
      });
      return;
  }
});
