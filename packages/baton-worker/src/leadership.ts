// The worker's half of the protocol, for any Node worker: start on SIGUSR1, pause on SIGUSR2, one
// transition at a time; after a pause has really finished (batch handled, offset confirmed) say so
// with POST /paused, so the next leader starts at once and not a drain later; and pause by itself
// once the Lease has not been renewed for the renew deadline (a frozen or crashed sidecar can send
// no signal, and a standby may take the Lease a lease duration after its last renewal). And fence the
// worker itself (F1, `mayAct()`): a process frozen past that deadline acts on nothing when it resumes.
import { EventEmitter } from 'node:events';
import { systemClock, type Clock, type TimerHandle } from './clock.ts';
import { defaultBatonUrl, LocalApiClient } from './local-api-client.ts';
import type { LeaderStatus, PauseConfirmation } from './status.ts';

/** What the worker does to start and to pause. */
export interface WorkerHooks {
  /** Begin polling. Called only while paused. */
  start: () => Promise<void> | void;
  /**
   * Stop polling, finish the updates in hand and confirm the offset; resolve only then: the sidecar
   * releases the Lease as soon as the returned promise settles and the confirmation is sent.
   */
  pause: () => Promise<void> | void;
}

/** Options of {@link leadership}. */
export interface LeadershipOptions extends WorkerHooks {
  /** The sidecar's local API (default `BATON_URL` or `http://127.0.0.1:4040`). */
  url?: string;
  /**
   * `false`: obey the signals only — no local API, no confirmations, no dead-man's switch — for a
   * worker driven by something other than baton. Default true.
   */
  sidecar?: boolean;
  /** The start signal (default `SIGUSR1`; baton's `BATON_START_SIGNAL`). */
  startSignal?: NodeJS.Signals;
  /** The pause signal (default `SIGUSR2`; baton's `BATON_PAUSE_SIGNAL`). */
  pauseSignal?: NodeJS.Signals;
  /**
   * Only for a sidecar too old to publish the Lease's timings in `GET /leader`: pause when it has not
   * answered for this long (default 10 s). With a current sidecar the switch follows the Lease.
   */
  deadManMs?: number;
  /** How often to ask GET /leader (default 1 s): the Lease's renewals, and a backstop for a lost signal. */
  checkEveryMs?: number;
  /** Time source; injectable for tests. */
  clock?: Clock;
  /** Where signals come from (default `process`); injectable for tests. */
  signals?: Pick<NodeJS.Process, 'on' | 'off'>;
  /** Logs problems (default: console.warn). */
  warn?: (message: string) => void;
}

/** Why the dead-man's switch paused the worker. */
export interface DeadManInfo {
  /** A sentence for logs. */
  reason: string;
  /** The Lease's last renewal this worker saw (ms since the epoch), if the sidecar published it. */
  renewedAt?: number;
  /** True when the fence (F1) found the lease time run out before the switch's own timer did (a frozen process). */
  fenced?: boolean;
}

/** What a confirmation of a pause got from the sidecar. */
export interface ConfirmedInfo {
  /** The pause id confirmed. */
  pause: number;
  /** The sidecar's answer. */
  result: PauseConfirmation;
}

/** The events of a {@link Leadership} and their arguments. */
export interface LeadershipEvents {
  /** The worker was started (its `start` hook resolved). */
  started: [];
  /** The worker was paused (its `pause` hook resolved). */
  paused: [];
  /** A pause confirmation was sent and answered. */
  confirmed: [info: ConfirmedInfo];
  /** The dead-man's switch fired: the worker pauses by itself. */
  'dead-man': [info: DeadManInfo];
  /** A `start` or `pause` hook threw. */
  error: [err: Error];
}

/** A listener of event `E`. */
export type LeadershipListener<E extends keyof LeadershipEvents> = (...args: LeadershipEvents[E]) => void;

/**
 * Handle of a worker under baton. `isLeader()` is true while the worker is running; `epoch()` is the
 * Lease's epoch as last read: pass it along with writes as a fencing token. Its events
 * ({@link LeadershipEvents}) are listened to with `on`, `once` and `off`; only the kit emits them.
 */
