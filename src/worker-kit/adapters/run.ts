// The shared shape of every framework adapter: the kit's own getUpdates loop (exact offset control)
// feeding the framework's per-update entry point, under baton's leadership.
import { leadership, type Leadership, type LeadershipOptions } from '../leadership.ts';
import { UpdatePoller, type PollerOptions, type Update } from '../poller.ts';

/** Options every adapter takes. */
export interface AdapterOptions extends Omit<LeadershipOptions, 'start' | 'pause'>, Omit<PollerOptions, 'token' | 'handle'> {
  /** Called before the first start (e.g. to fetch the bot's own info). */
  prepare?(): Promise<void>;
}

/** A running worker: its leadership and its poller. */
export interface BatonWorker {
  leadership: Leadership;
  poller: UpdatePoller;
}

export function runUnderBaton(token: string, handle: (u: Update) => Promise<void> | void, opts: AdapterOptions = {}): BatonWorker {
  const poller = new UpdatePoller({ ...opts, token, handle });
  let prepared: Promise<void> | undefined;
  const lead = leadership({
    ...opts,
    start: async () => {
      prepared ??= opts.prepare?.() ?? Promise.resolve();
      await prepared;
      poller.start();
    },
    pause: () => poller.stop(),
  });
  return { leadership: lead, poller };
}
