// node-telegram-bot-api under baton: create the bot with `polling: false`; the kit polls (at the
// bot's own `baseApiUrl`, in its `testEnvironment`) and `processUpdate` handles. (Its own stopPolling
// does not confirm the last batch, and on 409 it calls setWebHook and fights the other poller.)
import type { Update } from '../poller.ts';
import { refuseBotSettings, runUnderBaton, type BatonWorker, type FrameworkAdapterOptions } from './run.ts';

/** The part of node-telegram-bot-api's `TelegramBot` the adapter uses. */
export interface NtbaLikeBot {
  /** The bot's token (set by `new TelegramBot(token, ...)`). */
  readonly token?: string;
  /** The bot's constructor options: `baseApiUrl` and `testEnvironment` are honoured. */
  readonly options?: {
    /** The Bot API's root (node-telegram-bot-api's default `https://api.telegram.org`): the kit polls there. */
    baseApiUrl?: string;
    /** `true`: the Bot API's test environment. */
    testEnvironment?: boolean;
    /** Must be off: baton decides when the bot polls. */
    polling?: unknown;
  };
  /** node-telegram-bot-api's is synchronous (its listeners are not awaited); a wrapper may return a promise to be awaited. */
  processUpdate(update: never): void | Promise<void>;
}

/** Runs a node-telegram-bot-api bot (created with `polling: false`) under baton. */
export function ntbaUnderBaton(bot: NtbaLikeBot, opts: FrameworkAdapterOptions = {}): BatonWorker {
  refuseBotSettings('ntbaUnderBaton', opts, 'new TelegramBot(token, { polling: false, baseApiUrl })');
  if (!bot.token) throw new TypeError('ntbaUnderBaton: the bot has no token');
  if (bot.options?.polling) throw new TypeError('ntbaUnderBaton: create the bot with { polling: false }: baton decides when it polls');
  return runUnderBaton(bot.token, (u: Update) => bot.processUpdate(u as never), {
    ...opts,
    ...(bot.options?.baseApiUrl ? { apiRoot: bot.options.baseApiUrl } : {}),
    ...(bot.options?.testEnvironment ? { testEnvironment: true } : {}),
  });
}
