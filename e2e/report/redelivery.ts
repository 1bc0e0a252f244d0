// Which repeated handlings baton is answerable for. Telegram confirms a batch only by the offset of the next
// getUpdates: a bot SIGKILLed mid-batch never confirms, so Telegram hands the whole batch out again to the
// next poller (TELEGRAM.md, at-least-once). A bot frozen mid-batch (its pod's processes SIGSTOPped, its cgroup
// frozen) past its lease time is the same for Telegram: what it handled before the freeze is unconfirmed and
// goes to the next leader again. Those repeats are the crash's or the freeze's, not two pollers, and are
// counted apart — only those: an update handled again whose first handling was by a process that was killed
// (or by a frozen process, before its freeze), at or above the offset of the last getUpdates that process's
// pod sent before the kill (the freeze); and the one update whose handler was running when the pod froze and
// ended after the thaw (rule F1's residual window, docs/protocol.md: the fence is checked before each update,
// not inside a handler). Anything else a frozen bot handles after its thaw is never excused: by F1 it handles
// nothing more. Used by the fault suite (e2e/chaos/analysis.ts) and the real node
// (e2e/node/scenario.ts), so both judge a kill and a freeze the same way.
import type { PollEvent } from '../telegram/accounting.ts';

/** One handling of an update, by one bot process (any key unique per process: a pid, a sequence number). */
export interface Handling {
  update: number;
  process: number;
  mono: number;
}

/** A process frozen at `at` (ms, the handlings' clock); `offset` is that of its pod's last getUpdates before then. */
export interface Freeze {
  offset: number;
  at: number;
  /** The update whose handler was running at the freeze (see {@link inFlightAt}), if any. */
  inFlight?: number;
}

export interface Repeats {
  /** Update ids of every extra handling (an update handled n times appears n − 1 times). */
  extra: number[];
  /** The subset Telegram had to redeliver: the unconfirmed batch of a SIGKILLed process. */
  afterKill: number[];
  /** The subset Telegram had to redeliver: what a frozen process handled before its freeze and never confirmed. */
  afterFreeze: number[];
}

/**
 * Splits extra handlings into those redelivered after a kill, those redelivered after a freeze, and the rest.
 * @param unconfirmedFrom for each killed process, the offset of the last getUpdates its pod sent before the kill
 * @param frozen for each frozen process, when it froze and the offset of its pod's last getUpdates before that
 */
export function repeats(handled: readonly Handling[], unconfirmedFrom: ReadonlyMap<number, number>, frozen: ReadonlyMap<number, Freeze> = new Map()): Repeats {
  const first = new Map<number, Handling>();
  const out: Repeats = { extra: [], afterKill: [], afterFreeze: [] };
  for (const h of [...handled].sort((a, b) => a.mono - b.mono)) {
    const by = first.get(h.update);
    if (by === undefined) {
      first.set(h.update, h);
      continue;
    }
    out.extra.push(h.update);
    const floor = unconfirmedFrom.get(by.process);
    const freeze = frozen.get(by.process);
    const own = frozen.get(h.process);
    if (floor !== undefined && h.update >= floor) out.afterKill.push(h.update);
    else if (freeze !== undefined && h.update >= freeze.offset && by.mono < freeze.at) out.afterFreeze.push(h.update);
    else if (own !== undefined && own.inFlight === h.update && h.mono >= own.at) out.afterFreeze.push(h.update);
  }
  return out;
}

/**
 * The update whose handler was running when the bot froze: the first of its batch in hand (in order) not handled
 * before the freeze — a bot handles one update at a time, so at most that one had begun.
 * @param batch the update ids of the last batch its pod received before the freeze
 * @param handledBefore what the frozen process had handled before the freeze
 */
export function inFlightAt(batch: readonly number[], handledBefore: ReadonlySet<number>): number | undefined {
  return batch.find((u) => !handledBefore.has(u));
}

/**
 * The offset of the last getUpdates `client` sent with `token` before `at` (the double's request log): the first
 * update a process killed (or frozen) at `at` had not confirmed.
 */
export function unconfirmedOffset(requests: readonly PollEvent[], token: string, client: string, at: number): number | undefined {
  let offset: number | undefined;
  for (const r of requests) if (r.type === 'start' && r.token === token && r.client === client && r.at < at) offset = r.offset;
  return offset;
}
