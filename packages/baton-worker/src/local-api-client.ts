// The worker's side of baton's local API: GET /leader (and its watch stream) and POST /paused on loopback.
import type { LeaderStatus, PauseConfirmation } from './status.ts';

/** Where the sidecar's local API is: `BATON_URL`, else baton's default `http://127.0.0.1:4040`. */
export function defaultBatonUrl(env: Record<string, string | undefined> = process.env): string {
  return (env.BATON_URL || 'http://127.0.0.1:4040').replace(/\/+$/, '');
}

/**
 * The header a worker sends with every request to say it confirms its pauses. The sidecar learns it
 * from any request, so a sidecar that restarted knows at the worker's next poll (within a second).
 */
export const CONFIRMS_HEADER = 'baton-worker-confirms';

/** A client of the sidecar's local API. */
export class LocalApiClient {
  /** The base URL, without a trailing slash. */
  readonly url: string;
  private readonly timeoutMs: number;
  private readonly headers: Record<string, string>;

  /**
   * @param url - the local API's base URL
   * @param timeoutMs - per-request timeout
   * @param confirms - whether this worker confirms its pauses (sent as {@link CONFIRMS_HEADER})
   */
  constructor(url: string, timeoutMs = 2000, confirms = true) {
    this.url = url.replace(/\/+$/, '');
    this.timeoutMs = timeoutMs;
    this.headers = confirms ? { [CONFIRMS_HEADER]: '1' } : {};
  }

  /** The sidecar's view; throws when it cannot be reached (within `timeoutMs`, default the client's). */
  async leader(timeoutMs = this.timeoutMs): Promise<LeaderStatus> {
    const res = await fetch(`${this.url}/leader`, { headers: this.headers, signal: AbortSignal.timeout(timeoutMs) });
    if (!res.ok) throw new Error(`GET ${this.url}/leader answered ${res.status}`);
    return (await res.json()) as LeaderStatus;
  }

  /**
   * Follows `GET /leader?watch=1` (Server-Sent Events): calls `onStatus` with the status at once and with
   * every change the sidecar publishes, until the stream ends (resolves) or `signal` aborts; throws when
   * the stream cannot be opened.
   */
  async watch(onStatus: (status: LeaderStatus) => void, signal: AbortSignal): Promise<void> {
    const res = await fetch(`${this.url}/leader?watch=1`, { headers: { ...this.headers, accept: 'text/event-stream' }, signal });
    if (!res.ok || !res.body) throw new Error(`GET ${this.url}/leader?watch=1 answered ${res.status}`);
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    const decoder = new TextDecoder();
    let buffer = '';
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      buffer += decoder.decode(value, { stream: true }).replace(/\r\n?/g, '\n');
      // One event per blank-line-terminated block; `: keep-alive` comments carry no data.
      for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
        const data = buffer
          .slice(0, end)
          .split('\n')
          .filter((l) => l.startsWith('data:'))
          .map((l) => l.slice(5).replace(/^ /, ''))
          .join('\n');
        buffer = buffer.slice(end + 2);
        if (data !== '') onStatus(JSON.parse(data) as LeaderStatus);
      }
    }
  }

  /** Confirms pause `id`: only `accepted` (or `duplicate`) means the sidecar took it. */
  async paused(id: number): Promise<PauseConfirmation> {
    const res = await fetch(`${this.url}/paused`, {
      method: 'POST',
      headers: { ...this.headers, 'content-type': 'application/json' },
      body: JSON.stringify({ pause: id }),
      signal: AbortSignal.timeout(this.timeoutMs),
    });
    const body = (await res.json().catch(() => ({}))) as { result?: PauseConfirmation };
    if (!body.result) throw new Error(`POST ${this.url}/paused answered ${res.status} without a result`);
    return body.result;
  }
}
