// A small REST client for the few calls baton makes, on node:http(s) with a keep-alive agent.
// @kubernetes/client-node is used for types only: its runtime import costs ~90 MB RSS.
import { Agent as HttpAgent, request as httpRequest, type ClientRequest, type IncomingMessage, type RequestOptions } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { StringDecoder } from 'node:string_decoder';
import type { KubeConnection } from './connection.ts';
import { KubeApiError, KubeTransportError, type CallTarget } from './errors.ts';

/** Called once per request for metrics: `code` is the HTTP status, or `timeout`/`error` when none came. */
export type RequestHook = (verb: string, resource: string, code: string, seconds: number) => void;

/** A query parameter; `undefined` leaves it out. */
export type QueryValue = string | number | boolean | undefined;

/** One request/response call. */
export interface KubeRequest {
  verb: string;
  resource: string;
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** Absolute API path, e.g. `/apis/coordination.k8s.io/v1/namespaces/ns/leases/name`. */
  path: string;
  query?: Record<string, QueryValue>;
  /** Serialised as JSON unless it is a string already. */
  body?: unknown;
  /** Default `application/json`; patches must name their type (`application/merge-patch+json`). */
  contentType?: string;
  /** Bound for the whole exchange, headers and body. */
  timeoutMs: number;
  signal?: AbortSignal;
}

/** A watch: a long GET streaming newline-delimited `{type, object}` JSON. */
export interface WatchRequest {
  verb: 'watch';
  resource: string;
  path: string;
  query?: Record<string, QueryValue>;
  signal?: AbortSignal;
  /** Called synchronously for every event; throwing ends the watch with that error. */
  onEvent: (type: string, object: unknown) => void;
  /**
   * Aborts the watch when no byte arrives for this long: a half-open connection otherwise waits forever.
   * Choose it above the server's silence: with `allowWatchBookmarks` a bookmark comes about every minute,
   * and the stream ends at `timeoutSeconds` (see `watchIdleTimeoutMs`).
   */
  idleTimeoutMs: number;
  /** Bound until the response headers arrive (default 10 s). */
  connectTimeoutMs?: number;
  /** Called on the response headers and on every chunk: proof the API server is reachable. */
  onActivity?: () => void;
}

/** Options of `KubeClient`. */
export interface KubeClientOptions {
  onRequest?: RequestHook;
  userAgent?: string;
}

/** Idle free sockets are closed before the API server's own idle timeout (90 s) can race a reuse. */
const FREE_SOCKET_TIMEOUT_MS = 30_000;

/** The REST client: JSON requests and watches against one API server. */
export class KubeClient {
  readonly connection: KubeConnection;
  /** Metrics hook; may be set after construction. Exceptions from it are ignored. */
  onRequest: RequestHook | undefined;
  private readonly userAgent: string;
  private readonly agent: HttpAgent;
  private readonly send: typeof httpRequest;
  private readonly base: URL;

  constructor(connection: KubeConnection, options: KubeClientOptions = {}) {
    this.connection = connection;
    this.onRequest = options.onRequest;
    this.userAgent = options.userAgent ?? 'baton';
    this.base = new URL(connection.server);
    const secure = this.base.protocol === 'https:';
    const agentOptions = {
      keepAlive: true,
      maxFreeSockets: 4,
      timeout: FREE_SOCKET_TIMEOUT_MS,
      ...(secure ? connection.tls : {}),
    };
    this.agent = secure ? new HttpsAgent(agentOptions) : new HttpAgent(agentOptions);
    this.send = secure ? httpsRequest : httpRequest;
  }

  /** Sends one request and returns the parsed JSON body. Non-2xx → `KubeApiError`; no answer → `KubeTransportError`. */
  async request<T>(req: KubeRequest): Promise<T> {
    const target = targetOf(req.verb, req.resource, req.path, req.query);
    const started = performance.now();
    const deadline = new Deadline(req.signal);
    deadline.arm(req.timeoutMs, () => new KubeTransportError(target, 'timeout', `no answer within ${req.timeoutMs} ms`));
    let status: number;
    let text: string;
    try {
      const res = await this.open(req.method, req.path, req.query, req.body, req.contentType, deadline.signal);
      status = res.statusCode ?? 0;
      text = await readText(res);
    } catch (err) {
      const error = transportError(target, err, req.signal);
      this.report(req.verb, req.resource, error.code === 'timeout' ? 'timeout' : 'error', started);
      throw error;
    } finally {
      deadline.dispose();
    }
    this.report(req.verb, req.resource, String(status), started);
    if (status < 200 || status > 299) throw apiError(target, status, text);
    return (text === '' ? undefined : JSON.parse(text)) as T;
  }

