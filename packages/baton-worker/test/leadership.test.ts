import { afterEach, describe, expect, it } from 'vitest';
import { EventEmitter } from 'node:events';
import { Leadership } from '../src/leadership.ts';
import { FakeSidecar } from '../../../test/harness/fake-sidecar.ts';
import { sleep, waitFor, type WaitOptions } from '../../../test/harness/wait.ts';

/** The fake sidecar answers at once: ask every 5 ms. */
const OFTEN: WaitOptions = { everyMs: 5 };

let cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanup) await c();
  cleanup = [];
});

async function setup(
  opts: { isLeader?: boolean; pauseMs?: number; deadManMs?: number; renewDeadlineMs?: number; renewedAt?: string; checkEveryMs?: number } = {},
) {
  // An old sidecar (no timings, no renewal) unless the test gives a renew deadline.
  const sidecar = new FakeSidecar({
    identity: 'p',
    standbyHolder: 'p',
    lease: { name: 'l', namespace: 'n' },
    epoch: 3,
    isLeader: opts.isLeader ?? false,
    timings: null,
    renewedAt: null,
  });
  if (opts.renewDeadlineMs !== undefined) {
    sidecar.timings = { leaseDurationMs: opts.renewDeadlineMs * 2, renewDeadlineMs: opts.renewDeadlineMs, retryPeriodMs: 50 };
    sidecar.renewedAt = opts.renewedAt ?? new Date().toISOString();
  }
  await sidecar.listen();
  const signals = new EventEmitter();
  const calls: string[] = [];
  let active = 0;
  let maxActive = 0;
  /** How many requests the sidecar had received when each hook resolved. */
  const requestsAtEnd: number[] = [];
  const hook = (name: string, ms: number) => async () => {
    active++;
    maxActive = Math.max(maxActive, active);
    calls.push(`${name}>`);
    await sleep(ms);
    calls.push(`<${name}`);
    requestsAtEnd.push(sidecar.requests.length);
    active--;
  };
  const lead = new Leadership({
    url: sidecar.url,
    start: hook('start', 5),
    pause: hook('pause', opts.pauseMs ?? 20),
    signals: signals as unknown as NodeJS.Process,
    checkEveryMs: opts.checkEveryMs ?? 30,
    deadManMs: opts.deadManMs ?? 300,
    warn: () => undefined,
  });
  cleanup.push(async () => {
    await lead.close().catch(() => undefined);
    await sidecar.close().catch(() => undefined);
  });
  return { sidecar, signals, lead, calls, requestsAtEnd, maxActive: () => maxActive };
}

