// The one stand-in for the sidecar's local API (GET /leader, POST /paused) in the tests, with state the test sets.
// Built with no options it is what the kit's packaging and documentation tests use: a sidecar of today that says
// "you lead" with fresh Lease timings on every answer, and records pause confirmations. The leadership tests (Node
// kit and Python helper) set its state: the Lease's timings and renewals, a frozen or slow sidecar, answers held
// back and released.
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { WaitOptions } from './wait.ts';

/** The Lease timings a sidecar publishes in `GET /leader`. */
export interface LeaseTimings {
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
}

/** What a test may set at construction (each is also a public field, settable later). */
export type FakeSidecarOptions = Partial<
  Pick<FakeSidecar, 'identity' | 'standbyHolder' | 'lease' | 'isLeader' | 'pauseId' | 'epoch' | 'timings' | 'renewedAt' | 'frozen' | 'answerMs' | 'hold'>
>;

export class FakeSidecar {
  /** This pod's name, and the holder named in answers while it leads. */
  identity = 'pod';
  /** The holder named in answers while this pod does not lead. */
  standbyHolder = '';
  lease = { name: 'bot', namespace: 'default' };
  isLeader = true;
  pauseId = 0;
  epoch = 1;
  /** Published Lease timings; null: an old sidecar that does not publish them. */
  timings: LeaseTimings | null = { leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 };
  /** The Lease's last renewal (ISO 8601) or null; `'fresh'`: the time of each answer (a Lease renewed all along). */
  renewedAt: string | null = 'fresh';
  /** A frozen sidecar (SIGSTOP): connections are accepted, nothing is answered. */
  frozen = false;
  /** How long an answer from /leader takes (a busy node); it is written when sent. */
  answerMs = 0;
  /** While set, answers from /leader are written as the request arrives and held until `release()`. */
  hold = false;
  /** The pause ids confirmed (POST /paused), in order. */
  readonly confirmations: number[] = [];
  /** The `baton-worker-confirms` header of each request. */
  readonly confirmsHeaders: Array<string | undefined> = [];
  /** When each answer from /leader was sent (Date.now()). */
  readonly answers: number[] = [];
  /** Every request as it arrived: `GET /leader`, `GET /leader?watch=1` (a watch stream) or `POST /paused`, in order. */
  readonly requests: string[] = [];
  url = '';
  private readonly held: Array<() => void> = [];
  private readonly streams = new Set<ServerResponse>();
  private readonly server: Server;

  constructor(options: FakeSidecarOptions = {}) {
    Object.assign(this, options);
    this.server = createServer((req, res) => {
      if (this.frozen) return;
      const watch = req.url?.startsWith('/leader?watch=1') === true;
      this.requests.push(watch ? 'GET /leader?watch=1' : `${req.method} ${req.url?.split('?')[0]}`);
      this.confirmsHeaders.push(req.headers['baton-worker-confirms'] as string | undefined);
      res.setHeader('content-type', 'application/json');
      if (watch) {
        // GET /leader?watch=1: the status now, then whatever `push()` sends (Server-Sent Events).
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        this.streams.add(res);
        res.on('close', () => this.streams.delete(res));
        res.write(`event: leader\ndata: ${this.leaderAnswer()}\n\n`);
        return;
      }
      if (req.url?.startsWith('/leader')) {
        const send = (body: string) => {
          this.answers.push(Date.now());
          res.end(body);
        };
        if (this.hold) {
          const body = this.leaderAnswer();
          this.held.push(() => send(body));
        } else if (this.answerMs > 0) setTimeout(() => send(this.leaderAnswer()), this.answerMs);
        else send(this.leaderAnswer());
        return;
      }
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        const id = (JSON.parse(body || '{}') as { pause?: number }).pause ?? -1;
        this.confirmations.push(id);
        res.end(JSON.stringify({ result: id === this.pauseId ? 'accepted' : 'stale' }));
      });
    });
  }

  private leaderAnswer(): string {
    return JSON.stringify({
      identity: this.identity,
      isLeader: this.isLeader,
      holder: this.isLeader ? this.identity : this.standbyHolder,
      epoch: this.epoch,
      since: null,
      renewedAt: this.renewedAt === 'fresh' ? new Date().toISOString() : this.renewedAt,
      ...(this.timings ? { timings: this.timings } : {}),
      lease: this.lease,
      pause: { id: this.pauseId, sentAt: null, confirmedAt: null },
      handingOver: false,
    });
  }

  async listen(): Promise<void> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** The sidecar sends a pause: the next confirmation must name it. */
  pause(): void {
    this.isLeader = false;
    this.pauseId += 1;
  }

  /** The Lease is renewed now. */
  renew(): void {
    this.renewedAt = new Date().toISOString();
  }

  /** Sends the current status on every open watch stream (`GET /leader?watch=1`), as the sidecar does on a change. */
  push(): void {
    for (const res of this.streams) res.write(`event: leader\ndata: ${this.leaderAnswer()}\n\n`);
  }

  /** How many watch streams are open. */
  watchers(): number {
    return this.streams.size;
  }

  /** How many answers are held back (see `hold`). */
  heldCount(): number {
    return this.held.length;
  }

  /** Sends the held answers, as written when their requests arrived. */
  release(): void {
    for (const send of this.held.splice(0)) send();
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((r) => this.server.close(() => r()));
  }
}

/** How the kit's tests wait on the fake sidecar and a bot: every 10 ms. */
export const KIT: WaitOptions = { everyMs: 10 };

/** A `/start` command as Telegram sends it (with its bot_command entity). */
export function startCommand(): Record<string, unknown> {
  const user = { id: 4242, is_bot: false, first_name: 'Tester' };
  return {
    message: {
      message_id: 1,
      from: user,
      chat: { id: 4242, first_name: 'Tester', type: 'private' },
      date: Math.floor(Date.now() / 1000),
      text: '/start',
      entities: [{ type: 'bot_command', offset: 0, length: 6 }],
    },
  };
}
