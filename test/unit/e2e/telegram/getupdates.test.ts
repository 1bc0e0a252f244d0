// getUpdates as the real Bot API server implements it: confirmation on arrival, negative offsets,
// clamping, the 3 s / 0.5 s same-offset rules, wake-up latency, allowed_updates, the four
// parameter encodings, method-name case and the 401/404 shapes.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { callBotApi, type CallOptions, type CallResult, type Encoding } from '../../../../e2e/telegram/client.ts';
import type { PollStart } from '../../../../e2e/telegram/accounting.ts';
import { TelegramDouble } from '../../../../e2e/telegram/server.ts';
import type { Update } from '../../../../e2e/telegram/updates.ts';
import { sleep, waitFor } from '../../../harness/wait.ts';

const TOKEN = '123456:TEST-token';
let double: TelegramDouble;
let url: string;

beforeEach(async () => {
  double = new TelegramDouble();
  ({ url } = await double.start({ tokens: [TOKEN], seed: 42 }));
});
afterEach(async () => {
  await double.stop();
});

const api = (method: string, params: Record<string, unknown> = {}, opts: CallOptions = {}): Promise<CallResult> => callBotApi(url, TOKEN, method, params, opts);
const updates = (res: CallResult): Update[] => res.body.result as Update[];
const ids = (res: CallResult): number[] => updates(res).map((u) => u.update_id);
const texts = (res: CallResult): string[] => updates(res).map((u) => (u.message as { text: string }).text);
const starts = (): PollStart[] => double.requests().filter((e): e is PollStart => e.type === 'start');
const lastStart = (): PollStart => {
  const all = starts();
  const last = all[all.length - 1];
  if (last === undefined) throw new Error('no getUpdates yet');
  return last;
};
/** The double answers in microseconds: ask often. */
const QUICK = { everyMs: 2 };
function injectMany(n: number): number[] {
  return Array.from({ length: n }, (_, i) => double.inject(`m${i}`) ?? -1);
}

describe('offset and confirmation', () => {
  it('confirms every lower update when the request arrives, even if it then parks', async () => {
    const [a] = injectMany(3) as [number, number, number];
    const parked = api('getUpdates', { offset: a + 3, timeout: 5 });
    await waitFor('a parked poll', () => double.hasParkedPoll(), 3000, QUICK);
    expect(double.queue()).toEqual([]);
    const d = double.inject('four');
    expect(ids(await parked)).toEqual([d]);
  });

  it('confirms only ids below the offset and returns from the offset on', async () => {
    const [a, b, c] = injectMany(3) as [number, number, number];
    expect(ids(await api('getUpdates', { offset: b }))).toEqual([b, c]);
    expect(double.queue().map((u) => u.update_id)).toEqual([b, c]);
    expect(a).toBe(b - 1);
  });

  it('a negative offset keeps only the last |offset| updates and forgets the rest', async () => {
    const all = injectMany(5);
    const res = await api('getUpdates', { offset: -2 });
    expect(ids(res)).toEqual(all.slice(3));
    expect(double.queue().map((u) => u.update_id)).toEqual(all.slice(3));
    expect(double.stats().lostIds).toEqual(all.slice(0, 3));
  });

  it('starts the first queue at a random, seedable update_id', async () => {
    const other = new TelegramDouble();
    await other.start({ tokens: [TOKEN], seed: 42 });
    const third = new TelegramDouble();
    await third.start({ tokens: [TOKEN], seed: 43 });
    try {
      const first = double.inject('x');
      expect(other.inject('x')).toBe(first);
      expect(third.inject('x')).not.toBe(first);
      expect(first).toBeGreaterThan(1);
    } finally {
      await other.stop();
      await third.stop();
    }
  });
});

