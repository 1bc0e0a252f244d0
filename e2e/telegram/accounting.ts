// The double's ledger: what was injected, which poll received which update and when, every
// getUpdates request's start and end, every 409, every sendMessage. Gap, overlap and duplicate
// checks in the e2e suites are computed from this, so it records only facts the server knows:
// an update counts as delivered only when its response was actually written to a live socket.

/** The three 409s the Bot API answers to getUpdates. */
export type ConflictKind = 'getUpdates' | 'webhookActive' | 'setWebhook';

/** The server's exact texts for each {@link ConflictKind}. */
export const CONFLICT_DESCRIPTIONS: Readonly<Record<ConflictKind, string>> = {
  getUpdates: 'Conflict: terminated by other getUpdates request; make sure that only one bot instance is running',
  webhookActive: "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first",
  setWebhook: 'Conflict: terminated by setWebhook request',
};

/** Milliseconds on one clock for the whole double: `performance.timeOrigin + performance.now()`. */
export function preciseNow(): number {
  return performance.timeOrigin + performance.now();
}

/** Who made a request: enough to tell pollers apart in the log. */
export interface CallInfo {
  readonly requestId: number;
  /** `X-Baton-Client` header, else the `/<client>/bot...` path prefix, else `address:port`. */
  readonly client: string;
  readonly token: string;
}

/** One update written to one poller. */
export interface Delivery {
  readonly updateId: number;
  readonly client: string;
  /** ms, {@link preciseNow}. */
  readonly at: number;
  readonly requestId: number;
  readonly token: string;
}

/** A getUpdates request as the server understood it on arrival. */
export interface PollStart extends CallInfo {
  readonly type: 'start';
  readonly at: number;
  /** Effective values after clamping and the 3 s / 0.5 s rules. */
  readonly offset: number;
  readonly limit: number;
  readonly timeout: number;
  /** The raw arguments as sent (absent ones omitted). */
  readonly requested: Readonly<Record<string, string>>;
  /** True when the "same offset within 3 s" rule raised the timeout to 3. */
  readonly forcedTimeout: boolean;
  /** True when the "same offset within 0.5 s" rule lowered the limit to 1. */
  readonly forcedLimit: boolean;
}

/** How a getUpdates request ended. */
export type PollOutcome = 'updates' | 'empty' | 'conflict' | 'stopped';

/** The end of a getUpdates request. */
export interface PollEnd extends CallInfo {
  readonly type: 'end';
  readonly at: number;
  readonly outcome: PollOutcome;
  readonly conflict?: ConflictKind;
  readonly status: number;
  readonly updateIds: readonly number[];
  /** False when the client had gone: nothing reached anyone (and nothing counts as delivered). */
  readonly written: boolean;
}

/** An entry of the request log. */
export type PollEvent = PollStart | PollEnd;

/** A 409 the server decided to send. */
export interface ConflictRecord extends CallInfo {
  readonly kind: ConflictKind;
  /** When the server decided it (ms). */
  readonly at: number;
  /** True when it came within 3 s of the previous one and was held back 3 s. */
  readonly heldBack: boolean;
  /** Set once it is sent: whether a live client got it. */
  written?: boolean;
}

/** One injected update and what the server did with it on arrival. */
export interface InjectRecord {
  readonly token: string;
  /** null when `allowed_updates` excluded it: it never got an id. */
  readonly updateId: number | null;
  readonly type: string | undefined;
  readonly at: number;
}

/** One sendMessage call (or another send*: `method` says which, lower-cased). */
export interface SentMessage extends CallInfo {
  readonly at: number;
  readonly method: string;
  readonly chatId: string;
  readonly text: string;
  readonly messageId: number;
  readonly params: Readonly<Record<string, string>>;
}

/** 409 counts. `total` counts every 409 decided; `seen` only those written to a live client. */
export interface ConflictCounts {
  readonly total: number;
  readonly seen: number;
  readonly getUpdates: number;
  readonly webhookActive: number;
  readonly setWebhook: number;
}

/** Filters for {@link Accounting.stats}. */
export interface StatsOptions {
  /** Only updates injected strictly before this time (ms, {@link preciseNow}) can be "lost". Default: now. */
  readonly before?: number;
  /** Restrict to one bot token. */
  readonly token?: string;
}

