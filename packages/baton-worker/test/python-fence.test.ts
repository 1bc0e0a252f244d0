// F1 in the Python helper (python/baton_worker.py), run with plain python3 against a stand-in sidecar and the
// Telegram double in this process: the Node kit's cases (fence.test.ts). The helper's wall clock is a
// test clock that moves only when the worker's first handler says so: a freeze while that update is in hand.
// BATON_WORKER_PY names another copy of the helper to run these tests against (e.g. an older one).
import { afterEach, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TelegramDouble } from '../../../e2e/telegram/server.ts';
import { FakeSidecar, KIT } from '../../../test/harness/fake-sidecar.ts';
import { waitFor } from '../../../test/harness/wait.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const helper = process.env.BATON_WORKER_PY ?? join(root, 'python', 'baton_worker.py');
const TIMINGS = { leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 };
const BASE_S = Date.UTC(2026, 11, 7, 3, 0, 0) / 1000;
const token = '123:pyfence';

// argv: helper, sidecar url, api root, mode. Modes: how far the clock jumps while the first update is handled,
// and whether the sidecar's pause signal comes (during the first update, or after the batch).
const WORKER = `
import asyncio, importlib.util, inspect, json, os, signal, sys, time, types
spec = importlib.util.spec_from_file_location("baton_worker", sys.argv[1])
bw = importlib.util.module_from_spec(spec)
spec.loader.exec_module(bw)
url, api_root, mode = sys.argv[2], sys.argv[3], sys.argv[4]
clock = {"t": ${BASE_S}}
JUMP = {"past-lease": 15.001, "past-deadline": 10.001, "short": 9.0, "graceful": 9.0}[mode]

def out(event, **fields):
    print(json.dumps({"event": event, **fields}), flush=True)

handled = []

async def handle(u):
    if not handled:
        if mode == "graceful":
            os.kill(os.getpid(), signal.SIGUSR2)
        clock["t"] += JUMP  # frozen while this update is in hand
        await asyncio.sleep(0)
    handled.append(u["update_id"])
    out("handled", update=u["update_id"])
    if mode == "short" and len(handled) == 5:
        os.kill(os.getpid(), signal.SIGUSR2)

poller = bw.UpdatePoller("${token}", handle, api_root=api_root, timeout=30, log=lambda m: out("log", message=m))
poller.on_fenced = lambda info: out("fenced", **info)

async def start():
    poller.start()
    out("started")

async def pause():
    await poller.stop()
    out("paused", offset=poller.offset)

async def main():
    # An older helper (BATON_WORKER_PY) has no wall_clock and no fence: its module's clock is replaced instead.
    if "wall_clock" in inspect.signature(bw.Leadership).parameters:
        kw = {"wall_clock": lambda: clock["t"]}
    else:
        kw = {}
        bw.time = types.SimpleNamespace(time=lambda: clock["t"], monotonic=time.monotonic)
    lead = bw.Leadership(start=start, pause=pause, url=url, check_every=60.0, dead_man=60.0,
                         log=lambda m: out("log", message=m), **kw)
    poller.fence, poller.may_confirm = getattr(lead, "may_act", None), getattr(lead, "may_confirm", None)
    await lead.serve()

asyncio.run(main())
`;

interface Line {
  event: 'started' | 'handled' | 'fenced' | 'paused' | 'log';
  update?: number;
  at?: string;
  unhandled?: number;
  offset?: number | null;
  message?: string;
}

let cleanup: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanup) await c();
  cleanup = [];
});

async function run(mode: 'past-lease' | 'past-deadline' | 'short' | 'graceful') {
  const double = new TelegramDouble();
  const { url } = await double.start({ tokens: [token], seed: 18 });
  cleanup.push(() => double.stop());
  const ids = Array.from({ length: 5 }, (_, i) => double.inject(`u${i}`, { token })!);
  const sidecar = new FakeSidecar({ identity: 'p', standbyHolder: 'q', isLeader: true, timings: TIMINGS, renewedAt: new Date(BASE_S * 1000).toISOString() });
  await sidecar.listen();
  cleanup.push(() => sidecar.close());
  const lines: Line[] = [];
  let buf = '';
  const child: ChildProcess = spawn('python3', ['-c', WORKER, helper, sidecar.url, `${url}/py`, mode], { stdio: ['ignore', 'pipe', 'pipe'] });
  cleanup.push(() => void child.kill('SIGKILL'));
  child.stdout!.on('data', (c: Buffer) => {
    buf += c.toString();
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      lines.push(JSON.parse(buf.slice(0, nl)) as Line);
      buf = buf.slice(nl + 1);
    }
  });
  child.stderr!.on('data', (c: Buffer) => process.stderr.write(c));
  // The worker ends paused, and its pause is confirmed to the sidecar (POST /paused) as always; a worker without
  // the fence handles the whole batch after the freeze, and is judged on that.
  const handledAll = () => mode.startsWith('past') && lines.filter((l) => l.event === 'handled').length === 5;
  await waitFor('paused and confirmed', () => (lines.some((l) => l.event === 'paused') && sidecar.confirmations.length === 1) || handledAll(), 20_000, KIT);
  const polls = double
    .requests()
    .filter((r) => r.type === 'start')
    .map((r) => (r.type === 'start' ? { offset: r.requested.offset, timeout: r.requested.timeout } : undefined));
  const handled = lines.filter((l) => l.event === 'handled').map((l) => l.update);
  const fenced = lines.filter((l) => l.event === 'fenced');
  /** What Telegram still holds unconfirmed (the next leader gets it). */
  const pending = double.queue({ token }).map((u) => u.update_id);
  return { ids, handled, fenced, polls, lines, pending };
}

