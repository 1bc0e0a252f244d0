// A loopback TCP proxy in front of the test API server, for fault injection: `pause()` makes the API
// server vanish for clients behind the proxy (existing connections are cut, new ones are refused or
// stalled) while the server itself keeps running; `resume()` brings it back; `cut()` is a blip. TLS passes
// through untouched. `KubeHttpProxy` works one level up, on requests (delay a PUT, fail a PATCH, cut watches).
import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer as createHttpsServer, request as httpsRequest, type Server as HttpsServer } from 'node:https';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';

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

  /**
   * Cuts every open connection (TCP RST to the client) and keeps forwarding new ones: a network blip
   * that ends every watch and any request in flight, as a load balancer restart does.
   */
  cut(): number {
    const n = this.pairs.size;
    for (const [a, b] of this.pairs) {
      a.resetAndDestroy();
      b.destroy();
    }
    this.pairs.clear();
    return n;
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

/** One request as the HTTP-level proxy sees it. */
export interface ProxiedCall {
  method: string;
  /** Path and query, e.g. `/apis/coordination.k8s.io/v1/namespaces/ns/leases/x?watch=true`. */
  url: string;
}

/** What the HTTP-level proxy does with one request. */
export type HttpFault =
  /** Forward after `ms`, whatever the client does meanwhile: the request is on its way and lands late. */
  | { kind: 'delay'; ms: number }
  /** Answer at once with this status and a Kubernetes Status body; the API server never sees it. */
  | { kind: 'fail'; status: number; reason: string };

/** Picks a fault for a request, or undefined to forward it untouched. */
export type HttpRule = (call: ProxiedCall) => HttpFault | undefined;

/** What happened to a request that a rule matched (for scenario timelines). */
export interface FaultRecord extends ProxiedCall {
  fault: HttpFault;
  /** ms, performance.timeOrigin-based. */
  at: number;
  /** When it was forwarded (delay) and the API server's status; absent until then. */
  forwardedAt?: number;
  status?: number;
  /** False when the client had gone before the answer came. */
  clientWaiting?: boolean;
}

/**
 * An HTTP-level proxy in front of the test API server, for faults that must know what a request is:
 * it terminates TLS with the API server's own serving certificate (valid for 127.0.0.1), forwards each
 * request on its own upstream connection, and applies `rules` (delay a Lease PUT, fail pod PATCHes).
 * `cutWatches()` ends every open watch stream, nothing else.
 */
export class KubeHttpProxy {
  private server: HttpsServer | undefined;
  private readonly target: URL;
  private readonly ca: Buffer;
  private readonly tls: { key: Buffer; cert: Buffer };
  private readonly watches = new Set<{ destroy(): void }>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly rules: HttpRule[] = [];
  private listenPort = 0;
  /** Every request a rule matched, in order. */
  readonly faults: FaultRecord[] = [];
  /** Called when a rule matched a request (before the fault is applied). */
  onFault: ((record: FaultRecord) => void) | undefined;

  /** `endpoint`: the API server's URL, CA file and the directory holding server.crt and server.key. */
  constructor(endpoint: { server: string; caFile: string; dir: string }) {
    this.target = new URL(endpoint.server);
    this.ca = readFileSync(endpoint.caFile);
    this.tls = { key: readFileSync(join(endpoint.dir, 'server.key')), cert: readFileSync(join(endpoint.dir, 'server.crt')) };
  }

  get url(): string {
    return `https://127.0.0.1:${this.listenPort}`;
  }

  /** Adds a rule (first match wins); returns a function that removes it. */
  rule(r: HttpRule): () => void {
    this.rules.push(r);
    return () => {
      const i = this.rules.indexOf(r);
      if (i >= 0) this.rules.splice(i, 1);
    };
  }

  async start(): Promise<string> {
    const server = createHttpsServer({ ...this.tls }, (req, res) => this.handle(req, res));
    server.keepAliveTimeout = 30_000;
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    const addr = server.address();
    if (typeof addr !== 'object' || !addr) throw new Error('http fault proxy: no address');
    this.listenPort = addr.port;
    return this.url;
  }

  /** Ends every open watch stream (the client sees its response end abruptly); returns how many. */
  cutWatches(): number {
    const n = this.watches.size;
    for (const w of this.watches) w.destroy();
    this.watches.clear();
    return n;
  }

  async stop(): Promise<void> {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    this.cutWatches();
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const call: ProxiedCall = { method: req.method ?? 'GET', url: req.url ?? '/' };
    const fault = this.rules.map((r) => r(call)).find((f) => f !== undefined);
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('error', () => undefined);
    res.on('error', () => undefined);
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      if (!fault) return this.forward(call, req, body, res);
      const record: FaultRecord = { ...call, fault, at: performance.timeOrigin + performance.now() };
      this.faults.push(record);
      this.onFault?.(record);
      if (fault.kind === 'fail') {
        record.status = fault.status;
        res.writeHead(fault.status, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify({
            kind: 'Status',
            apiVersion: 'v1',
            status: 'Failure',
            message: `fault proxy: ${fault.reason}`,
            reason: fault.reason,
            code: fault.status,
          }),
        );
        return;
      }
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        record.forwardedAt = performance.timeOrigin + performance.now();
        this.forward(call, req, body, res, record);
      }, fault.ms);
      this.timers.add(timer);
    });
  }

  private forward(call: ProxiedCall, req: IncomingMessage, body: Buffer, res: ServerResponse, record?: FaultRecord): void {
    const headers: Record<string, string | string[] | undefined> = { ...req.headers, host: this.target.host, 'content-length': String(body.length) };
    delete headers.connection;
    delete headers['keep-alive'];
    delete headers['transfer-encoding'];
    if (body.length === 0 && (call.method === 'GET' || call.method === 'DELETE')) delete headers['content-length'];
    const upstream = httpsRequest(
      { host: this.target.hostname, port: this.target.port, method: call.method, path: call.url, headers, ca: this.ca, agent: false },
      (up) => {
        if (record) {
          record.status = up.statusCode;
          record.clientWaiting = !res.destroyed && !res.writableEnded && !req.socket.destroyed;
        }
        const watch = /[?&]watch=(true|1)(&|$)/.test(call.url);
        const h: Record<string, string | string[] | undefined> = { ...up.headers };
        delete h.connection;
        delete h['keep-alive'];
        if (res.destroyed) {
          up.resume();
          return;
        }
        res.writeHead(up.statusCode ?? 502, h);
        up.pipe(res);
        if (watch) {
          const handle = {
            destroy: () => {
              up.destroy();
              res.destroy();
            },
          };
          this.watches.add(handle);
          const forget = (): void => void this.watches.delete(handle);
          res.on('close', () => {
            forget();
            up.destroy();
          });
          up.on('close', forget);
        } else {
          res.on('close', () => up.resume());
        }
        up.on('error', () => res.destroy());
      },
    );
    upstream.on('error', () => {
      if (!res.headersSent && !res.destroyed) {
        res.writeHead(502);
        res.end();
      } else res.destroy();
    });
    upstream.end(body);
  }
}
