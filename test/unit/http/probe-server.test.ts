import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { createProbeServer } from '../../../src/http/probe-server.ts';
import { BatonMetrics } from '../../../src/metrics.ts';
import type { Health, Readiness } from '../../../src/status.ts';

const logger = pino({ level: 'silent' });

let app: FastifyInstance | undefined;
afterEach(async () => {
  await app?.close();
  app = undefined;
});

function setup() {
  const state = { readiness: { ready: true, missing: [] } as Readiness, health: { healthy: true } as Health };
  const metrics = new BatonMetrics({ defaultMetrics: false });
  app = createProbeServer({ readiness: () => state.readiness, health: () => state.health, metrics }, { logger });
  return { app, state, metrics };
}

describe('probe server', () => {
  it('GET /healthz: 200, or 503 with the reason', async () => {
    const { app, state } = setup();
    expect((await app.inject({ method: 'GET', url: '/healthz' })).json()).toEqual({ healthy: true });
    state.health = { healthy: false, reason: 'stuck' };
    const res = await app.inject({ method: 'GET', url: '/healthz' });
    expect(res.statusCode).toBe(503);
    expect(res.json()).toEqual({ healthy: false, reason: 'stuck' });
  });

  it('GET /readyz: 200, or 503 with what is missing', async () => {
    const { app, state } = setup();
    expect((await app.inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(200);
    state.readiness = { ready: false, missing: ['set BATON_LEASE_NAME to the name of the Lease'] };
    const res = await app.inject({ method: 'GET', url: '/readyz' });
    expect(res.statusCode).toBe(503);
    expect(res.json()).toEqual({ ready: false, missing: ['set BATON_LEASE_NAME to the name of the Lease'] });
  });

  it('GET /metrics: the Prometheus text format', async () => {
    const { app, metrics } = setup();
    metrics.setLeader(true);
    const res = await app.inject({ method: 'GET', url: '/metrics' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe(metrics.contentType);
    expect(res.body).toMatch(/^baton_leader 1$/m);
  });

  it.each([
    ['POST', '/paused'],
    ['POST', '/paused?pause=1'],
    ['GET', '/leader'],
    ['GET', '/leader?watch=1'],
    ['POST', '/healthz'],
    ['POST', '/readyz'],
    ['POST', '/metrics'],
    ['PUT', '/metrics'],
    ['DELETE', '/healthz'],
    ['GET', '/'],
  ] as const)('%s %s → 404: nothing that reads or changes leadership state', async (method, url) => {
    const { app } = setup();
    const res = await app.inject({ method, url, payload: method === 'GET' ? undefined : { pause: 1 } });
    expect(res.statusCode).toBe(404);
  });
});
