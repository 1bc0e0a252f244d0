// The bot stand-in (test/fixtures/worker.ts), driven by signals directly and by the controller.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { WorkerController } from '../../../src/worker/controller.ts';
import { TargetFinder } from '../../../src/worker/target.ts';
import { FakeClock } from '../../harness/fake-clock.ts';
import { readWorkerLog, type WorkerLogLine } from '../../harness/timeline.ts';
import { waitFor, type WaitOptions } from '../../harness/wait.ts';

const FIXTURE = join(import.meta.dirname, '../../fixtures/worker.ts');

let dir: string;
let logFile: string;
const children: ChildProcess[] = [];
let server: Server | undefined;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'baton-worker-'));
  logFile = join(dir, 'worker.jsonl');
});

afterEach(async () => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  if (server) await new Promise((r) => server!.close(r));
  server = undefined;
  rmSync(dir, { recursive: true, force: true });
});

/** A unique argument in the worker's command line: other tests may run the same fixture at the same time. */
const marker = () => `baton-test-${randomUUID()}`;

function startWorker(env: Record<string, string> = {}, tag = marker()): ChildProcess {
  const child = spawn(process.execPath, [FIXTURE, tag], {
    env: { ...process.env, BATON_URL: '', WORKER_LOG: logFile, WORKER_NAME: 'w1', ...env },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  children.push(child);
  return child;
}

function lines(): WorkerLogLine[] {
  return readWorkerLog(logFile);
}

const events = () => lines().map((l) => (l.signal ? `${l.event}:${l.signal}` : l.event));

/** Every 10 ms; on a timeout, the events the fixture logged so far. */
const LOGGED: WaitOptions = { everyMs: 10, detail: () => `; log: ${events().join(', ')}` };

const count = (event: string) => lines().filter((l) => l.event === event).length;

describe('test/fixtures/worker.ts', () => {
  it('starts paused, polls on SIGUSR1, stops after its batch on SIGUSR2, exits cleanly on SIGTERM', async () => {
    const child = startWorker({ WORKER_PAUSE_MS: '400' });
    await waitFor('handlers', () => count('handlers') === 1, 4_000, LOGGED);
    const pid = child.pid!;

    process.kill(pid, 'SIGUSR1');
    await waitFor('polling-start', () => count('polling-start') === 1, 4_000, LOGGED);
    process.kill(pid, 'SIGUSR1'); // already polling: no second start
    await waitFor('the second signal', () => count('signal') === 2, 4_000, LOGGED);
    process.kill(pid, 'SIGUSR2');
    await waitFor('polling-stop', () => count('polling-stop') === 1, 4_000, LOGGED);

    const log = lines();
    const pause = log.find((l) => l.event === 'signal' && l.signal === 'SIGUSR2')!;
    const stop = log.find((l) => l.event === 'polling-stop')!;
    expect(stop.mono - pause.mono).toBeGreaterThanOrEqual(390); // the batch in hand
    expect(log.every((l) => l.pid === pid && l.name === 'w1' && typeof l.t === 'number')).toBe(true);

    // A start arriving while stopping waits for the stop; SIGTERM while polling logs the stop.
    process.kill(pid, 'SIGUSR1');
    await waitFor('the second polling-start', () => count('polling-start') === 2, 4_000, LOGGED);
    process.kill(pid, 'SIGUSR2');
    await waitFor('the pause signal', () => count('signal') === 5, 4_000, LOGGED);
    process.kill(pid, 'SIGUSR1'); // well inside the 400 ms stop
    await waitFor('the third polling-start', () => count('polling-start') === 3, 4_000, LOGGED);
    process.kill(pid, 'SIGTERM');
    const code = await new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
    expect(code).toBe(0);
    expect(events()).toEqual([
      'boot',
      'handlers',
      'signal:SIGUSR1',
      'polling-start',
      'signal:SIGUSR1',
      'signal:SIGUSR2',
      'polling-stop',
      'signal:SIGUSR1',
      'polling-start',
      'signal:SIGUSR2',
      'signal:SIGUSR1',
      'polling-stop',
      'polling-start',
      'polling-stop',
      'exit',
    ]);
  });

  it('asks /leader at boot, and acknowledges a pause with POST /paused', async () => {
    const acks: unknown[] = [];
    server = createServer((req, res) => {
      if (req.method === 'GET' && req.url === '/leader') {
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ isLeader: true, pause: { id: 7, sentAt: null, confirmedAt: null } }));
        return;
      }
      let body = '';
      req.on('data', (d: Buffer) => (body += d.toString()));
      req.on('end', () => {
        acks.push(JSON.parse(body));
        res.statusCode = 200;
        res.end('{"result":"accepted"}');
      });
    });
    await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
    const { port } = server.address() as { port: number };
    const child = startWorker({ BATON_URL: `http://127.0.0.1:${port}`, WORKER_ACK: '1', WORKER_PAUSE_MS: '10' });
    await waitFor('polling to start from /leader', () => count('polling-start') === 1, 4_000, LOGGED);
    process.kill(child.pid!, 'SIGUSR2');
    await waitFor('the ack', () => count('ack') === 1, 4_000, LOGGED);
    expect(acks).toEqual([{ pause: 7 }]);
    expect(lines().find((l) => l.event === 'ack')).toMatchObject({ pause: 7, status: 200 });
  });

  it('is never signalled by the controller without handlers, and only after they are installed', async () => {
    const kills: Array<{ at: number; signal: NodeJS.Signals }> = [];
    const make = (pattern: RegExp) => {
      const clock = new FakeClock();
      const controller = new WorkerController({
        finder: new TargetFinder({ selector: { kind: 'command', pattern } }),
        clock,
        kill: (pid, signal) => {
          kills.push({ at: Date.now(), signal });
          process.kill(pid, signal);
        },
      });
      controller.start();
      controller.setDesired('running');
      return { clock, controller };
    };
    const scan = async (clock: FakeClock, cond: () => boolean, what: string) =>
      waitFor(
        what,
        () => {
          clock.advance(500);
          return cond();
        },
        4_000,
        LOGGED,
      );

    const silentTag = marker();
    const silent = startWorker({ WORKER_NO_HANDLERS: '1', WORKER_NAME: 'silent' }, silentTag);
    await waitFor('boot', () => count('boot') === 1, 4_000, LOGGED);
    const a = make(new RegExp(silentTag));
    await scan(a.clock, () => a.controller.status().found, 'the silent worker to be found');
    for (let i = 0; i < 5; i++) await scan(a.clock, () => true, 'a scan');
    expect(a.controller.status()).toMatchObject({ pid: silent.pid, handlersInstalled: false });
    expect(kills).toEqual([]);
    expect(silent.exitCode).toBeNull();
    a.controller.stop();
    silent.kill('SIGKILL');
    await new Promise((r) => silent.once('exit', r));

    const slowTag = marker();
    const slow = startWorker({ WORKER_HANDLER_DELAY_MS: '300', WORKER_NAME: 'slow' }, slowTag);
    const b = make(new RegExp(slowTag));
    await scan(b.clock, () => count('polling-start') === 1, 'the slow worker to start polling');
    const boot = lines().find((l) => l.event === 'boot' && l.pid === slow.pid)!;
    expect(kills.map((k) => k.signal)).toEqual(['SIGUSR1']);
    // Handlers go in 300 ms after boot (timers may fire a hair early by the wall clock).
    expect(kills[0]!.at - boot.t).toBeGreaterThanOrEqual(290);
    b.controller.stop();
  });
});
