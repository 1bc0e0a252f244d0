/**
 * baton-worker: the worker side of baton (a Kubernetes sidecar that hands a Telegram bot's polling
 * from pod to pod with a Lease). `import { grammyUnderBaton } from 'baton-worker'`.
 * - `leadership({start, pause})` for any worker;
 * - `UpdatePoller` for a Telegram getUpdates loop with exact offset control;
 * - `grammyUnderBaton`, `telegrafUnderBaton`, `ntbaUnderBaton` for the frameworks.
 *
 * @packageDocumentation
 */
export {
  leadership,
  Leadership,
  type LeadershipOptions,
  type WorkerHooks,
  type LeadershipEvents,
  type LeadershipListener,
  type DeadManInfo,
  type ConfirmedInfo,
} from './leadership.ts';
export { UpdatePoller, BotApiError, toBotApiError, type PollerOptions, type BotApiCall, type Update, type FencedInfo } from './poller.ts';
export { LocalApiClient, defaultBatonUrl, CONFIRMS_HEADER } from './local-api-client.ts';
export type { LeaderStatus, LeaseTimings, PauseStatus, PauseConfirmation } from './status.ts';
export { systemClock, type Clock, type TimerHandle } from './clock.ts';
export { runUnderBaton, type AdapterOptions, type FrameworkAdapterOptions, type BatonWorker } from './adapters/run.ts';
export { grammyUnderBaton, type GrammyLikeBot, type GetUpdatesParams } from './adapters/grammy.ts';
export { telegrafUnderBaton, type TelegrafLikeBot } from './adapters/telegraf.ts';
export { ntbaUnderBaton, type NtbaLikeBot } from './adapters/node-telegram-bot-api.ts';
