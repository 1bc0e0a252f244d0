/**
 * baton's worker kit: `import { leadership } from 'baton/worker'`.
 * - `leadership({start, pause})` for any worker;
 * - `UpdatePoller` for a Telegram getUpdates loop with exact offset control;
 * - `grammyUnderBaton`, `telegrafUnderBaton`, `ntbaUnderBaton` for the frameworks.
 */
export { leadership, Leadership, type LeadershipOptions, type WorkerHooks } from './leadership.ts';
export { UpdatePoller, BotApiError, type PollerOptions, type Update } from './poller.ts';
export { LocalApiClient, defaultBatonUrl } from './local-api-client.ts';
export { runUnderBaton, type AdapterOptions, type BatonWorker } from './adapters/run.ts';
export { grammyUnderBaton, type GrammyLikeBot } from './adapters/grammy.ts';
export { telegrafUnderBaton, type TelegrafLikeBot } from './adapters/telegraf.ts';
export { ntbaUnderBaton, type NtbaLikeBot } from './adapters/node-telegram-bot-api.ts';
