// A getUpdates loop with exact offset control, feeding any framework's per-update entry point
// (grammY/telegraf `bot.handleUpdate`, node-telegram-bot-api `processUpdate`, or a plain function).
// Its stop is what a handoff needs and what the frameworks' own stop does not all do: stop fetching,
// finish the batch in hand, make sure the offset is confirmed, and only then report done — in
// milliseconds, idle or busy (see `stop()` for Telegram's same-offset rule).

/** One Telegram update, as far as the loop cares: its id and one field naming its type. */
export interface Update {
  /** The update's id; the loop confirms it with `offset = update_id + 1`. */
  update_id: number;
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
   * Makes a Bot API call (default: `fetch` to `apiRoot`). The framework adapters pass the bot's own
   * client here, so its settings (apiRoot, test environment, proxies, transformers) apply unchanged.
   * Must throw {@link BotApiError} for an error answer of the Bot API, and honour `signal`.
   */
  call?: BotApiCall;
}

/** A Bot API call: resolves with `result`, throws {@link BotApiError} for an error answer. */
export type BotApiCall = (method: string, params: Record<string, unknown>, signal?: AbortSignal) => Promise<unknown>;

/**
 * Turns a framework's error for a Bot API error answer (grammY's `GrammyError`, telegraf's
 * `TelegramError`: both carry `error_code`) into a {@link BotApiError}; anything else is returned as is.
 */
export function toBotApiError(err: unknown): unknown {
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
 * waits for the batch in hand, makes sure its offset is confirmed, and resolves only then.
 */
export class UpdatePoller {
  private readonly o: PollerOptions;
  /** The next offset: every update below it has been handled. */
  private offset: number | undefined;
  private carried: Carried | undefined;
  private loop: Promise<void> | undefined;
  private abort: AbortController | undefined;
  private stopping = false;
  /** Wakes a back-off sleep when a stop arrives. */
  private wake: (() => void) | undefined;
  /** 409s seen: each means another poller ran at the same time (what baton exists to prevent). */
  conflicts = 0;

  /** Creates a poller; nothing is fetched before `start()`. */
  constructor(o: PollerOptions) {
    this.o = o;
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
   */
  async stop(): Promise<void> {
    if (!this.loop) return;
    this.stopping = true;
    this.abort?.abort();
    this.wake?.();
    await this.loop;
    await this.confirmOffset().catch((err: unknown) => this.report(err));
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
        if (err instanceof BotApiError && err.code === 409) this.conflicts += 1;
        this.report(err);
        const wait = err instanceof BotApiError && err.retryAfter ? err.retryAfter * 1000 : backoffMs;
        await this.sleep(wait);
        backoffMs = Math.min(backoffMs * 2, 10_000);
        continue;
      }
      // The batch in hand is handled even when a stop arrives meanwhile: stop() waits for it.
      for (const update of updates) {
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
