// A getUpdates loop with exact offset control, feeding any framework's per-update entry point
// (grammY/telegraf `bot.handleUpdate`, node-telegram-bot-api `processUpdate`, or a plain function).
// Its stop is what a handoff needs and what the frameworks' own stop does not all do: stop fetching,
// finish the batch in hand, make sure the offset is confirmed, and only then report done — in
// milliseconds, idle or busy (see `stop()` for Telegram's same-offset rule). With a fence (F1) it also
// stops where leadership is no longer provable: before each getUpdates and before each update.

/** One Telegram update, as far as the loop cares: its id and one field naming its type. */
export interface Update {
  /** The update's id; the loop confirms it with `offset = update_id + 1`. */
  update_id: number;
  /** The rest of the update: one field naming its type (`message`, `callback_query`, …) and its content. */
  [key: string]: unknown;
}

/** Options of {@link UpdatePoller}. */
export interface PollerOptions {
  /** The bot's token. */
  token: string;
  /** Default `https://api.telegram.org`; tests point it at a double. Without a trailing slash. */
  apiRoot?: string;
  /** `true`: call the Bot API's test environment (`/bot<token>/test/<method>`). Default false. */
  testEnvironment?: boolean;
  /** Handles one update; the loop awaits it, in order. A throw is reported and the update is skipped. */
  handle(update: Update): Promise<void> | void;
  /** 1–100 (default 100). */
  limit?: number;
  /** Long-poll timeout in seconds (default 30). */
  timeoutSeconds?: number;
  /** The update types to receive (Telegram's `allowed_updates`); omitted: keep the bot's current setting. */
  allowedUpdates?: readonly string[];
  /** Called on errors (handler failures, HTTP errors); default console.warn. */
  onError?(err: Error): void;
  /**
   * F1: true while this worker may act — the leadership's lease time still holds (`Leadership.mayAct`,
   * wired by `runUnderBaton` and every adapter). Checked before each getUpdates and before each update;
   * when it fails the loop ends at once: the rest of the batch is not handled, the offset stays at the
   * last update handled, and no getUpdates is sent (the next leader has those updates: Telegram
   * redelivers unconfirmed ones) — but see `mayConfirm`. Omitted: always true (the loop as before F1).
   */
  fence?(): boolean;
  /**
   * F1: once the fence has failed, whether the updates handled may still be confirmed — true only while
   * no standby can have taken over yet (`Leadership.mayConfirm`: before the last renewal + the lease
   * duration). Then one short poll (`timeout: 0`, which evicts nobody) confirms exactly what was handled,
   * so the next leader does not get it again; after that, nothing is sent. Omitted: never.
   */
  mayConfirm?(): boolean;
  /** Called once when the fence fails (default: one JSON line on console.warn, see {@link FencedInfo}). */
  onFenced?(info: FencedInfo): void;
  /**
   * Makes a Bot API call (default: `fetch` to `apiRoot`). The framework adapters pass the bot's own
   * client here, so its settings (apiRoot, test environment, proxies, transformers) apply unchanged.
   * Must throw {@link BotApiError} for an error answer of the Bot API, and honour `signal`.
   */
  call?: BotApiCall;
}

/** What the poller reports when its fence fails (F1). Stable field names: they are logged as they are. */
export interface FencedInfo {
  /** Where the fence failed: before a getUpdates, before an update of the batch, or before the stop's confirmation. */
  at: 'poll' | 'update' | 'confirm';
  /** Updates of the batch in hand left unhandled (0 unless `at` is `update`). */
  unhandled: number;
  /** The offset kept: every update below it was handled, nothing at or above it is confirmed. */
  offset: number | undefined;
}

/** A Bot API call: resolves with `result`, throws {@link BotApiError} for an error answer. */
export type BotApiCall = (method: string, params: Record<string, unknown>, signal?: AbortSignal) => Promise<unknown>;

/**
 * Turns a framework's error for a Bot API error answer (grammY's `GrammyError`, telegraf's
 * `TelegramError`: both carry `error_code`) into a {@link BotApiError}; anything else is returned as is.
 */
function toBotApiError(err: unknown): unknown {
  if (err instanceof BotApiError || typeof err !== 'object' || err === null) return err;
  type Payload = { error_code?: unknown; description?: unknown; parameters?: { retry_after?: unknown } };
  const e = err as Payload & { response?: Payload };
  const p: Payload | undefined = typeof e.error_code === 'number' ? e : typeof e.response?.error_code === 'number' ? e.response : undefined;
  if (!p) return err;
  const retry = typeof p.parameters?.retry_after === 'number' ? p.parameters.retry_after : undefined;
  return new BotApiError(p.error_code as number, typeof p.description === 'string' ? p.description : 'error', retry);
}

