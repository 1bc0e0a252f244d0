/**
 * baton-worker: the worker side of baton (a Kubernetes sidecar that hands a Telegram bot's polling
 * from pod to pod with a Lease). `import { grammyUnderBaton } from 'baton-worker'`.
 * - `leadership({start, pause})` for any worker;
 * - `UpdatePoller` for a Telegram getUpdates loop with exact offset control;
 * - `grammyUnderBaton`, `telegrafUnderBaton`, `ntbaUnderBaton` for the frameworks, and `runUnderBaton`
 *   for any per-update handler.
 *
 * This entry is the whole public surface; `etc/baton-worker.api.md` records it (`npm run api:check`).
 * The modules' other exports (the local API client, the real clock, …) are the kit's internals.
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
export { UpdatePoller, BotApiError, type PollerOptions, type BotApiCall, type Update, type FencedInfo } from './poller.ts';
export type { LeaderStatus, LeaseTimings, PauseStatus, PauseConfirmation } from './status.ts';
export type { Clock, TimerHandle } from './clock.ts';
export { runUnderBaton, type AdapterOptions, type FrameworkAdapterOptions, type BatonWorker } from './adapters/run.ts';
export { grammyUnderBaton, type GrammyLikeBot, type GetUpdatesParams } from './adapters/grammy.ts';
export { telegrafUnderBaton, type TelegrafLikeBot } from './adapters/telegraf.ts';
export { ntbaUnderBaton, type NtbaLikeBot } from './adapters/node-telegram-bot-api.ts';
