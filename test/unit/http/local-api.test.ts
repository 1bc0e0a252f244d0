import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { createLocalApi, type LocalApiDeps } from '../../../src/http/local-api.ts';
import type { Health, LeaderStatus, PauseConfirmation, Readiness } from '../../../src/status.ts';

const logger = pino({ level: 'silent' });

function leaderStatus(over: Partial<LeaderStatus> = {}): LeaderStatus {
  return {
    identity: 'pod-a',
    isLeader: true,
    holder: 'pod-a',
    epoch: 3,
    since: '2026-11-23T12:00:00.000000Z',
    renewedAt: '2026-11-23T12:00:10.000000Z',
    lease: { name: 'bot', namespace: 'default' },
    pause: { id: 2, sentAt: null, confirmedAt: null },
    handingOver: false,
    ...over,
  };
}

/** Fake sidecar state: every field can be changed by a test; confirmations are recorded. */
function fakeDeps() {
  const state = {
    status: leaderStatus(),
    readiness: { ready: true, missing: [] } as Readiness,
    health: { healthy: true } as Health,
    confirmation: 'accepted' as PauseConfirmation,
    confirmed: [] as number[],
  };
  const deps: LocalApiDeps = {
    status: () => state.status,
    subscribe: () => () => {},
    readiness: () => state.readiness,
    health: () => state.health,
    confirmPause: (id) => {
      state.confirmed.push(id);
      return state.confirmation;
    },
  };
  return { state, deps };
}

let app: FastifyInstance | undefined;
afterEach(async () => {
  await app?.close();
  app = undefined;
});

function setup() {
  const fake = fakeDeps();
  app = createLocalApi(fake.deps, { logger });
  return { ...fake, app };
}

describe('local API: GET /leader', () => {
  it('serves the current status as JSON', async () => {
    const { app, state } = setup();
    const res = await app.inject({ method: 'GET', url: '/leader' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(res.json()).toEqual(state.status);
  });

  it('treats watch values other than 1 or true as a plain read', async () => {
    const { app } = setup();
    const res = await app.inject({ method: 'GET', url: '/leader?watch=0' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
  });
});

describe('local API: probes', () => {
  it('GET /healthz: 200 when healthy, 503 with the reason when not', async () => {
    const { app, state } = setup();
    let res = await app.inject({ method: 'GET', url: '/healthz' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ healthy: true });

    state.health = { healthy: false, reason: 'the renew loop has not run for 30 s' };
    res = await app.inject({ method: 'GET', url: '/healthz' });
    expect(res.statusCode).toBe(503);
    expect(res.json()).toEqual({ healthy: false, reason: 'the renew loop has not run for 30 s' });
  });

  it('GET /readyz: 200 when ready, 503 with what is missing when not', async () => {
    const { app, state } = setup();
    let res = await app.inject({ method: 'GET', url: '/readyz' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ ready: true, missing: [] });

    const missing = ['cannot read the Lease: grant get, watch on leases in namespace default to the service account'];
    state.readiness = { ready: false, missing };
    res = await app.inject({ method: 'GET', url: '/readyz' });
    expect(res.statusCode).toBe(503);
    expect(res.json()).toEqual({ ready: false, missing });
  });

  it('answers 404 for unknown routes', async () => {
    const { app } = setup();
    expect((await app.inject({ method: 'GET', url: '/metrics' })).statusCode).toBe(404);
    expect((await app.inject({ method: 'DELETE', url: '/leader' })).statusCode).toBe(404);
  });
});

describe('local API: POST /paused', () => {
  it.each(['accepted', 'duplicate'] as const)('%s → 200 {result}', async (result) => {
    const { app, state } = setup();
    state.confirmation = result;
    const res = await app.inject({ method: 'POST', url: '/paused', payload: { pause: 2 } });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ result });
    expect(state.confirmed).toEqual([2]);
  });

  it.each(['stale', 'early', 'not-paused'] as const)('%s → 409 {result, message}', async (result) => {
    const { app, state } = setup();
    state.confirmation = result;
    const res = await app.inject({ method: 'POST', url: '/paused', payload: { pause: 1 } });
    expect(res.statusCode).toBe(409);
    const body = res.json<{ result: string; message: string }>();
    expect(body.result).toBe(result);
    expect(body.message).toContain('pause 1');
    expect(state.confirmed).toEqual([1]);
  });

  it('accepts an empty POST with ?pause=N, with or without a content type', async () => {
    const { app, state } = setup();
    const plain = await app.inject({ method: 'POST', url: '/paused?pause=7' });
    expect(plain.statusCode).toBe(200);
    const form = await app.inject({
      method: 'POST',
      url: '/paused?pause=8',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: '',
    });
    expect(form.statusCode).toBe(200);
    const json = await app.inject({ method: 'POST', url: '/paused?pause=9', headers: { 'content-type': 'application/json' }, payload: '' });
    expect(json.statusCode).toBe(200);
    expect(state.confirmed).toEqual([7, 8, 9]);
  });

  it('accepts pause 0 and a JSON content type with a charset', async () => {
    const { app, state } = setup();
    const res = await app.inject({
      method: 'POST',
      url: '/paused',
      headers: { 'content-type': 'application/json; charset=utf-8' },
      payload: '{"pause":0}',
    });
    expect(res.statusCode).toBe(200);
    expect(state.confirmed).toEqual([0]);
  });

  const bad: Array<[string, { url?: string; payload?: string; contentType?: string }, number]> = [
    ['no id at all', {}, 400],
    ['an empty JSON object', { payload: '{}' }, 400],
    ['a negative id', { payload: '{"pause":-1}' }, 400],
    ['a fractional id', { payload: '{"pause":1.5}' }, 400],
    ['an id as a string', { payload: '{"pause":"3"}' }, 400],
    ['null', { payload: '{"pause":null}' }, 400],
    ['an unsafe integer', { payload: '{"pause":9007199254740993}' }, 400],
    ['a JSON array', { payload: '[3]' }, 400],
    ['a bare number', { payload: '3' }, 400],
    ['invalid JSON', { payload: '{"pause":' }, 400],
    ['a prototype-poisoning body', { payload: '{"pause":1,"__proto__":{"x":1}}' }, 400],
    ['a negative query id', { url: '/paused?pause=-1' }, 400],
    ['a non-numeric query id', { url: '/paused?pause=abc' }, 400],
    ['a repeated query id', { url: '/paused?pause=1&pause=2' }, 400],
    ['a form body', { payload: 'pause=3', contentType: 'application/x-www-form-urlencoded' }, 400],
    ['a text body', { payload: '3', contentType: 'text/plain' }, 400],
  ];
  it.each(bad)('rejects %s with %i and the expected shape', async (_name, req, code) => {
    const { app, state } = setup();
    const res = await app.inject({
      method: 'POST',
      url: req.url ?? '/paused',
      headers: req.payload === undefined ? {} : { 'content-type': req.contentType ?? 'application/json' },
      ...(req.payload === undefined ? {} : { payload: req.payload }),
    });
    expect(res.statusCode).toBe(code);
    expect(res.json<{ message: string }>().message).toContain('{"pause": <non-negative integer>}');
    expect(state.confirmed).toEqual([]);
  });

  it('answers 500 without details when confirmPause throws', async () => {
    const { app, deps } = setup();
    deps.confirmPause = () => {
      throw new Error('boom');
    };
    const res = await app.inject({ method: 'POST', url: '/paused', payload: { pause: 1 } });
    expect(res.statusCode).toBe(500);
    expect(res.body).not.toContain('boom');
  });
});
