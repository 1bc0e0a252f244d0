// A minimal Server-Sent Events writer on fastify's raw response: baton sends one small event per
// leadership change, so a plugin would add more than it saves.
import type { FastifyReply } from 'fastify';

/** Headers that keep proxies (nginx's `x-accel-buffering`) and clients from buffering or caching events. */
export const SSE_HEADERS: Readonly<Record<string, string>> = {
  'content-type': 'text/event-stream',
  'cache-control': 'no-cache',
  connection: 'keep-alive',
  'x-accel-buffering': 'no',
};

/** An open event stream. */
export interface EventStream {
  /** Sends one event; a no-op once the stream has closed. */
  send(event: string, data: string): void;
  /** Ends the response (the client sees the end of the stream). */
  end(): void;
  /** True once the client has gone or {@link EventStream.end} was called. */
  readonly closed: boolean;
}

/** Options for {@link openEventStream}. */
export interface EventStreamOptions {
  /** Interval of `: keep-alive` comments, which stop idle proxies and load balancers from cutting the stream. */
  keepAliveMs: number;
  /** Called once when the stream closes, for whatever reason: release subscriptions here. */
  onClose(): void;
}

/**
 * Takes over the reply (`reply.hijack()`), writes the SSE headers and returns a writer. The caller
 * must end the stream when the server closes, or `close()` waits for the client.
 */
export function openEventStream(reply: FastifyReply, options: EventStreamOptions): EventStream {
  reply.hijack();
  const res = reply.raw;
  res.writeHead(200, SSE_HEADERS);
  let closed = false;

  const write = (chunk: string): void => {
    if (closed || res.writableEnded || res.destroyed) return;
    // A write alone is corked until the next tick. The sidecar's next step after a publish is often the
    // start signal, then the label and Events (TLS work): the event must reach the worker first, or its kit
    // reads /leader before it may start (F1) — milliseconds in every handoff's gap. An uncork of our own
    // cork sends it now (an unpaired uncork would leave the response corked for good).
    res.cork();
    res.write(chunk);
    res.uncork();
  };
  const keepAlive = setInterval(() => write(': keep-alive\n\n'), options.keepAliveMs);
  const cleanup = (): void => {
    if (closed) return;
    closed = true;
    clearInterval(keepAlive);
    options.onClose();
  };
  // 'close' fires when the client goes away and after we end the response; 'error' must not go unhandled.
  res.on('close', cleanup);
  res.on('error', cleanup);

  return {
    send(event: string, data: string): void {
      // A line break inside data would end the field early: each line needs its own `data:`.
      write(
        `event: ${event}\n${data
          .split(/\r\n|\r|\n/)
          .map((line) => `data: ${line}\n`)
          .join('')}\n`,
      );
    },
    end(): void {
      cleanup();
      if (!res.writableEnded) res.end();
    },
    get closed(): boolean {
      return closed;
    },
  };
}
