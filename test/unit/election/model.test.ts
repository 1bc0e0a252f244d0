// Randomized model tests of the election and the sidecar (issue 9): three pods on one Lease, under a
// generated sequence of faults (see model/world.ts). After every step S1, S2, C2 and L2 are checked;
// at the end, with the faults over, exactly one worker must run (L1/L2). A failure prints fast-check's
// seed and the shrunk sequence: replay it with BATON_MODEL_SEED=<seed> (and BATON_MODEL_PATH=<path>);
// BATON_MODEL_SEED=random draws a new seed.
// The number of runs is BATON_MODEL_RUNS (default below: CI's budget of about a minute).
import { fc, test } from '@fast-check/vitest';
import { expect } from 'vitest';
import { defaultRenewIntervalMs, KIT_LAST_LOOK_MS, renewIntervalProblems } from '../../../src/election/rules.ts';
import { TIMINGS, World } from './model/world.ts';

/** Runs of the short-sequence property; the long one runs a quarter as many: 10,000 sequences in CI by default. */
export const MODEL_RUNS = Number(process.env.BATON_MODEL_RUNS ?? 8000);
/**
 * The seed. `npm test` uses a fixed one, so CI judges the code, not the luck of the draw; `npm run model:explore
 * -- N` runs N fresh random seeds and prints them (`BATON_MODEL_SEED=random` draws one here). Keep every
 * counterexample found as a fixed test below.
 */
const FIXED_SEED = 20261130;
const seedEnv = process.env.BATON_MODEL_SEED;
const seed = seedEnv === 'random' ? {} : { seed: seedEnv === undefined ? FIXED_SEED : Number(seedEnv), path: process.env.BATON_MODEL_PATH };

type Action =
  | { t: 'advance'; ms: number }
  | { t: 'net'; pod: number; mode: 'ok' | 'hold' | 'fail' | 'lose-answer' | 'slow-answer' }
  | { t: 'deliver'; pod: number; which: 'first' | 'all' | 'drop-first' }
  | { t: 'watch-hold'; pod: number; held: boolean }
  | { t: 'watch-flush'; pod: number; how: 'in-order' | 'reversed' | 'drop-first' | 'dup-first' }
  | { t: 'freeze'; pod: number }
  | { t: 'thaw'; pod: number }
  | { t: 'edit'; kind: 'holder-ghost' | 'holder-other' | 'delete' | 'duration' | 'garbage' | 'touch'; pod: number }
  | { t: 'terminate'; pod: number; trigger: 'SIGTERM' | 'deletion' }
  | { t: 'kill-worker'; pod: number }
  | { t: 'restart-worker'; pod: number }
  | { t: 'crash-sidecar'; pod: number }
  | { t: 'newer'; pod: number; newer: number | undefined }
  | { t: 'word'; pod: number; how: 'hold' | 'release' | 'deliver' | 'drop' | 'replay' | 'forge'; pick: number };

const pod = fc.integer({ min: 0, max: 2 });
const action: fc.Arbitrary<Action> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({ t: fc.constant('advance' as const), ms: fc.oneof(fc.integer({ min: 0, max: 600 }), fc.integer({ min: 1_000, max: 16_000 })) }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      t: fc.constant('net' as const),
      pod,
      mode: fc.constantFrom('ok' as const, 'hold' as const, 'fail' as const, 'lose-answer' as const, 'slow-answer' as const),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({ t: fc.constant('deliver' as const), pod, which: fc.constantFrom('first' as const, 'all' as const, 'drop-first' as const) }),
  },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('watch-hold' as const), pod, held: fc.boolean() }) },
  {
    weight: 1,
    arbitrary: fc.record({
      t: fc.constant('watch-flush' as const),
      pod,
      how: fc.constantFrom('in-order' as const, 'reversed' as const, 'drop-first' as const, 'dup-first' as const),
    }),
  },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('freeze' as const), pod }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('thaw' as const), pod }) },
  {
    weight: 1,
    arbitrary: fc.record({
      t: fc.constant('edit' as const),
      kind: fc.constantFrom('holder-ghost' as const, 'holder-other' as const, 'delete' as const, 'duration' as const, 'garbage' as const, 'touch' as const),
      pod,
    }),
  },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('terminate' as const), pod, trigger: fc.constantFrom('SIGTERM' as const, 'deletion' as const) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('kill-worker' as const), pod }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('restart-worker' as const), pod }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('crash-sidecar' as const), pod }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('newer' as const), pod, newer: fc.option(pod, { nil: undefined }) }) },
  {
    weight: 2,
    arbitrary: fc.record({
      t: fc.constant('word' as const),
      pod,
      how: fc.constantFrom('hold' as const, 'release' as const, 'deliver' as const, 'drop' as const, 'replay' as const, 'forge' as const),
      pick: fc.nat(),
    }),
  },
);

