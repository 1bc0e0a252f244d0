// telegraf under baton: the kit polls through the bot's own client (`bot.telegram.callApi`, so its
// apiRoot, testEnv and agent apply), `bot.handleUpdate` handles. telegraf's `launch()` cannot be
// restarted while launching, and its offset restarts at 0 in the same process.
import type { Update } from '../poller.ts';
import type { GetUpdatesParams } from './grammy.ts';
import { refuseBotSettings, runUnderBaton, type BatonWorker, type FrameworkAdapterOptions } from './run.ts';

/** The part of telegraf's `Telegraf` the adapter uses. */
export interface TelegrafLikeBot {
  /** The bot's info; fetched once before the first start if unset. */
  botInfo?: unknown;
  /** The bot's API client; the kit polls through it. */
  telegram: {
    /** The bot's token. */
    readonly token: string;
    /** Fetches the bot's info (Bot API `getMe`). */
    getMe(): Promise<unknown>;
    /** `options` is `{ signal }` (typed loosely: telegraf declares its own AbortSignal type). */
    callApi(method: 'getUpdates', payload: GetUpdatesParams, options?: never): Promise<unknown>;
  };
  /** telegraf's per-update entry point. */
  handleUpdate(update: never): Promise<void>;
}

/** Runs a telegraf bot under baton. Do not call `bot.launch()`. */
export function telegrafUnderBaton(bot: TelegrafLikeBot, opts: FrameworkAdapterOptions = {}): BatonWorker {
  refuseBotSettings('telegrafUnderBaton', opts, 'new Telegraf(token, { telegram: { apiRoot } })');
  return runUnderBaton(bot.telegram.token, (u: Update) => bot.handleUpdate(u as never), {
    ...opts,
    call: (method, params, signal) => {
      if (method !== 'getUpdates') throw new Error(`unexpected method ${method}`);
      return bot.telegram.callApi('getUpdates', params, (signal ? { signal } : {}) as never);
    },
    prepare: async () => {
      // handleUpdate needs the bot's own info (launch() would have fetched it).
      bot.botInfo ??= await bot.telegram.getMe();
    },
  });
}