export class Leadership {
  /**
   * The events' emitter: a private field (not reachable from outside, even from JavaScript), so that no
   * caller can emit an event (a forged `dead-man`, a false `confirmed`).
   */
  readonly #events = new EventEmitter();
  private readonly o: Required<Pick<LeadershipOptions, 'start' | 'pause' | 'startSignal' | 'pauseSignal' | 'deadManMs' | 'checkEveryMs'>>;
  private readonly sidecar: boolean;
  private readonly api: LocalApiClient;
  private readonly clock: Clock;
  private readonly signals: Pick<NodeJS.Process, 'on' | 'off'>;
  private readonly warn: (message: string) => void;
  private running = false;
  /** F1: from the moment the start hook is called until the pause hook resolved: the worker may be acting. */
  private acting = false;
  /** F1: a pause for a failed fence is queued (fired once). */
  private fencePausing = false;
  private wanted: 'running' | 'paused' = 'paused';
  /** Increments on every signal, so an answer from /leader older than a signal never overrides it. */
  private signalSeq = 0;
  /** `signalSeq` of the last start signal, and when the last answer from /leader came (same counter). */
  private startSeq = -1;
  private statusSeq = -1;
  private applying: Promise<void> | undefined;
  private lastContact: number;
  private lastStatus: LeaderStatus | undefined;
  /**
   * F1: the newest renewal of this pod's own Lease seen (ms since the epoch). Kept when a later answer names
   * another holder (a hand edit, a loss): that record neither ends nor extends this pod's lease time.
   */
  private ownRenewedAt: number | undefined;
  private timer: TimerHandle | undefined;
  private deadManTimer: TimerHandle | undefined;
  /** The watch stream of GET /leader?watch=1, and the timer that opens it again after it ended. */
  private watchAbort: AbortController | undefined;
  private watchRetry: TimerHandle | undefined;
  /** Starts waiting for a renewal of this pod's Lease (see `freshLease()`). */
  private leaseWaiters: Array<() => void> = [];
  private closed = false;
  private readonly onStart = () => this.signal('running');
  private readonly onPause = () => this.signal('paused');
  /** Resolves once the starting state has been read from the sidecar and applied. */
  readonly ready: Promise<void>;

  /** Installs the signal handlers at once, then reads the starting state (see {@link leadership}). */
  constructor(opts: LeadershipOptions) {
    this.o = {
      start: opts.start,
      pause: opts.pause,
      startSignal: opts.startSignal ?? 'SIGUSR1',
      pauseSignal: opts.pauseSignal ?? 'SIGUSR2',
      deadManMs: opts.deadManMs ?? 10_000,
      checkEveryMs: opts.checkEveryMs ?? 1000,
    };
    this.api = new LocalApiClient(opts.url ?? defaultBatonUrl());
    this.sidecar = opts.sidecar ?? true;
    this.clock = opts.clock ?? systemClock;
    this.signals = opts.signals ?? process;
    this.warn = opts.warn ?? ((m) => console.warn(`baton-worker: ${m}`));
    // Handlers first: without them SIGUSR2 kills the process and SIGUSR1 opens Node's inspector,
    // and baton signals nobody until /proc shows both caught.
    this.signals.on(this.o.startSignal, this.onStart);
    this.signals.on(this.o.pauseSignal, this.onPause);
    this.lastContact = this.clock.now();
    this.ready = this.sidecar ? this.boot() : Promise.resolve();
  }

  /** Adds a listener of a typed event. */
  on<E extends keyof LeadershipEvents>(event: E, listener: LeadershipListener<E>): this {
    this.#events.on(event, listener as (...args: unknown[]) => void);
    return this;
  }

  /** Adds a one-time listener of a typed event. */
  once<E extends keyof LeadershipEvents>(event: E, listener: LeadershipListener<E>): this {
    this.#events.once(event, listener as (...args: unknown[]) => void);
    return this;
  }

  /** Removes a listener. */
  off<E extends keyof LeadershipEvents>(event: E, listener: LeadershipListener<E>): this {
    this.#events.off(event, listener as (...args: unknown[]) => void);
    return this;
  }

