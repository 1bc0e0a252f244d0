// The Python helper's dead-man's switch and backstop (python/baton_worker.py), run with plain python3 against a
// stand-in sidecar in this process: the same two regressions as the Node kit's (leadership.test.ts).
// The worker's start and pause callbacks and its log print one JSON line each; the test sends SIGUSR1/SIGUSR2.
// BATON_WORKER_PY names another copy of the helper to run these tests against (e.g. an older one).
import { afterEach, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FakeSidecar } from '../../../test/harness/fake-sidecar.ts';
import { sleep, waitFor, type WaitOptions } from '../../../test/harness/wait.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const helper = process.env.BATON_WORKER_PY ?? join(root, 'python', 'baton_worker.py');

/** Renew deadline 1 s, lease 2 s: the switch's quick read is bounded by a quarter of the difference, 250 ms. */
const TIMINGS = { leaseDurationMs: 2_000, renewDeadlineMs: 1_000, retryPeriodMs: 100 };
/** Every answer from /leader takes this long, as from a busy node; a 1 ms read bound never gets one. */
const ANSWER_MS = 20;

// The worker: every callback and log message is one JSON line on stdout.
const WORKER = `
import asyncio, importlib.util, json, sys
spec = importlib.util.spec_from_file_location("baton_worker", sys.argv[1])
bw = importlib.util.module_from_spec(spec)
spec.loader.exec_module(bw)

def out(event, **fields):
    print(json.dumps({"event": event, **fields}), flush=True)

async def start():
    out("started")

async def pause():
    out("pausing")
    await asyncio.sleep(float(sys.argv[4]) if len(sys.argv) > 4 else 0)  # finishing the batch in hand
    out("paused")

async def main():
    lead = bw.Leadership(start=start, pause=pause, url=sys.argv[2], check_every=float(sys.argv[3]), dead_man=60.0,
                         log=lambda m: out("log", message=m))
    out("ready")
    await lead.serve()

asyncio.run(main())
`;

interface Line {
  event: 'ready' | 'started' | 'pausing' | 'paused' | 'log';
  message?: string;
}

/** A python3 worker using the helper, its stdout as parsed lines. */
class PythonWorker {
  readonly lines: Line[] = [];
  private out = '';
  private readonly child: ChildProcess;

  constructor(url: string, checkEveryS: number, pauseS = 0) {
    this.child = spawn('python3', ['-c', WORKER, helper, url, String(checkEveryS), String(pauseS)], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child.stdout!.on('data', (c: Buffer) => {
      this.out += c.toString();
      let nl: number;
      while ((nl = this.out.indexOf('\n')) >= 0) {
        const line = this.out.slice(0, nl);
        this.out = this.out.slice(nl + 1);
        this.lines.push(JSON.parse(line) as Line);
      }
    });
    this.child.stderr!.on('data', (c: Buffer) => process.stderr.write(c));
  }

  count(event: Line['event']): number {
    return this.lines.filter((l) => l.event === event).length;
  }

  deadMan(): number {
    return this.lines.filter((l) => l.event === 'log' && /dead-man/.test(l.message ?? '')).length;
  }

  /** The events from the n-th one on (callbacks and dead-man logs only), for messages. */
  events(from = 0): string[] {
    return this.lines.slice(from).flatMap((l) => (l.event === 'log' ? (/dead-man/.test(l.message ?? '') ? ['dead-man'] : []) : [l.event]));
  }

  signal(sig: 'SIGUSR1' | 'SIGUSR2'): void {
    this.child.kill(sig);
  }

  kill(): void {
    this.child.kill('SIGKILL');
  }
}

/** The fake sidecar answers at once: ask every 5 ms. */
const OFTEN: WaitOptions = { everyMs: 5 };

let cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanup) await c();
  cleanup = [];
});

