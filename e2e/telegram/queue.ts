// One bot's pending updates, with the server's confirmation rules (tdlib TQueue semantics as
// used by the Bot API's getUpdates): confirmation by offset, negative offsets, the "offset in the
// future" fallback and the 24 h lifetime.
import type { Update, UpdateBody } from './updates.ts';

/** Unconfirmed updates wait at most this long (24 h), then they are gone. */
export const UPDATE_TTL_MS = 24 * 60 * 60 * 1000;

/**
 * An offset more than this far past the next id is "in the future": the server ignores it
 * (confirms nothing) and answers from the head of the queue instead.
 */
export const FUTURE_OFFSET_SLACK = 10;

interface Queued {
  readonly update: Update;
  /** ms on the double's clock. */
  readonly queuedAt: number;
}

/** What one read of the queue did. */
export interface QueueRead {
  /** Updates to return, at most `limit`, in id order. */
  readonly updates: readonly Update[];
  /** The offset after resolution (0 or negative becomes the head), for a poll that parks. */
  readonly offset: number;
  /** Ids confirmed (removed) by this read's offset. */
  readonly confirmed: readonly number[];
  /** Ids dropped by a negative offset. */
  readonly dropped: readonly number[];
  /** Ids that outlived {@link UPDATE_TTL_MS}. */
  readonly expired: readonly number[];
}

/** The pending updates of one bot token. */
export class UpdateQueue {
  #events: Queued[] = [];
  #tail: number;

  /** @param firstId the id the first update gets (the server picks it at random). */
  constructor(firstId: number) {
    this.#tail = firstId;
  }

  /** The id of the oldest pending update, or the next id when none is pending. */
  get head(): number {
    return this.#events[0]?.update.update_id ?? this.#tail;
  }

  /** The id the next update will get. */
  get tail(): number {
    return this.#tail;
  }

  get size(): number {
    return this.#events.length;
  }

  /** Appends an update, assigning the next id. */
  push(body: UpdateBody, now: number): Update {
    const update: Update = { update_id: this.#tail, ...withoutId(body) };
    this.#tail += 1;
    this.#events.push({ update, queuedAt: now });
    return update;
  }

  /** Pending updates, oldest first. */
  pending(): Update[] {
    return this.#events.map((e) => e.update);
  }

  /** Drops every pending update (`drop_pending_updates`); returns their ids. */
  clear(): number[] {
    const ids = this.#events.map((e) => e.update.update_id);
    this.#events = [];
    return ids;
  }

  /**
   * Applies a getUpdates offset and reads up to `limit` updates. Confirmation happens here, at
   * the moment the request arrives, whether or not the request then waits.
   */
  read(offset: number, limit: number, now: number): QueueRead {
    const expired = this.expire(now);
    let dropped: number[] = [];
    if (offset < 0) dropped = this.#keepLast(-offset);
    if (offset <= 0) offset = this.head;
    let from = offset;
    let confirmed: number[] = [];
    if (offset > this.#tail + FUTURE_OFFSET_SLACK) {
      from = this.head;
    } else {
      confirmed = this.#confirmBelow(offset);
    }
    const updates = this.#events
      .filter((e) => e.update.update_id >= from)
      .slice(0, limit)
      .map((e) => e.update);
    return { updates, offset, confirmed, dropped, expired };
  }

  #confirmBelow(offset: number): number[] {
    const keepFrom = this.#events.findIndex((e) => e.update.update_id >= offset);
    const cut = keepFrom === -1 ? this.#events.length : keepFrom;
    return this.#events.splice(0, cut).map((e) => e.update.update_id);
  }

  #keepLast(count: number): number[] {
    const cut = Math.max(0, this.#events.length - count);
    return this.#events.splice(0, cut).map((e) => e.update.update_id);
  }

  /** Drops updates older than {@link UPDATE_TTL_MS}; returns their ids. */
  expire(now: number): number[] {
    const cut = this.#events.findIndex((e) => now - e.queuedAt < UPDATE_TTL_MS);
    return this.#events.splice(0, cut === -1 ? this.#events.length : cut).map((e) => e.update.update_id);
  }
}

function withoutId(body: UpdateBody): UpdateBody {
  const { update_id: _ignored, ...rest } = body;
  return rest;
}
