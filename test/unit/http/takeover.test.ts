// Rule W1's transport (src/http/takeover.ts): `POST /takeover` on the probe server, and the sender that tells
// the word to several standbys at once — over real loopback sockets, with one target that refuses the
// connection and one that never answers.
import { createServer, type Server, type Socket } from 'node:net';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import type { WordAnswer } from '../../../src/election/elector.ts';
import { createProbeServer } from '../../../src/http/probe-server.ts';
import { nobodyTakes, offerOutcome, registerTakeoverRoute, sendWord, type WordMessage } from '../../../src/http/takeover.ts';
import { BatonMetrics } from '../../../src/metrics.ts';

const logger = pino({ level: 'silent' });
const closers: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const c of closers.splice(0)) await c();
});

const WORD: WordMessage = { lease: 'ns/bot', holder: 'old', resourceVersion: '5', secret: 'ab'.repeat(32) };

async function standby(
  answer: (m: WordMessage) => WordAnswer | { taking: false; reason: 'other-lease' },
): Promise<{ app: FastifyInstance; port: number; heard: WordMessage[] }> {
  const heard: WordMessage[] = [];
  const app = createProbeServer(
    { readiness: () => ({ ready: true, missing: [] }), health: () => ({ healthy: true }), metrics: new BatonMetrics({ defaultMetrics: false }) },
    { logger },
  );
  registerTakeoverRoute(app, (m) => {
    heard.push(m);
    return answer(m);
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  closers.push(() => app.close());
  const address = app.server.address();
  return { app, port: typeof address === 'object' && address ? address.port : 0, heard };
}

describe('POST /takeover', () => {
  it('hands a well-formed word to the judge and answers what it says', async () => {
    const s = await standby(() => ({ taking: true }));
    const res = await s.app.inject({ method: 'POST', url: '/takeover', payload: WORD });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ taking: true });
    expect(s.heard).toEqual([WORD]);
  });

  it.each([
    ['not an object', [1, 2]],
    ['a field missing', { lease: 'ns/bot', holder: 'old', resourceVersion: '5' }],
    ['a field empty', { ...WORD, secret: '' }],
  ])('refuses a body that is %s with 400 and what to send, and judges nothing', async (_name, payload) => {
    const s = await standby(() => ({ taking: true }));
    const res = await s.app.inject({ method: 'POST', url: '/takeover', payload });
    expect(res.statusCode).toBe(400);
    expect(res.json<{ message: string }>().message).toContain('expected {"lease", "holder", "resourceVersion", "secret"}');
    expect(s.heard).toEqual([]);
  });
});

describe('sendWord', () => {
  it('tells every target at once and collects each answer, a refused connection and a silent peer as errors', async () => {
    const taking = await standby(() => ({ taking: true }));
    const refusing = await standby(() => ({ taking: false, reason: 'deferring' }));
    const accepted: Socket[] = [];
    const silent: Server = createServer((socket) => void accepted.push(socket)); // accepts, never answers
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    closers.push(() => {
      for (const s of accepted) s.destroy();
      return new Promise((r) => silent.close(r));
    });
    const silentPort = (silent.address() as { port: number }).port;
    const started = performance.now();
    const [a, b, c, d] = await Promise.all([
      sendWord([{ name: 'new', ip: '127.0.0.1' }], taking.port, WORD, 500),
      sendWord([{ name: 'old-standby', ip: '127.0.0.1' }], refusing.port, WORD, 500),
      sendWord([{ name: 'gone', ip: '127.0.0.1' }], 1, WORD, 500),
      sendWord([{ name: 'frozen', ip: '127.0.0.1' }], silentPort, WORD, 200),
    ]);
    expect(a).toEqual([{ name: 'new', answer: { taking: true } }]);
    expect(b).toEqual([{ name: 'old-standby', answer: { taking: false, reason: 'deferring' } }]);
    expect(c[0]).toMatchObject({ name: 'gone' });
    expect('error' in c[0]! ? c[0].error : '').toContain('ECONNREFUSED');
    expect(d[0]).toMatchObject({ name: 'frozen', error: 'no answer within 200 ms' });
    expect(performance.now() - started).toBeLessThan(2_000);
    expect(taking.heard).toEqual([WORD]);
  });

  it('says nobody takes over when every answer is a refusal or an error, and waits for a busy standby or a taker', () => {
    const refused = { name: 'a', answer: { taking: false as const, reason: 'deferring' } };
    expect(nobodyTakes([])).toBe(true);
    expect(nobodyTakes([refused, { name: 'b', error: 'ECONNREFUSED' }])).toBe(true);
    expect(nobodyTakes([refused, { name: 'b', answer: { taking: false, reason: 'busy' } }])).toBe(false);
    expect(nobodyTakes([refused, { name: 'b', answer: { taking: true } }])).toBe(false);
    expect(offerOutcome(['a', 'b'], [refused, { name: 'b', answer: { taking: true } }])).toEqual({ told: ['a', 'b'], taking: ['b'], declined: false });
    expect(offerOutcome([], [])).toEqual({ told: [], taking: [], declined: true });
  });
});
