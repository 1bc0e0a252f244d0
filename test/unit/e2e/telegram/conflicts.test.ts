// Two pollers and webhooks: who gets the 409, when, and what happens to a poll whose client
// has gone. These are the rules baton exists to keep a bot clear of.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CONFLICT_DESCRIPTIONS, type PollEnd } from '../../../../e2e/telegram/accounting.ts';
import { callBotApi, type CallOptions, type CallResult } from '../../../../e2e/telegram/client.ts';
import { TelegramDouble } from '../../../../e2e/telegram/server.ts';
import type { Update } from '../../../../e2e/telegram/updates.ts';
import { sleep, waitFor } from '../../../harness/wait.ts';

const TOKEN = '123456:TEST-token';
let double: TelegramDouble;
let url: string;

beforeEach(async () => {
  double = new TelegramDouble();
  ({ url } = await double.start({ tokens: [TOKEN], seed: 1 }));
});
afterEach(async () => {
  await double.stop();
});

const api = (method: string, params: Record<string, unknown> = {}, opts: CallOptions = {}): Promise<CallResult> => callBotApi(url, TOKEN, method, params, opts);
const ids = (res: CallResult): number[] => (res.body.result as Update[]).map((u) => u.update_id);
/** The double answers in microseconds: ask often. */
const QUICK = { everyMs: 2 };
/** Parks a poll for `client` and waits until the server holds it; `done` is its answer. */
async function park(client: string, offset: number, opts: CallOptions = {}): Promise<{ done: Promise<CallResult> }> {
  const before = double.requests().length;
  const done = api('getUpdates', { offset, timeout: 10 }, { client, ...opts });
  // Keep an early rejection (an aborted poll) from being reported as unhandled before it is awaited.
  done.catch(() => {});
  await waitFor('the new poll parked', () => double.requests().length > before && double.hasParkedPoll(), 3000, QUICK);
  return { done };
}
const conflictBody = (kind: keyof typeof CONFLICT_DESCRIPTIONS): unknown => ({ ok: false, error_code: 409, description: CONFLICT_DESCRIPTIONS[kind] });
const endOf = (requestId: number): PollEnd | undefined => double.requests().find((e): e is PollEnd => e.type === 'end' && e.requestId === requestId);

describe('two pollers', () => {
  it('a request that parks evicts the OLDER parked poll with the exact 409', async () => {
    const a = await park('A', 0);
    const b = await park('B', 1);
    const first = await a.done;
    expect(first.status).toBe(409);
    expect(first.body).toEqual({
      ok: false,
      error_code: 409,
      description: 'Conflict: terminated by other getUpdates request; make sure that only one bot instance is running',
    });
    expect(double.hasParkedPoll()).toBe(true);
    const id = double.inject('for B');
    expect(ids(await b.done)).toEqual([id]);
    expect(double.conflicts()).toEqual({ total: 1, seen: 1, getUpdates: 1, webhookActive: 0, setWebhook: 0 });
    expect(double.conflictLog()).toMatchObject([{ client: 'A', kind: 'getUpdates', heldBack: false, written: true }]);
    expect(double.deliveries()).toMatchObject([{ updateId: id, client: 'B' }]);
  });

  it('a short poll (timeout 0) evicts nobody', async () => {
    const a = await park('A', 0);
    const short = await api('getUpdates', { offset: 1, timeout: 0 }, { client: 'B' });
    expect(short.body).toEqual({ ok: true, result: [] });
    expect(short.elapsedMs).toBeLessThan(500);
    expect(double.hasParkedPoll()).toBe(true);
    expect(double.conflicts().total).toBe(0);
    const id = double.inject('for A');
    expect(ids(await a.done)).toEqual([id]);
  });

  it('holds back a repeated conflict within 3 s for 3 s', async () => {
    const a = await park('A', 0);
    const b = await park('B', 1);
    expect((await a.done).status).toBe(409);
    const cStarted = performance.now();
    const c = await park('C', 2);
    const second = await b.done;
    const heldFor = performance.now() - cStarted;
    expect(second.body).toEqual(conflictBody('getUpdates'));
    expect(heldFor).toBeGreaterThanOrEqual(2900);
    expect(heldFor).toBeLessThan(4000);
    expect(double.conflictLog()).toMatchObject([
      { client: 'A', heldBack: false, written: true },
      { client: 'B', heldBack: true, written: true },
    ]);
    const id = double.inject('for C');
    expect(ids(await c.done)).toEqual([id]);
  }, 10_000);
});

