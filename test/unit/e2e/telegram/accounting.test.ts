// The double's ledger and its ways in from outside: client identity, deliveries, duplicates and
// lost updates, the /__double HTTP hooks, the load generator and the standalone CLI.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { preciseNow, type PollEnd, type PollStart } from '../../../../e2e/telegram/accounting.ts';
import { parseCli } from '../../../../e2e/telegram/cli.ts';
import { callBotApi, type CallOptions, type CallResult } from '../../../../e2e/telegram/client.ts';
import { MAX_LOAD_DURATION_MS, startLoad } from '../../../../e2e/telegram/load.ts';
import { TelegramDouble } from '../../../../e2e/telegram/server.ts';
import type { Update } from '../../../../e2e/telegram/updates.ts';
import { sleep } from '../../../harness/wait.ts';

const TOKEN = '123456:TEST-token';
const OTHER = '654321:OTHER-token';
let double: TelegramDouble;
let url: string;

beforeEach(async () => {
  double = new TelegramDouble();
  ({ url } = await double.start({ tokens: [TOKEN, OTHER], seed: 5 }));
});
afterEach(async () => {
  await double.stop();
});

const api = (method: string, params: Record<string, unknown> = {}, opts: CallOptions = {}): Promise<CallResult> => callBotApi(url, TOKEN, method, params, opts);
const ids = (res: CallResult): number[] => (res.body.result as Update[]).map((u) => u.update_id);
async function hook(path: string, body?: Record<string, unknown>): Promise<{ status: number; body: { ok: boolean; result?: unknown; description?: string } }> {
  const init: RequestInit = body === undefined ? {} : { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) };
  const res = await fetch(`${url}/__double/${path}`, init);
  return { status: res.status, body: (await res.json()) as { ok: boolean; result?: unknown } };
}

describe('client identity', () => {
  it('comes from X-Baton-Client, else the apiRoot path prefix, else address:port', async () => {
    double.inject('a');
    await api('getUpdates', { offset: -1 }, { client: 'by-header', prefix: 'ignored' });
    await api('getUpdates', { offset: -2 }, { prefix: 'by-prefix' });
    await api('getUpdates', { offset: -3 });
    const clients = double
      .requests()
      .filter((e) => e.type === 'start')
      .map((e) => e.client);
    expect(clients.slice(0, 2)).toEqual(['by-header', 'by-prefix']);
    expect(clients[2]).toMatch(/^(::ffff:)?127\.0\.0\.1:\d+$/);
    expect(
      double
        .deliveries()
        .map((d) => d.client)
        .slice(0, 2),
    ).toEqual(['by-header', 'by-prefix']);
  });

  it('keeps tokens apart', async () => {
    const mine = double.inject('mine');
    const theirs = double.inject('theirs', { token: OTHER });
    expect(ids(await callBotApi(url, OTHER, 'getUpdates'))).toEqual([theirs]);
    expect(double.queue().map((u) => u.update_id)).toEqual([mine]);
    expect(double.stats({ token: OTHER })).toMatchObject({ injected: 1, delivered: 1, lost: 0 });
    expect(double.stats({ token: TOKEN })).toMatchObject({ injected: 1, delivered: 0, lost: 1 });
  });
});

describe('accounting log', () => {
  it('records each delivery with client, time and request id, and each request start and end', async () => {
    const id = double.inject('hello');
    const before = preciseNow();
    await api('getUpdates', { offset: 0, limit: 5, timeout: 7 }, { client: 'w1' });
    const after = preciseNow();
    const [delivery] = double.deliveries();
    expect(delivery).toMatchObject({ updateId: id, client: 'w1', token: TOKEN });
    expect(delivery?.at).toBeGreaterThanOrEqual(before);
    expect(delivery?.at).toBeLessThanOrEqual(after);
    const [start, end] = double.requests() as [PollStart, PollEnd];
    expect(start).toMatchObject({ type: 'start', client: 'w1', offset: 0, limit: 5, timeout: 7, requestId: delivery?.requestId });
    expect(end).toMatchObject({ type: 'end', client: 'w1', outcome: 'updates', status: 200, updateIds: [id], written: true, requestId: delivery?.requestId });
  });

  it('counts an update delivered twice as a duplicate', async () => {
    const id = double.inject('again');
    await api('getUpdates', { offset: 0 }, { client: 'w1' });
    await api('getUpdates', { offset: 0 }, { client: 'w2' });
    expect(double.stats()).toMatchObject({ injected: 1, delivered: 1, deliveries: 2, duplicates: 1, duplicateIds: [id], lost: 0 });
  });

  it('counts updates never delivered as lost, over those injected before a given time', async () => {
    const t0 = preciseNow();
    const all = [double.inject('a'), double.inject('b'), double.inject('c')];
    expect(double.stats({ before: t0 }).lost).toBe(0);
    expect(double.stats().lostIds).toEqual(all);
    // Confirmed without ever being delivered: still lost.
    await api('getUpdates', { offset: (all[2] ?? 0) + 1 });
    expect(double.queue()).toEqual([]);
    expect(double.stats()).toMatchObject({ lost: 3, delivered: 0 });
  });

  it('records sendMessage calls with their client', async () => {
    const res = await api('sendMessage', { chat_id: 42, text: 'pong' }, { prefix: 'worker-b' });
    expect(res.body.result).toMatchObject({ message_id: 1, chat: { id: 42, type: 'private' }, text: 'pong', from: { is_bot: true } });
    expect(double.sentMessages()).toMatchObject([{ client: 'worker-b', chatId: '42', text: 'pong', messageId: 1, method: 'sendmessage' }]);
  });

  it('resetLog forgets the ledger but not the queue', async () => {
    double.inject('stays');
    await api('sendMessage', { chat_id: 1, text: 'x' });
    double.resetLog();
    expect(double.sentMessages()).toEqual([]);
    expect(double.stats().injected).toBe(0);
    expect(double.queue()).toHaveLength(1);
  });
});

