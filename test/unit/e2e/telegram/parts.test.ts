// The double's pure parts: parameter parsing, routing, the queue's confirmation rules.
import { describe, expect, it } from 'vitest';
import { integerArg, readParams, boolArg } from '../../../../e2e/telegram/params.ts';
import { parseMultipart } from '../../../../e2e/telegram/multipart.ts';
import { parseRoute } from '../../../../e2e/telegram/route.ts';
import { FUTURE_OFFSET_SLACK, UPDATE_TTL_MS, UpdateQueue } from '../../../../e2e/telegram/queue.ts';
import { randomFirstUpdateId, seededRandom } from '../../../../e2e/telegram/random.ts';
import { DEFAULT_ALLOWED_UPDATES, parseAllowedUpdates, textUpdate, updateType } from '../../../../e2e/telegram/updates.ts';

describe('readParams', () => {
  const none = Buffer.alloc(0);
  it('flattens JSON values to the strings the server sees', () => {
    const body = Buffer.from(JSON.stringify({ offset: 5, allowed_updates: ['message'], flag: true, text: 'x', gone: null }));
    const { params } = readParams(new URLSearchParams('limit=3'), 'application/json; charset=utf-8', body);
    expect(Object.fromEntries(params)).toEqual({ limit: '3', offset: '5', allowed_updates: '["message"]', flag: 'true', text: 'x' });
  });
  it('reads urlencoded bodies, and the body wins over the query string', () => {
    const { params } = readParams(new URLSearchParams('offset=1'), 'application/x-www-form-urlencoded', Buffer.from('offset=2&timeout=9'));
    expect(Object.fromEntries(params)).toEqual({ offset: '2', timeout: '9' });
  });
  it('reads multipart fields and notes files without storing them', async () => {
    const form = new FormData();
    form.set('chat_id', '7');
    form.set('allowed_updates', '["callback_query"]');
    form.set('document', new Blob(['abc']), 'a.txt');
    const request = new Request('http://x/', { method: 'POST', body: form });
    const contentType = request.headers.get('content-type') ?? '';
    const body = Buffer.from(await request.arrayBuffer());
    const parsed = readParams(new URLSearchParams(), contentType, body);
    expect(Object.fromEntries(parsed.params)).toEqual({ chat_id: '7', allowed_updates: '["callback_query"]' });
    expect(parsed.files).toEqual(['document']);
  });
  it('ignores bodies it cannot parse', () => {
    expect(readParams(new URLSearchParams('a=1'), 'application/json', Buffer.from('{oops')).params.size).toBe(1);
    expect(readParams(new URLSearchParams(), 'text/plain', Buffer.from('a=1')).params.size).toBe(0);
    expect(readParams(new URLSearchParams(), undefined, none).params.size).toBe(0);
  });
  it('tolerates a malformed multipart body', () => {
    expect(parseMultipart(Buffer.from('--b\r\nno headers end'), 'b')).toEqual([]);
  });
});

describe('integerArg and boolArg (the server clamps, never rejects)', () => {
  const p = (v: string): Map<string, string> => new Map([['n', v]]);
  it.each([
    ['', 100, 100],
    ['0', 1, 1],
    ['1000', 100, 100],
    ['7', 7, 7],
    ['1.9', 1, 1],
    ['abc', 1, 1],
    ['-5', 1, 1],
    [' 12 ', 12, 12],
  ])('limit %j -> %d', (raw, expected) => {
    expect(integerArg(p(raw), 'n', 100, 1, 100)).toBe(expected);
  });
  it('defaults when absent', () => {
    expect(integerArg(new Map(), 'n', 0, 0, 50)).toBe(0);
    expect(integerArg(p('-3'), 'n', 0)).toBe(-3);
  });
  it.each([
    ['true', true],
    ['True', true],
    ['1', true],
    ['false', false],
    ['', false],
    ['yes', false],
  ])('bool %j -> %s', (raw, expected) => {
    expect(boolArg(p(raw), 'n')).toBe(expected);
  });
});

describe('parseRoute', () => {
  it.each([
    ['/bot1:a/getMe', { kind: 'api', token: '1:a', method: 'getMe', client: undefined }],
    ['/bot1:a/test/getMe', { kind: 'api', token: '1:a', method: 'getMe', client: undefined }],
    ['/worker-a/bot1:a/getUpdates', { kind: 'api', token: '1:a', method: 'getUpdates', client: 'worker-a' }],
    ['//worker-a//bot1:a/getUpdates', { kind: 'api', token: '1:a', method: 'getUpdates', client: 'worker-a' }],
    ['/bot1%3Aa/getMe', { kind: 'api', token: '1:a', method: 'getMe', client: undefined }],
    ['/bot1:a/', { kind: 'api', token: '1:a', method: undefined, client: undefined }],
    ['/bot1:a/x/y/z', { kind: 'api', token: '1:a', method: undefined, client: undefined }],
    ['/__double/load/stop', { kind: 'hook', path: ['load', 'stop'] }],
    ['/', { kind: 'none' }],
    ['/favicon.ico', { kind: 'none' }],
  ])('%s', (path, expected) => {
    expect(parseRoute(path)).toEqual(expected);
  });
});

