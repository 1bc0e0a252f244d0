// The fastify settings both of baton's servers share.
import Fastify, { LogController } from 'fastify';
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import type { Logger } from 'pino';

/** Options common to {@link createLocalApi} and {@link createProbeServer}. */
export interface ServerOptions {
  logger: Logger;
}

/**
 * A fastify instance with baton's settings: our pino logger without per-request lines (the kubelet and
 * Prometheus call every few seconds), 503 for requests that arrive while closing, and idle keep-alive
 * connections closed at once so `close()` is prompt. Long-lived responses (SSE) must end themselves in a
 * `preClose` hook; see `sse.ts`.
 */
export function createServer(options: ServerOptions): FastifyInstance {
  // Widened to fastify's base logger so the result is a plain FastifyInstance for every route module.
  const loggerInstance: FastifyBaseLogger = options.logger;
  return Fastify({
    loggerInstance,
    // The non-deprecated form of `disableRequestLogging: true` in fastify 5.
    logController: new LogController({ disableRequestLogging: true }),
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    // Small JSON bodies only; a worker's confirmation is a few bytes.
    bodyLimit: 16 * 1024,
  });
}