describe('HTTP hooks under /__double', () => {
  it('inject, queue, stats, deliveries, requests, conflicts, sent, reset', async () => {
    expect((await hook('health')).body.result).toEqual({ tokens: [TOKEN, OTHER] });
    const injected = await hook('inject', { text: 'over http' });
    const id = (injected.body.result as { update_id: number }).update_id;
    expect(id).toEqual(expect.any(Number));
    const custom = await hook('inject', { update: { callback_query: { id: 'x', data: 'y' } } });
    expect((custom.body.result as { update_id: number }).update_id).toBe(id + 1);
    const filtered = await hook('inject', { update: { chat_member: {} } });
    expect(filtered.body.result).toEqual({ update_id: null });
    const other = await hook('inject', { text: 'other bot', token: OTHER });
    expect(other.body.ok).toBe(true);

    const queue = (await hook('queue')).body.result as Update[];
    expect(queue.map((u) => u.update_id)).toEqual([id, id + 1]);
    expect((queue[0]?.message as { text: string }).text).toBe('over http');

    await api('getUpdates', { offset: 0 }, { client: 'w1' });
    expect((await hook('deliveries')).body.result).toMatchObject([
      { updateId: id, client: 'w1' },
      { updateId: id + 1, client: 'w1' },
    ]);
    expect(((await hook('requests')).body.result as unknown[]).length).toBe(2);
    expect((await hook('injected')).body.result).toHaveLength(4);
    expect((await hook(`stats?token=${encodeURIComponent(TOKEN)}`)).body.result).toMatchObject({ injected: 2, filtered: 1, delivered: 2, lost: 0 });
    expect((await hook('conflicts')).body.result).toEqual({ total: 0, seen: 0, getUpdates: 0, webhookActive: 0, setWebhook: 0 });
    expect((await hook('conflict-log')).body.result).toEqual([]);
    await api('sendMessage', { chat_id: 1, text: 'hi' });
    expect((await hook('sent')).body.result).toMatchObject([{ text: 'hi' }]);
    expect((await hook('reset', {})).body.result).toBe(true);
    expect((await hook('sent')).body.result).toEqual([]);

    const missing = await hook('nope');
    expect(missing.status).toBe(404);
    expect(missing.body.description).toMatch(/^Not Found: test hook not found/);
    expect((await hook('inject', { token: '1:unknown' })).status).toBe(400);
  });

  it('starts and stops a load', async () => {
    expect((await hook('load', { rate: 200, duration_ms: 5000 })).body.result).toBe(true);
    await sleep(120);
    const stopped = await hook('load/stop', {});
    const injected = (stopped.body.result as { injected: number }).injected;
    expect(injected).toBeGreaterThan(5);
    expect(double.queue()).toHaveLength(injected);
    expect((await hook('load', {})).status).toBe(400);
  });
});

describe('load generator', () => {
  it('injects at a steady rate and stops by itself after durationMs', async () => {
    const load = startLoad(double, { ratePerSecond: 200, durationMs: 300 });
    const count = await load.done;
    expect(count).toBe(60);
    expect(double.queue()).toHaveLength(60);
    expect(await load.stop()).toBe(60);
    const texts = double.queue().map((u) => (u.message as { text: string }).text);
    expect(texts[0]).toBe('load #1');
    expect(texts.at(-1)).toBe('load #60');
  });

  it('can be stopped early, and targets a chosen token', async () => {
    const load = startLoad(double, { ratePerSecond: 100, token: OTHER });
    await sleep(100);
    const count = await load.stop();
    expect(count).toBeGreaterThan(3);
    expect(count).toBeLessThan(30);
    expect(double.queue({ token: OTHER })).toHaveLength(count);
    expect(double.queue()).toHaveLength(0);
    await sleep(50);
    expect(load.injected()).toBe(count);
  });

  it('refuses a non-positive rate and is bounded', () => {
    expect(() => startLoad(double, { ratePerSecond: 0 })).toThrow(RangeError);
    expect(MAX_LOAD_DURATION_MS).toBeLessThanOrEqual(10 * 60 * 1000);
  });
});

describe('cli', () => {
  it('parses flags', () => {
    expect(parseCli(['--port', '8081', '--token', '1:a', '--token', '2:b', '--rate', '20'])).toEqual({
      port: 8081,
      host: '0.0.0.0',
      tokens: ['1:a', '2:b'],
      rate: 20,
    });
    expect(() => parseCli(['--port', '1'])).toThrow(/usage/);
    expect(() => parseCli(['--token', '1:a', '--rate', 'fast'])).toThrow(/--rate/);
    expect(() => parseCli(['--token', '1:a', '--bogus'])).toThrow();
  });

  it('runs the double standalone, prints its URL, loads it and stops on SIGTERM', async () => {
    const child = spawn(process.execPath, ['e2e/telegram/cli.ts', '--port', '0', '--host', '127.0.0.1', '--token', TOKEN, '--rate', '50', '--seed', '3'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      const lines = createInterface({ input: child.stdout });
      const first = await new Promise<string>((resolve, reject) => {
        lines.once('line', resolve);
        child.once('exit', (code) => reject(new Error(`cli exited early with ${code}`)));
      });
      expect(first).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      const me = await callBotApi(first, TOKEN, 'getMe');
      expect(me.body).toMatchObject({ ok: true, result: { id: 123456 } });
      await sleep(200);
      const stats = (await (await fetch(`${first}/__double/stats`)).json()) as { result: { injected: number } };
      expect(stats.result.injected).toBeGreaterThan(0);
      const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });
});