  /** Emits a typed event: the kit's own, never a caller's. */
  #emit<E extends keyof LeadershipEvents>(event: E, ...args: LeadershipEvents[E]): void {
    this.#events.emit(event, ...args);
  }

  /** True while the worker runs (started and not paused since). */
  isLeader(): boolean {
    return this.running;
  }

  /**
   * F1 — the fence: true only while the worker is started (from its `start` hook until its `pause` hook
   * resolved, so a graceful pause finishes its batch) and its leadership is provable on lease time: the
   * wall clock is before the last renewal of this pod's own Lease seen on `GET /leader` plus the renew
   * deadline — the same deadline the dead-man's switch keeps. Ask it before each poll and before each
   * update (the kit's poller does); when it is false, handle nothing more and confirm nothing past what
   * was handled: the next leader may already have those updates.
   *
   * A false answer while the worker runs also pauses it, as the switch would (a process frozen past the
   * deadline may run its code before its overdue timers). With `sidecar: false`, or a sidecar too old to
   * publish the Lease's timings, there is no lease time to check: it is `isLeader()` as before F1 (the
   * start hook included).
   */
  mayAct(): boolean {
    if (!this.acting) return false;
    if (this.leaseHeld()) return true;
    if (this.running && this.wanted === 'running' && !this.fencePausing) {
      // Not from inside the caller's loop: the caller stops by itself on `false`.
      this.fencePausing = true;
      queueMicrotask(() => {
        this.fencePausing = false;
        if (!this.running || this.wanted !== 'running' || this.leaseHeld()) return;
        const renewedAt = this.renewedAt();
        this.fire({
          reason: `lease time ran out (last renewal seen ${renewedAt === undefined ? 'none' : new Date(renewedAt).toISOString()}, renew deadline ${this.lastStatus?.timings?.renewDeadlineMs ?? 0} ms): the worker is fenced and pauses (F1)`,
          ...(renewedAt !== undefined ? { renewedAt } : {}),
          fenced: true,
        });
      });
    }
    return false;
  }

  /**
   * F1: after `mayAct()` failed, whether the work already done may still be confirmed (the kit's poller:
   * one short getUpdates at the offset after the last update handled). True while the worker is started
   * and no standby can have taken the Lease yet: before the last renewal of this pod's Lease seen plus
   * the lease duration. Between the renew deadline and that (a frozen sidecar, or a short freeze of the
   * pod) the confirmation keeps the next leader from handling those updates again; after it (a pod
   * frozen past the lease) the next leader may be polling already: nothing more is sent. Without the
   * Lease's timings: `isLeader()`, as before F1.
   */
  mayConfirm(): boolean {
    if (!this.acting) return false;
    const s = this.lastStatus;
    if (!this.sidecar || !s?.timings) return true;
    const renewedAt = this.ownRenewedAt;
    return renewedAt !== undefined && this.clock.wallClock() < renewedAt + s.timings.leaseDurationMs;
  }

  /**
   * F1: the lease time holds. Only a renewal of this pod's own Lease counts (`holder` is this pod: the
   * renewal was written by its own sidecar, on the node's clock the containers share, so it is compared
   * with this clock, and no other holder can take over before it + lease duration). Any answer counts,
   * however old — even one read before the last start signal: a renewal of this pod's Lease only moves
   * forward, so an older one gives an earlier deadline (conservative). Another holder's renewal (a
   * standby's last answer) proves nothing for this pod, and none at all: false. An answer naming another
   * holder after this pod's own renewals (the Lease edited by hand, or lost) keeps the own lease time: a
   * standby takes such a record only a lease duration after it changed, so a graceful pause still finishes
   * its batch inside that time (fault suite `lease-names-standby`).
   */
  private leaseHeld(): boolean {
    const s = this.lastStatus;
    // No lease time to check: signals only, or a sidecar too old to publish timings (or not yet read).
    if (!this.sidecar || !s?.timings) return true;
    const renewedAt = this.ownRenewedAt;
    return renewedAt !== undefined && this.clock.wallClock() < renewedAt + s.timings.renewDeadlineMs;
  }

  /** The last renewal of this pod's own Lease seen, in ms since the epoch, if any. */
  private renewedAt(): number | undefined {
    return this.ownRenewedAt;
  }

  /** The Lease's epoch as last read from the sidecar (a fencing token), or undefined before the first answer. */
  epoch(): number | undefined {
    return this.lastStatus?.epoch;
  }

  /** The sidecar's last answer. */
  status(): LeaderStatus | undefined {
    return this.lastStatus;
  }

  /** Pauses (if running), confirms, and removes the signal handlers. */
  async close(): Promise<void> {
    this.closed = true;
    this.timer?.cancel();
    this.deadManTimer?.cancel();
    this.watchRetry?.cancel();
    this.watchAbort?.abort();
    this.wanted = 'paused';
    await this.apply();
    while (this.applying) await this.applying;
    this.signals.off(this.o.startSignal, this.onStart);
    this.signals.off(this.o.pauseSignal, this.onPause);
  }

  private async boot(): Promise<void> {
    const seq = this.signalSeq;
    for (;;) {
      if (this.closed) return;
      try {
        const asked = this.signalSeq;
        const status = await this.api.leader();
        this.contact(status, asked);
        // A signal that arrived while we asked is newer than the answer.
        if (this.signalSeq === seq) this.wanted = status.isLeader && this.leaseFresh() ? 'running' : 'paused';
        break;
      } catch {
        if (this.clock.now() - this.lastContact > this.o.deadManMs) {
          this.warn(`the sidecar at ${this.api.url} has not answered for ${this.o.deadManMs} ms; staying paused and retrying`);
          this.lastContact = this.clock.now();
        }
        await new Promise<void>((r) => this.clock.setTimer(r, 200));
      }
    }
    await this.apply();
    // Starting paused is a pause too: confirming it tells the sidecar this worker confirms its pauses
    // (so does the header on every request, for a sidecar that restarts later).
    if (!this.running && this.lastStatus) await this.confirm();
    this.schedule();
    this.follow();
  }

  /**
   * Follows the sidecar's watch stream: every change it publishes arrives as it happens. A sidecar that
   * acquires publishes the Lease it got back (this pod's, freshly renewed) before it sends the start signal,
   * so the start seldom has to read /leader first (see `freshLease()`). The periodic reads go on all the
   * same; a stream that ends (a restarted sidecar, one without the stream) is opened again a check later.
   */
  private follow(): void {
    if (this.closed) return;
    const abort = new AbortController();
    this.watchAbort = abort;
    void this.api
      .watch((status) => this.pushed(status), abort.signal)
      .catch(() => undefined)
      .finally(() => {
        if (this.closed || abort.signal.aborted) return;
        this.watchRetry = this.clock.setTimer(() => this.follow(), this.o.checkEveryMs);
      });
  }

  /**
   * A status the sidecar pushed. Taken as an answer read now: it may have been written before a signal that
   * the worker has handled already, which only makes the switch's quick read stricter (it ends by the
   * deadline). Nothing is started or paused on it: signals and the periodic check do that.
   */
  private pushed(status: LeaderStatus): void {
    this.contact(status, this.signalSeq);
    if (this.leaseHeld()) for (const w of this.leaseWaiters.splice(0)) w();
  }

  /**
   * F1: before a start, this pod's own fresh renewal must be known. It comes from a read of /leader, or from
   * the watch stream if that is sooner (the sidecar publishes it before signalling; a GET may wait behind the
   * sidecar's work right after its acquire): whichever settles first.
   */
  private async freshLease(): Promise<void> {
    let waiter: (() => void) | undefined;
    const pushed = new Promise<void>((resolve) => {
      waiter = resolve;
      this.leaseWaiters.push(resolve);
    });
    await Promise.race([this.refresh(), pushed]);
    this.leaseWaiters = this.leaseWaiters.filter((w) => w !== waiter);
  }

  private signal(state: 'running' | 'paused'): void {
    this.signalSeq += 1;
    if (state === 'running') this.startSeq = this.signalSeq;
    this.wanted = state;
    void this.apply();
  }

  /** Applies the wanted state; one transition at a time, the latest wish wins. */
  private apply(): Promise<void> {
    if (this.applying) return this.applying;
    const run = async (): Promise<void> => {
      while (this.wanted !== (this.running ? 'running' : 'paused')) {
        if (this.wanted === 'running') {
          // F1: a start signal comes right after the sidecar wrote a fresh renewal, but the last answer may
          // carry an older one or another holder's (a standby's): know the one the signal came from first
          // (pushed on the watch stream, or one loopback read), so the fence holds from the first poll on.
          if (this.sidecar && !this.leaseHeld()) {
            await this.freshLease();
            if (this.wanted !== 'running') continue;
          }
          this.acting = true;
          try {
            await this.o.start();
          } catch (err) {
            this.acting = false;
            throw err;
          }
          this.running = true;
          this.#emit('started');
          this.armDeadMan();
        } else {
          // The pause id is read while the batch is finished, so that the confirmation is one request once
          // paused (it was a GET, then the POST: a loopback round trip more in every handoff's gap).
          const read = this.sidecar ? this.readPauseId() : undefined;
          await this.o.pause();
          this.running = false;
          this.acting = false;
          this.#emit('paused');
          if (this.wanted === 'paused' && this.sidecar) await this.confirm(await read);
        }
      }
    };
    // Cleared only by the promise it belongs to, never left behind settled; a wish that arrived after
    // the run's last look (while it was finishing) gets a run of its own.
    let failed = false;
    const p: Promise<void> = run()
      .catch((err: unknown) => {
        failed = true;
        const e = err instanceof Error ? err : new Error(String(err));
        this.warn(`could not ${this.wanted === 'running' ? 'start' : 'pause'}: ${e.message}`);
        if (this.#events.listenerCount('error') > 0) this.#emit('error', e);
      })
      .finally(() => {
        if (this.applying !== p) return;
        this.applying = undefined;
        if (!failed && this.wanted !== (this.running ? 'running' : 'paused')) void this.apply();
      });
    this.applying = p;
    return p;
  }

  /**
   * Reads the pause id as the pause begins. The sidecar numbers a pause before it sends its signal, so an
   * answer to a request sent after the signal names that pause or a newer one. Never rejects.
   */
  private async readPauseId(): Promise<{ id: number; asked: number } | undefined> {
    const asked = this.signalSeq;
    try {
      const status = await this.api.leader();
      this.contact(status, asked);
      return { id: status.pause.id, asked };
    } catch {
      return undefined; // confirm() reads it again
    }
  }

  /**
   * Tells the sidecar the latest pause is done. `read`: the pause id read as this pause began; it names the
   * newest pause unless a signal came since it was asked (a start and a new pause), and then, or without it,
   * the id is read again now, after pausing.
   */
  private async confirm(read?: { id: number; asked: number }): Promise<void> {
    try {
      let id = read?.asked === this.signalSeq ? read.id : undefined;
      if (id === undefined) {
        const asked = this.signalSeq;
        const status = await this.api.leader();
        this.contact(status, asked);
        id = status.pause.id;
      }
      const result = await this.api.paused(id);
      this.#emit('confirmed', { pause: id, result });
    } catch (err) {
      // The sidecar then waits its drain instead: slower, never unsafe.
      this.warn(`could not confirm the pause: ${(err as Error).message}`);
    }
  }

  /** Reads `GET /leader` once; no answer leaves the last one (the fence then judges by it). */
  private async refresh(): Promise<void> {
    const asked = this.signalSeq;
    try {
      this.contact(await this.api.leader(), asked);
    } catch {
      // the sidecar is slow or gone: the fence and the switch judge by the last answer
    }
  }

  /**
   * `asked`: `signalSeq` when the request was sent. An answer is as old as its request: one on its way when a
   * signal came was written before it (e.g. the old renewal, from before the sidecar acquired and signalled).
   */
  private contact(status: LeaderStatus, asked: number): void {
    this.lastContact = this.clock.now();
    this.lastStatus = status;
    const renewed = status.renewedAt ? Date.parse(status.renewedAt) : NaN;
    if (status.holder === status.identity && Number.isFinite(renewed)) this.ownRenewedAt = Math.max(this.ownRenewedAt ?? renewed, renewed);
    this.statusSeq = asked;
    this.armDeadMan();
  }

  /**
   * When the dead-man's switch fires, in ms since the epoch: the Lease's last renewal (written by this
   * pod's sidecar with the node's clock, which the containers share) plus the renew deadline. A
   * standby may take the Lease no earlier than a lease duration after that renewal, so the worker is
   * paused at least (lease duration − renew deadline) before. Undefined without timings (old sidecar).
   */
  private leaseDeadline(): number | undefined {
    const s = this.lastStatus;
    if (!s?.timings || !s.renewedAt) return undefined;
    const renewed = Date.parse(s.renewedAt);
    return Number.isFinite(renewed) ? renewed + s.timings.renewDeadlineMs : undefined;
  }

  /**
   * False from where the switch may fire — one quick read before the deadline — on (never false without
   * timings): the backstop and the boot must not start what the switch paused until a fresher renewal.
   */
  private leaseFresh(): boolean {
    const deadline = this.leaseDeadline();
    return deadline === undefined || this.clock.wallClock() < deadline - this.quickReadMs();
  }

  /** The bound of the switch's last quick read: a quarter of (lease duration − renew deadline), 50 ms to 1 s. */
  private quickReadMs(): number {
    const t = this.lastStatus?.timings;
    return t ? Math.max(50, Math.min(1000, (t.leaseDurationMs - t.renewDeadlineMs) / 4)) : 250;
  }

  /**
   * (Re)arms the Lease-based switch one quick read before the deadline, so that the read never delays
   * the pause past the deadline: the margin (lease duration − renew deadline) stays whole.
   */
  private armDeadMan(): void {
    this.deadManTimer?.cancel();
    this.deadManTimer = undefined;
    const deadline = this.leaseDeadline();
    if (this.closed || !this.running || deadline === undefined) return;
    const due = deadline - this.quickReadMs();
    this.deadManTimer = this.clock.setTimer(() => void this.deadManDue(deadline), Math.max(0, due - this.clock.wallClock()));
  }

  /**
   * The deadline is one quick read away without a newer renewal seen. The last poll may just be late (a
   * busy node), so one quick read, bounded so that it ends by the deadline: a fresher renewal (a later
   * deadline) re-arms the switch; no answer, or none fresher, pauses — at the deadline at the latest.
   */
  private async deadManDue(deadline: number): Promise<void> {
    this.deadManTimer = undefined;
    if (!this.running || this.wanted === 'paused') return;
    if ((this.leaseDeadline() ?? deadline) > deadline) return this.armDeadMan();
    // A renewal read before the last start signal says nothing of the Lease that signal came from (the sidecar
    // signals right after writing a fresh renewal): the read then gets its whole bound, well inside that
    // renewal's deadline. Otherwise it ends by the deadline, so the margin stays whole.
    const beforeStart = this.statusSeq < this.startSeq;
    const quickMs = beforeStart ? this.quickReadMs() : Math.max(1, Math.min(this.quickReadMs(), deadline - this.clock.wallClock()));
    const asked = this.signalSeq;
    try {
      this.contact(await this.api.leader(quickMs), asked);
    } catch {
      // no answer: the sidecar is frozen or gone
    }
    // contact() re-armed the timer: this call decides now.
    (this.deadManTimer as TimerHandle | undefined)?.cancel();
    this.deadManTimer = undefined;
    if (!this.running || (this.wanted as string) === 'paused') return;
    if ((this.leaseDeadline() ?? deadline) > deadline) return this.armDeadMan();
    const renewDeadlineMs = this.lastStatus?.timings?.renewDeadlineMs ?? 0;
    const renewedAt = (this.leaseDeadline() ?? deadline) - renewDeadlineMs;
    this.fire({
      reason: `the Lease has not been renewed since ${new Date(renewedAt).toISOString()} (renew deadline ${renewDeadlineMs} ms): pausing (dead-man's switch)`,
      renewedAt,
    });
  }

  private fire(info: DeadManInfo): void {
    this.warn(info.reason);
    this.#emit('dead-man', info);
    this.wanted = 'paused';
    void this.apply();
  }

  private schedule(): void {
    if (this.closed) return;
    this.timer = this.clock.setTimer(() => void this.check(), this.o.checkEveryMs);
  }

  /** Reads the Lease's renewals, backstops a lost signal; the fallback switch for an old sidecar. */
  private async check(): Promise<void> {
    const seq = this.signalSeq;
    try {
      const status = await this.api.leader();
      this.contact(status, seq);
      // A backstop for a lost or reordered signal (pending signals arrive lowest number first, so a
      // busy worker can see "pause, start" as "start, pause"). Applied only when no signal came while
      // we asked: a signal is always newer than the answer. Never a start on a Lease gone stale.
      const shouldRun = status.isLeader && this.leaseFresh();
      if (seq === this.signalSeq && !this.applying && this.running !== shouldRun) {
        this.wanted = shouldRun ? 'running' : 'paused';
        await this.apply();
      }
    } catch {
      const noTimings = this.leaseDeadline() === undefined;
      if (noTimings && this.running && this.clock.now() - this.lastContact > this.o.deadManMs) {
        this.fire({ reason: `the sidecar at ${this.api.url} has not answered for over ${this.o.deadManMs} ms: pausing (dead-man's switch)` });
      }
    } finally {
      this.schedule();
    }
  }
}

/**
 * Puts a worker under baton: installs the signal handlers at once, then reads the starting state from
 * the sidecar. Call it before the worker does anything else.
 *
 * @example
 * ```ts
 * const lead = leadership({ start: () => poller.start(), pause: () => poller.stop() });
 * await lead.ready;
 * ```
 */
export function leadership(opts: LeadershipOptions): Leadership {
  return new Leadership(opts);
}
