// grammY under baton. grammY's own `bot.stop()` leaves the rest of the current batch to be handled
// after it returns, unconfirmed (see docs/worker/grammy.md), so the kit polls — through the bot's own
// API client, so its apiRoot, environment, buildUrl and transformers apply — and grammY handles.
import type { Update } from '../poller.ts';
import { refuseBotSettings, runUnderBaton, type BatonWorker, type FrameworkAdapterOptions } from './run.ts';

/** getUpdates' parameters as the kit sends them. */
export interface GetUpdatesParams {
  /** Confirms every update below it. */
  offset?: number;
  /** 1–100. */
  limit?: number;
  /** Long-poll timeout in seconds. */
  timeout?: number;
  /** The update types to receive. */
  allowed_updates?: readonly string[];
}

/** The part of grammY's `Bot` the adapter uses. */
export interface GrammyLikeBot {
  /** The bot's token. */
  readonly token: string;
  /** Fetches the bot's info (grammY needs it before `handleUpdate`). */
  init(): Promise<void>;
  /** grammY's per-update entry point. */
  handleUpdate(update: never): Promise<void>;
  /** The bot's API client; the kit polls through it. */
  readonly api: {
    /** The raw Bot API methods. */
    readonly raw: {
      /** `signal` is an AbortSignal (typed loosely: grammY may declare its own AbortSignal type). */
      getUpdates(payload: GetUpdatesParams, signal?: never): Promise<unknown>;
    };
  };
}

/** Runs a grammY bot under baton. Do not call `bot.start()`: baton decides when the bot polls. */
export function grammyUnderBaton(bot: GrammyLikeBot, opts: FrameworkAdapterOptions = {}): BatonWorker {
  refuseBotSettings('grammyUnderBaton', opts, 'new Bot(token, { client: { apiRoot } })');
  return runUnderBaton(bot.token, (u: Update) => bot.handleUpdate(u as never), {
    ...opts,
    call: (method, params, signal) => {
      if (method !== 'getUpdates') throw new Error(`unexpected method ${method}`);
      return bot.api.raw.getUpdates(params, signal as never);
    },
    prepare: () => bot.init(),
  });
}
