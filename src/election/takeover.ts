// Rule W1, the takeover on the leader's word (docs/protocol.md): the proof a standby checks before it takes
// a held Lease at once. Pure functions of their arguments (hashes, no I/O), so the decider stays pure.
import { createHash, createHmac } from 'node:crypto';
import type { LeaderRecord, ObservedLease } from './record.ts';

/**
 * The leader's word: "my worker has paused; the record at `resourceVersion` is my last". It carries the
 * term's secret, whose hash the holder wrote in every record of the term (`takeoverHash`), so only the holder
 * can say it; the takeover it allows is written over that very resourceVersion, so it is worthless once
 * the Lease has changed.
 */
export interface TakeoverWord {
  /** The holder who speaks (the record's holderIdentity). */
  holder: string;
  /** The record the word is about: the takeover's write is based on it (optimistic concurrency). */
  resourceVersion: string;
  /** The term's secret (hex), revealed only in the word. */
  secret: string;
}

/**
 * The secret of one term of this process: derived from a key of its own (random per process) and the term
 * (holder, epoch, acquireTime), so it is the same for every renew of the term and tells nothing of another.
 */
export function termSecret(key: string, record: LeaderRecord): string {
  const term = `${record.holderIdentity}\n${record.leaseTransitions}\n${record.acquireTime?.getTime() ?? ''}`;
  return createHmac('sha256', key).update(term).digest('hex');
}

/**
 * The hash a holder writes in its records. It binds the secret to the holder and epoch, so a hash left in
 * the Lease by an earlier term (a writer that keeps other fields, rule C1) never proves a word for a later one.
 */
export function takeoverHashOf(holder: string, epoch: number, secret: string): string {
  return createHash('sha256').update(`${holder}\n${epoch}\n${secret}`).digest('hex');
}

/** The record as its holder writes it in a term: with the hash of the term's secret. */
export function withTakeoverHash(record: LeaderRecord, key: string): LeaderRecord {
  return { ...record, takeoverHash: takeoverHashOf(record.holderIdentity, record.leaseTransitions, termSecret(key, record)) };
}

/** The word a holder speaks about `lease`, its own current record. */
export function wordOf(lease: ObservedLease, key: string): TakeoverWord {
  return { holder: lease.record.holderIdentity, resourceVersion: lease.resourceVersion, secret: termSecret(key, lease.record) };
}

/**
 * W1: the word proves the pause of the holder of `lease` (the Lease as this pod last saw it) when it is about
 * that very version, names its holder (someone else, not a released record) and reveals the secret whose
 * hash that record carries. Anything else is ignored: a forged word, a stale one, one about a version not yet seen.
 */
export function wordProves(lease: ObservedLease | undefined, word: TakeoverWord, self: string): boolean {
  if (lease === undefined || lease.resourceVersion !== word.resourceVersion) return false;
  const r = lease.record;
  if (r.holderIdentity === '' || r.holderIdentity === self || r.holderIdentity !== word.holder) return false;
  if (r.takeoverHash === undefined || !/^[0-9a-f]{64}$/.test(word.secret)) return false;
  return r.takeoverHash === takeoverHashOf(r.holderIdentity, r.leaseTransitions, word.secret);
}
