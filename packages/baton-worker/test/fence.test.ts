// F1 (docs/protocol.md): the worker fences itself on lease time. A pod frozen as a whole (SIGSTOP, a GC or VM
// pause, a frozen cgroup) resumes with its batch in hand after the next leader already handled it (issue 18): it
// must handle nothing more of it and send no getUpdates. A pause shorter than the renew deadline changes nothing,
// and a graceful pause inside the lease still finishes and confirms its batch. Time is a test clock: a freeze is a
// jump of the wall clock with no timer run (overdue timers run after whatever the resumed process does first).
import { afterEach, describe, expect, it } from 'vitest';
import { EventEmitter } from 'node:events';
import type { Clock, TimerHandle } from '../src/clock.ts';
import { Leadership } from '../src/leadership.ts';
import { UpdatePoller, type BotApiCall, type FencedInfo, type Update } from '../src/poller.ts';
import { runUnderBaton, type BatonWorker } from '../src/adapters/run.ts';
import { grammyUnderBaton } from '../src/adapters/grammy.ts';
import { telegrafUnderBaton } from '../src/adapters/telegraf.ts';
import { ntbaUnderBaton } from '../src/adapters/node-telegram-bot-api.ts';
import { TelegramDouble } from '../../../e2e/telegram/server.ts';
import { FakeSidecar } from '../../../test/harness/fake-sidecar.ts';
import { flush } from '../../../test/harness/fake-clock.ts';

const RD = 10_000;
const LD = 15_000;
const TIMINGS = { leaseDurationMs: LD, renewDeadlineMs: RD, retryPeriodMs: 2_000 };
const token = '123:fence';

/** The kit's Clock, moved by the test only. `jump()` is a freeze: time passes, no timer runs. */
class TestClock implements Clock {
  t = Date.UTC(2026, 11, 7, 3, 0, 0);
  private timers: Array<{ at: number; fn: () => void }> = [];
  now(): number {
    return this.t;
  }
  wallClock(): number {
    return this.t;
  }
  setTimer(fn: () => void, ms: number): TimerHandle {
    const timer = { at: this.t + Math.max(0, ms), fn };
    this.timers.push(timer);
    return { cancel: () => void (this.timers = this.timers.filter((x) => x !== timer)) };
  }
  jump(ms: number): void {
    this.t += ms;
  }
  /** Time passes and the timers due meanwhile run, in order (a process that is not frozen). */
  advance(ms: number): void {
    const end = this.t + ms;
    for (;;) {
      const due = this.timers.filter((x) => x.at <= end).sort((a, b) => a.at - b.at)[0];
      if (!due) break;
      this.timers = this.timers.filter((x) => x !== due);
      this.t = Math.max(this.t, due.at);
      due.fn();
    }
    this.t = end;
  }
  iso(): string {
    return new Date(this.t).toISOString();
  }
}

