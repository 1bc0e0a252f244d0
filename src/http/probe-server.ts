// The probe server, for the kubelet and Prometheus: read-only, so it may listen on every interface.
// Anything that reads or changes leadership state lives on the loopback-only local API instead — but for
// rule W1's `POST /takeover` (src/http/takeover.ts), which the app adds: a word that proves itself, or nothing.
import type { FastifyInstance } from 'fastify';
import type { BatonMetrics } from '../metrics.ts';
import { registerProbeRoutes, type ProbeDeps } from './probes.ts';
import { createServer, type ServerOptions } from './server.ts';

/** What the probe server reads. */
export interface ProbeServerDeps extends ProbeDeps {
  metrics: BatonMetrics;
}

/** Builds the probe server (not yet listening): `GET /healthz`, `GET /readyz`, `GET /metrics`; 404 for anything else. */
export function createProbeServer(deps: ProbeServerDeps, options: ServerOptions): FastifyInstance {
  const app = createServer(options);
  registerProbeRoutes(app, deps);
  app.get('/metrics', async (_request, reply) => {
    const text = await deps.metrics.text();
    return reply.type(deps.metrics.contentType).send(text);
  });
  return app;
}
