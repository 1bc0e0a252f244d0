// GET /leader?watch=1 over a real socket: headers, the initial event, changes, keep-alives, and the
// subscription released when the client goes away or the server closes.
import { get, type ClientRequest, type IncomingMessage } from 'node:http';
import { once } from 'node:events';
import type { Socket } from 'node:net';
import { pino } from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { createLocalApi, type LocalApiDeps } from '../../../src/http/local-api.ts';
import { listen } from '../../../src/http/listen.ts';
import type { LeaderStatus } from '../../../src/status.ts';

const logger = pino({ level: 'silent' });

function leaderStatus(over: Partial<LeaderStatus> = {}): LeaderStatus {
  return {
    identity: 'pod-b',
    isLeader: false,
    holder: 'pod-a',
    epoch: 3,
    since: '2026-11-23T12:00:00.000000Z',
    renewedAt: '2026-11-23T12:00:10.000000Z',
    lease: { name: 'bot', namespace: 'default' },
    pause: { id: 0, sentAt: null, confirmedAt: null },
    handingOver: false,
    ...over,
  };
}

/** A status source with real subscriptions, so a test can count them and publish changes. */
function statusSource() {
  let current = leaderStatus();
  const listeners = new Set<(s: LeaderStatus) => void>();
  const deps: LocalApiDeps = {
    status: () => current,
    subscribe: (listener) => {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    readiness: () => ({ ready: true, missing: [] }),
    health: () => ({ healthy: true }),
    confirmPause: () => 'accepted',
  };
  const publish = (next: LeaderStatus): void => {
    current = next;
    for (const l of listeners) l(next);
  };
  return { deps, listeners, publish };
}

/** Reads an SSE response and splits it into events and comments as they arrive. */
function sseReader(res: IncomingMessage) {
  const events: Array<{ event: string; data: unknown }> = [];
  const comments: string[] = [];
  let buffer = '';
  let ended = false;
  res.setEncoding('utf8');
  res.on('data', (chunk: string) => {
    buffer += chunk;
    let end: number;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      if (block.startsWith(':')) {
        comments.push(block);
        continue;
      }
      const fields = block.split('\n').map((line) => [line.slice(0, line.indexOf(':')), line.slice(line.indexOf(':') + 2)] as const);
      const event = fields.find(([k]) => k === 'event')?.[1] ?? 'message';
      const data = fields
        .filter(([k]) => k === 'data')
        .map(([, v]) => v)
        .join('\n');
      events.push({ event, data: JSON.parse(data) as unknown });
    }
  });
  res.on('end', () => (ended = true));
  res.on('error', () => {}); // the socket is destroyed on purpose in some tests
  return { events, comments, isEnded: () => ended };
}

let app: FastifyInstance | undefined;
/** The server's side of each connection, to see what is still buffered in the process. */
const serverSockets = new Set<Socket>();
let client: ClientRequest | undefined;
afterEach(async () => {
  client?.destroy();
  await app?.close();
  app = client = undefined;
});

async function openWatch(keepAliveMs = 15_000) {
  const source = statusSource();
  app = createLocalApi(source.deps, { logger, keepAliveMs });
  serverSockets.clear();
  app.server.on('connection', (socket: Socket) => serverSockets.add(socket));
  const address = await listen(app, '127.0.0.1:0');
  client = get(`${address.url}/leader?watch=1`);
  const [res] = (await once(client, 'response')) as [IncomingMessage];
  return { ...source, res, reader: sseReader(res) };
}

describe('GET /leader?watch=1', () => {
  it('sends the SSE headers and the current status first', async () => {
    const { res, reader, listeners } = await openWatch();
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('text/event-stream');
    expect(res.headers['cache-control']).toBe('no-cache');
    expect(res.headers['connection']).toBe('keep-alive');
    expect(res.headers['x-accel-buffering']).toBe('no');
    await vi.waitFor(() => expect(reader.events).toHaveLength(1));
    expect(reader.events[0]).toEqual({ event: 'leader', data: leaderStatus() });
    expect(listeners.size).toBe(1);
  });

  it('sends one event per change and none for a repeat', async () => {
    const { reader, publish } = await openWatch();
    await vi.waitFor(() => expect(reader.events).toHaveLength(1));
    const leader = leaderStatus({ isLeader: true, holder: 'pod-b', epoch: 4 });
    publish(leader);
    publish(leader); // same content again: not a change
    publish(leaderStatus({ isLeader: true, holder: 'pod-b', epoch: 4, renewedAt: '2026-11-23T12:00:12.000000Z' }));
    await vi.waitFor(() => expect(reader.events).toHaveLength(3));
    expect(reader.events[1]).toEqual({ event: 'leader', data: leader });
    expect((reader.events[2]?.data as LeaderStatus).renewedAt).toBe('2026-11-23T12:00:12.000000Z');
  });

  it('hands each event to the kernel before publish returns: the start signal the sidecar sends next must not overtake it', async () => {
    // Node corks an HTTP response's socket until the next tick; the sidecar signals the worker, then labels
    // and records Events (TLS work) in the same tick, so a corked event reached the worker milliseconds after
    // the signal and the kit had to read /leader before it could start.
    const { reader, publish } = await openWatch();
    await vi.waitFor(() => expect(reader.events).toHaveLength(1));
    const sockets = [...serverSockets];
    expect(sockets).toHaveLength(1);
    publish(leaderStatus({ isLeader: true, holder: 'pod-b', epoch: 4 }));
    expect(sockets[0]!.writableLength).toBe(0);
    await vi.waitFor(() => expect(reader.events).toHaveLength(2));
  });

  it('removes the subscription when the client disconnects', async () => {
    const { reader, listeners } = await openWatch();
    await vi.waitFor(() => expect(reader.events).toHaveLength(1));
    expect(listeners.size).toBe(1);
    client?.destroy();
    await vi.waitFor(() => expect(listeners.size).toBe(0));
  });

  it('writes keep-alive comments', async () => {
    const { reader } = await openWatch(20);
    await vi.waitFor(() => expect(reader.comments.length).toBeGreaterThanOrEqual(2));
    expect(reader.comments[0]).toBe(': keep-alive');
  });

  it('ends open streams on close(), promptly, and releases their subscriptions', async () => {
    const { reader, listeners } = await openWatch();
    await vi.waitFor(() => expect(reader.events).toHaveLength(1));
    const started = Date.now();
    await app?.close();
    app = undefined;
    expect(Date.now() - started).toBeLessThan(1000);
    expect(listeners.size).toBe(0);
    await vi.waitFor(() => expect(reader.isEnded()).toBe(true));
  });
});