describe('updates', () => {
  it('names the type of an update by its payload field', () => {
    expect(updateType(textUpdate('hi'))).toBe('message');
    expect(updateType({ update_id: 1, callback_query: {} })).toBe('callback_query');
  });
  it('parses allowed_updates: absent or broken keeps the old setting; [] means the default', () => {
    expect(parseAllowedUpdates(undefined)).toBeUndefined();
    expect(parseAllowedUpdates('')).toBeUndefined();
    expect(parseAllowedUpdates('not json')).toBeUndefined();
    expect(parseAllowedUpdates('{"a":1}')).toBeUndefined();
    expect(parseAllowedUpdates('[]')).toBe(DEFAULT_ALLOWED_UPDATES);
    expect(parseAllowedUpdates('["bogus"]')).toBe(DEFAULT_ALLOWED_UPDATES);
    expect([...(parseAllowedUpdates('["message","chat_member","bogus"]') ?? [])]).toEqual(['message', 'chat_member']);
  });
  it('leaves chat_member and reactions out of the default set', () => {
    expect(DEFAULT_ALLOWED_UPDATES.has('message')).toBe(true);
    expect(DEFAULT_ALLOWED_UPDATES.has('chat_member')).toBe(false);
    expect(DEFAULT_ALLOWED_UPDATES.has('message_reaction')).toBe(false);
  });
});

describe('random first update_id', () => {
  it('is seedable and not 1', () => {
    const a = randomFirstUpdateId(seededRandom(7));
    expect(randomFirstUpdateId(seededRandom(7))).toBe(a);
    expect(randomFirstUpdateId(seededRandom(8))).not.toBe(a);
    expect(a).toBeGreaterThan(1);
    expect(a).toBeLessThan(2 ** 31 - 1_000_000);
  });
});

describe('UpdateQueue', () => {
  const fill = (n: number, first = 100): UpdateQueue => {
    const q = new UpdateQueue(first);
    for (let i = 0; i < n; i++) q.push(textUpdate(`u${i}`), 0);
    return q;
  };
  const ids = (q: UpdateQueue): number[] => q.pending().map((u) => u.update_id);

  it('assigns consecutive ids from the first one', () => {
    expect(ids(fill(3))).toEqual([100, 101, 102]);
  });
  it('offset 0 reads from the head and confirms nothing', () => {
    const q = fill(3);
    const read = q.read(0, 100, 0);
    expect(read.updates.map((u) => u.update_id)).toEqual([100, 101, 102]);
    expect(read.offset).toBe(100);
    expect(q.size).toBe(3);
  });
  it('a positive offset confirms every lower id', () => {
    const q = fill(3);
    const read = q.read(102, 100, 0);
    expect(read.confirmed).toEqual([100, 101]);
    expect(read.updates.map((u) => u.update_id)).toEqual([102]);
    expect(ids(q)).toEqual([102]);
  });
  it('a negative offset keeps only the last |offset| updates', () => {
    const q = fill(5);
    const read = q.read(-2, 100, 0);
    expect(read.dropped).toEqual([100, 101, 102]);
    expect(read.updates.map((u) => u.update_id)).toEqual([103, 104]);
    expect(ids(q)).toEqual([103, 104]);
  });
  it('an offset in the future is ignored: nothing confirmed, read from the head', () => {
    const q = fill(2);
    const read = q.read(102 + FUTURE_OFFSET_SLACK + 1, 100, 0);
    expect(read.confirmed).toEqual([]);
    expect(read.updates).toHaveLength(2);
    // ...but up to the slack it confirms everything, even ids not yet assigned.
    expect(q.read(102 + FUTURE_OFFSET_SLACK, 100, 0).confirmed).toEqual([100, 101]);
  });
  it('honours limit', () => {
    expect(fill(5).read(0, 2, 0).updates).toHaveLength(2);
  });
  it('lets updates expire after 24 h', () => {
    const q = new UpdateQueue(1);
    q.push(textUpdate('old'), 0);
    q.push(textUpdate('new'), UPDATE_TTL_MS / 2);
    const read = q.read(0, 100, UPDATE_TTL_MS + 1);
    expect(read.expired).toEqual([1]);
    expect(read.updates.map((u) => u.update_id)).toEqual([2]);
  });
  it('clear drops everything pending', () => {
    const q = fill(3);
    expect(q.clear()).toEqual([100, 101, 102]);
    expect(q.head).toBe(103);
  });
});