/**
 * Issue 20, item 4: each pod's renew interval, drawn from its whole valid range (the retry period up to the
 * renew deadline less one retry and the kit's last look), the retry period (client-go's cadence) and the
 * default weighted in. Pods may differ, as they do during a rollout that changes BATON_RENEW_INTERVAL.
 */
const RENEW_INTERVAL_MIN = TIMINGS.retryPeriodMs;
const RENEW_INTERVAL_MAX = TIMINGS.renewDeadlineMs - TIMINGS.retryPeriodMs - KIT_LAST_LOOK_MS;
const DEFAULT_RENEW_INTERVAL = defaultRenewIntervalMs(TIMINGS);
const renewInterval = fc.oneof(
  { weight: 1, arbitrary: fc.constant(RENEW_INTERVAL_MIN) },
  { weight: 1, arbitrary: fc.constant(DEFAULT_RENEW_INTERVAL) },
  { weight: 2, arbitrary: fc.integer({ min: RENEW_INTERVAL_MIN, max: RENEW_INTERVAL_MAX }) },
);
const renewIntervals = fc.tuple(renewInterval, renewInterval, renewInterval);

async function run(actions: Action[], worldSeed: number, renewIntervalsMs: readonly number[] = []): Promise<World> {
  const world = new World(3, worldSeed, renewIntervalsMs);
  await world.clock.advance(1_500); // the pods find their workers and elect a leader
  for (const a of actions) {
    switch (a.t) {
      case 'advance':
        await world.clock.advance(a.ms);
        break;
      case 'net':
        world.setNet(a.pod, a.mode);
        break;
      case 'deliver':
        await world.deliverCalls(a.pod, a.which);
        break;
      case 'watch-hold':
        world.holdWatch(a.pod, a.held);
        break;
      case 'watch-flush':
        await world.flushWatch(a.pod, a.how);
        break;
      case 'freeze':
        world.freeze(a.pod);
        break;
      case 'thaw':
        await world.thaw(a.pod);
        break;
      case 'edit':
        await world.edit(a.kind, a.pod);
        break;
      case 'terminate':
        world.terminate(a.pod, a.trigger);
        break;
      case 'kill-worker':
        world.killWorker(a.pod);
        break;
      case 'restart-worker':
        world.restartWorker(a.pod);
        break;
      case 'crash-sidecar':
        await world.crashSidecar(a.pod);
        break;
      case 'word':
        await world.word(a.pod, a.how, a.pick);
        break;
      case 'newer':
        world.newer(a.pod, a.newer);
        break;
    }
    world.checkReports();
    if (world.violations.length > 0) return world;
  }
  await world.converge();
  return world;
}

const opts = { numRuns: MODEL_RUNS, ...seed };

test('the renew intervals drawn are the valid range of BATON_RENEW_INTERVAL, ends included', () => {
  const problems = (renewIntervalMs: number) => renewIntervalProblems({ ...TIMINGS, renewIntervalMs });
  expect([RENEW_INTERVAL_MIN, DEFAULT_RENEW_INTERVAL, RENEW_INTERVAL_MAX]).toEqual([2_000, 5_000, 7_000]);
  for (const ms of [RENEW_INTERVAL_MIN, DEFAULT_RENEW_INTERVAL, RENEW_INTERVAL_MAX]) expect(problems(ms)).toEqual([]);
  expect(problems(RENEW_INTERVAL_MIN - 1)).not.toEqual([]);
  expect(problems(RENEW_INTERVAL_MAX + 1)).not.toEqual([]);
});

test.prop([fc.array(action, { maxLength: 12 }), fc.integer({ min: 1, max: 2 ** 31 - 1 }), renewIntervals], opts)(
  'S1, S2, C2 and L2 hold under any faults, and one worker runs once they stop (short sequences)',
  async (actions, worldSeed, renewIntervalsMs) => {
    const world = await run(actions, worldSeed, renewIntervalsMs);
    expect(world.violations).toEqual([]);
  },
  120_000,
);

test.prop([fc.array(action, { minLength: 12, maxLength: 40 }), fc.integer({ min: 1, max: 2 ** 31 - 1 }), renewIntervals], {
  ...opts,
  numRuns: Math.ceil(MODEL_RUNS / 4),
})(
  'S1, S2, C2 and L2 hold under any faults, and one worker runs once they stop (long sequences)',
  async (actions, worldSeed, renewIntervalsMs) => {
    const world = await run(actions, worldSeed, renewIntervalsMs);
    expect(world.violations).toEqual([]);
  },
  120_000,
);