describe('worker kit: leadership()', () => {
  it('installs both handlers at once, starts paused, and confirms the starting pause', async () => {
    const { sidecar, signals, lead } = await setup();
    expect(signals.listenerCount('SIGUSR1')).toBe(1);
    expect(signals.listenerCount('SIGUSR2')).toBe(1);
    await lead.ready;
    expect(lead.isLeader()).toBe(false);
    expect(sidecar.confirmations).toEqual([0]);
    expect(lead.epoch()).toBe(3);
  });

  it('has typed on, once and off, and no emit: only the kit emits its events (a caller cannot forge a dead-man)', async () => {
    const { sidecar, signals, lead } = await setup({ isLeader: true });
    expect('emit' in lead).toBe(false);
    expect(lead).not.toBeInstanceOf(EventEmitter);
    const seen: string[] = [];
    const onStarted = () => seen.push('on');
    expect(lead.on('started', onStarted)).toBe(lead);
    expect(lead.once('started', () => seen.push('once'))).toBe(lead);
    await lead.ready;
    expect(seen).toEqual(['on', 'once']);
    expect(lead.off('started', onStarted)).toBe(lead);
    sidecar.isLeader = false;
    signals.emit('SIGUSR2');
    await waitFor('not leading', () => !lead.isLeader(), 3000, OFTEN);
    sidecar.isLeader = true;
    signals.emit('SIGUSR1');
    await waitFor('leading', () => lead.isLeader(), 3000, OFTEN);
    // The second start reached neither: one listener removed, the other a once.
    expect(seen).toEqual(['on', 'once']);
  });

  it('starts at boot when the sidecar says it leads', async () => {
    const { lead, calls } = await setup({ isLeader: true });
    await lead.ready;
    expect(lead.isLeader()).toBe(true);
    expect(calls).toEqual(['start>', '<start']);
  });

  it('pauses on the pause signal, then confirms the latest pause id', async () => {
    const { sidecar, signals, lead, calls } = await setup({ isLeader: true });
    await lead.ready;
    sidecar.isLeader = false;
    sidecar.pauseId = 7;
    signals.emit('SIGUSR2');
    await waitFor('pause 7 confirmed', () => sidecar.confirmations.includes(7), 3000, OFTEN);
    expect(calls).toEqual(['start>', '<start', 'pause>', '<pause']);
    expect(lead.isLeader()).toBe(false);
  });

  it('confirms with one request once paused: the pause id is read while the batch is finished (issue 20)', async () => {
    // No backstop reads during the test: every request is the pause's own.
    const { sidecar, signals, lead, requestsAtEnd } = await setup({ isLeader: true, pauseMs: 80, checkEveryMs: 60_000 });
    await lead.ready;
    sidecar.pause();
    const pauseId = sidecar.pauseId;
    signals.emit('SIGUSR2');
    await waitFor('the pause confirmed', () => sidecar.confirmations.includes(pauseId), 3000, OFTEN);
    // What the kit asked once its pause hook had resolved (the second hook: start, then pause): only the POST.
    expect(sidecar.requests.slice(requestsAtEnd[1])).toEqual(['POST /paused']);
  });

  it('a signal that comes while pausing makes the kit read the pause id again before it confirms', async () => {
    const { sidecar, signals, lead, calls } = await setup({ isLeader: true, pauseMs: 80, checkEveryMs: 60_000 });
    await lead.ready;
    sidecar.pause();
    signals.emit('SIGUSR2');
    await waitFor('the pause handler running', () => calls.includes('pause>'), 3000, OFTEN);
    await sleep(20); // the id of this pause has been read
    // The sidecar starts the worker and pauses it again before the first pause is over.
    sidecar.isLeader = true;
    signals.emit('SIGUSR1');
    sidecar.pause();
    signals.emit('SIGUSR2');
    await waitFor('the second pause confirmed', () => sidecar.confirmations.includes(sidecar.pauseId), 3000, OFTEN);
    expect(sidecar.confirmations.filter((id) => id > 0)).toEqual([sidecar.pauseId]);
    expect(lead.isLeader()).toBe(false);
  });

  it('a pause while already paused changes nothing, and the start after it still starts', async () => {
    const { signals, lead, calls } = await setup();
    await lead.ready;
    signals.emit('SIGUSR2');
    signals.emit('SIGUSR1');
    await waitFor('leading', () => lead.isLeader(), 3000, OFTEN);
    expect(calls).toEqual(['start>', '<start']);
  });

  it('runs one transition at a time; the latest signal wins', async () => {
    const { sidecar, signals, lead, calls, maxActive } = await setup({ isLeader: true, pauseMs: 80 });
    await lead.ready;
    signals.emit('SIGUSR2');
    signals.emit('SIGUSR1');
    signals.emit('SIGUSR2');
    signals.emit('SIGUSR1');
    sidecar.isLeader = true;
    await waitFor('six calls', () => calls.length >= 6, 3000, OFTEN);
    await sleep(50);
    expect(maxActive()).toBe(1);
    expect(calls).toEqual(['start>', '<start', 'pause>', '<pause', 'start>', '<start']);
    expect(lead.isLeader()).toBe(true);
  });

  it("pauses by itself when the sidecar stops answering (dead-man's switch)", async () => {
    const { sidecar, lead } = await setup({ isLeader: true });
    await lead.ready;
    const events: string[] = [];
    lead.on('dead-man', () => events.push('dead-man'));
    await sidecar.close();
    await waitFor('not leading', () => !lead.isLeader(), 2000, OFTEN);
    expect(events).toEqual(['dead-man']);
  });

  it('pauses when the sidecar says it no longer leads, even if the signal was lost', async () => {
    const { sidecar, lead } = await setup({ isLeader: true });
    await lead.ready;
    sidecar.isLeader = false;
    await waitFor('not leading', () => !lead.isLeader(), 3000, OFTEN);
  });

  it('removes its handlers on close', async () => {
    const { signals, lead } = await setup();
    await lead.ready;
    await lead.close();
    expect(signals.listenerCount('SIGUSR1')).toBe(0);
    expect(signals.listenerCount('SIGUSR2')).toBe(0);
  });

  it("dead-man's switch tied to the Lease: a frozen sidecar's worker pauses once the Lease is unrenewed for the renew deadline", async () => {
    // The fallback (time without an answer) is set far away: only the Lease rule can pause in time.
    const { sidecar, lead } = await setup({ isLeader: true, deadManMs: 60_000, renewDeadlineMs: 400 });
    await lead.ready;
    expect(lead.isLeader()).toBe(true);
    const events: Array<{ reason: string; renewedAt?: number }> = [];
    lead.on('dead-man', (info) => events.push(info));
    // Renewals keep it running...
    const renewer = setInterval(() => (sidecar.renewedAt = new Date().toISOString()), 50);
    await sleep(800);
    expect(lead.isLeader()).toBe(true);
    clearInterval(renewer);
    // ...then the sidecar freezes: no answer, no renewal.
    sidecar.frozen = true;
    const lastRenewal = Date.parse(sidecar.renewedAt!);
    await waitFor('the dead-man event', () => events.length > 0, 2000, OFTEN);
    const firedAt = Date.now();
    await waitFor('not leading', () => !lead.isLeader(), 2000, OFTEN);
    // It fires a renew deadline after the last renewal it saw (never later than the true last one): the
    // quick read before pausing ends by the deadline, so the margin (lease duration − renew deadline) stays whole.
    const seen = events[0]!.renewedAt!;
    expect(seen).toBeLessThanOrEqual(lastRenewal);
    expect(lastRenewal - seen).toBeLessThan(200);
    expect(firedAt - seen).toBeGreaterThanOrEqual(400 - 2);
    expect(firedAt - seen).toBeLessThan(400 + 60);
    expect(events).toHaveLength(1);
  });

  it('once the switch fires, the backstop does not start the worker again before a fresher renewal', async () => {
    // Seen in the fault suite (api-freeze): the API froze, the sidecar still answered "leader" with the old
    // renewal; the switch paused one quick read before the deadline, and the backstop, judging the Lease fresh
    // until the deadline itself, started the worker again for a new poll — the switch and the backstop disagreed.
    const { sidecar, lead, calls } = await setup({ isLeader: true, deadManMs: 60_000, renewDeadlineMs: 1_000 });
    await lead.ready;
    expect(lead.isLeader()).toBe(true);
    const fired: number[] = [];
    lead.on('dead-man', () => fired.push(calls.length));
    // Renewals stop (the API is frozen); the sidecar keeps answering that it leads.
    const deadline = Date.parse(sidecar.renewedAt!) + 1_000;
    await waitFor('not leading', () => !lead.isLeader(), 3_000, OFTEN);
    const pausedAt = calls.indexOf('pause>');
    while (Date.now() < deadline + 200) await sleep(20);
    // The pause is the switch's, or the backstop's when its answer lands during the switch's quick read: from
    // that point on both judge the Lease stale. Nothing starts it again, so the switch never fires twice.
    expect(
      calls.slice(pausedAt).filter((c) => c === 'start>'),
      calls.join(' '),
    ).toEqual([]);
    expect(fired.length).toBeLessThanOrEqual(1);
    // A fresher renewal lets the backstop start it again.
    sidecar.renewedAt = new Date().toISOString();
    await waitFor('leading again', () => lead.isLeader(), 1_000, OFTEN);
  });

  it('a start signal finds its renewal already pushed on the watch stream: no read of /leader before the start (issue 20)', async () => {
    // A standby: its last answer names the old holder, so the fence cannot hold on it.
    const sidecar = new FakeSidecar({ identity: 'p', standbyHolder: 'old', isLeader: false, renewedAt: new Date().toISOString() });
    await sidecar.listen();
    const signals = new EventEmitter();
    const calls: string[] = [];
    const lead = new Leadership({
      url: sidecar.url,
      start: () => void calls.push('start'),
      pause: () => void calls.push('pause'),
      signals: signals as unknown as NodeJS.Process,
      checkEveryMs: 60_000,
      warn: () => undefined,
    });
    cleanup.push(async () => {
      sidecar.release();
      await lead.close().catch(() => undefined);
      await sidecar.close().catch(() => undefined);
    });
    await lead.ready;
    await waitFor('one watcher', () => sidecar.watchers() === 1, 3000, OFTEN);
    // The sidecar acquires: it publishes the Lease it got back (its own, freshly renewed), then signals; a busy
    // sidecar answers no GET for now.
    sidecar.isLeader = true;
    sidecar.renew();
    sidecar.hold = true;
    sidecar.push();
    await sleep(20);
    signals.emit('SIGUSR1');
    await waitFor('the start handler called', () => calls.includes('start'), 1_000, OFTEN);
    expect(lead.mayAct()).toBe(true);
  });

  it('a start signal is not judged by a renewal read before it: a new leader does not trip the switch', async () => {
    // Seen in the fault suite (api-kill): a standby's last answer carried the old leader's renewal from before
    // the outage; when it won the Lease and got the start signal, the switch judged that old renewal, gave its
    // quick read a deadline already past (1 ms), paused the new leader at once and started it a second later.
    const stale = new Date(Date.now() - 5_000).toISOString();
    const { sidecar, signals, lead, calls } = await setup({ isLeader: false, deadManMs: 60_000, renewDeadlineMs: 1_000, renewedAt: stale });
    await lead.ready;
    await sleep(100); // the backstop has read the stale renewal again
    const fired: unknown[] = [];
    lead.on('dead-man', (info) => fired.push(info));
    // The sidecar has just acquired (a fresh renewal), then signals.
    sidecar.isLeader = true;
    sidecar.renewedAt = new Date().toISOString();
    signals.emit('SIGUSR1');
    await waitFor('leading', () => lead.isLeader(), 1_000, OFTEN);
    await sleep(400);
    expect(fired).toEqual([]);
    expect(calls.filter((c) => c === 'pause>')).toEqual([]);
    expect(lead.isLeader()).toBe(true);
  });

  it('an answer already on its way when the start signal comes counts as read before it', async () => {
    // The same new leader, but the backstop's read was in flight when the sidecar acquired: its answer was
    // written before the acquisition (the old renewal) and is taken in after the start signal. It says nothing
    // of the Lease the signal came from either: the switch must give its quick read the whole bound.
    const stale = new Date(Date.now() - 5_000).toISOString();
    const { sidecar, signals, lead, calls } = await setup({ isLeader: false, deadManMs: 60_000, renewDeadlineMs: 1_000, renewedAt: stale });
    await lead.ready;
    sidecar.answerMs = 20; // a 1 ms read bound never gets an answer
    sidecar.hold = true;
    await waitFor("the backstop's next read in flight", () => sidecar.heldCount() === 1, 1_000, OFTEN);
    sidecar.hold = false;
    const fired: unknown[] = [];
    lead.on('dead-man', (info) => fired.push(info));
    // The sidecar acquires (a fresh renewal), then signals; the old answer is still on its way.
    sidecar.isLeader = true;
    sidecar.renewedAt = new Date().toISOString();
    signals.emit('SIGUSR1');
    await waitFor('leading', () => lead.isLeader(), 1_000, OFTEN);
    sidecar.release();
    await sleep(400);
    expect(fired).toEqual([]);
    expect(calls.filter((c) => c === 'pause>')).toEqual([]);
    expect(lead.isLeader()).toBe(true);
  });

  it('never starts on a Lease that has gone unrenewed for the renew deadline', async () => {
    const stale = new Date(Date.now() - 5_000).toISOString();
    const { lead, calls } = await setup({ isLeader: true, renewDeadlineMs: 1_000, renewedAt: stale });
    await lead.ready;
    await sleep(150);
    expect(lead.isLeader()).toBe(false);
    expect(calls).toEqual([]);
  });
});
