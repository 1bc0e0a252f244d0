// Rule W1, the takeover on the leader's word (src/election/takeover.ts and its part in decide.ts): the proof a
// standby checks, and the decider's steps on both sides of a handoff. The model tests (model.test.ts) try it
// under faults: words held, lost, replayed and forged.
import { describe, expect, it } from 'vitest';
import { decide, initialState, type DecideConfig, type ElectionState, type Input } from '../../../src/election/decide.ts';
import type { LeaderRecord, ObservedLease } from '../../../src/election/record.ts';
import { takeoverHashOf, termSecret, withTakeoverHash, wordOf, wordProves } from '../../../src/election/takeover.ts';

const WALL = 1_800_000_000_000;
const wall = (ms: number) => new Date(WALL + ms);
const timings = { leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000, renewIntervalMs: 5_000, workerGraceMs: 5_000 };
const LEADER_KEY = 'leader-key';
/** The leader 'old' and the standby 'me', both with W1 on. */
const oldCfg: DecideConfig = { identity: 'old', ...timings, takeover: { key: LEADER_KEY, offerMs: 300 } };
const meCfg: DecideConfig = { identity: 'me', ...timings, takeover: { key: 'my-key', offerMs: 300 } };

const plain = (holder: string, epoch: number): LeaderRecord => ({
  holderIdentity: holder,
  leaseDurationSeconds: 15,
  acquireTime: wall(0),
  renewTime: wall(0),
  leaseTransitions: epoch,
});
/** 'old''s record at epoch 3, sealed with its key, at resourceVersion 5. */
const HELD: ObservedLease = { resourceVersion: '5', record: withTakeoverHash(plain('old', 3), LEADER_KEY) };
const WORD = wordOf(HELD, LEADER_KEY);

describe('W1: the proof', () => {
  it('a word proves the pause of the record it is about, told by its holder with its term secret', () => {
    expect(wordProves(HELD, WORD, 'me')).toBe(true);
  });

  it.each([
    ['a made-up secret', { ...WORD, secret: 'f'.repeat(64) }],
    ['a secret that is no hash', { ...WORD, secret: 'not hex' }],
    ['another version (stale, or not seen yet)', { ...WORD, resourceVersion: '4' }],
    ['another holder named', { ...WORD, holder: 'someone' }],
  ])('%s proves nothing', (_name, word) => {
    expect(wordProves(HELD, word, 'me')).toBe(false);
  });

  it('proves nothing about a record without a hash (a writer without W1), a release, or this pod’s own', () => {
    expect(wordProves({ ...HELD, record: plain('old', 3) }, WORD, 'me')).toBe(false);
    expect(wordProves({ ...HELD, record: { ...HELD.record, holderIdentity: '' } }, { ...WORD, holder: '' }, 'me')).toBe(false);
    expect(wordProves(HELD, WORD, 'old')).toBe(false);
    expect(wordProves(undefined, WORD, 'me')).toBe(false);
  });

  it('binds the hash to holder and epoch: a hash left from an earlier term proves no word about a later one', () => {
    // A writer that keeps other fields (C1) leaves the hash of 'old''s term in a record at epoch 4 of 'other'.
    const later: ObservedLease = { resourceVersion: '6', record: { ...plain('other', 4), takeoverHash: HELD.record.takeoverHash! } };
    expect(wordProves(later, { holder: 'other', resourceVersion: '6', secret: WORD.secret }, 'me')).toBe(false);
    expect(takeoverHashOf('old', 3, WORD.secret)).toBe(HELD.record.takeoverHash);
  });

  it('keeps one secret for a term (its renews) and another for the next term, per key', () => {
    const renewed = { ...plain('old', 3), renewTime: wall(5_000) };
    expect(termSecret(LEADER_KEY, renewed)).toBe(WORD.secret);
    expect(termSecret(LEADER_KEY, { ...plain('old', 5), acquireTime: wall(9_000) })).not.toBe(WORD.secret);
    expect(termSecret('another process', plain('old', 3))).not.toBe(WORD.secret);
  });
});

/** 'old' leading on HELD, written and renewed at 0. */
function leading(more: Partial<ElectionState> = {}): ElectionState {
  return {
    ...initialState(),
    phase: 'leader',
    lease: { is: 'present', observed: HELD, observedAt: 0 },
    written: HELD.record,
    maxEpoch: 3,
    lastRenewAt: 0,
    ...more,
  };
}
const step = (s: ElectionState, input: Input, at: number, cfg = oldCfg) => decide(s, input, cfg, at, wall(at), 0);

