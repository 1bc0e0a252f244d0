// The test hooks over HTTP (`/__double/...`), for a double running in another process or pod.
// Each route is a thin wrapper around a TelegramDouble method; answers use the Bot API's own
// `{ok, result}` envelope so the same client code can read both.
import type { Params } from './params.ts';
import { fail, ok, type ApiReply } from './reply.ts';
import type { TelegramDouble } from './server.ts';
import type { UpdateBody } from './updates.ts';

/** Routes under `/__double/`, for the README and the 404 text. */
export const HOOK_ROUTES: readonly string[] = [
  'health',
  'inject',
  'queue',
  'conflicts',
  'conflict-log',
  'deliveries',
  'requests',
  'injected',
  'sent',
  'stats',
  'load',
  'load/stop',
  'reset',
];

/** Answers one hook request; `path` is what follows `/__double/`. */
export async function handleHook(double: TelegramDouble, path: readonly string[], params: Params): Promise<ApiReply> {
  const token = params.get('token') || undefined;
  const byToken = token === undefined ? {} : { token };
  switch (path.join('/')) {
    case 'health':
      return ok({ tokens: double.tokens() });
    case 'inject':
      return inject(double, params, byToken);
    case 'queue':
      return ok(double.queue(byToken));
    case 'conflicts':
      return ok(double.conflicts(byToken));
    case 'conflict-log':
      return ok(double.conflictLog());
    case 'deliveries':
      return ok(double.deliveries());
    case 'requests':
      return ok(double.requests());
    case 'injected':
      return ok(double.injected());
    case 'sent':
      return ok(double.sentMessages());
    case 'stats': {
      const before = params.get('before');
      return ok(double.stats({ ...byToken, ...(before ? { before: Number(before) } : {}) }));
    }
    case 'load': {
      const rate = Number(params.get('rate') ?? params.get('rate_per_second'));
      const duration = params.get('duration_ms');
      if (!(rate > 0)) return fail(400, 'Bad Request: rate must be > 0');
      double.startLoad({ ratePerSecond: rate, ...byToken, ...(duration ? { durationMs: Number(duration) } : {}) });
      return ok(true);
    }
    case 'load/stop':
      return ok({ injected: await double.stopLoad() });
    case 'reset':
      double.resetLog();
      return ok(true);
    default:
      return fail(404, `Not Found: test hook not found (have: ${HOOK_ROUTES.join(', ')})`);
  }
}

function inject(double: TelegramDouble, params: Params, byToken: { token?: string }): ApiReply {
  const rawUpdate = params.get('update');
  let update: UpdateBody | string;
  if (rawUpdate !== undefined) {
    try {
      update = JSON.parse(rawUpdate) as UpdateBody;
    } catch {
      return fail(400, "Bad Request: can't parse update JSON object");
    }
  } else {
    update = params.get('text') ?? 'hello';
  }
  try {
    return ok({ update_id: double.inject(update, byToken) });
  } catch (error) {
    return fail(400, `Bad Request: ${(error as Error).message}`);
  }
}
