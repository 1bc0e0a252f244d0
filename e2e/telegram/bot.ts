// One bot token's server-side state and the getUpdates / webhook rules that make two pollers
// collide. Modelled on the open-source Bot API server (telegram-bot-api Client.cpp:
// process_get_updates_query, do_get_updates, long_poll_wakeup, abort_long_poll,
// fail_query_conflict, process_set_webhook_query); see TELEGRAM.md for the rules in prose.
import { CONFLICT_DESCRIPTIONS, type Accounting, type ConflictKind, type PollOutcome } from './accounting.ts';
import { boolArg, integerArg, type Params } from './params.ts';
import { UpdateQueue } from './queue.ts';
import { callInfo, fail, ok, type ApiReply, type PendingCall } from './reply.ts';
import { DEFAULT_ALLOWED_UPDATES, parseAllowedUpdates, UPDATE_TYPES, updateType, type Update, type UpdateBody } from './updates.ts';

/** The server caps `timeout` at 50 s. */
export const LONG_POLL_MAX_TIMEOUT_S = 50;
/** A woken poll answers this long after the update that woke it (lets a burst batch up). */
export const LONG_POLL_WAIT_AFTER_MS = 1;
/** ...and at most this long after the first wake-up, however many updates keep arriving. */
export const LONG_POLL_MAX_DELAY_MS = 2;
/** Same offset as the previous call within this window and timeout < 3: timeout becomes 3 s. */
export const SAME_OFFSET_TIMEOUT_WINDOW_MS = 3000;
/** The timeout forced by the rule above. */
export const FORCED_TIMEOUT_S = 3;
/** Same offset as the previous call within this window: limit becomes 1. */
export const SAME_OFFSET_LIMIT_WINDOW_MS = 500;
/** A 409 within this long of the previous one is held back this long before it is sent. */
export const CONFLICT_HOLD_MS = 3000;
/** setWebhook with a URL is allowed once per second. */
export const SET_WEBHOOK_INTERVAL_MS = 1000;

/** A webhook as set by setWebhook. */
export interface Webhook {
  readonly url: string;
  readonly maxConnections: number;
  readonly ipAddress: string;
  readonly secretToken: string;
}

interface ParkedPoll {
  readonly call: PendingCall;
  readonly offset: number;
  readonly limit: number;
  hardTimeoutAt: number;
  wasWokenUp: boolean;
  timer: NodeJS.Timeout;
}

/** Construction parameters of a {@link BotState}. */
export interface BotStateOptions {
  readonly token: string;
  readonly firstUpdateId: number;
  readonly accounting: Accounting;
  /** ms clock shared with the ledger. */
  readonly now: () => number;
}

/** The server side of one bot token. */
export class BotState {
  readonly token: string;
  readonly #queue: UpdateQueue;
  readonly #accounting: Accounting;
  readonly #now: () => number;
  #allowed: ReadonlySet<string> = DEFAULT_ALLOWED_UPDATES;
  #webhook: Webhook | undefined;
  #nextAllowedSetWebhookAt = 0;
  #previousOffset = -1;
  #previousStartAt = Number.NEGATIVE_INFINITY;
  #nextConflictAt = 0;
  #parked: ParkedPoll | undefined;
  /** 409s held back, still to be sent. */
  readonly #held = new Map<NodeJS.Timeout, { call: PendingCall; kind: ConflictKind }>();

  constructor(opts: BotStateOptions) {
    this.token = opts.token;
    this.#queue = new UpdateQueue(opts.firstUpdateId);
    this.#accounting = opts.accounting;
    this.#now = opts.now;
  }

  /**
   * Queues an update (assigning its id) and wakes a parked poll. An update whose type the
   * current `allowed_updates` excludes is dropped for good and gets no id: returns null.
   */
  inject(body: UpdateBody): Update | null {
    const type = updateType(body);
    const at = this.#now();
    if (type !== undefined && UPDATE_TYPES.includes(type) && !this.#allowed.has(type)) {
      this.#accounting.recordInject({ token: this.token, updateId: null, type, at });
      return null;
    }
    const update = this.#queue.push(body, at);
    this.#accounting.recordInject({ token: this.token, updateId: update.update_id, type, at });
    this.#wakeUp();
    return update;
  }

  /** Pending (unconfirmed) updates, oldest first. */
  pending(): Update[] {
    this.#queue.expire(this.#now());
    return this.#queue.pending();
  }

  /** The update types currently let through. */
  allowedUpdates(): ReadonlySet<string> {
    return this.#allowed;
  }

  /** The webhook, if one is set. */
  webhook(): Webhook | undefined {
    return this.#webhook;
  }