/** Error answers from the Bot API carry their code (409 Conflict, 429, …). */
export class BotApiError extends Error {
  /** The Bot API's `error_code` (HTTP status). */
  readonly code: number;
  /** `parameters.retry_after` in seconds, when the Bot API asks to slow down (429). */
  readonly retryAfter: number | undefined;
  /**
   * @param code - the Bot API's `error_code`
   * @param description - the Bot API's `description`
   * @param retryAfter - `parameters.retry_after`, in seconds
   */
  constructor(code: number, description: string, retryAfter?: number) {
    super(`Bot API ${code}: ${description}`);
    this.name = 'BotApiError';
    this.code = code;
    this.retryAfter = retryAfter;
  }
}

/** The getUpdates request sent last: which offset it carried, and whether the server surely got it. */
interface Carried {
  offset: number | undefined;
  /** The server answered it (so it arrived, and its offset was confirmed on arrival). */
  answered: boolean;
}

/**
 * Telegram's getUpdates loop with exact offset control. `start()` polls; `stop()` stops fetching,
 * waits for the batch in hand, makes sure its offset is confirmed, and resolves only then. With a
 * `fence` (F1) it stops for good, confirming nothing, as soon as the fence fails.
 */
export class UpdatePoller {
  private readonly o: PollerOptions;
  /** The next offset: every update below it has been handled. */
  private offset: number | undefined;
  private carried: Carried | undefined;
  private loop: Promise<void> | undefined;
  private abort: AbortController | undefined;
  private stopping = false;
  /** F1: the fence failed since the last start; no getUpdates is sent until the next start. */
  private fenced = false;
  /** Wakes a back-off sleep when a stop arrives. */
  private wake: (() => void) | undefined;
  /** 409s seen (read through the getter {@link UpdatePoller.conflicts}). */
  private conflictCount = 0;

  /** Creates a poller; nothing is fetched before `start()`. */
  constructor(o: PollerOptions) {
    this.o = o;
  }

  /** 409 Conflicts seen: each means another poller ran at the same time (what baton exists to prevent). */
  get conflicts(): number {
    return this.conflictCount;
  }

  /** True while the loop runs (between `start()` and the end of `stop()`'s wait for the batch). */
  get running(): boolean {
    return this.loop !== undefined;
  }

  /** The offset the next request will carry: every update below it has been handled. */
  get nextOffset(): number | undefined {
    return this.offset;
  }

  /** Starts fetching (no-op when running). */
  start(): void {
    if (this.loop) return;
    this.stopping = false;
    this.fenced = false;
    this.loop = this.run().finally(() => {
      this.loop = undefined;
    });
  }

  /**
   * Stops fetching, waits for the batch in hand to be handled, then makes sure the offset is
   * confirmed; resolves when all of that is done.
   *
   * Telegram confirms an offset when a request carrying it arrives, and forces a 3 s timeout on a
   * request that repeats the previous request's offset within 3 s (even `timeout: 0`). So:
   * - when the last request already carried the offset and was answered, there is nothing to confirm;
   * - when it carried the offset but was cut before its answer (the usual idle case), a short poll
   *   one below (`offset − 1`, which is not a repeat, so it cannot park) shows whether it arrived: the
   *   update `offset − 1` is still there only if it did not, and then the offset is confirmed by a
   *   short poll that no longer repeats the previous one;
   * - when updates were handled after the last request was sent (a busy bot), the offset is new to
   *   the server and a short poll confirms it at once.
   *
   * F1: once the fence has failed, what was handled is confirmed only if `mayConfirm()` says no
   * standby can have taken over yet; otherwise nothing is sent — no probe, no confirmation: the next
   * leader may already poll, and has those updates.
   */
  async stop(): Promise<void> {
    if (!this.loop) return;
    this.stopping = true;
    this.abort?.abort();
    this.wake?.();
    await this.loop;
    if (this.fenced) return; // the loop settled it when the fence failed
    if (!this.fenceHolds('confirm', 0)) return this.confirmFenced();
    await this.confirmOffset().catch((err: unknown) => this.report(err));
  }

