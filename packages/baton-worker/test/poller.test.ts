// The kit's getUpdates loop against the Telegram double, which keeps Telegram's same-offset rule
// (a repeated offset within 3 s forces a 3 s timeout): a pause must never wait on it, idle or busy.
import { afterEach, describe, expect, it } from 'vitest';
import { TelegramDouble } from '../../../e2e/telegram/server.ts';
import { BotApiError, UpdatePoller, type Update } from '../src/poller.ts';
import { sleep, waitFor, type WaitOptions } from '../../../test/harness/wait.ts';

const token = '123:poller';
let double: TelegramDouble | undefined;
afterEach(async () => {
  await double?.stop();
  double = undefined;
});

/** The double answers in microseconds: ask every 2 ms. */
const OFTEN: WaitOptions = { everyMs: 2 };

async function setup(handleMs = 0) {
  double = new TelegramDouble();
  const { url } = await double.start({ tokens: [token], seed: 7 });
  const handled: number[] = [];
  const poller = new UpdatePoller({
    token,
    apiRoot: `${url}/kit`,
    timeoutSeconds: 30,
    handle: async (u: Update) => {
      if (handleMs > 0) await sleep(handleMs);
      handled.push(u.update_id);
    },
    onError: () => undefined,
  });
  return { d: double, url, poller, handled };
}

/** getUpdates requests the double saw, as it understood them. */
const starts = (d: TelegramDouble) => d.requests().filter((r) => r.type === 'start');
const parked = (d: TelegramDouble) => () => d.hasParkedPoll({ token });

