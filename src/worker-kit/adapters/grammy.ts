// grammY under baton. grammY's own `bot.stop()` leaves the rest of the current batch to be handled
// after it returns, unconfirmed (see docs/worker/grammy.md), so the kit polls and grammY handles.
import type { Update } from '../poller.ts';
import { runUnderBaton, type AdapterOptions, type BatonWorker } from './run.ts';

/** The part of grammY's `Bot` the adapter uses. */
export interface GrammyLikeBot {
  readonly token: string;
  init(): Promise<void>;
  handleUpdate(update: never): Promise<void>;
}

/** Runs a grammY bot under baton. Do not call `bot.start()`: baton decides when the bot polls. */
export function grammyUnderBaton(bot: GrammyLikeBot, opts: AdapterOptions = {}): BatonWorker {
  return runUnderBaton(bot.token, (u: Update) => bot.handleUpdate(u as never), { ...opts, prepare: () => bot.init() });
}