describe('clamping, never rejecting', () => {
  it('clamps limit into 1..100 and timeout into 0..50', async () => {
    injectMany(101);
    const head = double.queue()[0]?.update_id ?? 0;
    // Distinct raw offsets (all at or below the head, so none confirms anything) keep the
    // same-offset rules out of the way.
    expect(updates(await api('getUpdates', { offset: head, limit: 1000 }))).toHaveLength(100);
    expect(lastStart().limit).toBe(100);
    expect(updates(await api('getUpdates', { offset: head - 1, limit: 0 }))).toHaveLength(1);
    expect(updates(await api('getUpdates', { offset: head - 2, limit: 'abc' }))).toHaveLength(1);
    const negative = await api('getUpdates', { offset: head - 3, limit: 5, timeout: -5 });
    expect(updates(negative)).toHaveLength(5);
    expect(lastStart()).toMatchObject({ limit: 5, timeout: 0 });

    const parked = api('getUpdates', { offset: head + 101, timeout: 999 });
    await waitFor('a parked poll', () => double.hasParkedPoll(), 3000, QUICK);
    expect(lastStart()).toMatchObject({ timeout: 50, requested: { timeout: '999' } });
    double.inject('wake');
    expect(updates(await parked)).toHaveLength(1);
  });

  it('answers an idle poll with [] when its timeout runs out', async () => {
    const res = await api('getUpdates', { timeout: 1 });
    expect(res.body).toEqual({ ok: true, result: [] });
    expect(res.elapsedMs).toBeGreaterThanOrEqual(950);
    expect(res.elapsedMs).toBeLessThan(1500);
  });
});

describe('same-offset rules', () => {
  it('within 0.5 s: limit becomes 1 and a short poll becomes a 3 s long poll', async () => {
    expect(ids(await api('getUpdates', { offset: 0, timeout: 0 }))).toEqual([]);
    const second = api('getUpdates', { offset: 0, timeout: 0, limit: 100 });
    await waitFor('a parked poll', () => double.hasParkedPoll(), 3000, QUICK);
    expect(lastStart()).toMatchObject({ offset: 0, timeout: 3, limit: 1, forcedTimeout: true, forcedLimit: true });
    await sleep(100);
    expect(double.hasParkedPoll()).toBe(true);
    const [a] = injectMany(2);
    expect(ids(await second)).toEqual([a]);
  });

  it('between 0.5 s and 3 s only the timeout is forced; after 3 s nothing is', async () => {
    await api('getUpdates', { offset: 0 });
    await sleep(600);
    const all = injectMany(2);
    expect(ids(await api('getUpdates', { offset: 0 }))).toEqual(all);
    expect(lastStart()).toMatchObject({ timeout: 3, limit: 100, forcedTimeout: true, forcedLimit: false });

    const next = (all[1] ?? 0) + 1;
    await api('getUpdates', { offset: next });
    await sleep(3100);
    const late = await api('getUpdates', { offset: next, timeout: 0 });
    expect(late.body.result).toEqual([]);
    expect(late.elapsedMs).toBeLessThan(1000);
    expect(lastStart()).toMatchObject({ timeout: 0, forcedTimeout: false, forcedLimit: false });
  });
});

describe('wake-up', () => {
  it('answers a parked poll within milliseconds of a new update', async () => {
    const parked = api('getUpdates', { timeout: 10 });
    await waitFor('a parked poll', () => double.hasParkedPoll(), 3000, QUICK);
    await sleep(30);
    const injectedAt = performance.now();
    const id = double.inject('now');
    const res = await parked;
    const clientLatency = performance.now() - injectedAt;
    expect(ids(res)).toEqual([id]);
    const injected = double.injected().find((i) => i.updateId === id);
    const delivered = double.deliveries().find((d) => d.updateId === id);
    const serverLatency = (delivered?.at ?? Infinity) - (injected?.at ?? 0);
    expect(serverLatency).toBeGreaterThanOrEqual(0);
    expect(serverLatency).toBeLessThan(20);
    expect(clientLatency).toBeLessThan(100);
  });

  it('gathers a burst injected in one tick into one answer', async () => {
    const parked = api('getUpdates', { timeout: 10 });
    await waitFor('a parked poll', () => double.hasParkedPoll(), 3000, QUICK);
    const burst = injectMany(3);
    expect(ids(await parked)).toEqual(burst);
  });
});

