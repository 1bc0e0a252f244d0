// A loopback TCP proxy in front of the test API server, for fault injection: `pause()` makes the API
// server vanish for clients behind the proxy (existing connections are cut, new ones are refused or
// stalled) while the server itself keeps running; `resume()` brings it back. TLS passes through untouched.
import { connect, createServer, type Server, type Socket } from 'node:net';

/** How new connections behave while paused. */
export type PauseMode =
  /** Accept and reset at once: the client sees ECONNRESET, as after a crash. */
  | 'reset'
  /** Accept and never answer: the client sees a half-open connection until its own timeout. */
  | 'stall';

export class FaultProxy {
  private readonly targetHost: string;
  private readonly targetPort: number;
  private server: Server | undefined;
  private mode: PauseMode | undefined;
  private readonly pairs = new Set<[Socket, Socket]>();
  private readonly stalled = new Set<Socket>();
  private listenPort = 0;
  /** Connections accepted in total (for assertions that a client reconnected). */
  connections = 0;

  constructor(target: string) {
    const url = new URL(target);
    this.targetHost = url.hostname;
    this.targetPort = Number(url.port);
  }

  /** `https://127.0.0.1:PORT` once started. */
  get url(): string {
    return `https://127.0.0.1:${this.listenPort}`;
  }

  get paused(): boolean {
    return this.mode !== undefined;
  }

  async start(): Promise<string> {
    const server = createServer((client) => this.accept(client));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    const addr = server.address();
    if (typeof addr !== 'object' || !addr) throw new Error('fault proxy: no address');
    this.listenPort = addr.port;
    return this.url;
  }

  /** Cuts every open connection (TCP RST) and refuses or stalls new ones until `resume()`. */
  pause(mode: PauseMode = 'reset'): void {
    this.mode = mode;
    for (const [a, b] of this.pairs) {
      a.resetAndDestroy();
      b.destroy();
    }
    this.pairs.clear();
  }

  /** Forwards new connections again; connections stalled meanwhile are reset so their clients retry. */
  resume(): void {
    this.mode = undefined;
    for (const s of this.stalled) s.resetAndDestroy();
    this.stalled.clear();
  }

  async stop(): Promise<void> {
    this.pause();
    this.resume();
    const server = this.server;
    this.server = undefined;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private accept(client: Socket): void {
    this.connections++;
    client.on('error', () => undefined);
    if (this.mode === 'reset') {
      client.resetAndDestroy();
      return;
    }
    if (this.mode === 'stall') {
      this.stalled.add(client);
      client.on('close', () => this.stalled.delete(client));
      return;
    }
    const upstream = connect(this.targetPort, this.targetHost);
    const pair: [Socket, Socket] = [client, upstream];
    this.pairs.add(pair);
    upstream.on('error', () => client.destroy());
    const forget = (): void => {
      this.pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on('close', forget);
    upstream.on('close', forget);
    client.pipe(upstream);
    upstream.pipe(client);
  }
}