async function setup(isLeader: boolean, checkEveryS: number, pauseS = 0) {
  const sidecar = new FakeSidecar({
    identity: 'p',
    standbyHolder: 'q',
    lease: { name: 'l', namespace: 'n' },
    epoch: 3,
    isLeader,
    timings: TIMINGS,
    renewedAt: new Date().toISOString(),
    answerMs: ANSWER_MS,
  });
  await sidecar.listen();
  const worker = new PythonWorker(sidecar.url, checkEveryS, pauseS);
  let renewer: NodeJS.Timeout | undefined;
  cleanup.push(async () => {
    clearInterval(renewer);
    worker.kill();
    await sidecar.close();
  });
  /** Renews the Lease every 100 ms, as a leading sidecar does, until stopped. */
  const renewing = (on: boolean) => {
    clearInterval(renewer);
    if (on) {
      sidecar.renew();
      renewer = setInterval(() => sidecar.renew(), 100);
    }
  };
  return { sidecar, worker, renewing };
}

describe('python/baton_worker.py: the dead-man switch and the backstop agree', () => {
  it('once the switch fires, the backstop does not start the worker again before a fresher renewal', async () => {
    // Seen in the fault suite (api-freeze) with the Node kit: the API froze, the sidecar still answered "leader"
    // with the old renewal; the switch paused one quick read before the deadline, and the backstop, judging the
    // Lease fresh until the deadline itself, started the worker again for a new poll.
    const { sidecar, worker, renewing } = await setup(true, 0.05); // the backstop reads every 50 ms
    renewing(true);
    await waitFor('the worker starts at boot', () => worker.count('started') === 1, 10_000, OFTEN);
    // Renewals stop (the API is frozen); the sidecar keeps answering that it leads.
    renewing(false);
    const deadline = Date.parse(sidecar.renewedAt!) + TIMINGS.renewDeadlineMs;
    await waitFor('the worker pauses itself', () => worker.count('paused') === 1, 3_000, OFTEN);
    const pausedAt = worker.lines.findIndex((l) => l.event === 'paused');
    while (Date.now() < deadline + 200) await sleep(20);
    // Nothing started it again: not the backstop before the deadline, and so no second switch after it. (The
    // pause is the switch's, or the backstop's when its read lands first: from that point on both say "stale".)
    const events = worker.events();
    expect(
      worker.events(pausedAt).filter((e) => e === 'started'),
      `events: ${events.join(', ')}`,
    ).toEqual([]);
    expect(worker.deadMan(), `events: ${events.join(', ')}`).toBeLessThanOrEqual(1);
    // A fresher renewal lets the backstop start it again.
    sidecar.renew();
    await waitFor('a fresher renewal starts it again', () => worker.count('started') === 2, 2_000, OFTEN);
    expect(worker.count('paused')).toBe(1);
  }, 30_000);

  it('a start signal is not judged by a renewal read before it: a new leader does not trip the switch', async () => {
    // Seen in the fault suite (api-kill) with the Node kit: a standby's last answer carried the old leader's
    // renewal from before the outage; when it won the Lease and got the start signal, the switch judged that old
    // renewal, gave its quick read a deadline already past (1 ms), and paused the new leader at once.
    const { sidecar, worker, renewing } = await setup(false, 0.5); // the backstop reads every 500 ms
    sidecar.renewedAt = new Date(Date.now() - 5_000).toISOString(); // the old leader's last renewal
    await waitFor('the worker confirms its starting pause', () => sidecar.confirmations.length === 1, 10_000, OFTEN);
    // Its last answer carried the stale renewal. No read is in flight now (the backstop reads next in ~450 ms):
    // the signal comes after that answer, not during a read.
    const lastAnswer = sidecar.answers.at(-1)!;
    while (Date.now() < lastAnswer + 50) await sleep(5);
    // The sidecar has just acquired (a fresh renewal, and it keeps renewing), then signals.
    sidecar.isLeader = true;
    renewing(true);
    worker.signal('SIGUSR1');
    await waitFor('the start signal starts the worker', () => worker.count('started') === 1, 2_000, OFTEN);
    const startedAt = worker.lines.findIndex((l) => l.event === 'started');
    // Longer than a renew deadline: the switch re-reads, finds the fresh renewal, and keeps it running.
    await sleep(TIMINGS.renewDeadlineMs + 300);
    expect(worker.events(startedAt), 'events from the start on').toEqual(['started']);
  }, 30_000);

  it('an answer already on its way when the start signal comes counts as read before it', async () => {
    // The same new leader, but the backstop's read was in flight when the sidecar acquired: its answer was
    // written before the acquisition (the old renewal) and is taken in after the start signal. It says nothing
    // of the Lease the signal came from either: the switch must give its quick read the whole bound.
    const { sidecar, worker, renewing } = await setup(false, 0.5);
    sidecar.renewedAt = new Date(Date.now() - 5_000).toISOString();
    await waitFor('the worker confirms its starting pause', () => sidecar.confirmations.length === 1, 10_000, OFTEN);
    sidecar.hold = true;
    await waitFor("the backstop's next read is in flight", () => sidecar.heldCount() === 1, 2_000, OFTEN);
    sidecar.hold = false;
    // The sidecar acquires (a fresh renewal, and it keeps renewing), then signals; the answer is still on its way.
    sidecar.isLeader = true;
    renewing(true);
    worker.signal('SIGUSR1');
    await sleep(200); // the worker has taken the signal (its serve loop is waiting on that read)
    sidecar.release();
    await waitFor('the start signal starts the worker', () => worker.count('started') === 1, 2_000, OFTEN);
    const startedAt = worker.lines.findIndex((l) => l.event === 'started');
    await sleep(TIMINGS.renewDeadlineMs + 300);
    expect(worker.events(startedAt), 'events from the start on').toEqual(['started']);
  }, 30_000);

  it('a start whose Lease was pushed on the watch stream does not wait for a read of /leader', async () => {
    // As the Node kit: the sidecar pushes the Lease it acquired on GET /leader?watch=1 before it signals. The
    // helper read /leader on every start (its last answer was a standby's): a loopback round trip, through a
    // thread, in every handoff's gap. Here every read is held: only the push can let the start through.
    const { sidecar, worker, renewing } = await setup(false, 60);
    await waitFor('the worker confirms its starting pause', () => sidecar.confirmations.length === 1, 10_000, OFTEN);
    await waitFor('the worker follows the watch stream', () => sidecar.watchers() === 1, 5_000, OFTEN);
    sidecar.hold = true;
    sidecar.isLeader = true;
    renewing(true);
    sidecar.push();
    worker.signal('SIGUSR1');
    await waitFor('the start signal starts the worker, with every read held', () => worker.count('started') === 1, 1_000, OFTEN);
    sidecar.hold = false;
    sidecar.release();
    const startedAt = worker.lines.findIndex((l) => l.event === 'started');
    await sleep(TIMINGS.renewDeadlineMs + 300); // pushes and reads keep the lease time: no dead-man's switch
    expect(worker.events(startedAt), 'events from the start on').toEqual(['started']);
  }, 30_000);

  it('confirms with one request once paused: the pause id is read while the batch is finished', async () => {
    // As the Node kit (leadership.test.ts): the GET /leader for the pause id goes out as the pause begins, so once
    // paused only the POST is left. The pause takes 2 s here; the read must arrive well inside it.
    const { sidecar, worker, renewing } = await setup(true, 60, 2);
    renewing(true);
    await waitFor('the worker starts at boot', () => worker.count('started') === 1, 10_000, OFTEN);
    // The watch stream is opened after the first read: open before the pause, so only the reads are counted.
    await waitFor('the worker follows the watch stream', () => sidecar.watchers() === 1, 5_000, OFTEN);
    sidecar.pause();
    const pauseId = sidecar.pauseId;
    const from = sidecar.requests.length;
    worker.signal('SIGUSR2');
    await waitFor('the pause callback running', () => worker.count('pausing') === 1, 2_000, OFTEN);
    await waitFor('the pause id read while the batch is finished', () => sidecar.requests.slice(from).includes('GET /leader'), 1_500, OFTEN);
    expect(worker.count('paused'), 'still finishing the batch').toBe(0);
    await waitFor('the pause confirmed', () => sidecar.confirmations.includes(pauseId), 5_000, OFTEN);
    expect(sidecar.requests.slice(from)).toEqual(['GET /leader', 'POST /paused']);
  }, 30_000);
});
