// The Telegram Bot API double: a node:http server speaking enough of the Bot API for grammY,
// telegraf and node-telegram-bot-api to poll it, with the real server's getUpdates and 409
// rules, plus test hooks (methods here, HTTP under /__double/). See README.md in this folder.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  Accounting,
  preciseNow,
  type ConflictCounts,
  type ConflictRecord,
  type Delivery,
  type InjectRecord,
  type PollEvent,
  type SentMessage,
  type Stats,
  type StatsOptions,
} from './accounting.ts';
import { BotState } from './bot.ts';
import { handleHook } from './hooks.ts';
import { HttpCall, writeJson } from './http-call.ts';
import { startLoad, type LoadHandle, type LoadOptions } from './load.ts';
import { METHODS } from './methods.ts';
import { readParams } from './params.ts';
import { randomFirstUpdateId, seededRandom } from './random.ts';
import { fail } from './reply.ts';
import { parseRoute } from './route.ts';
import { textUpdate, type Update, type UpdateBody } from './updates.ts';

/** Options of {@link TelegramDouble.start}. */
export interface StartOptions {
  /** 0 (default) picks a free port. */
  readonly port?: number;
  /** Default 127.0.0.1. */
  readonly host?: string;
  /** The bot tokens the double accepts; any other token gets 401. At least one. */
  readonly tokens: readonly string[];
  /** Seeds the random first update_id of each token's queue (random when omitted). */
  readonly seed?: number;
}

/** Selects a bot token; the first token of {@link StartOptions.tokens} when omitted. */
export interface TokenOption {
  readonly token?: string;
}

/** Options of {@link TelegramDouble.inject}. */
export interface InjectOptions extends TokenOption {
  /** Chat (and user) id of a text update. */
  readonly chatId?: number;
}

/** The request header that names the poller in the ledger. */
export const CLIENT_HEADER = 'x-baton-client';

/** Bodies above this are refused (the Bot API's own upload limit). */
const MAX_BODY_BYTES = 50 * 1024 * 1024;

/** A faithful Telegram Bot API double for long-polling tests. */
export class TelegramDouble {
  #server: Server | undefined;
  #url = '';
  readonly #bots = new Map<string, BotState>();
  readonly #accounting = new Accounting();
  readonly #messageIds = new Map<string, number>();
  #requestSeq = 0;
  #load: LoadHandle | undefined;

