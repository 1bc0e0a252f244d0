// The local API, for the worker in the same pod: its leadership, its probes, and its pause confirmations.
// It can change state (POST /paused), so it listens on loopback only.
import type { FastifyInstance } from 'fastify';
import type { Health, LeaderStatus, PauseConfirmation, Readiness } from '../status.ts';
import { registerLeaderRoutes } from './leader.ts';
import { requireLoopback } from './listen.ts';
import { registerPausedRoute } from './paused.ts';
import { registerProbeRoutes } from './probes.ts';
import { createServer, type ServerOptions } from './server.ts';

/** What the local API reads and calls; the sidecar provides it. */
export interface LocalApiDeps {
  /** The current status, served by `GET /leader`. */
  status(): LeaderStatus;
  /** Calls `listener` on every change of status; returns the function that removes it. */
  subscribe(listener: (status: LeaderStatus) => void): () => void;
  readiness(): Readiness;
  health(): Health;
  /** Handles a worker's `POST /paused`; only `accepted` may end a handoff's wait. */
  confirmPause(id: number): PauseConfirmation;
  /** A request carried the worker kits' "I confirm my pauses" header (see `./worker-header.ts`). */
  workerSaysItConfirms?(): void;
}

/** Options for {@link createLocalApi}. */
export interface LocalApiOptions extends ServerOptions {
  /** Interval of SSE keep-alive comments on `GET /leader?watch=1`; 15 s unless a test needs it shorter. */
  keepAliveMs?: number;
}

/** The setting that names the local API's address, for error messages. */
export const LOCAL_API_SETTING = 'BATON_LISTEN';

/**
 * Builds the local API (not yet listening): `GET /leader`, `GET /leader?watch=1`, `GET /healthz`,
 * `GET /readyz`, `POST /paused`. Start it with `listen()` from `./listen.ts`, which refuses any address
 * but loopback for this instance.
 */
export function createLocalApi(deps: LocalApiDeps, options: LocalApiOptions): FastifyInstance {
  const app = createServer(options);
  requireLoopback(app, LOCAL_API_SETTING);
  registerLeaderRoutes(app, deps, { keepAliveMs: options.keepAliveMs ?? 15_000 });
  registerProbeRoutes(app, deps);
  registerPausedRoute(app, deps);
  return app;
}
