// `/healthz` and `/readyz`, served identically by the local API and the probe server.
import type { FastifyInstance } from 'fastify';
import type { Health, Readiness } from '../status.ts';

/** What the probe routes read. */
export interface ProbeDeps {
  readiness(): Readiness;
  health(): Health;
}

/** Registers `GET /healthz` (200 or 503 with the reason) and `GET /readyz` (200 or 503 with what is missing). */
export function registerProbeRoutes(app: FastifyInstance, deps: ProbeDeps): void {
  app.get('/healthz', async (_request, reply) => {
    const health = deps.health();
    // Written out field by field so the body is exactly the contract, whatever else the object carries.
    const body: Health = health.healthy ? { healthy: true } : { healthy: false, reason: health.reason ?? 'unhealthy' };
    return reply.code(health.healthy ? 200 : 503).send(body);
  });

  app.get('/readyz', async (_request, reply) => {
    const readiness = deps.readiness();
    const body: Readiness = { ready: readiness.ready, missing: readiness.ready ? [] : readiness.missing };
    return reply.code(readiness.ready ? 200 : 503).send(body);
  });
}