describe('a client that disconnects', () => {
  it('leaves its parked poll on the server until another poll evicts it; that 409 reaches nobody', async () => {
    const abort = new AbortController();
    const gone = await park('A', 0, { signal: abort.signal });
    abort.abort();
    await expect(gone.done).rejects.toThrow();
    await sleep(50);
    expect(double.hasParkedPoll()).toBe(true);

    const b = await park('B', 1);
    await waitFor('the 409 written', () => double.conflictLog()[0]?.written !== undefined, 3000, QUICK);
    expect(double.conflicts()).toMatchObject({ total: 1, seen: 0, getUpdates: 1 });
    expect(double.conflictLog()).toMatchObject([{ client: 'A', written: false }]);
    const id = double.inject('for B');
    expect(ids(await b.done)).toEqual([id]);
  });

  it('leaves its parked poll until an update or the timeout ends it; nothing counts as delivered', async () => {
    const abort = new AbortController();
    const gone = await park('A', 0, { signal: abort.signal });
    abort.abort();
    await expect(gone.done).rejects.toThrow();
    await sleep(50);
    expect(double.hasParkedPoll()).toBe(true);

    const id = double.inject('into the void');
    const aStart = double.requests().find((e) => e.type === 'start' && e.client === 'A');
    await waitFor("A's poll answered", () => endOf(aStart?.requestId ?? -1) !== undefined, 3000, QUICK);
    expect(double.hasParkedPoll()).toBe(false);
    expect(endOf(aStart?.requestId ?? -1)).toMatchObject({ outcome: 'updates', updateIds: [id], written: false });
    expect(double.deliveries()).toEqual([]);
    expect(double.queue().map((u) => u.update_id)).toEqual([id]);
    expect(double.stats()).toMatchObject({ delivered: 0, lost: 1 });

    // Not confirmed, so the next poller gets it.
    expect(ids(await api('getUpdates', { offset: 0 }, { client: 'B' }))).toEqual([id]);
    expect(double.stats()).toMatchObject({ delivered: 1, lost: 0, duplicates: 0 });
  });

  it('keeps an idle parked poll until its timeout', async () => {
    const abort = new AbortController();
    const before = double.requests().length;
    const gone = api('getUpdates', { timeout: 1 }, { client: 'A', signal: abort.signal });
    gone.catch(() => {});
    await waitFor('the new poll parked', () => double.requests().length > before && double.hasParkedPoll(), 3000, QUICK);
    abort.abort();
    await expect(gone).rejects.toThrow();
    await sleep(500);
    expect(double.hasParkedPoll()).toBe(true);
    await waitFor('the last request answered', () => double.requests().at(-1)?.type === 'end', 1500, QUICK);
    expect(double.hasParkedPoll()).toBe(false);
    expect(double.requests().at(-1)).toMatchObject({ type: 'end', client: 'A', outcome: 'empty', written: false });
  });
});

describe('webhooks', () => {
  it('refuses getUpdates while a webhook is set, until deleteWebhook', async () => {
    expect((await api('setWebhook', { url: 'https://example.com/hook' })).body).toEqual({ ok: true, result: true, description: 'Webhook was set' });
    double.inject('pending');
    expect((await api('getWebhookInfo')).body.result).toEqual({
      url: 'https://example.com/hook',
      has_custom_certificate: false,
      pending_update_count: 1,
      max_connections: 40,
    });
    const refused = await api('getUpdates');
    expect(refused.status).toBe(409);
    expect(refused.body).toEqual({
      ok: false,
      error_code: 409,
      description: "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first",
    });
    expect(double.conflicts()).toMatchObject({ total: 1, webhookActive: 1 });
    expect((await api('deleteWebhook')).body).toEqual({ ok: true, result: true, description: 'Webhook was deleted' });
    expect((await api('getUpdates')).body.result).toHaveLength(1);
    expect((await api('deleteWebhook')).body).toEqual({ ok: true, result: true, description: 'Webhook is already deleted' });
  });

  it('setWebhook fails the parked poll with "terminated by setWebhook request"', async () => {
    const a = await park('A', 0);
    await api('setWebhook', { url: 'https://example.com/hook' });
    const res = await a.done;
    expect(res.status).toBe(409);
    expect(res.body).toEqual({ ok: false, error_code: 409, description: 'Conflict: terminated by setWebhook request' });
    expect(double.conflicts()).toMatchObject({ total: 1, setWebhook: 1 });
  });

  it('setWebhook with an empty url deletes and leaves a parked poll alone', async () => {
    const a = await park('A', 0);
    expect((await api('setWebhook', { url: '' })).body).toEqual({ ok: true, result: true, description: 'Webhook is already deleted' });
    expect(double.hasParkedPoll()).toBe(true);
    const id = double.inject('still polling');
    expect(ids(await a.done)).toEqual([id]);
  });

  it('deleteWebhook drop_pending_updates drops the queue', async () => {
    double.inject('a');
    double.inject('b');
    expect((await api('deleteWebhook', { drop_pending_updates: true })).body.ok).toBe(true);
    expect(double.queue()).toEqual([]);
    expect(double.stats()).toMatchObject({ injected: 2, lost: 2 });
  });

  it('rate-limits setWebhook with a url to once a second and validates it', async () => {
    expect((await api('setWebhook', { url: 'https://example.com/a' })).body.ok).toBe(true);
    const again = await api('setWebhook', { url: 'https://example.com/b' });
    expect(again.status).toBe(429);
    expect(again.body).toEqual({ ok: false, error_code: 429, description: 'Too Many Requests: retry after 1', parameters: { retry_after: 1 } });
    await sleep(1050);
    expect((await api('setWebhook', { url: 'ftp://nope' })).body).toEqual({
      ok: false,
      error_code: 400,
      description: 'Bad Request: invalid webhook URL specified',
    });
  });
});
