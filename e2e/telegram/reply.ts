// Bot API response bodies and the one operation every method needs: answer a pending call once.
import type { CallInfo } from './accounting.ts';

/** `{"ok":true,"result":...}`, with the optional `description` the server adds to some answers. */
export interface ApiSuccess {
  readonly ok: true;
  readonly result: unknown;
  readonly description?: string;
}

/** `{"ok":false,"error_code":N,"description":"..."}`, sent with HTTP status N. */
export interface ApiFailure {
  readonly ok: false;
  readonly error_code: number;
  readonly description: string;
  readonly parameters?: { readonly retry_after?: number };
}

/** Either Bot API answer. */
export type ApiReply = ApiSuccess | ApiFailure;

/** A request waiting for its answer; getUpdates may keep one for up to 50 s. */
export interface PendingCall extends CallInfo {
  /**
   * Sends the answer, then calls `settled(written)`: `written` is true only if it went to a live
   * connection. A client that went away gets nothing, and what it would have got must not count
   * as delivered. A second call is ignored (settles with false).
   */
  send(reply: ApiReply, settled?: (written: boolean) => void): void;
}

/** A success reply. */
export function ok(result: unknown, description?: string): ApiSuccess {
  return description === undefined ? { ok: true, result } : { ok: true, result, description };
}

/** An error reply; `description` is the server's full text (e.g. "Bad Request: ..."). */
export function fail(code: number, description: string, retryAfter?: number): ApiFailure {
  const base = { ok: false as const, error_code: code, description };
  return retryAfter === undefined ? base : { ...base, parameters: { retry_after: retryAfter } };
}

/** The identifying part of a call, without its `send`, for the ledger. */
export function callInfo(call: CallInfo): CallInfo {
  return { requestId: call.requestId, client: call.client, token: call.token };
}