  /** Listens; resolves with the apiRoot to give to clients (e.g. `http://127.0.0.1:PORT`). */
  async start(opts: StartOptions): Promise<{ url: string }> {
    if (this.#server !== undefined) throw new Error('TelegramDouble already started');
    if (opts.tokens.length === 0) throw new Error('TelegramDouble needs at least one token');
    const random = seededRandom(opts.seed ?? Math.floor(Math.random() * 2 ** 32));
    for (const token of opts.tokens) {
      this.#bots.set(token, new BotState({ token, firstUpdateId: randomFirstUpdateId(random), accounting: this.#accounting, now: preciseNow }));
    }
    const server = createServer((req, res) => this.#onRequest(req, res));
    const host = opts.host ?? '127.0.0.1';
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(opts.port ?? 0, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.#server = server;
    this.#url = `http://${urlHost(host)}:${(server.address() as AddressInfo).port}`;
    return { url: this.#url };
  }

  /** Stops the load, forgets parked polls and closes every connection. Idempotent. */
  async stop(): Promise<void> {
    const server = this.#server;
    if (server === undefined) return;
    this.#server = undefined;
    await this.stopLoad();
    for (const bot of this.#bots.values()) bot.stop();
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeAllConnections();
    await closed;
  }

  /** The apiRoot (empty before start). */
  get url(): string {
    return this.#url;
  }

  /** The accepted tokens, in the order given. */
  tokens(): string[] {
    return [...this.#bots.keys()];
  }

  /**
   * Queues an update (a full update body, or a text that becomes a private text message) and
   * wakes a parked poll. Returns the assigned update_id, or null when the bot's current
   * `allowed_updates` excludes the update's type (it is then gone for good, as on Telegram).
   */
  inject(update: UpdateBody | string, opts: InjectOptions = {}): number | null {
    const body = typeof update === 'string' ? textUpdate(update, opts.chatId === undefined ? {} : { chatId: opts.chatId }) : update;
    return this.#bot(opts.token).inject(body)?.update_id ?? null;
  }

  /** Pending (unconfirmed) updates, oldest first. */
  queue(opts: TokenOption = {}): Update[] {
    return this.#bot(opts.token).pending();
  }

  /** True while a getUpdates request is parked (even one whose client disconnected). */
  hasParkedPoll(opts: TokenOption = {}): boolean {
    return this.#bot(opts.token).hasParkedPoll();
  }

  /** 409 counts by kind; all tokens unless one is given. */
  conflicts(opts: TokenOption = {}): ConflictCounts {
    return this.#accounting.conflicts(opts.token);
  }

  /** Every 409 decided, with whether it was held back and whether a live client got it. */
  conflictLog(): readonly ConflictRecord[] {
    return this.#accounting.conflictLog();
  }

  /** Every update written to a poller: `{updateId, client, at, requestId, token}`. */
  deliveries(): readonly Delivery[] {
    return this.#accounting.deliveries();
  }

  /** Every getUpdates request's start (effective offset/limit/timeout) and end (outcome). */
  requests(): readonly PollEvent[] {
    return this.#accounting.requests();
  }

  /** Every injected update and whether it was queued (id) or filtered out (null). */
  injected(): readonly InjectRecord[] {
    return this.#accounting.injected();
  }

  /** How many distinct updates were injected so far (what the bots must eventually handle). */
  injectedUpdates(): number {
    return new Set(this.#accounting.injected().flatMap((r) => (r.updateId === null ? [] : [r.updateId]))).size;
  }

  /** sendMessage (and other send*) calls, with the client that made them. */
  sentMessages(): readonly SentMessage[] {
    return this.#accounting.sentMessages();
  }

  /** Delivered / duplicates / lost / conflicts, computed now. */
  stats(opts: StatsOptions = {}): Stats {
    return this.#accounting.stats(opts);
  }

  /** Forgets the ledger (not the queues or webhooks). */
  resetLog(): void {
    this.#accounting.reset();
  }

  /** Starts a steady load on this double (replacing a running one); see {@link startLoad}. */
  startLoad(opts: LoadOptions): LoadHandle {
    void this.#load?.stop();
    this.#load = startLoad(this, opts);
    return this.#load;
  }

  /** Stops the load started by {@link startLoad}; resolves to its injected count (0 if none). */
  async stopLoad(): Promise<number> {
    const load = this.#load;
    this.#load = undefined;
    return load === undefined ? 0 : load.stop();
  }

  #bot(token: string | undefined): BotState {
    const bot = token === undefined ? this.#bots.values().next().value : this.#bots.get(token);
    if (bot === undefined) throw new Error(token === undefined ? 'TelegramDouble not started' : `unknown token ${token}`);
    return bot;
  }

  #onRequest(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_BODY_BYTES) chunks.push(chunk);
    });
    req.on('end', () => {
      if (size > MAX_BODY_BYTES) {
        writeJson(res, 413, fail(413, 'Request Entity Too Large'));
        return;
      }
      this.#dispatch(req, res, Buffer.concat(chunks)).catch((error: unknown) => {
        if (!res.headersSent) writeJson(res, 500, fail(500, `Internal Server Error: ${(error as Error).message}`));
      });
    });
  }

  async #dispatch(req: IncomingMessage, res: ServerResponse, body: Buffer): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://double.invalid');
    const route = parseRoute(url.pathname);
    const { params } = readParams(url.searchParams, req.headers['content-type'], body);
    if (route.kind === 'hook') {
      const reply = await handleHook(this, route.path, params);
      writeJson(res, reply.ok ? 200 : reply.error_code, reply);
      return;
    }
    if (route.kind === 'none') {
      writeJson(res, 404, fail(404, 'Not Found'));
      return;
    }
    const bot = this.#bots.get(route.token);
    if (bot === undefined) {
      writeJson(res, 401, fail(401, 'Unauthorized'));
      return;
    }
    const handler = route.method === undefined ? undefined : METHODS.get(route.method.toLowerCase());
    if (handler === undefined) {
      writeJson(res, 404, fail(404, 'Not Found: method not found'));
      return;
    }
    const header = req.headers[CLIENT_HEADER];
    const named = (Array.isArray(header) ? header[0] : header) || route.client;
    const client = named ?? `${req.socket.remoteAddress ?? '?'}:${req.socket.remotePort ?? 0}`;
    const call = new HttpCall({ requestId: ++this.#requestSeq, client, token: bot.token }, req, res);
    const reply = handler({
      bot,
      call,
      params,
      accounting: this.#accounting,
      now: preciseNow,
      nextMessageId: () => {
        const id = (this.#messageIds.get(bot.token) ?? 0) + 1;
        this.#messageIds.set(bot.token, id);
        return id;
      },
    });
    if (reply !== undefined) call.send(reply);
  }
}

function urlHost(host: string): string {
  if (host === '0.0.0.0' || host === '') return '127.0.0.1';
  if (host === '::') return '[::1]';
  return host.includes(':') ? `[${host}]` : host;
}
