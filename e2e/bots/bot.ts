// The sample bot of the end-to-end scenarios: a real process that long-polls the Telegram double
// with one of the kit's adapters (or the plain loop), handles each update in BOT_HANDLER_MS, and logs
// what it handled. Under baton it uses leadership() with confirmations; under a peer (client-go, the
// seeds' Postgres locks) it obeys the same signals without a sidecar.
//
// Env: TELEGRAM_BOT_TOKEN, TELEGRAM_API_ROOT (the double, with a per-bot path prefix for its accounting),
// BOT_NAME, BOT_LOG, BOT_FRAMEWORK (plain | grammy | telegraf | ntba), BOT_HANDLER_MS (20),
// BOT_LIMIT (100), BOT_TIMEOUT_S (30), BATON_URL (unset = signals only).
import { appendFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import {
  runUnderBaton,
  grammyUnderBaton,
  telegrafUnderBaton,
  ntbaUnderBaton,
  type AdapterOptions,
  type BatonWorker,
  type Update,
} from '../../packages/baton-worker/src/index.ts';

const env = process.env;
const name = env.BOT_NAME ?? `bot-${process.pid}`;
const handlerMs = Number(env.BOT_HANDLER_MS ?? 20);
const token = env.TELEGRAM_BOT_TOKEN ?? '123:abc';
const apiRoot = env.TELEGRAM_API_ROOT ?? 'http://127.0.0.1:8081';
const framework = env.BOT_FRAMEWORK ?? 'plain';

function log(event: string, fields: Record<string, unknown> = {}): void {
  if (!env.BOT_LOG) return;
  appendFileSync(
    env.BOT_LOG,
    `${JSON.stringify({ t: Date.now(), mono: performance.timeOrigin + performance.now(), pid: process.pid, name, event, ...fields })}\n`,
  );
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function work(updateId: number): Promise<void> {
  await sleep(handlerMs); // a handler that takes time: the batch in hand matters
  log('handled', { update: updateId });
}

// The frameworks take their apiRoot from the bot itself; only the plain loop is given it.
const options: Omit<AdapterOptions, 'apiRoot'> = {
  limit: Number(env.BOT_LIMIT ?? 100),
  timeoutSeconds: Number(env.BOT_TIMEOUT_S ?? 30),
  sidecar: Boolean(env.BATON_URL),
  onError: (err) => log('error', { message: err.message }),
  // F1: the adapters fence the poller themselves; a fence that fails is logged with its fields.
  onFenced: (info) => log('fenced', { ...info }),
  warn: (message) => log('kit', { message }),
};

async function build(): Promise<BatonWorker> {
  if (framework === 'grammy') {
    const { Bot } = await import('grammy');
    const bot = new Bot(token, { client: { apiRoot } });
    bot.use(async (ctx) => work(ctx.update.update_id));
    return grammyUnderBaton(bot, options);
  }
  if (framework === 'telegraf') {
    const { Telegraf } = await import('telegraf');
    const bot = new Telegraf(token, { telegram: { apiRoot } });
    bot.use(async (ctx) => work(ctx.update.update_id));
    return telegrafUnderBaton(bot, options);
  }
  if (framework === 'ntba') {
    const { default: TelegramBot } = await import('node-telegram-bot-api');
    const bot = new TelegramBot(token, { polling: false, baseApiUrl: apiRoot });
    // Its processUpdate is synchronous and its listeners are not awaited: the wrapper awaits our work,
    // so that a pause waits for the batch in hand, as with the other frameworks.
    bot.on('message', () => undefined);
    return ntbaUnderBaton(
      {
        token,
        options: { baseApiUrl: apiRoot },
        processUpdate: async (u: never) => {
          bot.processUpdate(u);
          await work((u as Update).update_id);
        },
      },
      options,
    );
  }
  return runUnderBaton(token, (u) => work(u.update_id), { ...options, apiRoot });
}

// leadership() installs the handlers inside build(), after the framework is loaded: until then the
// sidecar sees no handlers in /proc and sends nothing.
const worker = await build();
worker.leadership.on('started', () => log('polling-start'));
worker.leadership.on('paused', () => log('polling-stop', { conflicts: worker.poller.conflicts }));
worker.leadership.on('confirmed', (c: { pause: number; result: string }) => log('ack', c));
worker.leadership.on('error', (err: Error) => log('error', { message: err.message }));
// The kit paused by itself: the sidecar stopped answering (the fault suite measures its margin).
worker.leadership.on('dead-man', () => log('dead-man'));
for (const signal of ['SIGUSR1', 'SIGUSR2'] as const) process.on(signal, () => log('signal', { signal }));
log('boot', { framework, sidecar: options.sidecar });
process.on('SIGTERM', () => {
  if (worker.leadership.isLeader()) log('polling-stop', { conflicts: worker.poller.conflicts, exit: true });
  log('exit');
  process.exit(0);
});
setInterval(() => undefined, 1 << 30);