test('the fault sequences reach W1: takeovers on a word, releases after one, forged and replayed words heard', async () => {
  // The property above is only as good as what it reaches: over the first sequences of the fixed seed, each
  // part of W1 must have happened (a replayed word about the current version is a leader's own: it may be taken).
  const sequences = fc.sample(fc.tuple(fc.array(action, { minLength: 12, maxLength: 40 }), fc.integer({ min: 1, max: 2 ** 31 - 1 })), {
    numRuns: 150,
    seed: FIXED_SEED,
  });
  const total = { takeovers: 0, releases: 0, forgedOrReplayedHeard: 0, forgedOrReplayedTaken: 0 };
  for (const [actions, worldSeed] of sequences) {
    const world = await run(actions, worldSeed);
    expect(world.violations).toEqual([]);
    for (const k of Object.keys(total) as Array<keyof typeof total>) total[k] += world.tally[k];
  }
  expect(total.takeovers).toBeGreaterThan(0);
  expect(total.releases).toBeGreaterThan(0);
  expect(total.forgedOrReplayedHeard).toBeGreaterThan(0);
  console.log(`W1 in 150 model sequences: ${JSON.stringify(total)}`);
}, 120_000);

test("W1: a handoff on the leader's word is one write, and a forged word about the Lease as it is moves nothing", async () => {
  const world = await run([{ t: 'advance', ms: 3_000 }], 2);
  const leader = world.pods.findIndex((p) => p.inc.sidecar.status().isLeader);
  expect(leader).toBeGreaterThanOrEqual(0);
  const other = (leader + 1) % 3;
  const writes = world.store.writes.length;
  // Forged: the holder and version as they are, a made-up secret. Nothing is written.
  await world.word(other, 'forge', 1);
  await world.clock.advance(100);
  expect(world.store.writes.length).toBe(writes);
  expect(world.tally.forgedOrReplayedTaken).toBe(0);
  world.terminate(leader, 'SIGTERM');
  await world.clock.advance(2_000);
  const after = world.store.writes.slice(writes);
  // One write by a standby over the leader's own record; no release record in between.
  expect(after.filter((w) => w.after?.holderIdentity === '')).toEqual([]);
  expect(after.length).toBe(1);
  expect(after[0]!.before?.holderIdentity).toBe(world.pods[leader]!.id);
  expect(world.tally).toMatchObject({ takeovers: 1, releases: 0 });
  expect(world.violations).toEqual([]);
});

// Counterexamples the model found, kept as fixed regression tests: each at the renew interval it was found with
// (the retry period, before issue 20) and at the default.
const KEPT_INTERVALS = [RENEW_INTERVAL_MIN, DEFAULT_RENEW_INTERVAL];
test.each(KEPT_INTERVALS)(
  'found by the model: a hand edit then deletion of the Lease never lowers the epoch /leader shows (S2) — renew interval %i ms',
  async (ri) => {
    const world = await run(
      [
        { t: 'kill-worker', pod: 0 },
        { t: 'advance', ms: 5500 },
        { t: 'edit', kind: 'holder-ghost', pod: 0 },
        { t: 'edit', kind: 'delete', pod: 0 },
        { t: 'advance', ms: 0 },
        { t: 'deliver', pod: 0, which: 'first' },
        { t: 'thaw', pod: 0 },
      ],
      1,
      [ri, ri, ri],
    );
    expect(world.violations).toEqual([]);
  },
);

test.each(KEPT_INTERVALS)(
  'found by the model: a leader frozen after its renews stalled — its worker pauses before the standby starts (S1) — renew interval %i ms',
  async (ri) => {
    const world = await run(
      [
        { t: 'net', pod: 0, mode: 'hold' },
        { t: 'advance', ms: 2500 },
        { t: 'freeze', pod: 0 },
        { t: 'advance', ms: 1000 },
        { t: 'advance', ms: 10700 },
        { t: 'advance', ms: 300 },
        { t: 'net', pod: 0, mode: 'ok' },
        { t: 'terminate', pod: 0, trigger: 'SIGTERM' },
        { t: 'advance', ms: 3000 },
        { t: 'kill-worker', pod: 0 },
        { t: 'advance', ms: 1000 },
        { t: 'restart-worker', pod: 0 },
        { t: 'watch-flush', pod: 0, how: 'in-order' },
      ],
      1,
      [ri, ri, ri],
    );
    expect(world.violations).toEqual([]);
  },
);

