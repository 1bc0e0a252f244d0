// The adapters' `prepare` (grammY's bot.init(), telegraf's getMe: the bot's own info) runs while the worker is
// paused, not on its first start: a new pod's first start is a handoff, and a Bot API round trip there was gap
// (issue 20: grammY and telegraf handed off ~25 ms slower than node-telegram-bot-api).
import { EventEmitter } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { runUnderBaton, type BatonWorker } from '../src/adapters/run.ts';
import { sleep } from '../../../test/harness/wait.ts';

let workers: BatonWorker[] = [];
afterEach(async () => {
  for (const w of workers) await w.leadership.close();
  workers = [];
});

const settle = () => sleep(10);

function setup(prepare: () => Promise<void>) {
  const signals = new EventEmitter();
  const log: string[] = [];
  const w = runUnderBaton('1:a', () => undefined, {
    sidecar: false,
    signals: signals as unknown as NodeJS.Process,
    warn: () => undefined,
    onError: () => undefined,
    prepare: async () => {
      log.push('prepare');
      await prepare();
    },
    // A long poll that only ends when aborted.
    call: (method, _params, signal) => {
      log.push(method);
      return new Promise((_resolve, reject) => signal?.addEventListener('abort', () => reject(new Error('aborted'))));
    },
  });
  workers.push(w);
  return { signals, log, w };
}

describe('worker kit: the bot is prepared while paused', () => {
  it('prepares at once, before any start signal; the first start then only polls', async () => {
    const { signals, log } = setup(async () => undefined);
    await settle();
    expect(log).toEqual(['prepare']);
    signals.emit('SIGUSR1');
    await settle();
    expect(log).toEqual(['prepare', 'getUpdates']);
  });

  it('a preparation that failed while paused is tried again by the start, which waits for it', async () => {
    let fail = true;
    const { signals, log, w } = setup(async () => {
      if (fail) throw new Error('Bot API unreachable');
    });
    await settle();
    fail = false;
    signals.emit('SIGUSR1');
    await settle();
    expect(log).toEqual(['prepare', 'prepare', 'getUpdates']);
    expect(w.leadership.isLeader()).toBe(true);
  });
});
