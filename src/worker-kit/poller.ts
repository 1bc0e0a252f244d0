// A getUpdates loop with exact offset control, feeding any framework's per-update entry point
// (grammY/telegraf `bot.handleUpdate`, node-telegram-bot-api `processUpdate`, or a plain function).
// Its stop is what a handoff needs and what the frameworks' own stop does not all do: stop fetching,
// finish the batch in hand, confirm the offset, and only then report done.

/** One Telegram update, as far as the loop cares. */
export interface Update {
  update_id: number;
  [key: string]: unknown;
}

export interface PollerOptions {
  token: string;
  /** Default `https://api.telegram.org`; tests point it at a double. */
  apiRoot?: string;
  /** Handles one update; the loop awaits it, in order. A throw is reported and the update is skipped. */
  handle(update: Update): Promise<void> | void;
  /** 1–100 (default 100). */
  limit?: number;
  /** Long-poll timeout in seconds (default 30). */
  timeoutSeconds?: number;
  allowedUpdates?: string[];
  /** Called on errors (handler failures, HTTP errors); default console.warn. */
  onError?(err: Error): void;
}

/** Error answers from the Bot API carry their code (409 Conflict, 429, …). */
export class BotApiError extends Error {
  readonly code: number;
  readonly retryAfter: number | undefined;
  constructor(code: number, description: string, retryAfter?: number) {
    super(`Bot API ${code}: ${description}`);
    this.code = code;
    this.retryAfter = retryAfter;
  }
}

export class UpdatePoller {
  private readonly o: PollerOptions;
  /** The next offset: every update below it has been handled and will be confirmed by the next call. */
  private offset: number | undefined;
  private loop: Promise<void> | undefined;
  private abort: AbortController | undefined;
  private stopping = false;
  /** 409s seen: each means another poller ran at the same time (what baton exists to prevent). */
  conflicts = 0;

  constructor(o: PollerOptions) {
    this.o = o;
  }

  get running(): boolean {
    return this.loop !== undefined;
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
   * Stops fetching, waits for the batch in hand to be handled, then confirms the offset with a short
   * poll (timeout 0: it parks nowhere and evicts nobody). Resolves when all of that is done.
   */
  async stop(): Promise<void> {
    if (!this.loop) return;
    this.stopping = true;
    this.abort?.abort();
    await this.loop;
    if (this.offset !== undefined) {
      await this.call('getUpdates', { offset: this.offset, limit: 1, timeout: 0 }).catch((err: unknown) => this.report(err));
    }
  }

  private async run(): Promise<void> {
    let backoffMs = 500;
    while (!this.stopping) {
      let updates: Update[];
      try {
        this.abort = new AbortController();
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
        backoffMs = 500;
      } catch (err) {
        if (this.stopping) break;
        if (err instanceof BotApiError && err.code === 409) this.conflicts += 1;
        this.report(err);
        const wait = err instanceof BotApiError && err.retryAfter ? err.retryAfter * 1000 : backoffMs;
        await new Promise((r) => setTimeout(r, wait));
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

  private async call(method: string, params: Record<string, unknown>, signal?: AbortSignal): Promise<unknown> {
    const url = `${(this.o.apiRoot ?? 'https://api.telegram.org').replace(/\/+$/, '')}/bot${this.o.token}/${method}`;
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
    else console.warn(`baton worker poller: ${e.message}`);
  }
}
