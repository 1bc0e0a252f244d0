// Which repeated handlings baton is answerable for. Telegram confirms a batch only by the offset of the next
// getUpdates: a bot SIGKILLed mid-batch never confirms, so Telegram hands the whole batch out again to the
// next poller (TELEGRAM.md, at-least-once). Those repeats are the bot's crash, not two pollers, and are counted
// apart — only those: an update handled again whose first handling was by a process that was killed, at or
// above the offset of the last getUpdates that process's pod sent before it died. Used by the fault suite
// (e2e/chaos/analysis.ts) and the real node (e2e/node/scenario.ts), so both judge a kill the same way.
import type { PollEvent } from '../telegram/accounting.ts';

/** One handling of an update, by one bot process (any key unique per process: a pid, a sequence number). */
export interface Handling {
  update: number;
  process: number;
  mono: number;
}

export interface Repeats {
  /** Update ids of every extra handling (an update handled n times appears n − 1 times). */
  extra: number[];
  /** The subset Telegram had to redeliver: the unconfirmed batch of a SIGKILLed process. */
  afterKill: number[];
}

/**
 * Splits extra handlings into those redelivered after a kill and the rest.
 * @param unconfirmedFrom for each killed process, the offset of the last getUpdates its pod sent before the kill
 */
export function repeats(handled: readonly Handling[], unconfirmedFrom: ReadonlyMap<number, number>): Repeats {
  const first = new Map<number, number>();
  const out: Repeats = { extra: [], afterKill: [] };
  for (const h of [...handled].sort((a, b) => a.mono - b.mono)) {
    const by = first.get(h.update);
    if (by === undefined) {
      first.set(h.update, h.process);
      continue;
    }
    out.extra.push(h.update);
    const floor = unconfirmedFrom.get(by);
    if (floor !== undefined && h.update >= floor) out.afterKill.push(h.update);
  }
  return out;
}

/**
 * The offset of the last getUpdates `client` sent with `token` before `at` (the double's request log): the first
 * update a process killed at `at` had not confirmed.
 */
export function unconfirmedOffset(requests: readonly PollEvent[], token: string, client: string, at: number): number | undefined {
  let offset: number | undefined;
  for (const r of requests) if (r.type === 'start' && r.token === token && r.client === client && r.at < at) offset = r.offset;
  return offset;
}
