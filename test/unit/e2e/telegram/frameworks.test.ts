// Fidelity: the real frameworks poll the double unmodified (only their apiRoot points at it),
// receive injected updates, handle each once and reply. And TELEGRAM.md's central fact: two
// grammY bots on one token collide, and the double counts the 409.
import { Bot, GrammyError } from 'grammy';
import TelegramBot from 'node-telegram-bot-api';
import { Telegraf } from 'telegraf';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { PollStart } from '../../../../e2e/telegram/accounting.ts';
import { TelegramDouble } from '../../../../e2e/telegram/server.ts';
import { waitFor } from '../../../harness/wait.ts';

const TOKEN = '123456:TEST-token';
let double: TelegramDouble;
let url: string;

beforeEach(async () => {
  double = new TelegramDouble();
  ({ url } = await double.start({ tokens: [TOKEN], seed: 9 }));
});
afterEach(async () => {
  await double.stop();
});

/** The double answers in microseconds: ask often. */
const QUICK = { everyMs: 5 };
/** True once `client`'s latest getUpdates is parked on the double. */
function isPolling(client: string): boolean {
  const starts = double.requests().filter((e): e is PollStart => e.type === 'start');
  return double.hasParkedPoll() && starts.at(-1)?.client === client && (starts.at(-1)?.timeout ?? 0) > 0;
}
function injectTexts(prefix: string, n: number): number[] {
  return Array.from({ length: n }, (_, i) => double.inject(`${prefix} ${i + 1}`) ?? -1);
}

describe('frameworks against the double', () => {
  it('grammY: bot.start() receives injected updates, handles each once, bot.stop() confirms', async () => {
    const bot = new Bot(TOKEN, { client: { apiRoot: `${url}/grammy` } });
    const handled: number[] = [];
    bot.on('message:text', async (ctx) => {
      handled.push(ctx.update.update_id);
      await ctx.reply(`echo ${ctx.message.text}`);
    });
    const running = bot.start();
    await waitFor('grammy polls', () => isPolling('grammy'), 5000, QUICK);
    const injected = injectTexts('grammy', 3);
    await waitFor('3 updates handled and answered', () => handled.length >= 3 && double.sentMessages().length >= 3, 5000, QUICK);
    await bot.stop();
    await running;
    expect(handled).toEqual(injected);
    expect(double.stats()).toMatchObject({ injected: 3, delivered: 3, duplicates: 0, lost: 0, conflictsSeen: 0 });
    expect(double.deliveries().every((d) => d.client === 'grammy')).toBe(true);
    expect(double.sentMessages().map((m) => [m.client, m.text])).toEqual(injected.map((_, i) => ['grammy', `echo grammy ${i + 1}`]));
    expect(double.queue()).toEqual([]);
  }, 20_000);

  it('telegraf: launch() receives injected updates, handles each once, stop() ends it', async () => {
    // telegraf resolves method URLs relative to apiRoot, so a path prefix needs the trailing slash.
    const bot = new Telegraf(TOKEN, { telegram: { apiRoot: `${url}/telegraf/` } });
    const handled: number[] = [];
    bot.on('message', async (ctx) => {
      handled.push(ctx.update.update_id);
      await ctx.reply('echo');
    });
    const launched = bot.launch();
    await waitFor('telegraf polls', () => isPolling('telegraf'), 5000, QUICK);
    const injected = injectTexts('telegraf', 3);
    await waitFor('3 updates handled and answered', () => handled.length >= 3 && double.sentMessages().length >= 3, 5000, QUICK);
    bot.stop('test');
    await launched;
    expect(handled).toEqual(injected);
    expect(double.stats()).toMatchObject({ injected: 3, delivered: 3, duplicates: 0, lost: 0, conflictsSeen: 0 });
    expect(double.deliveries().every((d) => d.client === 'telegraf')).toBe(true);
    expect(double.sentMessages().every((m) => m.client === 'telegraf')).toBe(true);
    // telegraf's long poll asks for the server's maximum.
    expect(double.requests().find((e): e is PollStart => e.type === 'start' && e.timeout > 0)?.timeout).toBe(50);
  }, 20_000);

  it('node-telegram-bot-api: startPolling() receives injected updates, handles each once', async () => {
    // A 3 s poll keeps stopPolling() (which waits for the current request) short.
    const bot = new TelegramBot(TOKEN, { polling: { autoStart: false, interval: 50, params: { timeout: 3 } }, baseApiUrl: `${url}/ntba` });
    const handled: string[] = [];
    bot.on('message', (msg) => {
      handled.push(msg.text ?? '');
      void bot.sendMessage(msg.chat.id, `echo ${msg.text ?? ''}`);
    });
    await bot.startPolling();
    await waitFor('ntba polls', () => isPolling('ntba'), 5000, QUICK);
    injectTexts('ntba', 3);
    await waitFor('3 updates handled and answered', () => handled.length >= 3 && double.sentMessages().length >= 3, 5000, QUICK);
    await bot.stopPolling();
    expect(handled).toEqual(['ntba 1', 'ntba 2', 'ntba 3']);
    expect(double.stats()).toMatchObject({ injected: 3, delivered: 3, duplicates: 0, lost: 0, conflictsSeen: 0 });
    expect(double.deliveries().every((d) => d.client === 'ntba')).toBe(true);
    expect(double.sentMessages().map((m) => m.text)).toEqual(['echo ntba 1', 'echo ntba 2', 'echo ntba 3']);
  }, 20_000);
});

describe('two pollers on one token', () => {
  it('two grammY bots: the second evicts the first with 409, start() rejects, the double counts it', async () => {
    const first = new Bot(TOKEN, { client: { apiRoot: `${url}/replica-1` } });
    const second = new Bot(TOKEN, { client: { apiRoot: `${url}/replica-2` } });
    const handled: string[] = [];
    for (const [name, bot] of [
      ['replica-1', first],
      ['replica-2', second],
    ] as const) {
      bot.on('message:text', (ctx) => {
        handled.push(`${name}:${ctx.update.update_id}`);
      });
    }
    const firstRun = first.start().then(
      () => undefined,
      (error: unknown) => error,
    );
    await waitFor('replica-1 polls', () => isPolling('replica-1'), 5000, QUICK);
    const secondRun = second.start();
    await waitFor('replica-2 polls', () => isPolling('replica-2'), 5000, QUICK);

    const error = await firstRun;
    expect(error).toBeInstanceOf(GrammyError);
    expect((error as GrammyError).error_code).toBe(409);
    expect((error as GrammyError).description).toBe('Conflict: terminated by other getUpdates request; make sure that only one bot instance is running');
    expect(double.conflicts()).toMatchObject({ getUpdates: 1, seen: 1 });
    expect(double.conflictLog()).toMatchObject([{ client: 'replica-1', kind: 'getUpdates', written: true }]);

    // The survivor keeps polling and gets the traffic.
    const [id] = injectTexts('after', 1);
    await waitFor('an update handled', () => handled.length >= 1, 5000, QUICK);
    expect(handled).toEqual([`replica-2:${id}`]);
    await second.stop();
    await secondRun;
    expect(double.stats()).toMatchObject({ duplicates: 0, lost: 0 });
  }, 20_000);
});