  /**
   * Runs a watch until the server ends it (resolves) or it fails (rejects: `KubeApiError` for a non-2xx answer
   * such as 410 Gone, `KubeTransportError` for timeouts and broken connections). The metrics hook sees the
   * status when the headers arrive, with the time to them: a watch's full duration is not a latency.
   */
  async watch(req: WatchRequest): Promise<void> {
    const target = targetOf(req.verb, req.resource, req.path, req.query);
    const started = performance.now();
    const deadline = new Deadline(req.signal);
    const connectMs = req.connectTimeoutMs ?? 10_000;
    deadline.arm(connectMs, () => new KubeTransportError(target, 'timeout', `no response headers within ${connectMs} ms`));
    let reported = false;
    let consumerError: { err: unknown } | undefined;
    try {
      const res = await this.open('GET', req.path, { ...req.query, watch: true }, undefined, undefined, deadline.signal);
      const status = res.statusCode ?? 0;
      if (status < 200 || status > 299) {
        const text = await readText(res);
        reported = true;
        this.report(req.verb, req.resource, String(status), started);
        throw apiError(target, status, text);
      }
      reported = true;
      this.report(req.verb, req.resource, String(status), started);
      const idle = (): void => {
        deadline.arm(
          req.idleTimeoutMs,
          () => new KubeTransportError(target, 'timeout', `watch was silent for ${req.idleTimeoutMs} ms (half-open connection?)`),
        );
        req.onActivity?.();
      };
      idle();
      await readLines(res, idle, (line) => {
        const event = JSON.parse(line) as { type?: unknown; object?: unknown };
        try {
          req.onEvent(String(event.type), event.object);
        } catch (err) {
          consumerError = { err };
          throw err;
        }
      });
    } catch (err) {
      // The consumer's own error (e.g. an ERROR event it turned into "expired") reaches it unchanged.
      if (err instanceof KubeApiError || (consumerError && consumerError.err === err)) throw err;
      const error = transportError(target, err, req.signal);
      if (!reported) this.report(req.verb, req.resource, error.code === 'timeout' ? 'timeout' : 'error', started);
      throw error;
    } finally {
      deadline.dispose();
    }
  }

  /** Closes pooled connections (open watches end with an error). */
  close(): void {
    this.agent.destroy();
  }

  private report(verb: string, resource: string, code: string, started: number): void {
    try {
      this.onRequest?.(verb, resource, code, (performance.now() - started) / 1000);
    } catch {
      // a metrics bug must not break the API call
    }
  }

  private async open(
    method: string,
    path: string,
    query: Record<string, QueryValue> | undefined,
    body: unknown,
    contentType: string | undefined,
    signal: AbortSignal,
  ): Promise<IncomingMessage> {
    const url = new URL(this.base.pathname.replace(/\/$/, '') + path, this.base);
    for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined) url.searchParams.set(k, String(v));
    const payload = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
    const options: RequestOptions = {
      method,
      agent: this.agent,
      // 0 lifts the agent's free-socket timeout from active sockets: a watch may be silent for a minute.
      timeout: 0,
      headers: {
        accept: 'application/json',
        'user-agent': this.userAgent,
        ...(payload === undefined ? {} : { 'content-type': contentType ?? 'application/json', 'content-length': Buffer.byteLength(payload) }),
      },
    };
    await this.connection.authenticate(options);
    signal.throwIfAborted();
    return new Promise<IncomingMessage>((resolve, reject) => {
      let res: IncomingMessage | undefined;
      const req: ClientRequest = this.send(url, options, (response) => {
        res = response;
        response.once('close', () => signal.removeEventListener('abort', onAbort));
        resolve(response);
      });
      const onAbort = (): void => {
        // Destroying both ends fails whichever of them is still being read with the abort reason.
        const reason = signal.reason as Error;
        res?.destroy(reason);
        req.destroy(reason);
        reject(reason);
      };
      signal.addEventListener('abort', onAbort, { once: true });
      req.on('error', (err) => {
        signal.removeEventListener('abort', onAbort);
        reject(err);
      });
      req.end(payload);
    });
  }
}

