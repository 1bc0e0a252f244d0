// A PendingCall backed by a node:http response. The point of this class is the `written`
// answer: a client that disconnected while its poll was parked leaves the poll on the server
// (as Telegram does), and whatever that poll is finally answered with reaches nobody.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { CallInfo } from './accounting.ts';
import type { ApiReply, PendingCall } from './reply.ts';

/** Writes a JSON body with the given status. */
export function writeJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/** One HTTP request waiting for its Bot API answer. */
export class HttpCall implements PendingCall {
  readonly requestId: number;
  readonly client: string;
  readonly token: string;
  readonly #req: IncomingMessage;
  readonly #res: ServerResponse;
  #clientGone = false;
  #answered = false;

  constructor(info: CallInfo, req: IncomingMessage, res: ServerResponse) {
    this.requestId = info.requestId;
    this.client = info.client;
    this.token = info.token;
    this.#req = req;
    this.#res = res;
    // Deliberately no cancellation here: the poll stays parked; we only remember that
    // nobody is listening any more.
    res.on('close', () => {
      if (!res.writableEnded) this.#clientGone = true;
    });
  }

  send(reply: ApiReply, settled?: (written: boolean) => void): void {
    if (this.#answered) {
      settled?.(false);
      return;
    }
    this.#answered = true;
    // Write only after one more poll phase of the event loop. A framework that stops aborts
    // its parked poll and at once sends another request, which may evict the aborted one: the
    // abort's EOF is already queued on the old socket, but libuv may read it one loop turn
    // later than the new request. Waiting a turn lets it be read, so an answer meant for a client
    // that had already hung up is not counted as seen or delivered.
    setImmediate(() =>
      setImmediate(() => {
        const written = this.alive();
        if (written) writeJson(this.#res, reply.ok ? 200 : reply.error_code, reply);
        settled?.(written);
      }),
    );
  }

  /** Whether the client is still connected and waiting. */
  alive(): boolean {
    const socket = this.#req.socket;
    return !this.#clientGone && !this.#res.destroyed && !this.#res.writableEnded && !socket.destroyed && socket.writable && !socket.readableEnded;
  }
}
