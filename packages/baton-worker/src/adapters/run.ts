// The shared shape of every framework adapter: the kit's own getUpdates loop (exact offset control)
// feeding the framework's per-update entry point, under baton's leadership.
import { leadership, type Leadership, type LeadershipOptions } from '../leadership.ts';
import { UpdatePoller, type PollerOptions, type Update } from '../poller.ts';

/** Options of {@link runUnderBaton}: the leadership's and the poller's. */
export interface AdapterOptions extends Omit<LeadershipOptions, 'start' | 'pause'>, Omit<PollerOptions, 'token' | 'handle' | 'fence' | 'mayConfirm'> {
  /** Prepares the bot (e.g. fetches its own info): called at once, while paused; the first start waits for it, and tries again if it failed. */
  prepare?(): Promise<void>;
}

/**
 * Options of the framework adapters: the same, less what is taken from the bot itself (its API root,
 * test environment and client), so that nothing is said twice.
 */
export type FrameworkAdapterOptions = Omit<AdapterOptions, 'apiRoot' | 'testEnvironment' | 'call' | 'prepare'>;

/** A running worker: its leadership and its poller. */
export interface BatonWorker {
  /** Signals, confirmations, dead-man's switch, events. */
  leadership: Leadership;
  /** The getUpdates loop. */
  poller: UpdatePoller;
}

/**
 * Runs any per-update handler under baton with the kit's poller: the plain form of every adapter. The
 * poller is fenced by `leadership.mayAct()` (F1): a worker resumed past its lease time handles nothing
 * more of its batch and sends no getUpdates.
 *
 * @param token - the bot's token
 * @param handle - called for each update, in order; awaited
 * @param opts - the leadership's and the poller's options
 */
export function runUnderBaton(token: string, handle: (u: Update) => Promise<void> | void, opts: AdapterOptions = {}): BatonWorker {
  // F1: the poller is fenced by the leadership's lease time (created below: the poller asks it only once started).
  const poller = new UpdatePoller({ ...opts, token, handle, fence: () => lead.mayAct(), mayConfirm: () => lead.mayConfirm() });
  // The bot is prepared (its own info fetched) at once, while paused: a new pod's first start is a handoff,
  // and a Bot API round trip there was gap. One that failed is tried again by the start, which waits for it.
  let prepared: Promise<void> | undefined;
  const prepare = (): Promise<void> =>
    (prepared ??= Promise.resolve(opts.prepare?.()).catch((err: unknown) => {
      prepared = undefined;
      throw err;
    }));
  const lead: Leadership = leadership({
    ...opts,
    start: async () => {
      await prepare();
      poller.start();
    },
    pause: () => poller.stop(),
  });
  if (opts.prepare) prepare().catch(() => undefined);
  return { leadership: lead, poller };
}

/** Refuses a setting that belongs to the bot (JavaScript callers have no type check). */
export function refuseBotSettings(adapter: string, opts: object, where: string): void {
  for (const key of ['apiRoot', 'testEnvironment', 'call', 'token']) {
    if (key in opts) throw new TypeError(`${adapter}: "${key}" is taken from the bot (${where}); do not pass it to the adapter`);
  }
}