  /** True while a getUpdates request is parked on the server (even if its client has gone). */
  hasParkedPoll(): boolean {
    return this.#parked !== undefined;
  }

  /** getUpdates: answers now, parks, or fails with 409. Always answers through `call`. */
  getUpdates(call: PendingCall, params: Params): void {
    const requested: Record<string, string> = {};
    for (const name of ['offset', 'limit', 'timeout', 'allowed_updates']) {
      const v = params.get(name);
      if (v !== undefined) requested[name] = v;
    }
    const offset = integerArg(params, 'offset', 0);
    let limit = integerArg(params, 'limit', 100, 1, 100);
    let timeout = integerArg(params, 'timeout', 0, 0, LONG_POLL_MAX_TIMEOUT_S);
    const at = this.#now();
    if (this.#webhook !== undefined) {
      this.#accounting.pollStarted({ ...callInfo(call), at, offset, limit, timeout, requested, forcedTimeout: false, forcedLimit: false });
      this.#failConflict(call, 'webhookActive');
      return;
    }
    const allowed = parseAllowedUpdates(params.get('allowed_updates'));
    if (allowed !== undefined) this.#allowed = allowed;

    // Both rules compare the raw offset with the previous call's, whoever made it: a second
    // poller repeating the same offset is throttled exactly like a tight loop.
    const sameOffset = offset === this.#previousOffset;
    const forcedTimeout = sameOffset && timeout < FORCED_TIMEOUT_S && at < this.#previousStartAt + SAME_OFFSET_TIMEOUT_WINDOW_MS;
    if (forcedTimeout) timeout = FORCED_TIMEOUT_S;
    const forcedLimit = sameOffset && limit > 1 && at < this.#previousStartAt + SAME_OFFSET_LIMIT_WINDOW_MS;
    if (forcedLimit) limit = 1;
    this.#previousOffset = offset;
    this.#previousStartAt = at;
    this.#accounting.pollStarted({ ...callInfo(call), at, offset, limit, timeout, requested, forcedTimeout, forcedLimit });
    this.#doGetUpdates(call, offset, limit, timeout);
  }

