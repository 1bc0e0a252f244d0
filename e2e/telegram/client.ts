// A bare Bot API caller for tests of the double (and of anything talking to it): one function,
// every parameter encoding the real API accepts, and the raw status and body back — frameworks
// hide exactly the details (409 texts, timing) that the tests need to see.

/** How parameters travel. */
export type Encoding = 'json' | 'query' | 'urlencoded' | 'multipart';

/** Options of {@link callBotApi}. */
export interface CallOptions {
  /** Default 'json' (POST); 'query' uses GET. */
  readonly encoding?: Encoding;
  /** Sent as the `X-Baton-Client` header. */
  readonly client?: string;
  /** Inserted before `/bot<token>`: `/<prefix>/bot<token>/<method>`. */
  readonly prefix?: string;
  readonly signal?: AbortSignal;
}

/** The raw answer. */
export interface CallResult {
  readonly status: number;
  readonly body: {
    readonly ok: boolean;
    readonly result?: unknown;
    readonly error_code?: number;
    readonly description?: string;
    readonly parameters?: { readonly retry_after?: number };
  };
  /** ms from sending to the parsed answer. */
  readonly elapsedMs: number;
}

function asText(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  return JSON.stringify(value) ?? '';
}

/** Calls `method` on the Bot API at `apiRoot` with `params` in the chosen encoding. */
export async function callBotApi(
  apiRoot: string,
  token: string,
  method: string,
  params: Readonly<Record<string, unknown>> = {},
  opts: CallOptions = {},
): Promise<CallResult> {
  const encoding = opts.encoding ?? 'json';
  const prefix = opts.prefix === undefined ? '' : `/${opts.prefix}`;
  const url = new URL(`${apiRoot}${prefix}/bot${token}/${method}`);
  const headers: Record<string, string> = {};
  if (opts.client !== undefined) headers['x-baton-client'] = opts.client;
  const entries = Object.entries(params).filter(([, v]) => v !== undefined);
  let body: string | FormData | undefined;
  if (encoding === 'query') {
    for (const [k, v] of entries) url.searchParams.set(k, asText(v));
  } else if (encoding === 'json') {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(Object.fromEntries(entries));
  } else if (encoding === 'urlencoded') {
    headers['content-type'] = 'application/x-www-form-urlencoded';
    body = new URLSearchParams(entries.map(([k, v]): [string, string] => [k, asText(v)])).toString();
  } else {
    const form = new FormData();
    for (const [k, v] of entries) form.set(k, asText(v));
    body = form;
  }
  const started = performance.now();
  const init: RequestInit = { method: encoding === 'query' ? 'GET' : 'POST', headers };
  if (body !== undefined) init.body = body;
  if (opts.signal !== undefined) init.signal = opts.signal;
  const res = await fetch(url, init);
  const parsed = (await res.json()) as CallResult['body'];
  return { status: res.status, body: parsed, elapsedMs: performance.now() - started };
}
