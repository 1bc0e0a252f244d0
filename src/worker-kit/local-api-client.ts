// The worker's side of baton's local API: GET /leader and POST /paused on loopback.
import type { LeaderStatus, PauseConfirmation } from '../status.ts';

/** Where the sidecar's local API is: `BATON_URL`, else baton's default `http://127.0.0.1:4040`. */
export function defaultBatonUrl(env: NodeJS.ProcessEnv = process.env): string {
  return (env.BATON_URL ?? 'http://127.0.0.1:4040').replace(/\/+$/, '');
}

export class LocalApiClient {
  readonly url: string;
  private readonly timeoutMs: number;

  constructor(url: string, timeoutMs = 2000) {
    this.url = url;
    this.timeoutMs = timeoutMs;
  }

  /** The sidecar's view; throws when it cannot be reached. */
  async leader(): Promise<LeaderStatus> {
    const res = await fetch(`${this.url}/leader`, { signal: AbortSignal.timeout(this.timeoutMs) });
    if (!res.ok) throw new Error(`GET ${this.url}/leader answered ${res.status}`);
    return (await res.json()) as LeaderStatus;
  }

  /** Confirms pause `id`: only `accepted` (or `duplicate`) means the sidecar took it. */
  async paused(id: number): Promise<PauseConfirmation> {
    const res = await fetch(`${this.url}/paused`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ pause: id }),
      signal: AbortSignal.timeout(this.timeoutMs),
    });
    const body = (await res.json().catch(() => ({}))) as { result?: PauseConfirmation };
    if (!body.result) throw new Error(`POST ${this.url}/paused answered ${res.status} without a result`);
    return body.result;
  }
}