/** Waits (no time passes on the test clock) until `cond` holds: for I/O to the stand-in sidecar on loopback. */
async function settle(what: string, cond: () => boolean): Promise<void> {
  const end = Date.now() + 5_000;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for: ${what}`);
    await flush(1);
  }
}

/** A gate an update's handler waits at: the test decides when the handler's work is done. */
function gate(): { wait: Promise<void>; open: () => void } {
  let open!: () => void;
  const wait = new Promise<void>((r) => (open = r));
  return { wait, open };
}

/**
 * A Bot API stand-in: the first long poll returns the batch, later long polls wait until aborted, short polls
 * (the stop's confirmation or probe) return nothing. Every getUpdates is recorded, with the handled ids so far.
 */
function botApi(batch: Update[], log: string[]) {
  const polls: Array<Record<string, unknown>> = [];
  let served = false;
  const call: BotApiCall = (method, params, signal) => {
    polls.push({ ...params });
    log.push(`getUpdates offset=${String(params.offset)} timeout=${String(params.timeout)}`);
    if (method !== 'getUpdates') throw new Error(method);
    if (Number(params.timeout) === 0) return Promise.resolve([]);
    if (!served) {
      served = true;
      return Promise.resolve(batch);
    }
    return new Promise((_, reject) => signal?.addEventListener('abort', () => reject(new Error('aborted'))));
  };
  return { call, polls };
}

const batch = (): Update[] => [1, 2, 3, 4, 5].map((id) => ({ update_id: 100 + id, message: { text: `u${id}` } }));

/** A handler that records what it handled; update 101 waits at the gate (the pod freezes while it runs). */
function handler(log: string[], first = gate()) {
  const handled: number[] = [];
  const startedOn: number[] = [];
  const handle = async (u: Update) => {
    startedOn.push(u.update_id);
    if (u.update_id === 101) await first.wait;
    handled.push(u.update_id);
    log.push(`handled ${u.update_id}`);
  };
  return { handle, handled, startedOn, first };
}

describe('F1: UpdatePoller with a fence', () => {
  function setup() {
    const clock = new TestClock();
    const deadline = clock.t + RD; // renewedAt + renew deadline
    const log: string[] = [];
    const api = botApi(batch(), log);
    const h = handler(log);
    const fenced: FencedInfo[] = [];
    const poller = new UpdatePoller({
      token,
      call: api.call,
      handle: h.handle,
      fence: () => clock.wallClock() < deadline,
      onFenced: (info) => fenced.push(info),
      onError: () => undefined,
    });
    return { clock, log, api, h, fenced, poller };
  }

  it('a freeze past the lease time with a batch in hand: nothing more handled, no getUpdates, offset = last handled', async () => {
    const { clock, api, h, fenced, poller } = setup();
    poller.start();
    await settle('the batch is in hand', () => h.startedOn.length === 1);
    clock.jump(RD + 1); // frozen while handling 101
    h.first.open();
    await settle('the loop ends', () => !poller.running);
    expect(h.handled).toEqual([101]);
    expect(api.polls).toHaveLength(1);
    expect(poller.nextOffset).toBe(102);
    expect(fenced).toEqual([{ at: 'update', unhandled: 4, offset: 102 }]);
    await poller.stop();
    expect(api.polls).toHaveLength(1); // no confirmation, no probe
  });

  it('a pause signal already in (stop() awaiting the batch) does not make it finish the batch after a freeze', async () => {
    // The UpdatePoller run: the switch fired 10.7 ms after the resume, and stop() still handled 95 updates.
    const { clock, api, h, fenced, poller } = setup();
    poller.start();
    await settle('the batch is in hand', () => h.startedOn.length === 1);
    const stopped = poller.stop();
    clock.jump(RD + 1);
    h.first.open();
    await stopped;
    expect(h.handled).toEqual([101]);
    expect(api.polls).toHaveLength(1);
    expect(poller.nextOffset).toBe(102);
    expect(fenced).toHaveLength(1);
  });

  it('a freeze shorter than the lease time changes nothing: the batch goes on', async () => {
    const { clock, api, h, fenced, poller } = setup();
    poller.start();
    await settle('the batch is in hand', () => h.startedOn.length === 1);
    clock.jump(RD - 1);
    h.first.open();
    await settle('the next long poll', () => api.polls.length === 2);
    expect(h.handled).toEqual([101, 102, 103, 104, 105]);
    expect(api.polls[1]!.offset).toBe(106);
    expect(fenced).toEqual([]);
    await poller.stop();
  });

  it('a graceful stop inside the lease finishes the batch and confirms it', async () => {
    const { clock, log, h, fenced, poller } = setup();
    poller.start();
    await settle('the batch is in hand', () => h.startedOn.length === 1);
    const stopped = poller.stop();
    clock.jump(RD - 1);
    h.first.open();
    await stopped;
    expect(h.handled).toEqual([101, 102, 103, 104, 105]);
    expect(log.at(-1)).toBe('getUpdates offset=106 timeout=0');
    expect(fenced).toEqual([]);
  });

  it('once the fence failed, mayConfirm() lets one short poll confirm exactly what was handled, nothing more', async () => {
    const clock = new TestClock();
    const deadline = clock.t + RD;
    const log: string[] = [];
    const api = botApi(batch(), log);
    const h = handler(log);
    const poller = new UpdatePoller({
      token,
      call: api.call,
      handle: h.handle,
      fence: () => clock.wallClock() < deadline,
      mayConfirm: () => clock.wallClock() < deadline - RD + LD,
      onFenced: () => undefined,
      onError: () => undefined,
    });
    poller.start();
    await settle('the batch is in hand', () => h.startedOn.length === 1);
    clock.jump(RD + 1); // past the renew deadline, not past the lease: no standby can poll yet
    h.first.open();
    await settle('the loop ends', () => !poller.running);
    expect(h.handled).toEqual([101]);
    expect(log.slice(1)).toEqual(['handled 101', 'getUpdates offset=102 timeout=0']);
    await poller.stop();
    expect(api.polls).toHaveLength(2);
  });

  it('a fence that fails before a poll ends the loop without sending it', async () => {
    const log: string[] = [];
    const api = botApi([], log);
    let may = false;
    const fenced: FencedInfo[] = [];
    const poller = new UpdatePoller({
      token,
      call: api.call,
      handle: () => undefined,
      fence: () => may,
      onFenced: (i) => fenced.push(i),
      onError: () => undefined,
    });
    poller.start();
    await settle('the loop ends', () => !poller.running);
    expect(api.polls).toHaveLength(0);
    expect(fenced).toEqual([{ at: 'poll', unhandled: 0, offset: undefined }]);
    may = true;
    poller.start();
    await settle('it polls again once the fence holds', () => api.polls.length === 1);
    await poller.stop();
  });
});

let cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanup) await c();
  cleanup = [];
});

async function sidecarFor(clock: TestClock, leader: boolean, timings: typeof TIMINGS | null = TIMINGS): Promise<FakeSidecar> {
  const sidecar = new FakeSidecar({ identity: 'p', standbyHolder: 'q', isLeader: leader, timings, renewedAt: clock.iso() });
  await sidecar.listen();
  cleanup.push(() => sidecar.close());
  return sidecar;
}

describe('F1: Leadership.mayAct()', () => {
  async function setup(leader: boolean, timings: typeof TIMINGS | null = TIMINGS) {
    const clock = new TestClock();
    const sidecar = await sidecarFor(clock, leader, timings);
    const signals = new EventEmitter();
    const calls: string[] = [];
    const lead = new Leadership({
      url: sidecar.url,
      clock,
      signals: signals as unknown as NodeJS.Process,
      start: () => void calls.push('start'),
      pause: () => void calls.push('pause'),
      warn: () => undefined,
    });
    cleanup.push(() => lead.close().catch(() => undefined));
    const deadMan: unknown[] = [];
    lead.on('dead-man', (info) => deadMan.push(info));
    await lead.ready;
    return { clock, sidecar, signals, lead, calls, deadMan };
  }

  it('holds while the worker runs inside the lease time; a freeze past it fails it and pauses the worker', async () => {
    const { clock, sidecar, lead, calls, deadMan } = await setup(true);
    expect(lead.isLeader()).toBe(true);
    expect(lead.mayAct()).toBe(true);
    clock.jump(RD - 1);
    expect(lead.mayAct()).toBe(true);
    clock.jump(1);
    expect(lead.mayAct()).toBe(false);
    // The dead-man path: the worker ends paused, and the pause is confirmed to the sidecar as today.
    await settle('paused and confirmed', () => !lead.isLeader() && sidecar.confirmations.length === 1);
    expect(calls).toEqual(['start', 'pause']);
    expect(deadMan).toHaveLength(1);
    expect(lead.mayAct()).toBe(false);
  });

  it('mayConfirm() holds until the last renewal + the lease duration, while the worker is started', async () => {
    const { clock, lead } = await setup(true);
    lead.on('dead-man', () => undefined);
    clock.jump(LD - 1);
    expect(lead.mayConfirm()).toBe(true);
    clock.jump(1);
    expect(lead.mayConfirm()).toBe(false);
  });

  it('is false while paused', async () => {
    const { lead } = await setup(false);
    expect(lead.isLeader()).toBe(false);
    expect(lead.mayAct()).toBe(false);
  });

  it("a start signal after a standby's last answer (the old holder's renewal) holds at once: the renewal is read before starting", async () => {
    const { clock, sidecar, signals, lead } = await setup(false);
    // The old leader's last renewal, long ago, and not this pod's.
    sidecar.renewedAt = new Date(clock.t - 60_000).toISOString();
    clock.jump(1);
    // The sidecar acquires (a fresh renewal), then signals.
    sidecar.isLeader = true;
    sidecar.renewedAt = clock.iso();
    signals.emit('SIGUSR1');
    await settle('started', () => lead.isLeader());
    expect(lead.mayAct()).toBe(true);
  });

  it("a Lease taken by hand (another holder named, freshly renewed) neither cuts nor extends this pod's own lease time: a graceful pause finishes inside it", async () => {
    const clock = new TestClock();
    const sidecar = await sidecarFor(clock, true);
    const own = clock.t;
    const signals = new EventEmitter();
    const pausing = gate();
    const lead = new Leadership({
      url: sidecar.url,
      clock,
      signals: signals as unknown as NodeJS.Process,
      start: () => undefined,
      // The batch in hand takes a while: the pause resolves when the test says so.
      pause: () => pausing.wait,
      warn: () => undefined,
    });
    cleanup.push(() => {
      pausing.open();
      return lead.close().catch(() => undefined);
    });
    await lead.ready;
    expect(lead.mayAct()).toBe(true);
    // kubectl edit names the standby 'q' with a renewal written now; the sidecar loses and says so on /leader.
    clock.jump(2_000);
    sidecar.isLeader = false;
    sidecar.renewedAt = clock.iso();
    clock.advance(1_000); // the kit's periodic read of /leader
    await settle('the edit read', () => lead.status()?.holder === 'q');
    // The pause is under way (the batch in hand), and this pod's own last renewal still proves its lease time.
    expect(lead.mayAct()).toBe(true);
    clock.jump(own + RD - 1 - clock.t);
    expect(lead.mayAct()).toBe(true);
    // q's fresher renewal does not extend it: this pod's worker is fenced at its own renewal + RD.
    clock.jump(1);
    expect(lead.mayAct()).toBe(false);
    expect(lead.mayConfirm()).toBe(true);
    clock.jump(LD - RD);
    expect(lead.mayConfirm()).toBe(false);
  });

  it('never holds on a renewal written by another holder', async () => {
    const { signals, lead } = await setup(false);
    // A sidecar that still names another holder ('q', renewed just now) when the start comes.
    signals.emit('SIGUSR1');
    await settle('started', () => lead.isLeader());
    expect(lead.mayAct()).toBe(false);
  });

  it('without timings (a sidecar too old to publish them) it is isLeader(), as before F1', async () => {
    const { clock, lead } = await setup(true, null);
    expect(lead.mayAct()).toBe(true);
    clock.jump(10 * RD);
    expect(lead.mayAct()).toBe(true);
  });
});

/** The adapters under test, each on the Bot API stand-in (ntba polls over HTTP: the Telegram double). */
const adapters = ['runUnderBaton', 'grammY', 'telegraf', 'node-telegram-bot-api'] as const;

async function worker(
  kind: (typeof adapters)[number],
  clock: TestClock,
  sidecar: FakeSidecar,
  signals: EventEmitter,
  log: string[],
  handle: (u: Update) => Promise<void>,
) {
  const opts = {
    url: sidecar.url,
    clock,
    signals: signals as unknown as NodeJS.Process,
    warn: () => undefined,
    onError: () => undefined,
    onFenced: () => undefined,
  };
  if (kind === 'node-telegram-bot-api') {
    const double = new TelegramDouble();
    const { url } = await double.start({ tokens: [token], seed: 18 });
    cleanup.push(() => double.stop());
    for (let i = 0; i < 5; i++) double.inject(`u${i}`, { token });
    const ids = double.queue({ token }).map((u) => u.update_id);
    const polls = () => double.requests().filter((r) => r.type === 'start');
    const base = ids[0]! - 101; // the handler's gate is on the first update: map ids onto 101..105
    const w = ntbaUnderBaton(
      { token, options: { baseApiUrl: `${url}/kit` }, processUpdate: (u: never) => handle({ ...(u as Update), update_id: (u as Update).update_id - base }) },
      opts,
    );
    const lastPoll = () => {
      const p = polls().at(-1);
      return p?.type === 'start' ? { offset: Number(p.requested.offset), timeout: Number(p.requested.timeout) } : undefined;
    };
    return { w, polls: () => polls().length, lastPoll };
  }
  const api = botApi(batch(), log);
  let w: BatonWorker;
  if (kind === 'runUnderBaton') w = runUnderBaton(token, handle, { ...opts, call: api.call });
  else if (kind === 'grammY')
    w = grammyUnderBaton(
      {
        token,
        init: async () => undefined,
        handleUpdate: (u: never) => handle(u),
        api: { raw: { getUpdates: (p, s) => api.call('getUpdates', p as Record<string, unknown>, s) } },
      },
      opts,
    );
  else
    w = telegrafUnderBaton(
      {
        botInfo: {},
        telegram: {
          token,
          getMe: async () => ({}),
          callApi: (m, p, o) => api.call(m, p as Record<string, unknown>, (o as { signal?: AbortSignal } | undefined)?.signal),
        },
        handleUpdate: (u: never) => handle(u),
      },
      opts,
    );
  const lastPoll = () => {
    const p = api.polls.at(-1);
    return p ? { offset: Number(p.offset), timeout: Number(p.timeout) } : undefined;
  };
  return { w, polls: () => api.polls.length, lastPoll };
}

describe.each(adapters)('F1: %s wires the fence to the leadership', (kind) => {
  async function setup() {
    const clock = new TestClock();
    const sidecar = await sidecarFor(clock, true);
    const signals = new EventEmitter();
    const log: string[] = [];
    const h = handler(log);
    const { w, polls, lastPoll } = await worker(kind, clock, sidecar, signals, log, h.handle);
    cleanup.push(() => w.leadership.close().catch(() => undefined));
    w.leadership.on('confirmed', () => log.push('confirmed'));
    await w.leadership.ready;
    await settle('the batch is in hand', () => h.startedOn.length === 1);
    return { clock, sidecar, signals, log, h, w, polls, lastPoll };
  }

  it('a freeze past the lease: the rest of the batch is not handled, no getUpdates after, the worker ends paused and confirms to the sidecar', async () => {
    const { clock, sidecar, h, w, polls } = await setup();
    const before = polls();
    clock.jump(LD + 1);
    h.first.open();
    await settle('paused and confirmed', () => !w.leadership.isLeader() && sidecar.confirmations.length === 1);
    expect(h.handled).toEqual([101]);
    expect(polls()).toBe(before);
    expect(w.poller.running).toBe(false);
  });

  it('a freeze past the renew deadline but not the lease: the rest is not handled, what was handled is confirmed by one short poll', async () => {
    const { clock, sidecar, h, w, polls, lastPoll } = await setup();
    const before = polls();
    clock.jump(RD + 1);
    h.first.open();
    await settle('paused and confirmed', () => !w.leadership.isLeader() && sidecar.confirmations.length === 1);
    expect(h.handled).toEqual([101]);
    expect(polls()).toBe(before + 1);
    expect(lastPoll()).toEqual({ offset: w.poller.nextOffset, timeout: 0 });
  });

  it('a graceful pause inside the lease (after a short freeze) finishes and confirms the batch, then POST /paused', async () => {
    const { clock, sidecar, signals, log, h, w, lastPoll } = await setup();
    sidecar.pauseId = 1;
    signals.emit('SIGUSR2');
    clock.jump(RD - 1_000);
    h.first.open();
    await settle('paused and confirmed', () => !w.leadership.isLeader() && log.at(-1) === 'confirmed');
    expect(h.handled).toEqual([101, 102, 103, 104, 105]);
    expect(sidecar.confirmations).toEqual([1]);
    // The last getUpdates confirms the batch: a short poll at the offset after it.
    expect(lastPoll()).toEqual({ offset: w.poller.nextOffset, timeout: 0 });
    if (kind !== 'node-telegram-bot-api') expect(log.slice(-2)).toEqual(['getUpdates offset=106 timeout=0', 'confirmed']);
  });
});