describe('UpdatePoller.stop(): the pause confirmation never parks', () => {
  it('an idle bot (its last long poll already carried the offset) stops in milliseconds, offset confirmed', async () => {
    const { d, url, poller, handled } = await setup();
    poller.start();
    d.inject('one', { token });
    await waitFor('handled', () => handled.length === 1, 5000, OFTEN);
    await waitFor('the next long poll parks', parked(d), 5000, OFTEN);
    const t0 = performance.now();
    await poller.stop();
    const ms = performance.now() - t0;
    expect(starts(d).some((s) => s.type === 'start' && s.forcedTimeout)).toBe(false);
    expect(ms).toBeLessThan(500);
    // Confirmed: a new poller gets nothing old.
    const next = await fetch(`${url}/next/bot${token}/getUpdates?timeout=0`).then((r) => r.json() as Promise<{ result: Update[] }>);
    expect(next.result.map((u) => u.update_id)).not.toContain(handled[0]);
  });

  it('an idle bot that never received anything stops without a confirming call', async () => {
    const { d, poller } = await setup();
    poller.start();
    await waitFor('the long poll parks', parked(d), 5000, OFTEN);
    const t0 = performance.now();
    await poller.stop();
    expect(performance.now() - t0).toBeLessThan(500);
    expect(starts(d)).toHaveLength(1);
  });

  it('a busy bot (stop while a batch is in hand) handles the batch, confirms it, and never parks', async () => {
    const { d, url, poller, handled } = await setup(30);
    poller.start();
    await waitFor('the long poll parks', parked(d), 5000, OFTEN);
    for (let i = 0; i < 5; i++) d.inject(`u${i}`, { token });
    await waitFor('a batch is in hand', () => handled.length === 1, 5000, OFTEN);
    const t0 = performance.now();
    await poller.stop();
    const ms = performance.now() - t0;
    expect(handled).toHaveLength(5);
    expect(starts(d).some((s) => s.type === 'start' && s.forcedTimeout)).toBe(false);
    expect(ms).toBeLessThan(500);
    const next = await fetch(`${url}/next/bot${token}/getUpdates?timeout=0`).then((r) => r.json() as Promise<{ result: Update[] }>);
    expect(next.result).toEqual([]);
  });

  it('a long poll aborted before it reached the server is still confirmed, without parking', async () => {
    const { d, url, poller, handled } = await setup();
    poller.start();
    d.inject('one', { token });
    await waitFor('handled', () => handled.length === 1, 5000, OFTEN);
    // Stop in the same tick as the next long poll is sent: it may never reach the double.
    await new Promise((r) => setImmediate(r));
    const t0 = performance.now();
    await poller.stop();
    expect(performance.now() - t0).toBeLessThan(500);
    expect(starts(d).some((s) => s.type === 'start' && s.forcedTimeout)).toBe(false);
    const next = await fetch(`${url}/next/bot${token}/getUpdates?timeout=0`).then((r) => r.json() as Promise<{ result: Update[] }>);
    expect(next.result).toEqual([]);
  });

  it('a stop during the back-off after an error does not wait the back-off out', async () => {
    const { d, url, poller } = await setup();
    // A webhook makes every getUpdates fail with 409: the loop backs off.
    await fetch(`${url}/bot${token}/setWebhook?url=https://example.invalid/hook`);
    void d;
    poller.start();
    await sleep(50);
    const t0 = performance.now();
    await poller.stop();
    expect(performance.now() - t0).toBeLessThan(500);
  });

  it('a long poll cut before it reached Telegram: the probe at offset − 1 finds the update still there, and the offset is confirmed', async () => {
    double = new TelegramDouble();
    const d = double;
    const { url } = await d.start({ tokens: [token], seed: 8 });
    const handled: number[] = [];
    // A slow network for long polls: a poll aborted within 200 ms never reaches the double.
    const call = async (method: string, params: Record<string, unknown>, signal?: AbortSignal) => {
      if (Number(params.timeout) > 0) {
        await new Promise<void>((resolve, reject) => {
          const t = setTimeout(resolve, 200);
          signal?.addEventListener('abort', () => {
            clearTimeout(t);
            reject(new Error('aborted'));
          });
        });
      }
      const res = await fetch(`${url}/kit/bot${token}/${method}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(params),
        ...(signal ? { signal } : {}),
      });
      const body = (await res.json()) as { ok: boolean; result: unknown; error_code?: number; description?: string };
      if (!body.ok) throw new BotApiError(body.error_code ?? res.status, body.description ?? 'error');
      return body.result;
    };
    const poller = new UpdatePoller({ token, call, handle: (u) => void handled.push(u.update_id), onError: () => undefined });
    const id = d.inject('one', { token })!;
    poller.start();
    await waitFor('handled', () => handled.length === 1, 5000, OFTEN);
    // The next long poll is on its way (200 ms), not yet at the double: stop now.
    const t0 = performance.now();
    await poller.stop();
    expect(performance.now() - t0).toBeLessThan(500);
    const offsets = starts(d).map((s) => (s.type === 'start' ? s.requested.offset : undefined));
    // The first poll (no offset), the probe at id (= offset − 1), then the confirmation at id + 1.
    expect(offsets).toEqual([undefined, String(id), String(id + 1)]);
    expect(starts(d).some((s) => s.type === 'start' && s.forcedTimeout)).toBe(false);
    const next = await fetch(`${url}/next/bot${token}/getUpdates?timeout=0`).then((r) => r.json() as Promise<{ result: Update[] }>);
    expect(next.result).toEqual([]);
  });
});

describe('UpdatePoller.conflicts', () => {
  it('counts the 409 Conflicts the loop met, and is read-only', async () => {
    const { url, poller } = await setup();
    // A webhook makes every getUpdates fail with 409 (as another poller would).
    await fetch(`${url}/bot${token}/setWebhook?url=https://example.invalid/hook`);
    expect(poller.conflicts).toBe(0);
    poller.start();
    await waitFor('a 409 counted', () => poller.conflicts >= 1, 15_000, OFTEN);
    const seen = poller.conflicts;
    // A getter, not a field: nobody but the loop moves it.
    expect(() => {
      (poller as unknown as { conflicts: number }).conflicts = 0;
    }).toThrow(TypeError);
    expect(poller.conflicts).toBeGreaterThanOrEqual(seen);
    await poller.stop();
  });
});