/**
 * The idle timeout for a watch with `timeoutSeconds`: past the server's longest expected silence (the end of the
 * watch, or a bookmark about every minute), plus slack.
 */
export function watchIdleTimeoutMs(timeoutSeconds: number): number {
  return (Math.min(timeoutSeconds, 60) + 15) * 1000;
}

/** One abort signal for a request: the caller's signal plus a re-armable timer; no listeners left behind. */
class Deadline {
  private readonly controller = new AbortController();
  private readonly caller: AbortSignal | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly onCaller = (): void => this.controller.abort(this.caller?.reason);

  constructor(caller: AbortSignal | undefined) {
    this.caller = caller;
    if (caller?.aborted) this.controller.abort(caller.reason);
    else caller?.addEventListener('abort', this.onCaller, { once: true });
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  arm(ms: number, reason: () => Error): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.controller.abort(reason()), ms);
  }

  dispose(): void {
    clearTimeout(this.timer);
    this.caller?.removeEventListener('abort', this.onCaller);
  }
}

function readText(res: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    res.on('data', (c: Buffer) => chunks.push(c));
    res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    res.on('error', reject);
    res.on('close', () => {
      if (!res.complete) reject(new Error('connection closed before the response was complete'));
    });
  });
}

/** Splits a response into lines (chunks may end mid-line or mid-character) and hands each non-empty one over. */
function readLines(res: IncomingMessage, onChunk: () => void, onLine: (line: string) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const decoder = new StringDecoder('utf8');
    let pending = '';
    let failed = false;
    const fail = (err: unknown): void => {
      if (failed) return;
      failed = true;
      res.destroy();
      reject(err instanceof Error ? err : new Error(String(err)));
    };
    const drain = (text: string): void => {
      pending += text;
      let nl: number;
      while (!failed && (nl = pending.indexOf('\n')) >= 0) {
        const line = pending.slice(0, nl).trim();
        pending = pending.slice(nl + 1);
        if (line !== '') onLine(line);
      }
    };
    res.on('data', (chunk: Buffer) => {
      try {
        onChunk();
        drain(decoder.write(chunk));
      } catch (err) {
        fail(err);
      }
    });
    res.on('end', () => {
      try {
        drain(`${decoder.end()}\n`);
        if (!failed) resolve();
      } catch (err) {
        fail(err);
      }
    });
    res.on('error', fail);
    res.on('close', () => {
      if (!res.complete) fail(new Error('watch connection closed before the server ended the stream'));
    });
  });
}

function targetOf(verb: string, resource: string, path: string, query?: Record<string, QueryValue>): CallTarget {
  const m = /\/namespaces\/([^/]+)(?:\/[^/]+\/([^/]+))?/.exec(path);
  const selected = /(?:^|,)metadata\.name=([^,]+)/.exec(String(query?.fieldSelector ?? ''));
  return { verb, resource, namespace: m?.[1], name: m?.[2] ?? selected?.[1] };
}

function apiError(target: CallTarget, status: number, text: string): KubeApiError {
  let reason = '';
  let message = text.trim().slice(0, 500);
  try {
    const s = JSON.parse(text) as { kind?: string; reason?: unknown; message?: unknown };
    if (s.kind === 'Status') {
      reason = typeof s.reason === 'string' ? s.reason : '';
      message = typeof s.message === 'string' ? s.message : message;
    }
  } catch {
    // not JSON (a proxy's error page): keep the text
  }
  return new KubeApiError(target, status, reason, message);
}

function transportError(target: CallTarget, err: unknown, caller: AbortSignal | undefined): KubeTransportError {
  if (err instanceof KubeTransportError) return err;
  if (caller?.aborted && err === caller.reason) {
    // A caller's AbortSignal.timeout is a timeout for metrics and for the caller's error handling.
    const timedOut = (err as Error | undefined)?.name === 'TimeoutError';
    return new KubeTransportError(target, timedOut ? 'timeout' : 'aborted', timedOut ? 'timed out (caller deadline)' : 'aborted by the caller', err);
  }
  const e = err as NodeJS.ErrnoException;
  return new KubeTransportError(target, 'error', e?.code ? `${e.code} ${e.message}` : String(e?.message ?? err), err);
}