describe('W1: the leader', () => {
  it('offers its word before it releases, and releases at the offer’s end when nobody took over', () => {
    const d = step(leading({ retired: true }), { type: 'release' }, 1_000);
    expect(d.request).toBeUndefined();
    expect(d.events).toEqual([
      { type: 'releasing', reason: 'handoff' },
      { type: 'offer', word: WORD, until: 1_300 },
    ]);
    expect(d.wakeAt).toBe(1_300);
    expect(d.state.phase).toBe('releasing');
    const early = step(d.state, { type: 'tick' }, 1_200);
    expect(early.request).toBeUndefined();
    const late = step(d.state, { type: 'tick' }, 1_300);
    expect(late.request).toMatchObject({ kind: 'release', base: HELD, record: { holderIdentity: '' } });
    expect(late.request && 'record' in late.request ? late.request.record.takeoverHash : 'x').toBeUndefined();
    expect(late.events).toEqual([]);
  });

  it('releases at once when the offer is declined (every standby refused), not for an older version', () => {
    const offered = step(leading({ retired: true }), { type: 'release' }, 1_000).state;
    expect(step(offered, { type: 'offer-declined', resourceVersion: '4' }, 1_010).request).toBeUndefined();
    expect(step(offered, { type: 'offer-declined', resourceVersion: '5' }, 1_010).request).toMatchObject({ kind: 'release' });
  });

  it('ends its leadership as a release when a standby takes over on the word (C2), and the handoff settles', () => {
    const offered = step(leading({ retired: true }), { type: 'release' }, 1_000).state;
    const taken: ObservedLease = { resourceVersion: '6', record: withTakeoverHash({ ...plain('me', 4), acquireTime: wall(1_010) }, 'my-key') };
    const d = step(offered, { type: 'observed', lease: taken }, 1_020);
    expect(d.state.phase).toBe('standby');
    expect(d.events).toEqual([
      { type: 'observed', lease: taken },
      { type: 'released', record: HELD.record, reason: 'handoff', takenOver: true },
    ]);
    expect(d.releaseSettled).toBe(true);
    expect(d.request).toBeUndefined();
  });

  it('without its word out, another holder is a loss, as before', () => {
    const taken: ObservedLease = { resourceVersion: '6', record: plain('me', 4) };
    expect(step(leading(), { type: 'observed', lease: taken }, 1_000).events.map((e) => e.type)).toEqual(['observed', 'lost']);
  });

  it('offers nothing about a record it did not seal with its key (another process’s term), and nothing with W1 off', () => {
    const unsealed = leading({ retired: true, lease: { is: 'present', observed: { ...HELD, record: plain('old', 3) }, observedAt: 0 } });
    expect(step(unsealed, { type: 'release' }, 1_000).request).toMatchObject({ kind: 'release' });
    const off: DecideConfig = { identity: 'old', ...timings };
    const d = decide(leading({ retired: true }), { type: 'release' }, off, 1_000, wall(1_000), 0);
    expect(d.events.map((e) => e.type)).toEqual(['releasing']);
    expect(d.request).toMatchObject({ kind: 'release' });
  });

  it('seals every record it writes as holder (renew), so its word can be checked', () => {
    const d = step(leading(), { type: 'tick' }, 5_000);
    expect(d.request).toMatchObject({ kind: 'renew', record: { takeoverHash: HELD.record.takeoverHash } });
  });
});

/** 'me' standing by, having seen HELD at 0. */
const waiting = (more: Partial<ElectionState> = {}): ElectionState => ({
  ...initialState(),
  phase: 'standby',
  lease: { is: 'present', observed: HELD, observedAt: 0 },
  maxEpoch: 3,
  ...more,
});

describe('W1: the standby', () => {
  it('takes the Lease at once on a proven word, over that very version (one write), with its own seal', () => {
    const d = step(waiting(), { type: 'word', word: WORD }, 1_000, meCfg);
    expect(d.request).toMatchObject({ kind: 'acquire', base: HELD, record: { holderIdentity: 'me', leaseTransitions: 4 } });
    const record = d.request && 'record' in d.request ? d.request.record : undefined;
    expect(record?.takeoverHash).toBe(withTakeoverHash(record!, 'my-key').takeoverHash);
    expect(d.state.inflight?.base).toBe('5');
  });

  it.each([
    ['a forged word', { ...WORD, secret: 'f'.repeat(64) }],
    ['a word about an older version', { ...WORD, resourceVersion: '4' }],
  ])('ignores %s: the Lease expires as before', (_name, word) => {
    const d = step(waiting(), { type: 'word', word }, 1_000, meCfg);
    expect(d.request).toBeUndefined();
    expect(d.wakeAt).toBe(15_000);
  });

  it('forgets a word once the Lease moved on', () => {
    const heard = step(waiting({ retired: true }), { type: 'word', word: WORD }, 1_000, meCfg).state;
    expect(heard.takeoverVersion).toBe('5');
    const moved = step(heard, { type: 'observed', lease: { ...HELD, resourceVersion: '6' } }, 1_100, meCfg).state;
    expect(moved.takeoverVersion).toBeUndefined();
  });

  it.each([
    ['retired (handing over itself)', { retired: true }],
    ['deferring to a newer pod (Y1)', { deferring: true }],
    ['ineligible (no worker)', { ineligibleSince: 0 }],
  ])('takes nothing while %s', (_name, more) => {
    expect(step(waiting(more), { type: 'word', word: WORD }, 1_000, meCfg).request).toBeUndefined();
  });
});