  /** F1: after the fence failed, confirms what was handled only while no standby can have taken over. */
  private async confirmFenced(): Promise<void> {
    if (!this.o.mayConfirm?.()) return;
    await this.confirmOffset().catch((err: unknown) => this.report(err));
  }

  /** F1: checks the fence; on failure ends the loop's work for good (until the next start) and reports once. */
  private fenceHolds(at: FencedInfo['at'], unhandled: number): boolean {
    if (this.fenced) return false;
    if (!this.o.fence || this.o.fence()) return true;
    this.fenced = true;
    const info: FencedInfo = { at, unhandled, offset: this.offset };
    if (this.o.onFenced) this.o.onFenced(info);
    else
      console.warn(
        JSON.stringify({
          level: 'warn',
          source: 'baton-worker',
          event: 'fenced',
          rule: 'F1',
          ...info,
          msg: 'leadership no longer provable: stopped, nothing confirmed past offset',
        }),
      );
    return false;
  }

  private async confirmOffset(): Promise<void> {
    const offset = this.offset;
    if (offset === undefined) return;
    const last = this.carried;
    if (last?.offset === offset) {
      if (last.answered) return;
      const probe = (await this.call('getUpdates', { offset: offset - 1, limit: 1, timeout: 0 })) as Update[];
      if (!probe.some((u) => u.update_id < offset)) return;
    }
    await this.call('getUpdates', { offset, limit: 1, timeout: 0 });
    this.carried = { offset, answered: true };
  }

  private async run(): Promise<void> {
    let backoffMs = 500;
    while (!this.stopping) {
      // F1: never a getUpdates without provable leadership (it would also evict the next leader's poll).
      if (!this.fenceHolds('poll', 0)) return this.confirmFenced();
      let updates: Update[];
      const carried: Carried = { offset: this.offset, answered: false };
      try {
        this.abort = new AbortController();
        this.carried = carried;
        updates = (await this.call(
          'getUpdates',
          {
            ...(this.offset !== undefined ? { offset: this.offset } : {}),
            limit: this.o.limit ?? 100,
            timeout: this.o.timeoutSeconds ?? 30,
            ...(this.o.allowedUpdates ? { allowed_updates: this.o.allowedUpdates } : {}),
          },
          this.abort.signal,
        )) as Update[];
        carried.answered = true;
        backoffMs = 500;
      } catch (err) {
        // An error answer from the Bot API is an answer: the request arrived.
        if (err instanceof BotApiError) carried.answered = true;
        if (this.stopping) break;
        if (err instanceof BotApiError && err.code === 409) this.conflictCount += 1;
        this.report(err);
        const wait = err instanceof BotApiError && err.retryAfter ? err.retryAfter * 1000 : backoffMs;
        await this.sleep(wait);
        backoffMs = Math.min(backoffMs * 2, 10_000);
        continue;
      }
      // The batch in hand is handled even when a stop arrives meanwhile (stop() waits for it), but only
      // while the fence holds (F1): a worker resumed after the lease time handles nothing more of it.
      for (const [i, update] of updates.entries()) {
        if (!this.fenceHolds('update', updates.length - i)) return this.confirmFenced();
        try {
          await this.o.handle(update);
        } catch (err) {
          this.report(err);
        }
        this.offset = update.update_id + 1;
      }
    }
  }

  /** A back-off pause that a stop cuts short. */
  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.wake = () => {
        this.wake = undefined;
        done();
      };
    });
  }

  private async call(method: string, params: Record<string, unknown>, signal?: AbortSignal): Promise<unknown> {
    if (this.o.call) {
      try {
        return await this.o.call(method, params, signal);
      } catch (err) {
        throw toBotApiError(err);
      }
    }
    const root = (this.o.apiRoot ?? 'https://api.telegram.org').replace(/\/+$/, '');
    const url = `${root}/bot${this.o.token}/${this.o.testEnvironment ? 'test/' : ''}${method}`;
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(params),
      ...(signal ? { signal } : {}),
    });
    const body = (await res.json()) as { ok: boolean; result?: unknown; error_code?: number; description?: string; parameters?: { retry_after?: number } };
    if (!body.ok) throw new BotApiError(body.error_code ?? res.status, body.description ?? 'error', body.parameters?.retry_after);
    return body.result;
  }

  private report(err: unknown): void {
    const e = err instanceof Error ? err : new Error(String(err));
    if (this.o.onError) this.o.onError(e);
    else console.warn(`baton-worker poller: ${e.message}`);
  }
}