test.each(KEPT_INTERVALS)(
  "found by the model: a leader resumed after a freeze never re-starts a worker its dead-man's switch paused (S1) — renew interval %i ms",
  async (ri) => {
    const world = await run(
      [
        { t: 'freeze', pod: 0 },
        { t: 'advance', ms: 1000 },
        { t: 'crash-sidecar', pod: 0 },
        { t: 'advance', ms: 1000 },
        { t: 'terminate', pod: 1, trigger: 'SIGTERM' },
        { t: 'net', pod: 0, mode: 'ok' },
        { t: 'advance', ms: 14982 },
        { t: 'advance', ms: 11518 },
        { t: 'deliver', pod: 0, which: 'first' },
      ],
      1,
      [ri, ri, ri],
    );
    expect(world.violations).toEqual([]);
  },
);

test.each(KEPT_INTERVALS)(
  'found by the model: a Lease edited twice to the same content, a renew between, the standby seeing neither — it waits again (S1, seed -371408769) — renew interval %i ms',
  async (ri) => {
    const world = await run(
      [
        { t: 'edit', kind: 'garbage', pod: 0 },
        { t: 'freeze', pod: 1 },
        { t: 'advance', ms: 3199 },
        { t: 'watch-flush', pod: 0, how: 'in-order' },
        { t: 'watch-hold', pod: 0, held: false },
        { t: 'advance', ms: 10702 },
        { t: 'net', pod: 0, mode: 'ok' },
        { t: 'advance', ms: 599 },
        { t: 'net', pod: 0, mode: 'ok' },
        { t: 'crash-sidecar', pod: 1 },
        { t: 'edit', kind: 'garbage', pod: 0 },
        { t: 'deliver', pod: 0, which: 'first' },
        { t: 'advance', ms: 1000 },
      ],
      1,
      [ri, ri, ri],
    );
    expect(world.violations).toEqual([]);
  },
);

test.each(KEPT_INTERVALS)(
  "found by the model: a Lease deleted by hand, a frozen pod's new sidecar creates it — a claim, not a proof: it leads a lease duration later (S1, seed 2) — renew interval %i ms",
  async (ri) => {
    const world = await run(
      [
        { t: 'crash-sidecar', pod: 0 },
        { t: 'edit', kind: 'delete', pod: 0 },
        { t: 'freeze', pod: 0 },
        { t: 'advance', ms: 5171 },
        { t: 'advance', ms: 9829 },
        { t: 'edit', kind: 'holder-ghost', pod: 0 },
        { t: 'restart-worker', pod: 0 },
        { t: 'edit', kind: 'holder-ghost', pod: 0 },
        { t: 'crash-sidecar', pod: 0 },
        { t: 'net', pod: 0, mode: 'ok' },
        { t: 'edit', kind: 'delete', pod: 0 },
        { t: 'advance', ms: 0 },
        { t: 'watch-hold', pod: 0, held: false },
        { t: 'net', pod: 0, mode: 'ok' },
        { t: 'advance', ms: 0 },
        { t: 'advance', ms: 0 },
        { t: 'net', pod: 0, mode: 'ok' },
      ],
      1,
      [ri, ri, ri],
    );
    expect(world.violations).toEqual([]);
  },
);

test.each(KEPT_INTERVALS)(
  'found by the model: a claim given up by a handoff is not released — a frozen older claimant may still lead (S1, seed 13) — renew interval %i ms',
  async (ri) => {
    const world = await run(
      [
        { t: 'advance', ms: 12019 },
        { t: 'advance', ms: 4 },
        { t: 'deliver', pod: 0, which: 'first' },
        { t: 'watch-flush', pod: 0, how: 'in-order' },
        { t: 'freeze', pod: 0 },
        { t: 'edit', kind: 'delete', pod: 0 },
        { t: 'deliver', pod: 0, which: 'first' },
        { t: 'thaw', pod: 1 },
        { t: 'crash-sidecar', pod: 0 },
        { t: 'advance', ms: 1 },
        { t: 'crash-sidecar', pod: 1 },
        { t: 'advance', ms: 1476 },
        { t: 'watch-flush', pod: 0, how: 'in-order' },
        { t: 'terminate', pod: 1, trigger: 'SIGTERM' },
      ],
      1,
      [ri, ri, ri],
    );
    expect(world.violations).toEqual([]);
  },
);

test.each(KEPT_INTERVALS)(
  'found by the model: a claimant told of a newer pod must not turn ineligible — L1 then released it at the claim’s end without waiting for its worker’s pause (Y1, fixed seed) — renew interval %i ms',
  async (ri) => {
    const world = await run(
      [
        { t: 'newer', pod: 0, newer: 0 },
        { t: 'advance', ms: 6657 },
        { t: 'advance', ms: 6843 },
      ],
      1,
      [ri, ri, ri],
    );
    expect(world.violations).toEqual([]);
  },
);