describe('python/baton_worker.py: F1, the worker fences itself on lease time', () => {
  it('a freeze past the lease with a batch in hand: nothing more handled, no getUpdates after, offset = last handled', async () => {
    const { ids, handled, fenced, polls, lines, pending } = await run('past-lease');
    expect(handled).toEqual([ids[0]]);
    expect(pending).toEqual(ids);
    expect(fenced).toEqual([{ event: 'fenced', at: 'update', unhandled: 4, offset: ids[0]! + 1 }]);
    expect(polls).toHaveLength(1); // the long poll that brought the batch; no confirmation, no probe
    expect(lines.find((l) => l.event === 'paused')!.offset).toBe(ids[0]! + 1);
  }, 30_000);

  it('a freeze past the renew deadline, not the lease: nothing more handled, what was handled confirmed by one short poll', async () => {
    const { ids, handled, fenced, polls, pending } = await run('past-deadline');
    expect(handled).toEqual([ids[0]]);
    expect(pending).toEqual(ids.slice(1));
    expect(fenced).toHaveLength(1);
    expect(polls).toHaveLength(2);
    expect(polls[1]).toEqual({ offset: String(ids[0]! + 1), timeout: '0' });
  }, 30_000);

  it('a freeze shorter than the renew deadline changes nothing: the batch goes on', async () => {
    const { ids, handled, fenced, pending } = await run('short');
    expect(handled).toEqual(ids);
    expect(fenced).toEqual([]);
    expect(pending).toEqual([]);
  }, 30_000);

  it('a graceful pause inside the lease finishes and confirms the batch before POST /paused', async () => {
    const { ids, handled, fenced, pending } = await run('graceful');
    expect(handled).toEqual(ids);
    expect(fenced).toEqual([]);
    expect(pending).toEqual([]); // confirmed (by the next poll or the stop's short poll) before POST /paused
  }, 30_000);
});

// The Lease taken by hand (kubectl edit names a standby, with a renewal written now): the sidecar's next answer
// names another holder. That neither ends nor extends this pod's lease time (its own last renewal + RD): the
// graceful pause the sidecar sends finishes its batch inside it (fault suite `lease-names-standby`).
const HAND_EDIT = `
import importlib.util, json, sys
spec = importlib.util.spec_from_file_location("baton_worker", sys.argv[1])
bw = importlib.util.module_from_spec(spec)
spec.loader.exec_module(bw)
clock = {"t": ${BASE_S}}
timings = ${JSON.stringify(TIMINGS)}
iso = lambda t: __import__("datetime").datetime.fromtimestamp(t, __import__("datetime").timezone.utc).isoformat()

async def nothing():
    pass

lead = bw.Leadership(start=nothing, pause=nothing, url="http://127.0.0.1:9", wall_clock=lambda: clock["t"], log=lambda m: None)
seen = getattr(lead, "_seen", None) or (lambda st: setattr(lead, "status", st))
own = clock["t"]
seen({"identity": "p", "holder": "p", "isLeader": True, "renewedAt": iso(own), "timings": timings})
lead._acting = True  # started: the worker's batch is in hand
clock["t"] = own + 2
seen({"identity": "p", "holder": "q", "isLeader": False, "renewedAt": iso(clock["t"]), "timings": timings})
out = {}
clock["t"] = own + 9.999
out["before"] = lead.may_act()
clock["t"] = own + 10.0
out["at"] = lead.may_act()
out["confirm"] = lead.may_confirm()
clock["t"] = own + 15.0
out["confirmAfterLease"] = lead.may_confirm()
print(json.dumps(out))
`;

describe('python/baton_worker.py: F1 after a hand edit', () => {
  it("another holder named (freshly renewed) neither cuts nor extends this pod's own lease time", async () => {
    const child = spawn('python3', ['-c', HAND_EDIT, helper], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    const code = await new Promise<number | null>((r) => child.on('exit', r));
    expect(code).toBe(0);
    expect(JSON.parse(out)).toEqual({ before: true, at: false, confirm: true, confirmAfterLease: false });
  }, 30_000);
});
