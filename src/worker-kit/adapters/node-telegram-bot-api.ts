// node-telegram-bot-api under baton: create the bot with `polling: false`; the kit polls and
// `processUpdate` handles. (Its own stopPolling does not confirm the last batch, and on 409 it
// calls setWebHook and fights the other poller.)
import type { Update } from '../poller.ts';
import { runUnderBaton, type AdapterOptions, type BatonWorker } from './run.ts';

/** The part of node-telegram-bot-api's `TelegramBot` the adapter uses. */
export interface NtbaLikeBot {
  readonly token: string;
  /** node-telegram-bot-api's is synchronous (its listeners are not awaited); a wrapper may return a promise to be awaited. */
  processUpdate(update: never): void | Promise<void>;
}

/** Runs a node-telegram-bot-api bot (created with `polling: false`) under baton. */
export function ntbaUnderBaton(bot: NtbaLikeBot, opts: AdapterOptions = {}): BatonWorker {
  return runUnderBaton(bot.token, (u: Update) => bot.processUpdate(u as never), opts);
}