describe('allowed_updates', () => {
  const callback = { callback_query: { id: 'q1', from: { id: 1, is_bot: false, first_name: 'T' }, chat_instance: 'c', data: 'd' } };

  it('accepts a JSON string, filters when an update is queued, and the excluded ones are gone for good', async () => {
    await api('getUpdates', { offset: 0, allowed_updates: '["callback_query"]' }, { encoding: 'query' });
    expect(double.inject('dropped')).toBeNull();
    const cb = double.inject(callback);
    expect(cb).toEqual(expect.any(Number));

    // Omitted: the previous setting stays.
    expect(ids(await api('getUpdates', { offset: -100 }))).toEqual([cb]);
    expect(double.inject('dropped too')).toBeNull();

    await api('getUpdates', { offset: (cb ?? 0) + 1, allowed_updates: ['message'] });
    const kept = double.inject('kept');
    const res = await api('getUpdates', { offset: (cb ?? 0) + 1, timeout: 1 });
    expect(texts(res)).toEqual(['kept']);
    expect(ids(res)).toEqual([kept]);
    expect(double.stats()).toMatchObject({ filtered: 2, injected: 2 });
  });

  it.each<Encoding>(['urlencoded', 'multipart'])('accepts the JSON string in a %s body', async (encoding) => {
    await api('getUpdates', { allowed_updates: '["callback_query"]' }, { encoding });
    expect(double.inject('dropped')).toBeNull();
  });

  it('leaves chat_member out by default and lets it in when asked', async () => {
    const member = { chat_member: { chat: { id: -1, type: 'group', title: 'g' }, date: 0 } };
    expect(double.inject(member)).toBeNull();
    await api('getUpdates', { allowed_updates: ['chat_member'] });
    expect(double.inject(member)).toEqual(expect.any(Number));
  });

  it('reports a non-default filter in getWebhookInfo', async () => {
    await api('getUpdates', { allowed_updates: ['message'] });
    double.inject('x');
    const info = await api('getWebhookInfo');
    expect(info.body.result).toEqual({ url: '', has_custom_certificate: false, pending_update_count: 1, allowed_updates: ['message'] });
  });
});

describe('transport', () => {
  it.each<Encoding>(['query', 'json', 'urlencoded', 'multipart'])('reads %s parameters', async (encoding) => {
    const [a] = injectMany(3) as [number];
    const res = await api('getUpdates', { offset: a + 1, limit: 1, timeout: 0, allowed_updates: ['message'] }, { encoding });
    expect(ids(res)).toEqual([a + 1]);
    expect(lastStart()).toMatchObject({ offset: a + 1, limit: 1, timeout: 0, requested: { allowed_updates: '["message"]' } });
    const sent = await api('sendMessage', { chat_id: 77, text: `via ${encoding}` }, { encoding });
    expect(sent.body.result).toMatchObject({ chat: { id: 77 }, text: `via ${encoding}` });
    expect(double.sentMessages().map((m) => [m.chatId, m.text])).toEqual([['77', `via ${encoding}`]]);
  });

  it('matches method names case-insensitively, by GET or POST', async () => {
    for (const method of ['getMe', 'getme', 'GETME', 'GetMe']) {
      const res = await api(method, {}, { encoding: 'query' });
      expect(res.body).toMatchObject({ ok: true, result: { id: 123456, is_bot: true } });
    }
    expect((await api('GETUPDATES', { timeout: 0 })).body).toEqual({ ok: true, result: [] });
  });

  it('answers a bad token with 401 Unauthorized', async () => {
    const res = await callBotApi(url, '999:nope', 'getMe');
    expect(res.status).toBe(401);
    expect(res.body).toEqual({ ok: false, error_code: 401, description: 'Unauthorized' });
  });

  it('answers an unknown method with 404 Not Found: method not found', async () => {
    const res = await api('getNothing');
    expect(res.status).toBe(404);
    expect(res.body).toEqual({ ok: false, error_code: 404, description: 'Not Found: method not found' });
    const bare = await fetch(`${url}/elsewhere`);
    expect(bare.status).toBe(404);
    expect(await bare.json()).toEqual({ ok: false, error_code: 404, description: 'Not Found' });
  });

  it('answers sendMessage errors in the Bot API shape', async () => {
    const res = await api('sendMessage', { chat_id: 1 });
    expect(res.status).toBe(400);
    expect(res.body).toEqual({ ok: false, error_code: 400, description: 'Bad Request: message text is empty' });
  });

  it('stubs the harmless methods with plausible results', async () => {
    for (const method of ['answerCallbackQuery', 'setMyCommands', 'close', 'logOut', 'deleteMessage']) {
      expect((await api(method, { callback_query_id: '1', commands: [] })).body).toEqual({ ok: true, result: true });
    }
    expect((await api('getChat', { chat_id: 5 })).body.result).toMatchObject({ id: 5, type: 'private' });
    expect((await api('getMyCommands')).body.result).toEqual([]);
  });
});
