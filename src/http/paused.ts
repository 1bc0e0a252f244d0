// `POST /paused`: the worker confirms that it stopped polling, so a handoff need not wait a fixed drain time.
import { STATUS_CODES } from 'node:http';
import type { FastifyError, FastifyInstance, FastifyRequest } from 'fastify';
import type { LeaderStatus, PauseConfirmation } from '../status.ts';
import { noteWorkerConfirms } from './worker-header.ts';

/** What the route calls. */
export interface PausedDeps {
  status(): LeaderStatus;
  confirmPause(id: number): PauseConfirmation;
  /** A request carried the worker kits' "I confirm my pauses" header. */
  workerSaysItConfirms?(): void;
}

/** Shown in every 400, so a worker's author sees what to send. */
export const EXPECTED_PAUSE_BODY =
  'expected a JSON body {"pause": <non-negative integer>} with the pause.id read from GET /leader, ' + 'or an empty POST to /paused?pause=<n>';

type Parsed = { id: number } | { problem: string };
/** fastify's default JSON parser is callback-style (the first form of its `FastifyBodyParser` union). */
type JsonParser = (request: FastifyRequest, body: string, done: (err: Error | null, body?: unknown) => void) => void;

/** Registers `POST /paused` in its own scope, so its lenient body parsers apply to no other route. */
export function registerPausedRoute(app: FastifyInstance, deps: PausedDeps): void {
  void app.register(async (scope) => {
    // An empty body is allowed whatever its content type (`curl -X POST` or `curl -d ''` with ?pause=N).
    // fastify's own parser otherwise, for its prototype-poisoning protection.
    const json = scope.getDefaultJsonParser('error', 'error') as JsonParser;
    scope.removeContentTypeParser('application/json');
    scope.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
      const text = body.toString();
      if (text === '') done(null, undefined);
      else json(request, text, done);
    });
    scope.addContentTypeParser('*', { parseAs: 'string' }, (_request, body, done) => {
      if (body.length === 0) done(null, undefined);
      else done(Object.assign(new Error('the body is not application/json'), { statusCode: 400 }), undefined);
    });
    scope.setErrorHandler((error: FastifyError, request, reply) => {
      const code = error.statusCode ?? 500;
      if (code >= 500) {
        request.log.error({ err: error }, 'POST /paused failed');
        return reply.code(500).send({ error: 'Internal Server Error', message: 'confirming the pause failed; see the sidecar log' });
      }
      return reply.code(code).send({ error: STATUS_CODES[code] ?? 'Bad Request', message: `${error.message}: ${EXPECTED_PAUSE_BODY}` });
    });

    scope.post('/paused', async (request, reply) => {
      noteWorkerConfirms(request, deps);
      const parsed = parsePauseId(request.body, request.query);
      if ('problem' in parsed) {
        return reply.code(400).send({ error: 'Bad Request', message: `${parsed.problem}: ${EXPECTED_PAUSE_BODY}` });
      }
      const result = deps.confirmPause(parsed.id);
      if (result === 'accepted' || result === 'duplicate') return { result };
      const message = explain(result, parsed.id, deps.status().pause.id);
      request.log.warn({ pause: parsed.id, result }, `ignored a pause confirmation: ${message}`);
      return reply.code(409).send({ result, message });
    });
  });
}

/** Takes the id from a JSON body, or from `?pause=` when there is no body. */
function parsePauseId(body: unknown, query: unknown): Parsed {
  if (body === undefined || body === '') {
    const raw = (query as { pause?: unknown } | undefined)?.pause;
    if (raw === undefined) return { problem: 'no pause id was given' };
    if (typeof raw !== 'string' || !/^\d+$/.test(raw)) return { problem: `?pause=${JSON.stringify(raw)} is not a non-negative integer` };
    return checked(Number(raw), raw);
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return { problem: 'the body is not a JSON object' };
  if (!('pause' in body)) return { problem: 'the body has no "pause" field' };
  const value = body.pause;
  if (typeof value !== 'number') return { problem: `"pause" is ${JSON.stringify(value)}, not a number` };
  return checked(value, JSON.stringify(value));
}

function checked(id: number, shown: string): Parsed {
  return Number.isSafeInteger(id) && id >= 0 ? { id } : { problem: `pause ${shown} is not a non-negative integer` };
}

function explain(result: 'stale' | 'early' | 'not-paused', id: number, latest: number): string {
  switch (result) {
    case 'stale':
      return `pause ${id} is older than the latest pause ${latest}; confirm the pause.id that GET /leader shows now`;
    case 'early':
      return `pause ${id} has not been sent yet (the latest is ${latest}); a confirmation ahead of the signal is not taken as a drain`;
    case 'not-paused':
      return `no pause is waiting for confirmation (the worker's current instruction is to run, or none was sent); pause ${id} is ignored`;
  }
}
