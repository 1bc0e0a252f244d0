// `GET /leader` (the status as JSON) and `GET /leader?watch=1` (the status, then every change, as SSE).
import type { FastifyInstance } from 'fastify';
import type { LeaderStatus } from '../status.ts';
import { openEventStream, type EventStream } from './sse.ts';
import { noteWorkerConfirms } from './worker-header.ts';

/** What the leader routes read. */
export interface LeaderDeps {
  status(): LeaderStatus;
  /** Calls `listener` on every change of status; returns the function that removes it. */
  subscribe(listener: (status: LeaderStatus) => void): () => void;
  /** A request carried the worker kits' "I confirm my pauses" header. */
  workerSaysItConfirms?(): void;
}

/** Options for {@link registerLeaderRoutes}. */
export interface LeaderRouteOptions {
  /** Interval of SSE keep-alive comments. */
  keepAliveMs: number;
}

/**
 * Registers `GET /leader`. Open watch streams are ended in a `preClose` hook, so that `close()` does
 * not wait for clients that never hang up.
 */
export function registerLeaderRoutes(app: FastifyInstance, deps: LeaderDeps, options: LeaderRouteOptions): void {
  const streams = new Set<EventStream>();
  app.addHook('preClose', async () => {
    for (const stream of streams) stream.end();
  });

  app.get('/leader', async (request, reply) => {
    noteWorkerConfirms(request, deps);
    const { watch } = request.query as { watch?: unknown };
    // Read before hijacking, so a failing status() is an ordinary 500 rather than a broken stream.
    const initial = deps.status();
    if (watch !== '1' && watch !== 'true') return initial;

    let last = '';
    let unsubscribe = (): void => {};
    const stream = openEventStream(reply, {
      keepAliveMs: options.keepAliveMs,
      onClose: () => {
        streams.delete(stream);
        unsubscribe();
      },
    });
    streams.add(stream);
    const send = (status: LeaderStatus): void => {
      const data = JSON.stringify(status);
      // One event per change: a repeated notification with nothing new is not a change.
      if (data === last) return;
      last = data;
      stream.send('leader', data);
    };
    send(initial);
    // Subscribing in the same tick as reading `initial` means no change can fall in between.
    unsubscribe = deps.subscribe(send);
    // The client may have gone while we subscribed; onClose then ran with the no-op above.
    if (stream.closed) unsubscribe();
    return reply;
  });
}