  /**
   * setWebhook / deleteWebhook (`isSet` false: the URL is taken as empty). Setting a URL fails a
   * parked poll with 409 "terminated by setWebhook request"; an empty URL deletes the webhook.
   */
  setWebhook(params: Params, isSet: boolean): ApiReply {
    const newUrl = isSet ? (params.get('url') ?? '') : '';
    const at = this.#now();
    if (newUrl !== '') {
      if (at < this.#nextAllowedSetWebhookAt) return fail(429, 'Too Many Requests: retry after 1', 1);
      this.#nextAllowedSetWebhookAt = at + SET_WEBHOOK_INTERVAL_MS;
    }
    const drop = boolArg(params, 'drop_pending_updates');
    const next: Webhook = {
      url: newUrl,
      maxConnections: newUrl === '' ? 0 : integerArg(params, 'max_connections', 40, 1, 100),
      ipAddress: newUrl === '' ? '' : (params.get('ip_address') ?? ''),
      secretToken: newUrl === '' ? '' : (params.get('secret_token') ?? ''),
    };
    const current = this.#webhook;
    const unchanged =
      (current?.url ?? '') === next.url &&
      (current?.maxConnections ?? 0) === next.maxConnections &&
      (current?.ipAddress ?? '') === next.ipAddress &&
      (current?.secretToken ?? '') === next.secretToken;
    if (unchanged && !drop) {
      const allowed = parseAllowedUpdates(params.get('allowed_updates'));
      if (allowed !== undefined) this.#allowed = allowed;
      return ok(true, newUrl === '' ? 'Webhook is already deleted' : 'Webhook is already set');
    }
    if (newUrl !== '') this.#abortLongPoll('setWebhook');
    const wasSet = current !== undefined;
    this.#webhook = undefined;
    if (drop) this.#queue.clear();
    if (newUrl === '') return ok(true, wasSet ? 'Webhook was deleted' : 'Webhook is already deleted');
    if (!isWebhookUrl(newUrl)) return fail(400, 'Bad Request: invalid webhook URL specified');
    if (next.secretToken.length > 256) return fail(400, 'Bad Request: secret token is too long');
    if (!/^[A-Za-z0-9_-]*$/.test(next.secretToken)) return fail(400, 'Bad Request: secret token contains unallowed characters');
    const allowed = parseAllowedUpdates(params.get('allowed_updates'));
    if (allowed !== undefined) this.#allowed = allowed;
    this.#webhook = next;
    return ok(true, 'Webhook was set');
  }

  /** getWebhookInfo's result. */
  webhookInfo(): Record<string, unknown> {
    this.#queue.expire(this.#now());
    const info: Record<string, unknown> = {
      url: this.#webhook?.url ?? '',
      has_custom_certificate: false,
      pending_update_count: this.#queue.size,
    };
    if (this.#webhook !== undefined) {
      if (this.#webhook.ipAddress !== '') info.ip_address = this.#webhook.ipAddress;
      info.max_connections = this.#webhook.maxConnections;
    }
    if (this.#allowed !== DEFAULT_ALLOWED_UPDATES) info.allowed_updates = [...this.#allowed];
    return info;
  }

  /** Drops timers; parked and held-back calls are recorded as ended by the stop. */
  stop(): void {
    const parked = this.#parked;
    if (parked !== undefined) {
      clearTimeout(parked.timer);
      this.#parked = undefined;
      this.#recordEnd(parked.call, 'stopped', 500, [], false);
    }
    for (const [timer, { call, kind }] of this.#held) {
      clearTimeout(timer);
      this.#recordEnd(call, 'stopped', 409, [], false, kind);
    }
    this.#held.clear();
  }

  #doGetUpdates(call: PendingCall, offset: number, limit: number, timeout: number): void {
    const read = this.#queue.read(offset, limit, this.#now());
    if (timeout !== 0 && read.updates.length === 0) {
      this.#park(call, read.offset, limit, timeout);
      return;
    }
    const ids = read.updates.map((u) => u.update_id);
    call.send(ok(read.updates), (written) => this.#recordEnd(call, ids.length > 0 ? 'updates' : 'empty', 200, ids, written));
  }

  #park(call: PendingCall, offset: number, limit: number, timeoutS: number): void {
    // Only a request that parks evicts: one that returns at once leaves the parked one alone.
    this.#abortLongPoll('getUpdates');
    const timeoutMs = timeoutS * 1000;
    this.#parked = {
      call,
      offset,
      limit,
      hardTimeoutAt: this.#now() + timeoutMs,
      wasWokenUp: false,
      timer: setTimeout(() => this.#answerParked(), timeoutMs),
    };
  }

  #answerParked(): void {
    const parked = this.#parked;
    if (parked === undefined) return;
    clearTimeout(parked.timer);
    this.#parked = undefined;
    this.#doGetUpdates(parked.call, parked.offset, parked.limit, 0);
  }

  #wakeUp(): void {
    const parked = this.#parked;
    if (parked === undefined) return;
    const now = this.#now();
    if (!parked.wasWokenUp) {
      parked.hardTimeoutAt = Math.min(now + LONG_POLL_MAX_DELAY_MS, parked.hardTimeoutAt);
      parked.wasWokenUp = true;
    }
    const answerAt = Math.min(now + LONG_POLL_WAIT_AFTER_MS, parked.hardTimeoutAt);
    clearTimeout(parked.timer);
    parked.timer = setTimeout(() => this.#answerParked(), Math.max(0, answerAt - now));
  }

  #abortLongPoll(kind: 'getUpdates' | 'setWebhook'): void {
    const parked = this.#parked;
    if (parked === undefined) return;
    clearTimeout(parked.timer);
    this.#parked = undefined;
    this.#failConflict(parked.call, kind);
  }

  #failConflict(call: PendingCall, kind: ConflictKind): void {
    const at = this.#now();
    const heldBack = at < this.#nextConflictAt;
    const record = this.#accounting.conflictDecided(callInfo(call), kind, at, heldBack);
    const send = (): void => {
      call.send(fail(409, CONFLICT_DESCRIPTIONS[kind]), (written) => {
        record.written = written;
        this.#recordEnd(call, 'conflict', 409, [], written, kind);
      });
    };
    if (!heldBack) {
      this.#nextConflictAt = at + CONFLICT_HOLD_MS;
      send();
      return;
    }
    // The server neither answers now nor moves the window: the 409 just arrives 3 s late.
    const timer = setTimeout(() => {
      this.#held.delete(timer);
      send();
    }, CONFLICT_HOLD_MS);
    this.#held.set(timer, { call, kind });
  }

  #recordEnd(call: PendingCall, outcome: PollOutcome, status: number, updateIds: number[], written: boolean, conflict?: ConflictKind): void {
    const end = { ...callInfo(call), at: this.#now(), outcome, status, updateIds, written };
    this.#accounting.pollEnded(conflict === undefined ? end : { ...end, conflict });
  }
}

function isWebhookUrl(url: string): boolean {
  try {
    const parsed = new URL(url.includes('://') ? url : `https://${url}`);
    return parsed.protocol === 'https:' || parsed.protocol === 'http:';
  } catch {
    return false;
  }
}
