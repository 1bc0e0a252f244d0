// A stand-in for the sidecar's local API for the kit's packaging and documentation tests: it says
// "you lead", with fresh Lease timings, and records pause confirmations.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export class FakeSidecar {
  isLeader = true;
  pauseId = 0;
  readonly confirmations: number[] = [];
  /** The `baton-worker-confirms` header of each request. */
  readonly confirmsHeaders: Array<string | undefined> = [];
  url = '';
  private readonly server: Server;

  constructor() {
    this.server = createServer((req, res) => {
      this.confirmsHeaders.push(req.headers['baton-worker-confirms'] as string | undefined);
      res.setHeader('content-type', 'application/json');
      if (req.url?.startsWith('/leader')) {
        res.end(
          JSON.stringify({
            identity: 'pod',
            isLeader: this.isLeader,
            holder: this.isLeader ? 'pod' : '',
            epoch: 1,
            since: null,
            renewedAt: new Date().toISOString(),
            timings: { leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 },
            lease: { name: 'bot', namespace: 'default' },
            pause: { id: this.pauseId, sentAt: null, confirmedAt: null },
            handingOver: false,
          }),
        );
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

  async listen(): Promise<void> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** The sidecar sends a pause: the next confirmation must name it. */
  pause(): void {
    this.isLeader = false;
    this.pauseId += 1;
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((r) => this.server.close(() => r()));
  }
}

/** Waits until `cond()` holds. */
export async function until(what: string, cond: () => boolean, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

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