/** Delivery accounting, computed when asked. */
export interface Stats {
  /** Updates injected and queued (not filtered out). */
  readonly injected: number;
  /** Updates dropped on arrival by `allowed_updates`. */
  readonly filtered: number;
  /** Distinct update ids delivered at least once. */
  readonly delivered: number;
  /** Delivery records in total (delivered + repeats). */
  readonly deliveries: number;
  /** Update ids delivered more than once. */
  readonly duplicates: number;
  readonly duplicateIds: readonly number[];
  /** Updates injected before `before` and never delivered (still queued, confirmed unseen, dropped or expired). */
  readonly lost: number;
  readonly lostIds: readonly number[];
  /** 409s decided. */
  readonly conflicts: number;
  /** 409s a live client received. */
  readonly conflictsSeen: number;
}

/** The ledger behind the double's test hooks. */
export class Accounting {
  #injected: InjectRecord[] = [];
  #deliveries: Delivery[] = [];
  #polls: PollEvent[] = [];
  #conflicts: ConflictRecord[] = [];
  #sent: SentMessage[] = [];

  recordInject(record: InjectRecord): void {
    this.#injected.push(record);
  }

  pollStarted(start: Omit<PollStart, 'type'>): void {
    this.#polls.push({ type: 'start', ...start });
  }

  /** Records the end of a poll; a written answer with updates becomes one delivery per update. */
  pollEnded(end: Omit<PollEnd, 'type'>): void {
    this.#polls.push({ type: 'end', ...end });
    if (!end.written) return;
    for (const updateId of end.updateIds) {
      this.#deliveries.push({ updateId, client: end.client, at: end.at, requestId: end.requestId, token: end.token });
    }
  }

  /** Records a 409 as decided; the caller sets `written` once it is sent. */
  conflictDecided(call: CallInfo, kind: ConflictKind, at: number, heldBack: boolean): ConflictRecord {
    const record: ConflictRecord = { requestId: call.requestId, client: call.client, token: call.token, kind, at, heldBack };
    this.#conflicts.push(record);
    return record;
  }

  recordSent(message: SentMessage): void {
    this.#sent.push(message);
  }

  injected(): readonly InjectRecord[] {
    return [...this.#injected];
  }

  deliveries(): readonly Delivery[] {
    return [...this.#deliveries];
  }

  requests(): readonly PollEvent[] {
    return [...this.#polls];
  }

  conflictLog(): readonly ConflictRecord[] {
    return this.#conflicts.map((c) => ({ ...c }));
  }

  sentMessages(): readonly SentMessage[] {
    return [...this.#sent];
  }

  conflicts(token?: string): ConflictCounts {
    const mine = this.#conflicts.filter((c) => token === undefined || c.token === token);
    const count = (kind: ConflictKind): number => mine.filter((c) => c.kind === kind).length;
    return {
      total: mine.length,
      seen: mine.filter((c) => c.written === true).length,
      getUpdates: count('getUpdates'),
      webhookActive: count('webhookActive'),
      setWebhook: count('setWebhook'),
    };
  }

  stats(opts: StatsOptions = {}): Stats {
    const before = opts.before ?? preciseNow();
    const matches = (token: string): boolean => opts.token === undefined || token === opts.token;
    const key = (token: string, id: number): string => `${token}#${id}`;
    const counts = new Map<string, { id: number; n: number }>();
    let deliveries = 0;
    for (const d of this.#deliveries) {
      if (!matches(d.token)) continue;
      deliveries += 1;
      const k = key(d.token, d.updateId);
      const entry = counts.get(k) ?? { id: d.updateId, n: 0 };
      entry.n += 1;
      counts.set(k, entry);
    }
    const duplicateIds = [...counts.values()].filter((e) => e.n > 1).map((e) => e.id);
    const injected = this.#injected.filter((i) => matches(i.token));
    const queued = injected.filter((i) => i.updateId !== null);
    const lostIds = queued.filter((i) => i.at < before && !counts.has(key(i.token, i.updateId ?? 0))).map((i) => i.updateId ?? 0);
    const conflicts = this.conflicts(opts.token);
    return {
      injected: queued.length,
      filtered: injected.length - queued.length,
      delivered: counts.size,
      deliveries,
      duplicates: duplicateIds.length,
      duplicateIds,
      lost: lostIds.length,
      lostIds,
      conflicts: conflicts.total,
      conflictsSeen: conflicts.seen,
    };
  }

  /** Forgets the ledger (not the queues): for a long-lived double shared by several scenarios. */
  reset(): void {
    this.#injected = [];
    this.#deliveries = [];
    this.#polls = [];
    this.#conflicts = [];
    this.#sent = [];
  }
}
