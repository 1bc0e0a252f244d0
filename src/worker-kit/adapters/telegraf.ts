// telegraf under baton: the kit polls, `bot.handleUpdate` handles (telegraf's `launch()` cannot be
// restarted while launching, and its offset restarts at 0 in the same process).
import type { Update } from '../poller.ts';
import { runUnderBaton, type AdapterOptions, type BatonWorker } from './run.ts';

/** The part of telegraf's `Telegraf` the adapter uses. */
export interface TelegrafLikeBot {
  botInfo?: unknown;
  telegram: { readonly token: string; getMe(): Promise<unknown> };
  handleUpdate(update: never): Promise<void>;
}

/** Runs a telegraf bot under baton. Do not call `bot.launch()`. */
export function telegrafUnderBaton(bot: TelegrafLikeBot, opts: AdapterOptions = {}): BatonWorker {
  return runUnderBaton(bot.telegram.token, (u: Update) => bot.handleUpdate(u as never), {
    ...opts,
    prepare: async () => {
      // handleUpdate needs the bot's own info (launch() would have fetched it).
      bot.botInfo ??= await bot.telegram.getMe();
    },
  });
}
