import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { createLocalApi, type LocalApiDeps } from '../../../src/http/local-api.ts';
import { isLoopbackHost, parseHostPort } from '../../../src/host-port.ts';
import { listen } from '../../../src/http/listen.ts';
import { createProbeServer } from '../../../src/http/probe-server.ts';
import { BatonMetrics } from '../../../src/metrics.ts';

const logger = pino({ level: 'silent' });

const deps: LocalApiDeps = {
  status: () => {
    throw new Error('not used');
  },
  subscribe: () => () => {},
  readiness: () => ({ ready: true, missing: [] }),
  health: () => ({ healthy: true }),
  confirmPause: () => 'accepted',
};

let apps: FastifyInstance[] = [];
afterEach(async () => {
  await Promise.all(apps.map((a) => a.close()));
  apps = [];
});
function track(app: FastifyInstance): FastifyInstance {
  apps.push(app);
  return app;
}

describe('parseHostPort', () => {
  it.each([
    ['127.0.0.1:4040', '127.0.0.1', 4040],
    ['0.0.0.0:4041', '0.0.0.0', 4041],
    ['localhost:0', 'localhost', 0],
    ['[::1]:4040', '::1', 4040],
    ['[::]:4041', '::', 4041],
    [' 127.0.0.1:4040 ', '127.0.0.1', 4040],
  ])('%s', (value, host, port) => {
    expect(parseHostPort(value)).toEqual({ host, port });
  });

  it.each(['4040', ':4040', '127.0.0.1', '127.0.0.1:', '::1:4040', '[::1]', '[127.0.0.1]:4040', '127.0.0.1:65536', '127.0.0.1:http', ''])(
    'rejects %j, naming the setting',
    (value) => {
      expect(() => parseHostPort(value, 'BATON_PROBE_LISTEN')).toThrow(/^BATON_PROBE_LISTEN: expected host:port/);
    },
  );
});

describe('isLoopbackHost', () => {
  it.each(['127.0.0.1', '127.1.2.3', '::1', 'localhost', 'LOCALHOST', '::ffff:127.0.0.1'])('%s is loopback', (h) => {
    expect(isLoopbackHost(h)).toBe(true);
  });
  it.each(['0.0.0.0', '::', '10.0.0.5', '::ffff:10.0.0.5', 'example.com', '128.0.0.1', ''])('%s is not', (h) => {
    expect(isLoopbackHost(h)).toBe(false);
  });
});

describe('listen', () => {
  it('returns the address actually bound, with port 0 resolved', async () => {
    const app = track(createProbeServer({ ...deps, metrics: new BatonMetrics({ defaultMetrics: false }) }, { logger }));
    const address = await listen(app, '127.0.0.1:0');
    expect(address.host).toBe('127.0.0.1');
    expect(address.port).toBeGreaterThan(0);
    expect(address.url).toBe(`http://127.0.0.1:${address.port}`);
    const res = await fetch(`${address.url}/healthz`);
    expect(res.status).toBe(200);
  });

  it('binds an IPv6 address in brackets', async (ctx) => {
    const app = track(createLocalApi(deps, { logger }));
    let address;
    try {
      address = await listen(app, '[::1]:0');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EADDRNOTAVAIL' || (err as NodeJS.ErrnoException).code === 'EAFNOSUPPORT') ctx.skip();
      throw err;
    }
    expect(address.host).toBe('::1');
    expect(address.url).toBe(`http://[::1]:${address.port}`);
    expect((await fetch(`${address.url}/readyz`)).status).toBe(200);
  });

  it.each(['0.0.0.0:0', '[::]:0', '10.0.0.5:4040', 'example.com:4040'])('refuses %s for the local API, naming BATON_LISTEN and the fix', async (hostPort) => {
    const app = track(createLocalApi(deps, { logger }));
    await expect(listen(app, hostPort)).rejects.toThrow(/^BATON_LISTEN: .*loopback only.*Set BATON_LISTEN to 127\.0\.0\.1:<port>/);
    expect(app.server.listening).toBe(false);
  });

  it('lets the probe server listen on every interface', async () => {
    const app = track(createProbeServer({ ...deps, metrics: new BatonMetrics({ defaultMetrics: false }) }, { logger }));
    const address = await listen(app, '0.0.0.0:0', { setting: 'BATON_PROBE_LISTEN' });
    expect(address.host).toBe('0.0.0.0');
  });

  it('names the setting in parse errors', async () => {
    const app = track(createLocalApi(deps, { logger }));
    await expect(listen(app, 'nonsense')).rejects.toThrow(/^BATON_LISTEN: expected host:port/);
  });
});
